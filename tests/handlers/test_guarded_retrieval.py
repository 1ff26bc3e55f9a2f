"""Tests for the guarded_retrieval Lambda (Retrieve, then Converse behind the guardrail).

Stubbers on real bedrock-agent-runtime and bedrock-runtime clients answer ``retrieve`` and
``converse``; they validate every request (and response) against the real API models, and any
call that was not stubbed fails the test. ``sleep`` and ``rand`` are injected so retries are
instant.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from tests.handlers.loader import load_handler

# The Bedrock test helpers guarded_invoke's tests already define (same guardrail, same shapes).
from tests.handlers.test_guarded_invoke import (
    DEFAULT_MODEL,
    GUARDRAIL,
    GUARDRAIL_CONFIG,
    OTHER_MODEL,
    REGION,
    SESSION,
    Sleeps,
    grounding_trace,
    log_lines,
)

mod = load_handler("guarded_retrieval")
request_mod = load_handler("guarded_retrieval", "guarded_retrieval_request")

KB_ID = "KB12345678"
BUCKET = "curated-bucket"
PREFIX = "knowledge/"
ENV = {
    "KNOWLEDGE_BASE_ID": KB_ID,
    "KNOWLEDGE_BUCKET": BUCKET,
    "KNOWLEDGE_PREFIX": PREFIX,
    "GUARDRAIL_ID": GUARDRAIL,
    "GUARDRAIL_VERSION": "3",
    "DEFAULT_MODEL_ID": DEFAULT_MODEL,
    "ALLOWED_MODEL_IDS": OTHER_MODEL,
}

# Stand-ins for PHI: none of these may ever reach a log line.
QUESTION = "What dose of aspirin was Jane Doe MRN-0042-XYZ prescribed?"
PASSAGE_1 = "Discharge note GROUND-SECRET-1: Jane Doe was prescribed aspirin 81 mg daily."
PASSAGE_2 = "Ward-9 GROUND-SECRET-2 protocol: review anticoagulants before any procedure."
PASSAGE_3 = "Pharmacy GROUND-SECRET-3: aspirin 81 mg is dispensed as chewable tablets."
ANSWER = "ANSWER-TEXT: Jane Doe takes aspirin 81 mg daily."


@pytest.fixture
def settings():
    return mod.load_settings(ENV)


@pytest.fixture
def stubs():
    runtime = SESSION.client("bedrock-runtime")
    agent = SESSION.client("bedrock-agent-runtime")
    with Stubber(runtime) as converse, Stubber(agent) as retrieve:
        yield mod.Clients(runtime=runtime, agent_runtime=agent), retrieve, converse


def call(event: Any, clients: Any, settings: Any, sleeps: Sleeps | None = None) -> dict[str, Any]:
    return mod.answer(
        event, clients, settings, sleep=sleeps if sleeps is not None else Sleeps(), rand=lambda: 1.0
    )


def result(text: str, key: str, score: float | None = 0.8, bucket: str = BUCKET) -> dict[str, Any]:
    found: dict[str, Any] = {
        "content": {"text": text, "type": "TEXT"},
        "location": {"type": "S3", "s3Location": {"uri": f"s3://{bucket}/{key}"}},
    }
    if score is not None:
        found["score"] = score
    return found


def retrieve_response(*results: dict[str, Any]) -> dict[str, Any]:
    return {"retrievalResults": list(results)}


def retrieve_params(question: str = QUESTION, results: int = 5) -> dict[str, Any]:
    return {
        "knowledgeBaseId": KB_ID,
        "retrievalQuery": {"text": question},
        "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": results}},
    }


def converse_params(
    passages: list[str],
    question: str = QUESTION,
    model: str = DEFAULT_MODEL,
    max_tokens: int = 1024,
) -> dict[str, Any]:
    content = [
        {"guardContent": {"text": {"text": p, "qualifiers": ["grounding_source"]}}}
        for p in passages
    ]
    content.append({"guardContent": {"text": {"text": question, "qualifiers": ["query"]}}})
    return {
        "modelId": model,
        "messages": [{"role": "user", "content": content}],
        "system": [{"text": request_mod.SYSTEM_PROMPT}],
        "inferenceConfig": {"maxTokens": max_tokens},
        "guardrailConfig": GUARDRAIL_CONFIG,
    }


def converse_response(
    text: str = ANSWER, stop: str = "end_turn", trace: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": 321, "outputTokens": 19, "totalTokens": 340},
        "metrics": {"latencyMs": 812},
        "trace": trace if trace is not None else grounding_trace(),
    }


# --- answers -----------------------------------------------------------------------------------


def test_ok_answer_with_unique_ordered_citations_and_exact_parameters(stubs, settings, capsys):
    clients, retrieve, converse = stubs
    retrieve.add_response(
        "retrieve",
        retrieve_response(
            result(PASSAGE_1, "knowledge/discharge/jd.txt", 0.92),
            result(PASSAGE_2, "knowledge/protocols/ward9.txt", 0.81),
            result(PASSAGE_3, "knowledge/discharge/jd.txt", 0.77),
        ),
        retrieve_params(),
    )
    converse.add_response(
        "converse", converse_response(), converse_params([PASSAGE_1, PASSAGE_2, PASSAGE_3])
    )

    answered = call({"question": QUESTION}, clients, settings)

    assert answered == {
        "status": "ok",
        "answer": ANSWER,
        "citations": [
            {"key": "knowledge/discharge/jd.txt", "score": 0.92},
            {"key": "knowledge/protocols/ward9.txt", "score": 0.81},
        ],
        "modelId": DEFAULT_MODEL,
        "usage": {"inputTokens": 321, "outputTokens": 19, "totalTokens": 340},
        "stopReason": "end_turn",
        "groundingChecked": True,
    }
    retrieve.assert_no_pending_responses()
    converse.assert_no_pending_responses()
    (line,) = log_lines(capsys)
    assert (line["level"], line["message"], line["status"]) == ("INFO", "request finished", "ok")
    assert (line["results"], line["passages"], line["citedKeys"]) == (3, 3, 2)
    assert line["groundingChars"] == len(PASSAGE_1 + PASSAGE_2 + PASSAGE_3)
    assert line["groundingScores"] == {"GROUNDING": 0.91, "RELEVANCE": 0.88}
    assert line["guardrailPolicies"] == ["contextualGroundingPolicy"]
    assert (line["attempts"], line["retrieveAttempts"]) == (1, 1)
    assert (line["inputTokens"], line["outputTokens"]) == (321, 19)


def test_the_system_prompt_confines_the_answer_to_the_sources():
    text = request_mod.SYSTEM_PROMPT
    assert "only" in text and "sources" in text and "do not know" in text


def test_caller_choices_reach_both_calls(stubs, settings):
    clients, retrieve, converse = stubs
    retrieve.add_response(
        "retrieve",
        retrieve_response(result(PASSAGE_1, "knowledge/a.txt")),
        retrieve_params(results=12),
    )
    converse.add_response(
        "converse",
        converse_response(),
        converse_params([PASSAGE_1], model=OTHER_MODEL, max_tokens=200),
    )

    event = {"question": QUESTION, "modelId": OTHER_MODEL, "maxTokens": 200, "numberOfResults": 12}
    answered = call(event, clients, settings)

    assert (answered["status"], answered["modelId"]) == ("ok", OTHER_MODEL)
    converse.assert_no_pending_responses()


def test_passages_are_sent_highest_score_first(stubs, settings):
    clients, retrieve, converse = stubs
    retrieve.add_response(
        "retrieve",
        retrieve_response(
            result(PASSAGE_3, "knowledge/c.txt", None),
            result(PASSAGE_2, "knowledge/b.txt", 0.5),
            result(PASSAGE_1, "knowledge/a.txt", 0.9),
        ),
    )
    converse.add_response(
        "converse", converse_response(), converse_params([PASSAGE_1, PASSAGE_2, PASSAGE_3])
    )

    answered = call({"question": QUESTION}, clients, settings)

    assert answered["citations"] == [
        {"key": "knowledge/a.txt", "score": 0.9},
        {"key": "knowledge/b.txt", "score": 0.5},
        {"key": "knowledge/c.txt", "score": None},
    ]


@pytest.mark.parametrize("failed", ["GROUNDING", "RELEVANCE"])
def test_ungrounded_or_irrelevant_answer_is_blocked(stubs, settings, capsys, failed):
    clients, retrieve, converse = stubs
    blocked_text = "The answer could not be verified against the platform's sources."
    retrieve.add_response("retrieve", retrieve_response(result(PASSAGE_1, "knowledge/a.txt")))
    converse.add_response(
        "converse",
        converse_response(blocked_text, "guardrail_intervened", grounding_trace(failed)),
        converse_params([PASSAGE_1]),
    )

    answered = call({"question": QUESTION}, clients, settings)

    assert answered == {
        "status": "blocked",
        "message": blocked_text,
        "action": "GUARDRAIL_INTERVENED",
        "groundingChecked": True,
    }
    (line,) = log_lines(capsys)
    assert (line["status"], line["guardrailAction"]) == ("blocked", "GUARDRAIL_INTERVENED")
    assert line["groundingScores"][failed] == 0.12


# --- sources -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "results",
    [
        [],
        [result("   \n", "knowledge/blank.txt")],
        [result(PASSAGE_1, "knowledge/a.txt", bucket="other-bucket")],
    ],
    ids=["none", "blank", "foreign"],
)
def test_no_usable_passage_is_no_sources_without_a_model_call(stubs, settings, capsys, results):
    clients, retrieve, _ = stubs  # nothing stubbed on converse: a call fails the test
    retrieve.add_response("retrieve", retrieve_response(*results))

    answered = call({"question": QUESTION}, clients, settings)

    assert answered == {"status": "no_sources", "message": mod.NO_SOURCES_MESSAGE}
    retrieve.assert_no_pending_responses()
    last = log_lines(capsys)[-1]
    assert (last["status"], last["passages"], last["results"]) == ("no_sources", 0, len(results))


def test_results_from_another_bucket_prefix_or_location_are_dropped(stubs, settings, capsys):
    clients, retrieve, converse = stubs
    web = {
        "content": {"text": "WEB-SECRET text"},
        "location": {"type": "WEB", "webLocation": {"url": "https://example.com/page"}},
        "score": 0.99,
    }
    retrieve.add_response(
        "retrieve",
        retrieve_response(
            result("OTHER-BUCKET text", "knowledge/a.txt", 0.99, bucket="other-bucket"),
            result("OTHER-PREFIX text", "clinical/raw.txt", 0.98),
            result("LOOKALIKE text", "knowledge-old/a.txt", 0.97),
            result("BUCKET-PREFIX text", "knowledge/a.txt", 0.96, bucket=f"{BUCKET}x"),
            web,
            {"content": {"text": "NO-LOCATION text"}, "score": 0.95},
            result(PASSAGE_1, "knowledge/kept.txt", 0.5),
        ),
    )
    converse.add_response("converse", converse_response(), converse_params([PASSAGE_1]))

    answered = call({"question": QUESTION}, clients, settings)

    assert answered["citations"] == [{"key": "knowledge/kept.txt", "score": 0.5}]
    converse.assert_no_pending_responses()
    warning, finished = log_lines(capsys)
    assert (warning["level"], warning["foreignDropped"]) == ("WARNING", 6)
    assert "outside the knowledge prefix" in warning["message"]
    assert (finished["results"], finished["passages"]) == (7, 1)


def test_grounding_source_is_capped_at_100000_characters(stubs, settings, capsys):
    clients, retrieve, converse = stubs
    big = ["a" * 40_000, "b" * 40_000, "c" * 40_000]
    retrieve.add_response(
        "retrieve",
        retrieve_response(
            result(big[0], "knowledge/a.txt", 0.9),
            result(big[1], "knowledge/b.txt", 0.8),
            result(big[2], "knowledge/c.txt", 0.7),
            result("d" * 10, "knowledge/d.txt", 0.6),
        ),
    )
    # 80,000 sent: the third passage would pass 100,000, so it and every lower one are dropped.
    converse.add_response("converse", converse_response(), converse_params(big[:2]))

    answered = call({"question": QUESTION}, clients, settings)

    assert [c["key"] for c in answered["citations"]] == ["knowledge/a.txt", "knowledge/b.txt"]
    converse.assert_no_pending_responses()
    (line,) = log_lines(capsys)
    assert (line["groundingChars"], line["overLimitDropped"], line["passages"]) == (80_000, 2, 2)


def test_exactly_100000_characters_are_sent(stubs, settings):
    clients, retrieve, converse = stubs
    passages = ["a" * 60_000, "b" * 40_000]
    retrieve.add_response(
        "retrieve",
        retrieve_response(
            result(passages[0], "knowledge/a.txt", 0.9), result(passages[1], "knowledge/b.txt")
        ),
    )
    converse.add_response("converse", converse_response(), converse_params(passages))

    assert call({"question": QUESTION}, clients, settings)["status"] == "ok"
    converse.assert_no_pending_responses()


# --- rejected requests -------------------------------------------------------------------------

REJECTIONS = [
    (None, "not-an-object", "the request must be a JSON object"),
    (["question"], "not-an-object", "the request must be a JSON object"),
    ("a question", "not-an-object", "the request must be a JSON object"),
    ({"question": QUESTION, "prompt": "x"}, "unknown-field", "unknown request field(s) 'prompt'; allowed: question, modelId, maxTokens, numberOfResults"),
    ({"question": QUESTION, "system": "x", "filter": {}}, "unknown-field", "unknown request field(s) 'filter', 'system'; allowed: question, modelId, maxTokens, numberOfResults"),
    ({}, "question-missing", "question must be a string"),
    ({"question": 42}, "question-missing", "question must be a string"),
    ({"question": ""}, "question-empty", "question is empty"),
    ({"question": " \n\t "}, "question-empty", "question is empty"),
    ({"question": "x" * 4001}, "question-too-long", "question has 4001 characters; the limit is 4000"),
    ({"question": QUESTION, "maxTokens": 0}, "max-tokens-invalid", "maxTokens must be an integer in 1..1024"),
    ({"question": QUESTION, "maxTokens": 1025}, "max-tokens-invalid", "maxTokens must be an integer in 1..1024"),
    ({"question": QUESTION, "maxTokens": True}, "max-tokens-invalid", "maxTokens must be an integer in 1..1024"),
    ({"question": QUESTION, "maxTokens": "100"}, "max-tokens-invalid", "maxTokens must be an integer in 1..1024"),
    ({"question": QUESTION, "numberOfResults": 0}, "number-of-results-invalid", "numberOfResults must be an integer in 1..20"),
    ({"question": QUESTION, "numberOfResults": 21}, "number-of-results-invalid", "numberOfResults must be an integer in 1..20"),
    ({"question": QUESTION, "numberOfResults": 2.0}, "number-of-results-invalid", "numberOfResults must be an integer in 1..20"),
    ({"question": QUESTION, "numberOfResults": False}, "number-of-results-invalid", "numberOfResults must be an integer in 1..20"),
    ({"question": QUESTION, "modelId": "anthropic.claude-opus-4-v1:0"}, "model-not-allowed", "model 'anthropic.claude-opus-4-v1:0' is not allowed"),
    ({"question": QUESTION, "modelId": 5}, "model-not-allowed", "model 'int' is not allowed"),
]  # fmt: skip


@pytest.mark.parametrize(("event", "reason", "error"), REJECTIONS)
def test_invalid_requests_are_rejected_before_any_call(
    stubs, settings, capsys, event, reason, error
):
    clients, _, _ = stubs  # nothing stubbed: any Bedrock call fails the test

    assert call(event, clients, settings) == {"status": "rejected", "error": error}
    (line,) = log_lines(capsys)
    assert (line["level"], line["status"], line["reason"]) == ("WARNING", "rejected", reason)


def test_question_at_the_limit_is_served(stubs):
    clients, retrieve, _ = stubs
    settings = mod.load_settings({**ENV, "MAX_QUESTION_CHARS": "10"})
    assert call({"question": "x" * 11}, clients, settings)["status"] == "rejected"
    retrieve.add_response("retrieve", retrieve_response(), retrieve_params(question="x" * 10))
    assert call({"question": "x" * 10}, clients, settings)["status"] == "no_sources"
    retrieve.assert_no_pending_responses()


# --- errors and retries ------------------------------------------------------------------------


def test_transient_errors_are_retried_then_answered(stubs, settings, capsys):
    clients, retrieve, converse = stubs
    retrieve.add_client_error("retrieve", "ThrottlingException", "slow down", 429)
    retrieve.add_response("retrieve", retrieve_response(result(PASSAGE_1, "knowledge/a.txt")))
    converse.add_client_error("converse", "ServiceUnavailableException", "try later", 503)
    converse.add_client_error("converse", "InternalServerException", "oops", 500)
    converse.add_response("converse", converse_response(), converse_params([PASSAGE_1]))
    sleeps = Sleeps()

    answered = call({"question": QUESTION}, clients, settings, sleeps)

    assert answered["status"] == "ok"
    assert sleeps == [0.5, 0.5, 1.0]
    retrieve.assert_no_pending_responses()
    converse.assert_no_pending_responses()
    lines = log_lines(capsys)
    assert [(x["call"], x["errorCode"]) for x in lines[:-1]] == [
        ("retrieve", "ThrottlingException"),
        ("converse", "ServiceUnavailableException"),
        ("converse", "InternalServerException"),
    ]
    assert (lines[-1]["retrieveAttempts"], lines[-1]["attempts"]) == (2, 3)


def test_retrieve_still_throttled_is_unavailable_without_a_model_call(stubs, settings, capsys):
    clients, retrieve, _ = stubs
    for _ in range(3):
        retrieve.add_client_error("retrieve", "ThrottlingException", "slow down", 429)
    sleeps = Sleeps()

    answered = call({"question": QUESTION}, clients, settings, sleeps)

    assert answered["status"] == "unavailable"
    assert "ThrottlingException" in answered["error"] and "3 attempts" in answered["error"]
    assert sleeps == [0.5, 1.0]
    retrieve.assert_no_pending_responses()
    last = log_lines(capsys)[-1]
    assert (last["level"], last["status"], last["call"]) == ("ERROR", "unavailable", "retrieve")


def test_converse_still_failing_is_unavailable(stubs, settings):
    clients, retrieve, converse = stubs
    retrieve.add_response("retrieve", retrieve_response(result(PASSAGE_1, "knowledge/a.txt")))
    for _ in range(3):
        converse.add_client_error("converse", "BadGatewayish", "bad gateway", 502)

    answered = call({"question": QUESTION}, clients, settings)

    assert answered == {
        "status": "unavailable",
        "error": "Bedrock unavailable (BadGatewayish) after 3 attempts; retry later",
    }
    converse.assert_no_pending_responses()


def test_network_errors_are_retried(settings):
    class Agent:
        calls = 0

        def retrieve(self, **_: Any) -> dict[str, Any]:
            self.calls += 1
            if self.calls == 1:
                raise EndpointConnectionError(endpoint_url="https://bedrock-agent-runtime.example")
            return retrieve_response()

    agent = Agent()
    answered = call(
        {"question": QUESTION}, mod.Clients(runtime=None, agent_runtime=agent), settings
    )
    assert (answered["status"], agent.calls) == ("no_sources", 2)


@pytest.mark.parametrize("operation", ["retrieve", "converse"])
def test_validation_exception_is_rejected_without_retry(stubs, settings, operation):
    clients, retrieve, converse = stubs
    if operation == "retrieve":
        retrieve.add_client_error("retrieve", "ValidationException", "Query is too long.", 400)
    else:
        retrieve.add_response("retrieve", retrieve_response(result(PASSAGE_1, "knowledge/a.txt")))
        converse.add_client_error("converse", "ValidationException", "Query is too long.", 400)
    sleeps = Sleeps()

    answered = call({"question": QUESTION}, clients, settings, sleeps)

    assert answered == {
        "status": "rejected",
        "error": "Bedrock rejected the request: Query is too long.",
    }
    assert sleeps == []
    retrieve.assert_no_pending_responses()
    converse.assert_no_pending_responses()


def test_dependency_failure_is_unavailable_without_retry(stubs, settings):
    clients, retrieve, _ = stubs
    retrieve.add_client_error("retrieve", "DependencyFailedException", "vector store failed", 424)

    answered = call({"question": QUESTION}, clients, settings)

    assert answered["status"] == "unavailable"
    assert "depends on" in answered["error"]
    retrieve.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("operation", "code", "status"),
    [
        ("retrieve", "AccessDeniedException", 403),
        ("retrieve", "ResourceNotFoundException", 404),
        ("converse", "AccessDeniedException", 403),
        ("converse", "ResourceNotFoundException", 404),
    ],
)
def test_platform_misconfiguration_raises(stubs, settings, capsys, operation, code, status):
    clients, retrieve, converse = stubs
    if operation == "retrieve":
        retrieve.add_client_error("retrieve", code, "denied", status)
    else:
        retrieve.add_response("retrieve", retrieve_response(result(PASSAGE_1, "knowledge/a.txt")))
        converse.add_client_error("converse", code, "denied", status)

    with pytest.raises(ClientError) as info:
        call({"question": QUESTION}, clients, settings)

    assert info.value.response["Error"]["Code"] == code
    last = log_lines(capsys)[-1]
    assert (last["level"], last["errorCode"], last["call"]) == ("ERROR", code, operation)


# --- PHI never logged --------------------------------------------------------------------------


def test_question_passages_and_answer_never_appear_in_logs(stubs, settings, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    clients, retrieve, converse = stubs
    found = retrieve_response(
        result(PASSAGE_1, "knowledge/a.txt"),
        result(PASSAGE_2, "knowledge/b.txt", bucket="other-bucket"),
    )
    # ok, blocked, throttled twice then ok, no_sources, ValidationException, access denied
    retrieve.add_response("retrieve", found)
    converse.add_response("converse", converse_response())
    retrieve.add_response("retrieve", found)
    converse.add_response("converse", converse_response(ANSWER, "guardrail_intervened"))
    retrieve.add_client_error("retrieve", "ThrottlingException", QUESTION, 429)
    retrieve.add_response("retrieve", found)
    converse.add_client_error("converse", "ThrottlingException", PASSAGE_1, 429)
    converse.add_response("converse", converse_response())
    retrieve.add_response("retrieve", retrieve_response())
    retrieve.add_client_error("retrieve", "ValidationException", QUESTION, 400)
    retrieve.add_client_error("retrieve", "AccessDeniedException", QUESTION, 403)

    statuses = [call({"question": QUESTION}, clients, settings)["status"] for _ in range(5)]
    with pytest.raises(ClientError):
        call({"question": QUESTION}, clients, settings)
    statuses.append(call({"question": QUESTION, "extra": QUESTION}, clients, settings)["status"])

    assert statuses == ["ok", "blocked", "ok", "no_sources", "rejected", "rejected"]
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert logged.count("\n") >= 10
    for secret in ("Jane Doe", "MRN-0042", "GROUND-SECRET", "aspirin", "ANSWER-TEXT", "knowledge/"):
        assert secret not in logged
    for line in captured.out.splitlines():
        json.loads(line)


# --- configuration -----------------------------------------------------------------------------


def test_settings_defaults(settings):
    assert (settings.knowledge_base_id, settings.knowledge_bucket) == (KB_ID, BUCKET)
    assert settings.knowledge_prefix == PREFIX
    assert (settings.guardrail_id, settings.guardrail_version) == (GUARDRAIL, "3")
    assert settings.allowed_model_ids == {DEFAULT_MODEL, OTHER_MODEL}
    assert settings.max_question_chars == 4000
    assert settings.max_output_tokens == 1024
    assert (settings.number_of_results, settings.max_results) == (5, 20)
    assert settings.read_timeout == 60
    assert settings.endpoint_url is None and settings.agent_runtime_endpoint_url is None


def test_knowledge_base_and_guardrail_arns_are_accepted():
    kb = f"arn:aws:bedrock:{REGION}:123456789012:knowledge-base/{KB_ID}"
    guardrail = f"arn:aws:bedrock:{REGION}:123456789012:guardrail/{GUARDRAIL}"
    loaded = mod.load_settings({**ENV, "KNOWLEDGE_BASE_ID": kb, "GUARDRAIL_ID": guardrail})
    assert (loaded.knowledge_base_id, loaded.guardrail_id) == (kb, guardrail)


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"KNOWLEDGE_BASE_ID": ""}, "KNOWLEDGE_BASE_ID"),
        ({"KNOWLEDGE_BASE_ID": "KB123"}, "KNOWLEDGE_BASE_ID"),
        ({"KNOWLEDGE_BASE_ID": "arn:aws:bedrock:us-east-1:1:knowledge-base/KB12345678"}, "KNOWLEDGE_BASE_ID"),
        ({"KNOWLEDGE_BUCKET": ""}, "KNOWLEDGE_BUCKET"),
        ({"KNOWLEDGE_BUCKET": "Not_A_Bucket"}, "KNOWLEDGE_BUCKET"),
        ({"KNOWLEDGE_PREFIX": ""}, "KNOWLEDGE_PREFIX"),
        ({"KNOWLEDGE_PREFIX": "knowledge"}, "KNOWLEDGE_PREFIX"),
        ({"KNOWLEDGE_PREFIX": "/knowledge/"}, "KNOWLEDGE_PREFIX"),
        ({"GUARDRAIL_ID": ""}, "GUARDRAIL_ID"),
        ({"GUARDRAIL_VERSION": "DRAFT"}, "GUARDRAIL_VERSION"),
        ({"GUARDRAIL_VERSION": "0"}, "GUARDRAIL_VERSION"),
        ({"DEFAULT_MODEL_ID": ""}, "DEFAULT_MODEL_ID"),
        ({"ALLOWED_MODEL_IDS": "a.b-v1, c d"}, "ALLOWED_MODEL_IDS"),
        ({"MAX_QUESTION_CHARS": "0"}, "MAX_QUESTION_CHARS"),
        ({"MAX_QUESTION_CHARS": "20001"}, "MAX_QUESTION_CHARS"),
        ({"MAX_OUTPUT_TOKENS": "many"}, "MAX_OUTPUT_TOKENS"),
        ({"NUMBER_OF_RESULTS": "0"}, "NUMBER_OF_RESULTS"),
        ({"NUMBER_OF_RESULTS": "21"}, "NUMBER_OF_RESULTS"),
        ({"MAX_RESULTS": "101"}, "MAX_RESULTS"),
        ({"MAX_RESULTS": "0"}, "MAX_RESULTS"),
        ({"MAX_RESULTS": "3"}, "NUMBER_OF_RESULTS"),
        ({"BEDROCK_READ_TIMEOUT_SECONDS": "0"}, "BEDROCK_READ_TIMEOUT_SECONDS"),
        ({"BEDROCK_ENDPOINT_URL": "http://vpce.example"}, "BEDROCK_ENDPOINT_URL"),
        ({"BEDROCK_AGENT_RUNTIME_ENDPOINT_URL": "vpce.example"}, "BEDROCK_AGENT_RUNTIME_ENDPOINT_URL"),
    ],
)  # fmt: skip
def test_invalid_settings_raise(overrides, name):
    with pytest.raises(mod.ConfigurationError, match=name):
        mod.load_settings({**ENV, **overrides})


def test_number_of_results_may_be_set_within_a_small_max():
    loaded = mod.load_settings({**ENV, "MAX_RESULTS": "3", "NUMBER_OF_RESULTS": "3"})
    assert (loaded.number_of_results, loaded.max_results) == (3, 3)


def test_make_clients_uses_vpc_endpoints_and_disables_client_retries(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    runtime_url = "https://vpce-0abc-1234.bedrock-runtime.us-east-1.vpce.amazonaws.com"
    agent_url = "https://vpce-0def-5678.bedrock-agent-runtime.us-east-1.vpce.amazonaws.com"
    settings = mod.load_settings(
        {
            **ENV,
            "BEDROCK_ENDPOINT_URL": runtime_url,
            "BEDROCK_AGENT_RUNTIME_ENDPOINT_URL": agent_url,
            "BEDROCK_READ_TIMEOUT_SECONDS": "30",
        }
    )

    clients = mod.make_clients(settings)

    assert clients.runtime.meta.service_model.service_name == "bedrock-runtime"
    assert clients.agent_runtime.meta.service_model.service_name == "bedrock-agent-runtime"
    assert (clients.runtime.meta.endpoint_url, clients.agent_runtime.meta.endpoint_url) == (
        runtime_url,
        agent_url,
    )
    for client in (clients.runtime, clients.agent_runtime):
        assert client.meta.config.retries["total_max_attempts"] == 1
        assert client.meta.config.read_timeout == 30


def test_handler_reads_env_and_answers(stubs, monkeypatch):
    clients, retrieve, converse = stubs
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(mod, "make_clients", lambda settings: clients)
    retrieve.add_response("retrieve", retrieve_response(result(PASSAGE_1, "knowledge/a.txt")))
    converse.add_response("converse", converse_response(), converse_params([PASSAGE_1]))

    assert mod.handler({"question": QUESTION}, None)["status"] == "ok"
    converse.assert_no_pending_responses()


def test_handler_without_knowledge_base_raises_configuration_error(monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("KNOWLEDGE_BASE_ID")
    with pytest.raises(mod.ConfigurationError, match="KNOWLEDGE_BASE_ID"):
        mod.handler({"question": QUESTION}, None)
