"""Tests for the guarded_invoke Lambda (Bedrock Converse behind a guardrail).

A Stubber on a real bedrock-runtime client answers ``converse`` (moto's Bedrock Runtime is
partial); the Stubber also validates every request against the real API model, and any call that
was not stubbed fails the test. ``sleep`` and ``rand`` are injected so retries are instant.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError
from botocore.stub import Stubber

from tests.handlers.loader import load_handler

mod = load_handler("guarded_invoke")

REGION = "us-east-1"
DEFAULT_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
OTHER_MODEL = "amazon.nova-lite-v1:0"
GUARDRAIL = "gr0abc123def"
ENV = {
    "GUARDRAIL_ID": GUARDRAIL,
    "GUARDRAIL_VERSION": "3",
    "DEFAULT_MODEL_ID": DEFAULT_MODEL,
    "ALLOWED_MODEL_IDS": f"{OTHER_MODEL}, anthropic.claude-3-5-sonnet-20240620-v1:0",
}
GUARDRAIL_CONFIG = {"guardrailIdentifier": GUARDRAIL, "guardrailVersion": "3", "trace": "enabled"}
SESSION = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
)

# Stand-ins for PHI: none of these may ever reach a log line.
PROMPT = "Patient Jane Doe MRN-0042-XYZ reports chest pain; what next?"
SYSTEM = "You are a clinical assistant for Ward-7-SECRET."
ANSWER = "ANSWER-TEXT-Refer MRN-0042-XYZ to cardiology."


@pytest.fixture
def settings():
    return mod.load_settings(ENV)


@pytest.fixture
def bedrock():
    client = SESSION.client("bedrock-runtime")
    with Stubber(client) as stubber:
        yield client, stubber


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def call(event: Any, client: Any, settings: Any, sleeps: Sleeps | None = None) -> dict[str, Any]:
    return mod.invoke(
        event, client, settings, sleep=sleeps if sleeps is not None else Sleeps(), rand=lambda: 1.0
    )


def converse_response(
    text: str = ANSWER, stop: str = "end_turn", trace: dict[str, Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": 21, "outputTokens": 9, "totalTokens": 30},
        "metrics": {"latencyMs": 412},
    }
    if trace is not None:
        response["trace"] = trace
    return response


BLOCKED_TRACE = {
    "guardrail": {
        "inputAssessment": {
            GUARDRAIL: {
                "contentPolicy": {
                    "filters": [
                        {
                            "type": "MISCONDUCT",
                            "confidence": "HIGH",
                            "filterStrength": "HIGH",
                            "action": "BLOCKED",
                            "detected": True,
                        }
                    ]
                },
                "invocationMetrics": {"guardrailProcessingLatency": 120},
            }
        },
        "actionReason": "Guardrail blocked.",
    }
}


def expected_params(
    prompt: str = PROMPT,
    model: str = DEFAULT_MODEL,
    system: str | None = None,
    max_tokens: int | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "modelId": model,
        "messages": [{"role": "user", "content": [{"text": prompt}]}],
        "guardrailConfig": GUARDRAIL_CONFIG,
    }
    if system is not None:
        params["system"] = [{"text": system}]
    if max_tokens is not None:
        params["inferenceConfig"] = {"maxTokens": max_tokens}
    return params


def log_lines(capsys) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


# --- allowed requests ------------------------------------------------------------------------


def test_allowed_request_sends_exact_converse_parameters(bedrock, settings):
    client, stubber = bedrock
    stubber.add_response(
        "converse",
        converse_response(),
        expected_params(model=OTHER_MODEL, system=SYSTEM, max_tokens=256),
    )

    result = call(
        {"prompt": PROMPT, "modelId": OTHER_MODEL, "maxTokens": 256, "system": SYSTEM},
        client,
        settings,
    )

    assert result == {
        "status": "ok",
        "answer": ANSWER,
        "modelId": OTHER_MODEL,
        "usage": {"inputTokens": 21, "outputTokens": 9, "totalTokens": 30},
        "stopReason": "end_turn",
        "groundingChecked": False,
    }
    stubber.assert_no_pending_responses()


def test_default_model_when_event_names_none(bedrock, settings):
    client, stubber = bedrock
    stubber.add_response("converse", converse_response(), expected_params())

    result = call({"prompt": PROMPT}, client, settings)

    assert result["status"] == "ok"
    assert result["modelId"] == DEFAULT_MODEL


def test_default_model_may_be_named_explicitly(bedrock, settings):
    client, stubber = bedrock
    stubber.add_response("converse", converse_response(), expected_params())

    assert call({"prompt": PROMPT, "modelId": DEFAULT_MODEL}, client, settings)["status"] == "ok"


def test_answer_joins_text_blocks_and_skips_others(bedrock, settings):
    client, stubber = bedrock
    response = converse_response()
    response["output"]["message"]["content"] = [
        {"reasoningContent": {"reasoningText": {"text": "hidden reasoning"}}},
        {"text": "Part one. "},
        {"text": "Part two."},
    ]
    stubber.add_response("converse", response)

    assert call({"prompt": PROMPT}, client, settings)["answer"] == "Part one. Part two."


def test_blank_system_is_not_sent(bedrock, settings):
    client, stubber = bedrock
    stubber.add_response("converse", converse_response(), expected_params())

    assert call({"prompt": PROMPT, "system": "  "}, client, settings)["status"] == "ok"


# --- guardrail ---------------------------------------------------------------------------------


def test_blocked_by_guardrail(bedrock, settings, capsys):
    client, stubber = bedrock
    blocked_text = "Sorry, the platform cannot answer that request."
    stubber.add_response(
        "converse",
        converse_response(blocked_text, "guardrail_intervened", BLOCKED_TRACE),
        expected_params(),
    )

    result = call({"prompt": PROMPT}, client, settings)

    assert result == {
        "status": "blocked",
        "message": blocked_text,
        "action": "GUARDRAIL_INTERVENED",
        "groundingChecked": False,
    }
    (line,) = log_lines(capsys)
    assert line["status"] == "blocked"
    assert line["guardrailAction"] == "GUARDRAIL_INTERVENED"
    assert line["guardrailPolicies"] == ["contentPolicy"]
    assert line["promptChars"] == len(PROMPT)
    assert (line["groundingChecked"], line["groundingScores"]) == (False, None)


def test_ok_log_line_reports_sizes_and_no_intervention(bedrock, settings, capsys):
    client, stubber = bedrock
    stubber.add_response("converse", converse_response())

    call({"prompt": PROMPT, "system": SYSTEM}, client, settings)

    (line,) = log_lines(capsys)
    assert line["level"] == "INFO"
    assert line["status"] == "ok"
    assert line["guardrailAction"] == "NONE"
    assert line["answerChars"] == len(ANSWER)
    assert line["systemChars"] == len(SYSTEM)
    assert (line["inputTokens"], line["outputTokens"], line["attempts"]) == (21, 9, 1)


# --- contextual grounding ----------------------------------------------------------------------

# Stand-ins for retrieved passages (they may hold PHI too: never logged).
PASSAGE_1 = "Discharge note GROUND-SECRET-1: Jane Doe was prescribed aspirin 81 mg daily."
PASSAGE_2 = "Ward-9 GROUND-SECRET-2 protocol: review anticoagulants before any procedure."


def grounding_trace(blocked: str | None = None) -> dict[str, Any]:
    """A Converse guardrail trace whose output assessment holds contextual grounding scores."""
    scores = {"GROUNDING": 0.91, "RELEVANCE": 0.88}
    if blocked is not None:
        scores[blocked] = 0.12
    filters = [
        {
            "type": kind,
            "threshold": 0.75,
            "score": score,
            "action": "BLOCKED" if kind == blocked else "NONE",
            "detected": kind == blocked,
        }
        for kind, score in scores.items()
    ]
    return {
        "guardrail": {
            "outputAssessments": {
                GUARDRAIL: [
                    {
                        "contextualGroundingPolicy": {"filters": filters},
                        "invocationMetrics": {"guardrailProcessingLatency": 240},
                    }
                ]
            },
            "actionReason": "Guardrail blocked." if blocked else "No action.",
        }
    }


def test_grounding_source_text_sends_grounding_source_and_query_blocks(bedrock, settings, capsys):
    client, stubber = bedrock
    # The exact request (botocore GuardrailConverseContentBlock / GuardrailConverseTextBlock):
    # the guardrail configuration is the same as without grounding.
    stubber.add_response(
        "converse",
        converse_response(trace=grounding_trace()),
        {
            "modelId": DEFAULT_MODEL,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "guardContent": {
                                "text": {"text": PASSAGE_1, "qualifiers": ["grounding_source"]}
                            }
                        },
                        {"guardContent": {"text": {"text": PROMPT, "qualifiers": ["query"]}}},
                    ],
                }
            ],
            "guardrailConfig": {
                "guardrailIdentifier": GUARDRAIL,
                "guardrailVersion": "3",
                "trace": "enabled",
            },
        },
    )

    result = call({"prompt": PROMPT, "groundingSource": PASSAGE_1}, client, settings)

    assert result == {
        "status": "ok",
        "answer": ANSWER,
        "modelId": DEFAULT_MODEL,
        "usage": {"inputTokens": 21, "outputTokens": 9, "totalTokens": 30},
        "stopReason": "end_turn",
        "groundingChecked": True,
    }
    stubber.assert_no_pending_responses()
    (line,) = log_lines(capsys)
    assert line["groundingChecked"] is True
    assert (line["groundingPassages"], line["groundingChars"]) == (1, len(PASSAGE_1))
    assert line["groundingScores"] == {"GROUNDING": 0.91, "RELEVANCE": 0.88}
    assert line["guardrailPolicies"] == ["contextualGroundingPolicy"]


def test_grounding_source_list_sends_one_block_per_passage(bedrock, settings):
    client, stubber = bedrock
    stubber.add_response(
        "converse",
        converse_response(),
        {
            "modelId": OTHER_MODEL,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "guardContent": {
                                "text": {"text": PASSAGE_1, "qualifiers": ["grounding_source"]}
                            }
                        },
                        {
                            "guardContent": {
                                "text": {"text": PASSAGE_2, "qualifiers": ["grounding_source"]}
                            }
                        },
                        {"guardContent": {"text": {"text": PROMPT, "qualifiers": ["query"]}}},
                    ],
                }
            ],
            "guardrailConfig": GUARDRAIL_CONFIG,
            "system": [{"text": SYSTEM}],
            "inferenceConfig": {"maxTokens": 128},
        },
    )

    result = call(
        {
            "prompt": PROMPT,
            "groundingSource": [PASSAGE_1, PASSAGE_2],
            "modelId": OTHER_MODEL,
            "system": SYSTEM,
            "maxTokens": 128,
        },
        client,
        settings,
    )

    assert (result["status"], result["groundingChecked"]) == ("ok", True)
    stubber.assert_no_pending_responses()


def test_null_grounding_source_is_a_plain_request(bedrock, settings):
    client, stubber = bedrock
    stubber.add_response("converse", converse_response(), expected_params())

    result = call({"prompt": PROMPT, "groundingSource": None}, client, settings)

    assert (result["status"], result["groundingChecked"]) == ("ok", False)
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize("failed", ["GROUNDING", "RELEVANCE"])
def test_ungrounded_or_irrelevant_answer_is_blocked(bedrock, settings, capsys, failed):
    client, stubber = bedrock
    blocked_text = "The answer could not be verified against the sources provided."
    stubber.add_response(
        "converse",
        converse_response(blocked_text, "guardrail_intervened", grounding_trace(blocked=failed)),
        {
            "modelId": DEFAULT_MODEL,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "guardContent": {
                                "text": {"text": PASSAGE_1, "qualifiers": ["grounding_source"]}
                            }
                        },
                        {"guardContent": {"text": {"text": PROMPT, "qualifiers": ["query"]}}},
                    ],
                }
            ],
            "guardrailConfig": GUARDRAIL_CONFIG,
        },
    )

    result = call({"prompt": PROMPT, "groundingSource": [PASSAGE_1]}, client, settings)

    assert result == {
        "status": "blocked",
        "message": blocked_text,
        "action": "GUARDRAIL_INTERVENED",
        "groundingChecked": True,
    }
    (line,) = log_lines(capsys)
    assert (line["status"], line["guardrailAction"]) == ("blocked", "GUARDRAIL_INTERVENED")
    assert line["guardrailPolicies"] == ["contextualGroundingPolicy"]
    assert line["groundingScores"][failed] == 0.12


GROUNDING_REJECTIONS = [
    ({"groundingSource": 42}, "grounding-source-invalid", "groundingSource must be a string or a list of strings"),
    ({"groundingSource": {"text": "x"}}, "grounding-source-invalid", "groundingSource must be a string or a list of strings"),
    ({"groundingSource": True}, "grounding-source-invalid", "groundingSource must be a string or a list of strings"),
    ({"groundingSource": ""}, "grounding-source-empty", "groundingSource is empty"),
    ({"groundingSource": " \n\t "}, "grounding-source-empty", "groundingSource is empty"),
    ({"groundingSource": []}, "grounding-source-empty", "groundingSource is an empty list"),
    ({"groundingSource": [PASSAGE_1, 7]}, "grounding-source-invalid", "groundingSource[1] must be a string"),
    ({"groundingSource": [None]}, "grounding-source-invalid", "groundingSource[0] must be a string"),
    ({"groundingSource": [PASSAGE_1, "  "]}, "grounding-source-empty", "groundingSource[1] is empty"),
    ({"groundingSource": ["p"] * 51}, "grounding-source-too-many", "groundingSource has 51 passages; the limit is 50"),
    (
        {"grounding_source": PASSAGE_1},
        "grounding-source-misnamed",
        "grounding_source is not a request field; send the grounding text as groundingSource",
    ),
    (
        {"grounding_source": PASSAGE_1, "groundingSource": PASSAGE_1},
        "grounding-source-misnamed",
        "grounding_source is not a request field; send the grounding text as groundingSource",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "reason", "error"), GROUNDING_REJECTIONS)
def test_invalid_grounding_source_is_rejected(bedrock, settings, capsys, fields, reason, error):
    client, _ = bedrock  # nothing stubbed: any converse call fails the test

    result = call({"prompt": PROMPT, **fields}, client, settings)

    assert result == {"status": "rejected", "error": error}
    (line,) = log_lines(capsys)
    assert (line["level"], line["status"], line["reason"]) == ("WARNING", "rejected", reason)


def test_fifty_passages_are_accepted(bedrock, settings):
    client, stubber = bedrock
    stubber.add_response("converse", converse_response())

    result = call({"prompt": PROMPT, "groundingSource": ["p"] * 50}, client, settings)

    assert result["status"] == "ok"


def test_too_long_grounding_source_is_rejected(bedrock):
    client, stubber = bedrock
    settings = mod.load_settings({**ENV, "MAX_GROUNDING_CHARS": "10"})

    assert call({"prompt": PROMPT, "groundingSource": "x" * 11}, client, settings) == {
        "status": "rejected",
        "error": "groundingSource has 11 characters; the limit is 10",
    }
    # The limit counts all passages together.
    assert call({"prompt": PROMPT, "groundingSource": ["12345", "678901"]}, client, settings) == {
        "status": "rejected",
        "error": "groundingSource has 11 characters; the limit is 10",
    }
    # At the limit the request goes through.
    stubber.add_response("converse", converse_response())
    assert (
        call({"prompt": PROMPT, "groundingSource": ["12345", "67890"]}, client, settings)["status"]
        == "ok"
    )
    stubber.assert_no_pending_responses()


def test_default_grounding_limit_is_bedrocks_100000_characters(bedrock, settings):
    client, _ = bedrock
    result = call({"prompt": PROMPT, "groundingSource": "x" * 100_001}, client, settings)
    assert result == {
        "status": "rejected",
        "error": "groundingSource has 100001 characters; the limit is 100000",
    }


def test_grounding_request_rejected_by_bedrock_is_rejected(bedrock, settings):
    client, stubber = bedrock
    stubber.add_client_error(
        "converse", "ValidationException", "The grounding source is too long.", 400
    )

    result = call({"prompt": PROMPT, "groundingSource": PASSAGE_1}, client, settings)

    assert result == {
        "status": "rejected",
        "error": "Bedrock rejected the request: The grounding source is too long.",
    }


def test_grounding_passages_never_appear_in_logs(bedrock, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    client, stubber = bedrock
    settings = mod.load_settings({**ENV, "MAX_GROUNDING_CHARS": str(len(PASSAGE_1 + PASSAGE_2))})
    event = {"prompt": PROMPT, "groundingSource": [PASSAGE_1, PASSAGE_2]}
    stubber.add_response("converse", converse_response(trace=grounding_trace()))
    stubber.add_response(
        "converse", converse_response(ANSWER, "guardrail_intervened", grounding_trace("GROUNDING"))
    )
    stubber.add_client_error("converse", "ValidationException", PASSAGE_1, 400)

    statuses = [call(event, client, settings)["status"] for _ in range(3)]
    statuses.append(
        call({**event, "groundingSource": [PASSAGE_1, PASSAGE_2 + "!"]}, client, settings)["status"]
    )

    assert statuses == ["ok", "blocked", "rejected", "rejected"]
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert logged.count("\n") >= 4
    for secret in ("GROUND-SECRET-1", "GROUND-SECRET-2", "aspirin", "Jane Doe", "ANSWER-TEXT"):
        assert secret not in logged


# --- retries -----------------------------------------------------------------------------------


def test_throttled_then_success(bedrock, settings):
    client, stubber = bedrock
    stubber.add_client_error("converse", "ThrottlingException", "Too many requests", 429)
    stubber.add_response("converse", converse_response(), expected_params())
    sleeps = Sleeps()

    result = call({"prompt": PROMPT}, client, settings, sleeps)

    assert result["status"] == "ok"
    assert sleeps == [0.5]
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ServiceUnavailableException", 503),
        ("ModelTimeoutException", 408),
        ("ModelNotReadyException", 429),
        ("InternalServerException", 500),
        ("SomethingNew", 502),
    ],
)
def test_transient_errors_are_retried(bedrock, settings, code, status):
    client, stubber = bedrock
    stubber.add_client_error("converse", code, "try later", status)
    stubber.add_response("converse", converse_response())

    assert call({"prompt": PROMPT}, client, settings)["status"] == "ok"
    stubber.assert_no_pending_responses()


def test_throttled_three_times_is_unavailable_without_raising(bedrock, settings, capsys):
    client, stubber = bedrock
    for _ in range(3):
        stubber.add_client_error("converse", "ThrottlingException", "Too many requests", 429)
    sleeps = Sleeps()

    # A fourth converse call would hit an empty Stubber queue and fail the test.
    result = call({"prompt": PROMPT}, client, settings, sleeps)

    assert result["status"] == "unavailable"
    assert "ThrottlingException" in result["error"] and "3 attempts" in result["error"]
    assert sleeps == [0.5, 1.0]
    stubber.assert_no_pending_responses()
    last = log_lines(capsys)[-1]
    assert (last["level"], last["status"], last["attempts"]) == ("ERROR", "unavailable", 3)


def test_backoff_is_exponential_capped_and_jittered():
    assert [mod.backoff_delay(n, lambda: 1.0) for n in range(1, 6)] == [0.5, 1, 2, 4, 4]
    assert mod.backoff_delay(2, lambda: 0.0) == 0.5


class FakeClient:
    """Raises the queued exceptions, then returns the response."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def converse(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_network_errors_are_retried(settings):
    client = FakeClient(
        EndpointConnectionError(endpoint_url="https://bedrock-runtime.example"),
        converse_response(),
    )
    assert call({"prompt": PROMPT}, client, settings)["status"] == "ok"
    assert client.calls == 2


# --- rejected requests -------------------------------------------------------------------------


def test_model_not_in_allow_list_is_rejected(bedrock, settings, capsys):
    client, _ = bedrock  # nothing stubbed: any converse call fails the test

    result = call({"prompt": PROMPT, "modelId": "anthropic.claude-opus-4-v1:0"}, client, settings)

    assert result["status"] == "rejected"
    assert "anthropic.claude-opus-4-v1:0" in result["error"]
    assert "not allowed" in result["error"]
    (line,) = log_lines(capsys)
    assert (line["level"], line["reason"]) == ("WARNING", "model-not-allowed")


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"prompt": ""}, "prompt is empty"),
        ({"prompt": " \n\t "}, "prompt is empty"),
        ({}, "prompt must be a string"),
        ({"prompt": 42}, "prompt must be a string"),
        ({"prompt": "hi", "maxTokens": 0}, "maxTokens"),
        ({"prompt": "hi", "maxTokens": True}, "maxTokens"),
        ({"prompt": "hi", "maxTokens": "100"}, "maxTokens"),
        ({"prompt": "hi", "maxTokens": 4097}, "maxTokens"),
        ({"prompt": "hi", "system": 7}, "system must be a string"),
        ({"prompt": "hi", "modelId": 5}, "not allowed"),
        ({"prompt": "hi", "modelId": ""}, "not allowed"),
    ],
)
def test_invalid_requests_are_rejected(bedrock, settings, event, reason):
    client, _ = bedrock
    result = call(event, client, settings)
    assert result["status"] == "rejected"
    assert reason in result["error"]


def test_too_long_prompt_is_rejected(bedrock):
    client, stubber = bedrock
    settings = mod.load_settings({**ENV, "MAX_PROMPT_CHARS": "50"})

    result = call({"prompt": "x" * 51}, client, settings)

    assert result == {
        "status": "rejected",
        "error": "prompt has 51 characters; the limit is 50",
    }
    # At the limit the request goes through.
    stubber.add_response("converse", converse_response(), expected_params(prompt="x" * 50))
    assert call({"prompt": "x" * 50}, client, settings)["status"] == "ok"


def test_default_limit_is_20000_characters(bedrock, settings):
    client, _ = bedrock
    result = call({"prompt": "x" * 20001}, client, settings)
    assert result["status"] == "rejected"
    assert "limit is 20000" in result["error"]


def test_too_long_system_is_rejected(bedrock):
    client, _ = bedrock
    settings = mod.load_settings({**ENV, "MAX_PROMPT_CHARS": "10"})
    result = call({"prompt": "short", "system": "y" * 11}, client, settings)
    assert result["status"] == "rejected"
    assert "system has 11 characters" in result["error"]


@pytest.mark.parametrize("event", [None, [], ["prompt"], "a prompt", 42])
def test_non_dict_event_is_rejected(bedrock, settings, event, capsys):
    client, _ = bedrock
    result = call(event, client, settings)
    assert result == {"status": "rejected", "error": "the request must be a JSON object"}
    (line,) = log_lines(capsys)
    assert line["reason"] == "not-an-object"


def test_validation_exception_is_rejected_without_retry(bedrock, settings):
    client, stubber = bedrock
    stubber.add_client_error(
        "converse", "ValidationException", "Input is too long for requested model.", 400
    )
    sleeps = Sleeps()

    result = call({"prompt": PROMPT}, client, settings, sleeps)

    assert result == {
        "status": "rejected",
        "error": "Bedrock rejected the request: Input is too long for requested model.",
    }
    assert sleeps == []
    stubber.assert_no_pending_responses()


def test_model_error_is_unavailable_without_retry(bedrock, settings):
    client, stubber = bedrock
    stubber.add_client_error("converse", "ModelErrorException", "model failed", 424)

    result = call({"prompt": PROMPT}, client, settings)

    assert result["status"] == "unavailable"
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "status"), [("AccessDeniedException", 403), ("ResourceNotFoundException", 404)]
)
def test_platform_misconfiguration_raises(bedrock, settings, code, status):
    client, stubber = bedrock
    stubber.add_client_error("converse", code, "denied", status)

    with pytest.raises(ClientError) as info:
        call({"prompt": PROMPT}, client, settings)
    assert info.value.response["Error"]["Code"] == code


def test_param_validation_error_is_rejected_without_echoing_params(settings, capsys):
    client = FakeClient(ParamValidationError(report=f"Invalid value {PROMPT!r}"))

    result = call({"prompt": PROMPT}, client, settings)

    assert result == {"status": "rejected", "error": "the request failed parameter validation"}
    assert PROMPT not in capsys.readouterr().out


# --- PHI never logged --------------------------------------------------------------------------


def test_prompt_and_answer_never_appear_in_logs(bedrock, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    client, stubber = bedrock
    settings = mod.load_settings({**ENV, "MAX_PROMPT_CHARS": str(len(PROMPT))})
    event = {"prompt": PROMPT, "system": SYSTEM}
    # ok, blocked, throttled-then-ok, unavailable, ValidationException, access denied
    stubber.add_response("converse", converse_response())
    stubber.add_response(
        "converse", converse_response(ANSWER, "guardrail_intervened", BLOCKED_TRACE)
    )
    stubber.add_client_error("converse", "ThrottlingException", PROMPT, 429)
    stubber.add_response("converse", converse_response())
    for _ in range(3):
        stubber.add_client_error("converse", "ServiceUnavailableException", PROMPT, 503)
    stubber.add_client_error("converse", "ValidationException", PROMPT, 400)
    stubber.add_client_error("converse", "AccessDeniedException", PROMPT, 403)

    statuses = [call(event, client, settings)["status"] for _ in range(5)]
    with pytest.raises(ClientError):
        call(event, client, settings)
    # rejected before Bedrock: too long, model not allowed
    statuses.append(call({"prompt": PROMPT + "!", "system": SYSTEM}, client, settings)["status"])
    statuses.append(call({**event, "modelId": "other.model-v1"}, client, settings)["status"])

    assert statuses == ["ok", "blocked", "ok", "unavailable", "rejected", "rejected", "rejected"]
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert logged.count("\n") >= 9  # every request was logged...
    for secret in ("Jane Doe", "MRN-0042-XYZ", "Ward-7-SECRET", "ANSWER-TEXT", "chest pain"):
        assert secret not in logged  # ...without its text
    for line in captured.out.splitlines():
        json.loads(line)  # and every line is one JSON object


# --- configuration -----------------------------------------------------------------------------


def test_settings_defaults(settings):
    assert settings.max_prompt_chars == 20000
    assert settings.max_output_tokens == 4096
    assert settings.max_grounding_chars == 100_000
    assert settings.read_timeout == 60
    assert settings.endpoint_url is None
    assert settings.allowed_model_ids == {
        DEFAULT_MODEL,
        OTHER_MODEL,
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
    }


def test_guardrail_arn_is_accepted():
    arn = f"arn:aws:bedrock:{REGION}:123456789012:guardrail/{GUARDRAIL}"
    assert mod.load_settings({**ENV, "GUARDRAIL_ID": arn}).guardrail_id == arn


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"GUARDRAIL_ID": ""}, "GUARDRAIL_ID"),
        ({"GUARDRAIL_ID": "Has Spaces"}, "GUARDRAIL_ID"),
        ({"GUARDRAIL_VERSION": ""}, "GUARDRAIL_VERSION"),
        ({"GUARDRAIL_VERSION": "DRAFT"}, "GUARDRAIL_VERSION"),
        ({"GUARDRAIL_VERSION": "0"}, "GUARDRAIL_VERSION"),
        ({"DEFAULT_MODEL_ID": ""}, "DEFAULT_MODEL_ID"),
        ({"ALLOWED_MODEL_IDS": "a.b-v1, c d"}, "ALLOWED_MODEL_IDS"),
        ({"MAX_PROMPT_CHARS": "lots"}, "MAX_PROMPT_CHARS"),
        ({"MAX_PROMPT_CHARS": "0"}, "MAX_PROMPT_CHARS"),
        ({"MAX_OUTPUT_TOKENS": "-1"}, "MAX_OUTPUT_TOKENS"),
        ({"MAX_GROUNDING_CHARS": "0"}, "MAX_GROUNDING_CHARS"),
        ({"MAX_GROUNDING_CHARS": "100001"}, "MAX_GROUNDING_CHARS"),
        ({"MAX_GROUNDING_CHARS": "many"}, "MAX_GROUNDING_CHARS"),
        ({"BEDROCK_ENDPOINT_URL": "http://vpce.example"}, "BEDROCK_ENDPOINT_URL"),
        ({"BEDROCK_READ_TIMEOUT_SECONDS": "0"}, "BEDROCK_READ_TIMEOUT_SECONDS"),
    ],
)
def test_invalid_settings_raise(overrides, name):
    with pytest.raises(mod.ConfigurationError, match=name):
        mod.load_settings({**ENV, **overrides})


def test_make_clients_uses_vpc_endpoint_and_disables_client_retries(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    url = "https://vpce-0abc-1234.bedrock-runtime.us-east-1.vpce.amazonaws.com"
    settings = mod.load_settings(
        {**ENV, "BEDROCK_ENDPOINT_URL": url, "BEDROCK_READ_TIMEOUT_SECONDS": "30"}
    )

    client = mod.make_clients(settings)

    assert client.meta.endpoint_url == url
    assert client.meta.config.retries["total_max_attempts"] == 1
    assert client.meta.config.read_timeout == 30


def test_handler_reads_env_and_answers(bedrock, monkeypatch):
    client, stubber = bedrock
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(mod, "make_clients", lambda settings: client)
    stubber.add_response("converse", converse_response(), expected_params())

    assert mod.handler({"prompt": PROMPT}, None)["status"] == "ok"


def test_handler_without_guardrail_raises_configuration_error(monkeypatch):
    monkeypatch.delenv("GUARDRAIL_ID", raising=False)
    with pytest.raises(mod.ConfigurationError, match="GUARDRAIL_ID"):
        mod.handler({"prompt": PROMPT}, None)
