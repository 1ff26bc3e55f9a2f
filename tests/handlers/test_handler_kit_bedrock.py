"""Tests for the layer's handler_kit.bedrock (guarded Bedrock calls), imported as on Lambda."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    ParamValidationError,
    ReadTimeoutError,
)

from tests.handlers.loader import LAYER_PATH, load_layer

bedrock = load_layer("bedrock")
errors = load_layer("errors")

ENV = {"GUARDRAIL_ID": "gr0abc", "GUARDRAIL_VERSION": "7", "DEFAULT_MODEL_ID": "m.default-v1"}
SECRET = "PATIENT-SECRET Jane Doe"


def log_lines(capsys) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def client_error(code: str, status: int, message: str = "failed") -> ClientError:
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "Converse")  # type: ignore[arg-type]


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Calls:
    """Raises the queued exceptions, then returns the queued response."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.count = 0

    def __call__(self) -> dict[str, Any]:
        self.count += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def retry(call: Calls, sleeps: Sleeps | None = None) -> Any:
    return bedrock.call_with_retries(
        call, {"size": 3}, sleep=sleeps if sleeps is not None else Sleeps(), rand=lambda: 1.0
    )


def test_module_is_the_layers() -> None:
    assert bedrock.__file__ == str(LAYER_PATH / "handler_kit" / "bedrock.py")


# --- configuration -----------------------------------------------------------------------------


def test_guarded_models_always_allow_the_default() -> None:
    models = bedrock.guarded_models({**ENV, "ALLOWED_MODEL_IDS": " a.one-v1, ,b.two-v1 "})
    assert models == bedrock.GuardedModels(
        "gr0abc", "7", "m.default-v1", frozenset({"a.one-v1", "b.two-v1", "m.default-v1"})
    )
    assert bedrock.guarded_models(ENV).allowed_model_ids == {"m.default-v1"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"GUARDRAIL_ID": "Bad Id"}, "GUARDRAIL_ID='Bad Id' is invalid; expected a guardrail ID"),
        ({"GUARDRAIL_VERSION": "DRAFT"}, "GUARDRAIL_VERSION='DRAFT' is invalid; expected a published"),
        ({"GUARDRAIL_VERSION": "123456789"}, "GUARDRAIL_VERSION='123456789' is invalid"),
        ({"DEFAULT_MODEL_ID": " "}, "DEFAULT_MODEL_ID='' is invalid"),
        ({"ALLOWED_MODEL_IDS": "a b"}, "ALLOWED_MODEL_IDS='a b' is invalid; expected comma-separated"),
    ],
)  # fmt: skip
def test_guarded_models_refuse_bad_values(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(errors.ConfigurationError) as info:
        bedrock.guarded_models({**ENV, **overrides})
    assert str(info.value).startswith(message)


def test_guardrail_arn_in_another_partition_is_accepted() -> None:
    arn = "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:guardrail/gr0abc"
    assert bedrock.guarded_models({**ENV, "GUARDRAIL_ID": arn}).guardrail_id == arn


def test_https_url_is_optional_and_must_be_https() -> None:
    assert bedrock.https_url({}, "X_URL") is None
    assert bedrock.https_url({"X_URL": " "}, "X_URL") is None
    assert bedrock.https_url({"X_URL": "https://vpce.example"}, "X_URL") == "https://vpce.example"
    with pytest.raises(errors.ConfigurationError) as info:
        bedrock.https_url({"X_URL": "http://vpce.example"}, "X_URL")
    assert str(info.value) == "X_URL='http://vpce.example' is invalid; expected an https:// URL"


def test_read_timeout_defaults_to_60_and_is_bounded() -> None:
    assert bedrock.read_timeout({}) == 60
    assert bedrock.read_timeout({"BEDROCK_READ_TIMEOUT_SECONDS": "900"}) == 900
    with pytest.raises(errors.ConfigurationError, match="BEDROCK_READ_TIMEOUT_SECONDS"):
        bedrock.read_timeout({"BEDROCK_READ_TIMEOUT_SECONDS": "901"})


def test_client_config_turns_botocore_retries_off() -> None:
    config = bedrock.client_config(42)
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert (config.read_timeout, config.connect_timeout) == (42, 5)


# --- requests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "reason", "error"),
    [
        ({}, "prompt-missing", "prompt must be a string"),
        ({"prompt": 3}, "prompt-missing", "prompt must be a string"),
        ({"prompt": " "}, "prompt-empty", "prompt is empty"),
        ({"prompt": "abcdef"}, "prompt-too-long", "prompt has 6 characters; the limit is 5"),
    ],
)
def test_required_text_refusals(event: dict[str, Any], reason: str, error: str) -> None:
    with pytest.raises(bedrock.InvalidRequest) as info:
        bedrock.required_text(event, "prompt", 5)
    assert (info.value.reason, info.value.error, str(info.value)) == (reason, error, error)


def test_required_text_at_the_limit() -> None:
    assert bedrock.required_text({"prompt": "abcde"}, "prompt", 5) == "abcde"


@pytest.mark.parametrize("value", [0, 11, -1, True, False, 2.0, "3", [1]])
def test_optional_count_refusals(value: Any) -> None:
    with pytest.raises(bedrock.InvalidRequest) as info:
        bedrock.optional_count({"n": value}, "n", 10, "n-invalid")
    assert (info.value.reason, info.value.error) == ("n-invalid", "n must be an integer in 1..10")


def test_optional_count_values() -> None:
    assert bedrock.optional_count({}, "n", 10, "r") is None
    assert bedrock.optional_count({"n": None}, "n", 10, "r") is None
    assert [bedrock.optional_count({"n": v}, "n", 10, "r") for v in (1, 10)] == [1, 10]


def test_allowed_model() -> None:
    allowed = frozenset({"m.default-v1", "m.other-v1"})
    assert bedrock.allowed_model({}, "m.default-v1", allowed) == "m.default-v1"
    assert bedrock.allowed_model({"modelId": "m.other-v1"}, "m.default-v1", allowed) == "m.other-v1"
    with pytest.raises(bedrock.InvalidRequest) as info:
        bedrock.allowed_model({"modelId": "x" * 300}, "m.default-v1", allowed)
    assert info.value.reason == "model-not-allowed"
    assert info.value.error == f"model {'x' * 200!r} is not allowed"
    with pytest.raises(bedrock.InvalidRequest, match="model 'list' is not allowed"):
        bedrock.allowed_model({"modelId": []}, "m.default-v1", allowed)


def test_rejected_logs_the_reason_and_length_never_the_text(capsys) -> None:
    exc = bedrock.InvalidRequest("question-too-long", "question has 23 characters")
    answer = bedrock.rejected(exc, {"question": SECRET}, "question")
    assert answer == {"status": "rejected", "error": "question has 23 characters"}
    out = capsys.readouterr().out
    assert SECRET not in out
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert line == {
        "level": "WARNING",
        "message": "request rejected",
        "status": "rejected",
        "reason": "question-too-long",
        "eventType": "dict",
        "questionChars": len(SECRET),
    }


def test_rejected_without_an_object(capsys) -> None:
    bedrock.rejected(bedrock.InvalidRequest("not-an-object", "no"), [SECRET], "prompt")
    (line,) = log_lines(capsys)
    assert (line["eventType"], line["promptChars"]) == ("list", None)


# --- Converse parameters -----------------------------------------------------------------------


def test_guardrail_config_pins_the_version_with_trace() -> None:
    assert bedrock.guardrail_config("gr0abc", "7") == {
        "guardrailIdentifier": "gr0abc",
        "guardrailVersion": "7",
        "trace": "enabled",
    }


def test_grounded_content_blocks() -> None:
    assert bedrock.grounded_content(["p1", "p2"], "q?") == [
        {"guardContent": {"text": {"text": "p1", "qualifiers": ["grounding_source"]}}},
        {"guardContent": {"text": {"text": "p2", "qualifiers": ["grounding_source"]}}},
        {"guardContent": {"text": {"text": "q?", "qualifiers": ["query"]}}},
    ]
    assert bedrock.grounded_content(iter(()), "q?") == [
        {"guardContent": {"text": {"text": "q?", "qualifiers": ["query"]}}}
    ]


# --- call_with_retries -------------------------------------------------------------------------


def test_backoff_is_exponential_capped_and_jittered() -> None:
    assert [bedrock.backoff_delay(n, lambda: 1.0) for n in range(1, 6)] == [0.5, 1, 2, 4, 4]
    assert bedrock.backoff_delay(1, lambda: 0.0) == 0.25


def test_success_at_once(capsys) -> None:
    outcome = retry(Calls({"ok": 1}))
    assert outcome == bedrock.Outcome({"ok": 1}, {}, 1)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "error",
    [
        client_error("ThrottlingException", 429),
        client_error("ModelNotReadyException", 429),
        client_error("ModelTimeoutException", 408),
        client_error("ServiceUnavailableException", 503),
        client_error("BadGatewayException", 502),
        client_error("", 500),
        ReadTimeoutError(endpoint_url="https://x"),
        ConnectTimeoutError(endpoint_url="https://x"),
    ],
    ids=["throttling", "not-ready", "timeout", "unavailable", "502", "500", "read", "connect"],
)
def test_transient_errors_are_retried(error: Exception, capsys) -> None:
    sleeps = Sleeps()
    call = Calls(error, error, {"ok": 1})
    outcome = retry(call, sleeps)
    assert (outcome.response, outcome.attempts, call.count) == ({"ok": 1}, 3, 3)
    assert sleeps == [0.5, 1.0]
    lines = log_lines(capsys)
    assert [(x["message"], x["attempt"], x["size"]) for x in lines] == [
        ("transient Bedrock error", 1, 3),
        ("transient Bedrock error", 2, 3),
    ]


def test_exhausted_retries_are_unavailable(capsys) -> None:
    sleeps = Sleeps()
    error = client_error("ThrottlingException", 429)
    call = Calls(error, error, error, {"never": 1})
    outcome = retry(call, sleeps)
    assert outcome == bedrock.Outcome(
        None,
        {
            "status": "unavailable",
            "error": "Bedrock unavailable (ThrottlingException) after 3 attempts; retry later",
        },
        3,
    )
    assert (call.count, sleeps) == (3, [0.5, 1.0])
    last = log_lines(capsys)[-1]
    assert (last["level"], last["message"], last["attempts"]) == ("ERROR", "Bedrock unavailable", 3)
    assert last["size"] == 3


def test_unnamed_5xx_is_named_by_its_status() -> None:
    error = client_error("", 504)
    assert "HTTP 504" in retry(Calls(error, error, error)).answer["error"]


def test_validation_exception_is_rejected_at_once(capsys) -> None:
    call = Calls(client_error("ValidationException", 400, "bad input"))
    outcome = retry(call)
    assert outcome.answer == {
        "status": "rejected",
        "error": "Bedrock rejected the request: bad input",
    }
    assert (outcome.response, outcome.attempts, call.count) == (None, 1, 1)
    (line,) = log_lines(capsys)
    assert (line["reason"], line["size"]) == ("ValidationException", 3)


def test_param_validation_error_never_echoes_the_parameters(capsys) -> None:
    outcome = retry(Calls(ParamValidationError(report=f"Invalid {SECRET}")))
    assert outcome.answer == {
        "status": "rejected",
        "error": "the request failed parameter validation",
    }
    assert SECRET not in capsys.readouterr().out


@pytest.mark.parametrize("code", ["ModelErrorException", "DependencyFailedException"])
def test_upstream_failures_are_unavailable_at_once(code: str, capsys) -> None:
    call = Calls(client_error(code, 424))
    outcome = retry(call)
    assert outcome.answer["status"] == "unavailable"
    assert outcome.answer["error"] == bedrock.UPSTREAM_FAILURES[code][1]
    assert call.count == 1
    (line,) = log_lines(capsys)
    assert (line["level"], line["errorCode"]) == ("ERROR", code)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("AccessDeniedException", 403),
        ("ResourceNotFoundException", 404),
        ("ConflictException", 409),
    ],
)
def test_platform_errors_are_raised(code: str, status: int, capsys) -> None:
    call = Calls(client_error(code, status))
    with pytest.raises(ClientError):
        retry(call)
    assert call.count == 1
    (line,) = log_lines(capsys)
    assert (line["message"], line["errorCode"], line["httpStatus"]) == (
        "Bedrock call failed",
        code,
        status,
    )


# --- answers -----------------------------------------------------------------------------------

TRACE = {
    "guardrail": {
        "inputAssessment": {
            "gr0abc": {
                "contentPolicy": {"filters": []},
                "invocationMetrics": {"guardrailProcessingLatency": 10},
            }
        },
        "outputAssessments": {
            "gr0abc": [
                {
                    "contextualGroundingPolicy": {
                        "filters": [
                            {"type": "GROUNDING", "score": 0.2, "threshold": 0.7},
                            {"type": "RELEVANCE", "score": 1, "threshold": 0.7},
                            {"type": "OTHER", "score": "high"},
                        ]
                    },
                    "appliedGuardrailDetails": {},
                },
                "not a dict",
            ]
        },
    }
}


def response(stop: str = "end_turn", trace: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "output": {
            "message": {"content": [{"reasoningContent": {}}, {"text": "Part 1. "}, {"text": "2"}]}
        },
        "stopReason": stop,
        "usage": {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7},
        "metrics": {"latencyMs": 99},
        "trace": trace or {},
    }


def test_output_text_joins_text_blocks() -> None:
    assert bedrock.output_text(response()) == "Part 1. 2"
    assert bedrock.output_text({}) == ""


def test_policy_names_and_grounding_scores_from_the_trace() -> None:
    assert bedrock.guardrail_policies({"trace": TRACE}) == [
        "contentPolicy",
        "contextualGroundingPolicy",
    ]
    assert bedrock.grounding_scores({"trace": TRACE}) == {"GROUNDING": 0.2, "RELEVANCE": 1.0}
    assert bedrock.guardrail_policies({}) == [] and bedrock.grounding_scores({}) == {}


def test_ok_answer_puts_extra_after_the_answer(capsys) -> None:
    answer = bedrock.converse_answer(
        response(trace=TRACE),
        model_id="m.default-v1",
        grounding_checked=True,
        attempts=2,
        fields={"size": 3},
        extra={"citations": [{"key": "k", "score": None}]},
    )
    assert list(answer) == [
        "status",
        "answer",
        "citations",
        "modelId",
        "usage",
        "stopReason",
        "groundingChecked",
    ]
    assert answer["usage"] == {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7}
    assert (answer["status"], answer["answer"], answer["stopReason"]) == (
        "ok",
        "Part 1. 2",
        "end_turn",
    )
    (line,) = log_lines(capsys)
    assert (line["status"], line["guardrailAction"], line["attempts"]) == ("ok", "NONE", 2)
    assert line["groundingScores"] == {"GROUNDING": 0.2, "RELEVANCE": 1.0}
    assert (line["answerChars"], line["latencyMs"], line["size"]) == (9, 99, 3)
    assert "Part 1" not in json.dumps(line)


def test_intervention_is_blocked_with_the_guardrail_text(capsys) -> None:
    answer = bedrock.converse_answer(
        response("guardrail_intervened", TRACE),
        model_id="m",
        grounding_checked=False,
        attempts=1,
        fields={},
        extra={"citations": []},
    )
    assert answer == {
        "status": "blocked",
        "message": "Part 1. 2",
        "action": "GUARDRAIL_INTERVENED",
        "groundingChecked": False,
    }
    (line,) = log_lines(capsys)
    assert (line["status"], line["guardrailAction"]) == ("blocked", "GUARDRAIL_INTERVENED")
    assert line["groundingScores"] is None  # scores are only reported for grounded requests
