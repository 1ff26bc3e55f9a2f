"""Tests for lambda/knowledge_ingestion: Stubber-wrapped bedrock-agent and SQS clients."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from tests.handlers.loader import load_handler, load_layer

mod = load_handler("knowledge_ingestion")
settings_mod = load_handler("knowledge_ingestion", "knowledge_ingestion_settings")
event_mod = load_handler("knowledge_ingestion", "knowledge_ingestion_event")
errors = load_layer("errors")

REGION = "us-east-1"
KB_ID = "KB12345678"
DS_ID = "DS12345678"
BUCKET = "curated-bucket"
PREFIX = "knowledge/"
DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/knowledge-ingestion-dlq"
ENV = {
    "KNOWLEDGE_BASE_ID": KB_ID,
    "DATA_SOURCE_ID": DS_ID,
    "KNOWLEDGE_BUCKET": BUCKET,
    "KNOWLEDGE_PREFIX": PREFIX,
    "DLQ_URL": DLQ_URL,
}
SETTINGS = settings_mod.load_settings(ENV)
LIST_PARAMS = {
    "knowledgeBaseId": KB_ID,
    "dataSourceId": DS_ID,
    "filters": [{"attribute": "STATUS", "operator": "EQ", "values": ["STARTING", "IN_PROGRESS"]}],
    "sortBy": {"attribute": "STARTED_AT", "order": "DESCENDING"},
    "maxResults": 10,
}
STARTED = datetime(2024, 1, 1, 12, 0, 0, 500000, tzinfo=UTC)
CLIENT_TOKEN_RE = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}")  # botocore's pattern


@pytest.fixture(scope="module")
def clients() -> tuple[Any, Any]:
    creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return (
        boto3.client("bedrock-agent", region_name=REGION, **creds),
        boto3.client("sqs", region_name=REGION, **creds),
    )


@dataclass
class Env:
    bedrock: Stubber
    sqs: Stubber
    clients: Any

    def run(self, event: Any) -> dict[str, Any]:
        return mod.process_batch(event, self.clients, SETTINGS)


@pytest.fixture
def env(clients: tuple[Any, Any]) -> Iterator[Env]:
    bedrock_agent, sqs = clients
    with Stubber(bedrock_agent) as bedrock, Stubber(sqs) as sqs_stub:
        yield Env(bedrock, sqs_stub, mod.Clients(bedrock_agent=bedrock_agent, sqs=sqs))
        bedrock.assert_no_pending_responses()
        sqs_stub.assert_no_pending_responses()


# ----------------------------------------------------------------------------- helpers


def s3_event(
    key: str,
    *,
    detail_type: str = "Object Created",
    bucket: str = BUCKET,
    time: str | None = "2024-01-01T11:59:00Z",
    source: str = "aws.s3",
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": quote_plus(key, safe="/"), "sequencer": "0A"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "reason": "PutObject" if detail_type == "Object Created" else "DeleteObject",
        },
    }
    if time is not None:
        event["time"] = time
    return event


def record(message_id: str, body: Any, *, receive_count: str = "1") -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": receive_count,
            "SentTimestamp": "1704110340000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1704110340001",
        },
        "messageAttributes": {},
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:knowledge-buffer",
        "awsRegion": REGION,
    }


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def change(message_id: str, key: str = "knowledge/doc.pdf", **kwargs: Any) -> dict[str, Any]:
    return record(message_id, s3_event(key, **kwargs))


def token_of(*message_ids: str) -> str:
    """The documented token: SHA-256 hex of the JSON list of sorted distinct message IDs."""
    canonical = json.dumps(sorted(set(message_ids)), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def job(job_id: str = "JOB1234567", status: str = "STARTING", started: datetime = STARTED) -> dict:
    return {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "ingestionJobId": job_id,
        "status": status,
        "startedAt": started,
        "updatedAt": started,
    }


def expect_list(env: Env, *jobs: dict[str, Any]) -> None:
    env.bedrock.add_response(
        "list_ingestion_jobs", {"ingestionJobSummaries": list(jobs)}, LIST_PARAMS
    )


def expect_start(env: Env, token: str, description: str, job_id: str = "JOB1234567") -> None:
    env.bedrock.add_response(
        "start_ingestion_job",
        {"ingestionJob": job(job_id)},
        {
            "knowledgeBaseId": KB_ID,
            "dataSourceId": DS_ID,
            "clientToken": token,
            "description": description,
        },
    )


class Body:
    """Matches an SQS MessageBody holding these top-level fields (and keeps what it saw)."""

    def __init__(self, **fields: Any) -> None:
        self.fields = fields
        self.seen: dict[str, Any] | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return False
        self.seen = json.loads(other)
        return all(self.seen.get(k) == v for k, v in self.fields.items())

    __hash__ = None  # type: ignore[assignment]


def expect_dlq(env: Env, **fields: Any) -> Body:
    body = Body(**fields)
    env.sqs.add_response(
        "send_message",
        {"MessageId": "dlq-1", "MD5OfMessageBody": "x"},
        {"QueueUrl": DLQ_URL, "MessageBody": body},
    )
    return body


def logs(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def failures(*message_ids: str) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": m} for m in message_ids]}


# ----------------------------------------------------------------------------- starting a job


def test_one_job_for_a_batch_of_many_objects(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    records = [change(f"m-{i:03}", f"knowledge/doc-{i:03}.pdf") for i in range(99)]
    records.append(change("m-099", "knowledge/old.pdf", detail_type="Object Deleted"))
    expect_list(env)
    expect_start(
        env, token_of(*(r["messageId"] for r in records)), "100 objects changed under knowledge/"
    )
    assert env.run(batch(*records)) == failures()
    started = [line for line in logs(capsys) if line["message"] == "ingestion job started"]
    assert len(started) == 1
    line = started[0]
    assert line["job_id"] == "JOB1234567"
    assert (line["object_count"], line["created"], line["deleted"]) == (100, 99, 1)
    assert line["keys"] == [f"knowledge/doc-{i:03}.pdf" for i in range(20)]
    assert line["keys_truncated"] is True


def test_single_object_description_and_decoded_key(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    expect_list(env)
    expect_start(env, token_of("m-1"), "1 object changed under knowledge/")
    assert env.run(batch(change("m-1", "knowledge/red flower.txt"))) == failures()
    line = logs(capsys)[-1]
    assert line["keys"] == ["knowledge/red flower.txt"]
    assert line["keys_truncated"] is False


def test_client_token_is_deterministic_and_order_independent(env: Env) -> None:
    records = [
        change("m-a", "knowledge/a"),
        change("m-b", "knowledge/b"),
        change("m-c", "knowledge/c"),
    ]
    token = token_of("m-a", "m-b", "m-c")
    assert 33 <= len(token) <= 256 and CLIENT_TOKEN_RE.fullmatch(token)
    for ordered in (records, list(reversed(records))):
        expect_list(env)
        expect_start(env, token, "3 objects changed under knowledge/")  # Stubber checks the token
        assert env.run(batch(*ordered)) == failures()
    assert mod.client_token(["m-a", "m-b", "m-c"]) == mod.client_token(["m-c", "m-a", "m-b"])


def test_a_different_set_of_records_gets_a_different_token(env: Env) -> None:
    assert token_of("m-a", "m-b") != token_of("m-a", "m-b", "m-c")
    expect_list(env)
    expect_start(env, token_of("m-a", "m-b"), "2 objects changed under knowledge/")
    env.run(batch(change("m-a"), change("m-b")))
    assert mod.client_token(["m-a", "m-b"]) != mod.client_token(["m-a", "m-b", "m-c"])
    assert mod.client_token(["m-a", "m-b"]) != mod.client_token(["m-a", "m-c"])


def test_duplicate_message_is_counted_once(env: Env) -> None:
    expect_list(env)
    expect_start(env, token_of("m-a", "m-b"), "2 objects changed under knowledge/")
    assert env.run(batch(change("m-a"), change("m-b"), change("m-a"))) == failures()


def test_description_is_capped_at_the_api_limit() -> None:
    long = mod.describe(3, "k" * 300 + "/")
    assert len(long) == 200 and long.endswith("...")
    assert mod.describe(12, PREFIX) == "12 objects changed under knowledge/"


# ----------------------------------------------------------------------------- dead-lettering

BAD_BODIES = [
    ("key_outside_prefix", s3_event("other/doc.pdf")),
    ("key_outside_prefix", s3_event("knowledgebase/doc.pdf")),
    ("wrong_bucket", s3_event("knowledge/doc.pdf", bucket="raw-bucket")),
    (
        "unsupported_detail_type",
        s3_event("knowledge/doc.pdf", detail_type="Object Restore Completed"),
    ),
    ("unsupported_detail_type", s3_event("knowledge/doc.pdf", detail_type="Object Tags Added")),
    ("not_s3_object_event", s3_event("knowledge/doc.pdf", source="aws.ec2")),
    ("not_s3_object_event", {"source": "aws.s3", "detail": {"bucket": {"name": BUCKET}}}),
    (
        "not_s3_object_event",
        {"source": "aws.s3", "detail": {"bucket": {"name": BUCKET}, "object": {"key": ""}}},
    ),
    ("not_s3_object_event", ["not", "an", "event"]),
    ("body_not_json", "{not json"),
    ("body_not_json", ""),
]


@pytest.mark.parametrize(("reason", "body"), BAD_BODIES)
def test_unusable_record_is_dead_lettered_not_failed(env: Env, reason: str, body: Any) -> None:
    sent = expect_dlq(env, reason=reason, message_id="m-bad")
    assert env.run(batch(record("m-bad", body))) == failures()  # no Bedrock call stubbed
    assert sent.seen is not None and sent.seen["event"]["messageId"] == "m-bad"


def test_dead_letter_names_bucket_and_key(env: Env) -> None:
    sent = expect_dlq(env, reason="wrong_bucket", bucket="raw-bucket", key="knowledge/a b.pdf")
    env.run(batch(change("m-1", "knowledge/a b.pdf", bucket="raw-bucket")))
    assert sent.seen is not None and sent.seen["event"]["body"]


@pytest.mark.parametrize(
    "bad",
    [
        "not a record",
        {"body": json.dumps(s3_event("knowledge/x")), "eventSource": "aws:sqs"},  # no messageId
        {**change("m-1"), "eventSource": "aws:kinesis"},
        {**change("m-1"), "body": {"already": "parsed"}},
    ],
)
def test_malformed_sqs_record_is_dead_lettered(env: Env, bad: Any) -> None:
    sent = expect_dlq(env, reason="malformed_record")
    assert env.run(batch(bad)) == failures()
    assert sent.seen is not None and sent.seen["event"] == bad


@pytest.mark.parametrize(
    "event", [None, "text", [], {"detail": {}}, {"Records": "x"}, {"records": []}]
)
def test_non_sqs_event_is_dead_lettered(env: Env, event: Any) -> None:
    sent = expect_dlq(env, reason="not_sqs_event")
    assert env.run(event) == failures()
    assert sent.seen is not None and sent.seen["event"] == event


def test_empty_batch_calls_nothing(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    assert env.run(batch()) == failures()
    assert logs(capsys)[-1]["message"] == "nothing to ingest"


def test_bad_records_are_dead_lettered_and_the_rest_ingested(env: Env) -> None:
    expect_dlq(env, reason="key_outside_prefix", message_id="m-2")
    expect_list(env)
    expect_start(env, token_of("m-1", "m-3"), "2 objects changed under knowledge/")
    result = env.run(batch(change("m-1"), change("m-2", "elsewhere/x"), change("m-3")))
    assert result == failures()


def test_dlq_send_failure_raises(env: Env) -> None:
    env.sqs.add_client_error("send_message", "InternalError", "boom", 500)
    with pytest.raises(ClientError):
        env.run(batch(record("m-bad", "{")))


# ----------------------------------------------------------------------------- running job


def test_running_job_covers_earlier_changes_and_defers_later_ones(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    expect_list(env, job(status="IN_PROGRESS"))  # started 12:00:00.5 UTC
    result = env.run(
        batch(
            change("m-early", time="2024-01-01T11:59:59Z"),  # wholly before: covered
            change("m-offset", time="2024-01-01T12:59:00+01:00"),  # 11:59 UTC: covered
            change("m-same-second", time="2024-01-01T12:00:00Z"),  # may be after 12:00:00.5
            change("m-late", time="2024-01-01T12:05:00Z"),
            change("m-no-time", time=None),
            change("m-bad-time", time="yesterday"),
            change("m-naive-time", time="2024-01-01T11:00:00"),
        )
    )
    assert result == failures("m-same-second", "m-late", "m-no-time", "m-bad-time", "m-naive-time")
    line = logs(capsys)[-1]
    assert line["message"] == "ingestion job running"
    assert (line["job_id"], line["covered"], line["retried_later"]) == ("JOB1234567", 2, 5)


def test_all_changes_covered_by_the_running_job(env: Env) -> None:
    expect_list(env, job(status="STARTING"))
    assert env.run(batch(change("m-1"), change("m-2", detail_type="Object Deleted"))) == failures()


def test_started_at_in_another_timezone_compares_correctly(env: Env) -> None:
    plus_two = timezone(timedelta(hours=2))
    expect_list(env, job(started=datetime(2024, 1, 1, 14, 0, 5, tzinfo=plus_two)))  # 12:00:05Z
    result = env.run(
        batch(
            change("m-before", time="2024-01-01T12:00:00Z"),
            change("m-after", time="2024-01-01T12:00:10Z"),
        )
    )
    assert result == failures("m-after")


def test_naive_started_at_is_taken_as_utc(env: Env) -> None:
    expect_list(env, job(started=datetime(2024, 1, 1, 12, 0, 5)))
    result = env.run(
        batch(
            change("m-before", time="2024-01-01T12:00:00Z"),
            change("m-after", time="2024-01-01T12:00:05Z"),
        )
    )
    assert result == failures("m-after")


def test_latest_of_several_running_jobs_is_used(env: Env) -> None:
    older = job("JOBOLD0001", "IN_PROGRESS", STARTED - timedelta(hours=1))
    newer = job("JOBNEW0001", "STARTING", STARTED)
    expect_list(env, older, newer)
    result = env.run(
        batch(
            change("m-1", time="2024-01-01T11:30:00Z"), change("m-2", time="2024-01-01T12:01:00Z")
        )
    )
    assert result == failures("m-2")


def test_finished_jobs_in_the_listing_are_ignored(env: Env) -> None:
    expect_list(env, job("JOBDONE001", "COMPLETE", STARTED + timedelta(hours=1)))
    expect_start(env, token_of("m-1"), "1 object changed under knowledge/")
    assert env.run(batch(change("m-1", time="2024-01-01T13:30:00Z"))) == failures()


def test_is_covered_needs_a_whole_second_before_the_start() -> None:
    def at(time: datetime | None) -> Any:
        return event_mod.Change("m", "Object Created", BUCKET, "knowledge/x", time, 1)

    start = datetime(2024, 1, 1, 12, 0, 1, tzinfo=UTC)
    assert mod.is_covered(at(datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)), start)
    assert not mod.is_covered(at(datetime(2024, 1, 1, 12, 0, 0, 1, tzinfo=UTC)), start)
    assert not mod.is_covered(at(None), start)
    assert not mod.is_covered(at(datetime(2024, 1, 1, tzinfo=UTC)), None)


# ----------------------------------------------------------------------------- errors

RETRYABLE = [
    ("ConflictException", 409),
    ("ThrottlingException", 429),
    ("ServiceQuotaExceededException", 402),
]


@pytest.mark.parametrize(("code", "status"), RETRYABLE)
def test_retryable_error_on_start_fails_every_usable_record(
    env: Env, capsys: pytest.CaptureFixture[str], code: str, status: int
) -> None:
    expect_dlq(env, reason="body_not_json")
    expect_list(env)
    env.bedrock.add_client_error("start_ingestion_job", code, "later", status)
    result = env.run(batch(change("m-1"), record("m-bad", "{"), change("m-2")))
    assert result == failures("m-1", "m-2")
    line = logs(capsys)[-1]
    assert (line["level"], line["error_code"], line["operation"]) == (
        "WARNING",
        code,
        "StartIngestionJob",
    )


@pytest.mark.parametrize(("code", "status"), RETRYABLE)
def test_retryable_error_on_list_fails_every_usable_record(
    env: Env, code: str, status: int
) -> None:
    env.bedrock.add_client_error("list_ingestion_jobs", code, "later", status)
    assert env.run(batch(change("m-1"), change("m-2"))) == failures("m-1", "m-2")


RAISED = [
    ("ValidationException", 400),
    ("ResourceNotFoundException", 404),
    ("AccessDeniedException", 403),
    ("InternalServerException", 500),
    ("ServiceUnavailable", 503),
]


@pytest.mark.parametrize(("code", "status"), RAISED)
@pytest.mark.parametrize("operation", ["list_ingestion_jobs", "start_ingestion_job"])
def test_other_errors_raise(
    env: Env, capsys: pytest.CaptureFixture[str], code: str, status: int, operation: str
) -> None:
    if operation == "start_ingestion_job":
        expect_list(env)
    env.bedrock.add_client_error(operation, code, "misconfigured", status)
    with pytest.raises(ClientError) as caught:
        env.run(batch(change("m-1")))
    assert errors.error_code(caught.value) == code
    line = logs(capsys)[-1]
    assert (line["level"], line["error_code"]) == ("ERROR", code)


def test_network_error_raises() -> None:
    class Down:
        def list_ingestion_jobs(self, **_: Any) -> Any:
            raise EndpointConnectionError(
                endpoint_url="https://bedrock-agent.us-east-1.amazonaws.com"
            )

    clients = mod.Clients(bedrock_agent=Down(), sqs=None)
    with pytest.raises(EndpointConnectionError):
        mod.process_batch(batch(change("m-1")), clients, SETTINGS)


# ----------------------------------------------------------------------------- entry point


def test_handler_reads_the_environment_and_builds_clients(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BEDROCK_AGENT_ENDPOINT_URL", raising=False)
    built: list[Any] = []

    def fake_make_clients(settings: Any) -> Any:
        built.append(settings)
        return env.clients

    monkeypatch.setattr(mod, "make_clients", fake_make_clients)
    expect_list(env)
    expect_start(env, token_of("m-1"), "1 object changed under knowledge/")
    assert mod.handler(batch(change("m-1")), None) == failures()
    assert built == [SETTINGS]


def test_handler_raises_configuration_error_before_any_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)

    def no_clients(settings: Any) -> Any:
        raise AssertionError("clients built despite a bad configuration")

    monkeypatch.setattr(mod, "make_clients", no_clients)
    with pytest.raises(mod.ConfigurationError, match="KNOWLEDGE_BASE_ID"):
        mod.handler(batch(change("m-1")), None)
    assert mod.ConfigurationError is errors.ConfigurationError


def test_make_clients_uses_the_endpoint_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    url = "https://vpce-0abc-bedrock-agent.us-east-1.vpce.amazonaws.com"
    custom = mod.make_clients(
        settings_mod.load_settings({**ENV, "BEDROCK_AGENT_ENDPOINT_URL": url})
    )
    assert custom.bedrock_agent.meta.endpoint_url == url
    assert custom.bedrock_agent.meta.service_model.service_name == "bedrock-agent"
    assert custom.sqs.meta.service_model.service_name == "sqs"
    default = mod.make_clients(SETTINGS)
    assert (
        default.bedrock_agent.meta.endpoint_url == "https://bedrock-agent.us-east-1.amazonaws.com"
    )


# ----------------------------------------------------------------------------- settings


def test_settings_from_a_valid_environment() -> None:
    loaded = settings_mod.load_settings(ENV)
    assert loaded == settings_mod.Settings(KB_ID, DS_ID, BUCKET, PREFIX, DLQ_URL, None)
    padded = settings_mod.load_settings(
        {**ENV, "KNOWLEDGE_BASE_ID": f"  {KB_ID} ", "BEDROCK_AGENT_ENDPOINT_URL": "  "}
    )
    assert padded.knowledge_base_id == KB_ID and padded.bedrock_agent_endpoint_url is None
    url = "https://bedrock-agent.us-east-1.amazonaws.com"
    assert (
        settings_mod.load_settings(
            {**ENV, "BEDROCK_AGENT_ENDPOINT_URL": url}
        ).bedrock_agent_endpoint_url
        == url
    )


def test_settings_id_pattern_is_botocores() -> None:
    model = boto3.client("bedrock-agent", region_name=REGION).meta.service_model
    members = model.operation_model("StartIngestionJob").input_shape.members
    for name in ("knowledgeBaseId", "dataSourceId"):
        assert members[name].metadata["pattern"] == settings_mod.BEDROCK_ID_RE.pattern


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KNOWLEDGE_BASE_ID", None),
        ("KNOWLEDGE_BASE_ID", "KB1234567"),
        ("KNOWLEDGE_BASE_ID", "KB123456789"),
        ("KNOWLEDGE_BASE_ID", "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678"),
        ("DATA_SOURCE_ID", None),
        ("DATA_SOURCE_ID", "DS-1234567"),
        ("KNOWLEDGE_BUCKET", None),
        ("KNOWLEDGE_BUCKET", "Curated_Bucket"),
        ("KNOWLEDGE_BUCKET", "s3://curated-bucket"),
        ("KNOWLEDGE_PREFIX", None),
        ("KNOWLEDGE_PREFIX", "knowledge"),
        ("KNOWLEDGE_PREFIX", "/knowledge/"),
        ("KNOWLEDGE_PREFIX", "/"),
        ("DLQ_URL", None),
        ("DLQ_URL", "arn:aws:sqs:us-east-1:123456789012:dlq"),
        ("BEDROCK_AGENT_ENDPOINT_URL", "http://bedrock-agent.us-east-1.amazonaws.com"),
        ("BEDROCK_AGENT_ENDPOINT_URL", "bedrock-agent.us-east-1.amazonaws.com"),
    ],
)
def test_invalid_settings_name_the_variable(name: str, value: str | None) -> None:
    environment = {k: v for k, v in ENV.items() if k != name}
    if value is not None:
        environment[name] = value
    with pytest.raises(errors.ConfigurationError, match=f"^{name}="):
        settings_mod.load_settings(environment)
