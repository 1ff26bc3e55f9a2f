"""Tests for the handler_kit layer (lambda/layer/python/handler_kit): every helper, every failure.

The layer is imported as Lambda imports it (``/opt/python`` on ``sys.path``; here
``lambda/layer/python``). SQS calls go to a real botocore client wrapped in a Stubber, which
checks each request against the SQS API model.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tests.handlers.loader import LAYER_PATH, load_layer

kit = load_layer()
log_mod = load_layer("log")
errors = load_layer("errors")
dlq = load_layer("dlq")
envs = load_layer("env")

ACCOUNT = "123456789012"
QUEUE = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/fn-dlq"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
SESSION = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


def client_error(response: dict[str, Any]) -> ClientError:
    return ClientError(response, "SendMessage")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# The package
# ---------------------------------------------------------------------------------------------


def test_layer_is_imported_from_the_layer_folder() -> None:
    assert kit.__file__ == str(LAYER_PATH / "handler_kit" / "__init__.py")


def test_package_reexports_every_helper() -> None:
    owners = {
        log_mod: ["log"],
        errors: ["ConfigurationError", "error_code", "http_status"],
        dlq: ["SQS_BODY_MAX", "dead_letter_body", "send_to_dlq"],
        envs: [
            "QUEUE_URL_RE",
            "TOPIC_ARN_RE",
            "boolean",
            "bounded_float",
            "bounded_int",
            "matching_str",
            "one_of",
            "optional_str",
            "queue_url",
            "topic_arn",
        ],
    }
    names = [name for listed in owners.values() for name in listed]
    assert sorted(kit.__all__) == sorted(names)
    for module, listed in owners.items():
        for name in listed:
            assert getattr(kit, name) is getattr(module, name), name


# ---------------------------------------------------------------------------------------------
# log
# ---------------------------------------------------------------------------------------------


def test_log_writes_one_json_line_level_and_message_first(capsys) -> None:
    log_mod.log("info", "event routed", published=2, source="aws.guardduty")
    (line,) = lines(capsys)
    record = json.loads(line)
    assert record == {
        "level": "info",
        "message": "event routed",
        "published": 2,
        "source": "aws.guardduty",
    }
    assert list(record) == ["level", "message", "published", "source"]


@pytest.mark.parametrize("level", ["info", "INFO", "WARNING", "error"])
def test_log_keeps_the_level_as_given(capsys, level: str) -> None:
    log_mod.log(level, "m")
    assert json.loads(lines(capsys)[0])["level"] == level


def test_log_writes_other_values_as_text_and_stays_on_one_line(capsys) -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    log_mod.log("INFO", "m", at=when, key="a\nb", name="café")
    (line,) = lines(capsys)
    assert line.isascii()
    record = json.loads(line)
    assert record["at"] == str(when)
    assert record["key"] == "a\nb"
    assert record["name"] == "café"


def test_log_never_raises_on_unserialisable_fields(capsys) -> None:
    circular: dict[str, Any] = {}
    circular["self"] = circular
    log_mod.log("ERROR", "bad fields", loop=circular, keys={(1, 2): "tuple key"}, ok=1)
    (line,) = lines(capsys)
    assert json.loads(line) == {
        "level": "ERROR",
        "message": "bad fields",
        "unserialisable_fields": ["keys", "loop", "ok"],
    }


def test_log_never_raises_when_str_of_a_value_fails(capsys) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

    log_mod.log("ERROR", "m", thing=Unprintable())
    assert json.loads(lines(capsys)[0])["unserialisable_fields"] == ["thing"]


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


def test_configuration_error_is_an_exception_with_its_message() -> None:
    error = errors.ConfigurationError("DLQ_URL='' is invalid")
    assert isinstance(error, Exception)
    assert str(error) == "DLQ_URL='' is invalid"


def test_error_code_and_http_status_of_a_client_error() -> None:
    error = client_error(
        {
            "Error": {"Code": "ThrottlingException", "Message": "slow down"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
    )
    assert errors.error_code(error) == "ThrottlingException"
    assert errors.error_code(error, "Unknown") == "ThrottlingException"
    assert errors.http_status(error) == 400


@pytest.mark.parametrize(
    "response",
    [{}, {"Error": {}}, {"Error": {"Message": "no code"}}, {"ResponseMetadata": {}}],
)
def test_error_code_and_http_status_without_them(response: dict[str, Any]) -> None:
    error = client_error(response)
    assert errors.error_code(error) == ""
    assert errors.error_code(error, "Unknown") == "Unknown"
    assert errors.http_status(error) == 0


def test_http_status_none_is_zero() -> None:
    assert errors.http_status(client_error({"ResponseMetadata": {"HTTPStatusCode": None}})) == 0


def test_error_code_of_a_real_stubbed_error() -> None:
    sqs = SESSION.client("sqs")
    with Stubber(sqs) as stub:
        stub.add_client_error("send_message", "AWS.SimpleQueueService.NonExistentQueue", "gone")
        with pytest.raises(ClientError) as raised:
            sqs.send_message(QueueUrl=QUEUE, MessageBody="{}")
    assert errors.error_code(raised.value) == "AWS.SimpleQueueService.NonExistentQueue"
    assert errors.http_status(raised.value) == 400


# ---------------------------------------------------------------------------------------------
# dlq: the body
# ---------------------------------------------------------------------------------------------


def test_body_holds_the_reason_then_the_event() -> None:
    body = dlq.dead_letter_body("missing detail", {"source": "aws.macie"})
    assert body == '{"reason": "missing detail", "event": {"source": "aws.macie"}}'


def test_body_puts_details_between_reason_and_event() -> None:
    body = dlq.dead_letter_body("wrong_bucket", [1], details={"bucket": "b", "key": "k"})
    assert list(json.loads(body)) == ["reason", "bucket", "key", "event"]


def test_body_without_the_event() -> None:
    body = dlq.dead_letter_body("not_utf8", details={"bucket": "b", "key": "k"})
    assert json.loads(body) == {"reason": "not_utf8", "bucket": "b", "key": "k"}
    assert dlq.dead_letter_body("r", dlq.OMITTED) == '{"reason": "r"}'


@pytest.mark.parametrize("event", [None, 42, "text", ["list"], {}])
def test_body_keeps_any_json_event_as_it_is(event: Any) -> None:
    assert json.loads(dlq.dead_letter_body("r", event))["event"] == event


def test_body_writes_other_values_as_text() -> None:
    when = datetime(2024, 1, 2, tzinfo=UTC)
    assert json.loads(dlq.dead_letter_body("r", {"at": when}))["event"] == {"at": str(when)}


def test_oversized_event_is_kept_as_a_cut_json_string() -> None:
    event = {"detail": {"padding": "x" * (300 * 1024)}}
    body = dlq.dead_letter_body("unsupported event", event, details={"bucket": "b"})
    assert len(body.encode()) <= dlq.SQS_BODY_MAX
    letter = json.loads(body)
    assert list(letter) == ["reason", "bucket", "event_truncated", "event"]
    assert letter["reason"] == "unsupported event"
    assert letter["bucket"] == "b"
    assert letter["event_truncated"] is True
    assert isinstance(letter["event"], str)
    assert json.dumps(event).startswith(letter["event"])
    assert len(letter["event"]) == dlq.SQS_BODY_MAX // 2


def test_oversized_event_full_of_escapes_still_fits() -> None:
    # Quotes and backslashes double in size each time they are written as JSON: a cut at half
    # the limit is not enough, the body must still be bounded.
    event = {"quotes": '"\\' * (200 * 1024)}
    body = dlq.dead_letter_body("r", event)
    assert len(body.encode()) <= dlq.SQS_BODY_MAX
    letter = json.loads(body)
    assert letter["event_truncated"] is True
    assert json.dumps(event).startswith(letter["event"])
    assert len(letter["event"]) > dlq.SQS_BODY_MAX // 4


def test_oversized_non_ascii_event_is_bounded_in_bytes() -> None:
    event = {"text": "日本語😀" * (100 * 1024)}
    body = dlq.dead_letter_body("r", event)
    assert len(body.encode("utf-8")) <= dlq.SQS_BODY_MAX
    assert json.loads(body)["event_truncated"] is True


@pytest.mark.parametrize("limit", [60, 61, 75, 200, 1000])
def test_body_never_exceeds_a_small_limit(limit: int) -> None:
    body = dlq.dead_letter_body("r", {"padding": "y" * 5000}, limit=limit)
    assert len(body.encode()) <= limit
    assert json.loads(body)["event_truncated"] is True


def test_body_exactly_at_the_limit_is_not_cut() -> None:
    event = {"k": "v" * 100}
    body = dlq.dead_letter_body("r", event)
    assert dlq.dead_letter_body("r", event, limit=len(body)) == body
    cut = dlq.dead_letter_body("r", event, limit=len(body) - 1)
    assert len(cut) <= len(body) - 1
    assert json.loads(cut)["event_truncated"] is True


def test_long_reason_is_clipped() -> None:
    reason = "unsupported event: source=" + "s" * 5000
    letter = json.loads(dlq.dead_letter_body(reason, {}))
    assert len(letter["reason"]) == dlq.REASON_MAX
    assert letter["reason"].endswith("...")
    assert reason.startswith(letter["reason"][:-3])
    assert dlq.clip_reason("short") == "short"
    assert dlq.clip_reason("x" * dlq.REASON_MAX) == "x" * dlq.REASON_MAX


def test_details_larger_than_the_limit_raise() -> None:
    with pytest.raises(ValueError, match=r"bytes without the event; the limit is 100.*key"):
        dlq.dead_letter_body("r", {"e": 1}, details={"key": "k" * 500}, limit=100)
    with pytest.raises(ValueError, match=r"^dead-letter body is 526 bytes; the limit is 100.*key"):
        dlq.dead_letter_body("r", details={"key": "k" * 500}, limit=100)


@pytest.mark.parametrize("key", sorted(dlq.RESERVED_KEYS))
def test_details_may_not_use_a_reserved_key(key: str) -> None:
    with pytest.raises(ValueError, match=f"may not use the keys {key}"):
        dlq.dead_letter_body("r", {}, details={key: "x"})


# ---------------------------------------------------------------------------------------------
# dlq: the send
# ---------------------------------------------------------------------------------------------


def test_send_to_dlq_sends_the_body_then_logs(capsys) -> None:
    sqs = SESSION.client("sqs")
    event = {"source": "aws.unknown"}
    expected = {"QueueUrl": QUEUE, "MessageBody": dlq.dead_letter_body("unsupported", event)}
    with Stubber(sqs) as stub:
        stub.add_response("send_message", {"MessageId": "m-1"}, expected)
        dlq.send_to_dlq(sqs, QUEUE, "unsupported", event)
        stub.assert_no_pending_responses()
    (line,) = lines(capsys)
    assert json.loads(line) == {
        "level": "warning",
        "message": "event dead-lettered",
        "reason": "unsupported",
    }


def test_send_to_dlq_with_details_level_and_message(capsys) -> None:
    sqs = SESSION.client("sqs")
    details = {"bucket": "raw", "key": "clinical/a.txt", "error_code": "NoSuchKey"}
    body = dlq.dead_letter_body("object_not_found", details=details)
    with Stubber(sqs) as stub:
        stub.add_response("send_message", {}, {"QueueUrl": QUEUE, "MessageBody": body})
        dlq.send_to_dlq(
            sqs,
            QUEUE,
            "object_not_found",
            details=details,
            level="WARNING",
            message="object dead-lettered",
        )
    assert json.loads(lines(capsys)[0]) == {
        "level": "WARNING",
        "message": "object dead-lettered",
        "reason": "object_not_found",
        **details,
    }


def test_send_to_dlq_logs_the_clipped_reason(capsys) -> None:
    sqs = SESSION.client("sqs")
    with Stubber(sqs) as stub:
        stub.add_response("send_message", {})
        dlq.send_to_dlq(sqs, QUEUE, "r" * 5000, None)
    assert len(json.loads(lines(capsys)[0])["reason"]) == dlq.REASON_MAX


def test_send_to_dlq_oversized_event_is_sent_cut() -> None:
    sent: list[dict[str, Any]] = []

    class FakeSqs:
        def send_message(self, **kwargs: Any) -> dict[str, Any]:
            sent.append(kwargs)
            return {}

    dlq.send_to_dlq(FakeSqs(), QUEUE, "too big", {"pad": "z" * (400 * 1024)})
    (call,) = sent
    assert call["QueueUrl"] == QUEUE
    assert len(call["MessageBody"].encode()) <= dlq.SQS_BODY_MAX
    assert json.loads(call["MessageBody"])["event_truncated"] is True


def test_send_to_dlq_error_raises_and_logs_nothing(capsys) -> None:
    sqs = SESSION.client("sqs")
    with Stubber(sqs) as stub:
        stub.add_client_error("send_message", "ServiceUnavailable", http_status_code=503)
        with pytest.raises(ClientError, match="ServiceUnavailable"):
            dlq.send_to_dlq(sqs, QUEUE, "r", {})
    assert lines(capsys) == []


def test_send_to_dlq_with_reserved_details_sends_nothing() -> None:
    sqs = SESSION.client("sqs")
    with Stubber(sqs), pytest.raises(ValueError, match="reason"):  # no response queued
        dlq.send_to_dlq(sqs, QUEUE, "r", {}, details={"reason": "other"})


# ---------------------------------------------------------------------------------------------
# env: strings and patterns
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), ("", None), ("  ", None), (" a ", "a")]
)
def test_optional_str(value: str | None, expected: str | None) -> None:
    env = {} if value is None else {"NAME": value}
    assert envs.optional_str(env, "NAME") == expected


def test_matching_str_matches_in_full_after_stripping() -> None:
    pattern = re.compile(r"[a-z]+")
    assert envs.matching_str({"N": " abc "}, "N", pattern, "letters") == "abc"
    with pytest.raises(envs.ConfigurationError) as raised:
        envs.matching_str({"N": "abc1"}, "N", pattern, "lower-case letters")
    assert str(raised.value) == "N='abc1' is invalid; expected lower-case letters"


@pytest.mark.parametrize("env", [{}, {"N": ""}, {"N": "   "}])
def test_matching_str_unset_or_blank_is_invalid(env: dict[str, str]) -> None:
    with pytest.raises(envs.ConfigurationError) as raised:
        envs.matching_str(env, "N", re.compile(r"\S+"), "a model ID")
    assert str(raised.value) == "N='' is invalid; expected a model ID"


@pytest.mark.parametrize(
    "url",
    [
        QUEUE,
        f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/" + "q" * 80,
        f"https://vpce-0abc-1234.sqs.us-east-1.vpce.amazonaws.com/{ACCOUNT}/dlq",
        f"https://sqs.cn-north-1.amazonaws.com.cn/{ACCOUNT}/dlq_1",
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/events.fifo",
        f"https://queue.amazonaws.com/{ACCOUNT}/legacy",
    ],
)
def test_queue_url_accepts_queue_urls(url: str) -> None:
    assert envs.queue_url({"DLQ_URL": f" {url} "}) == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not-a-url",
        f"http://sqs.us-east-1.amazonaws.com/{ACCOUNT}/dlq",
        "https://sqs.us-east-1.amazonaws.com/12345/dlq",
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/",
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/bad.name",
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/" + "q" * 81,
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/dlq/extra",
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq",
    ],
)
def test_queue_url_refuses_anything_else(url: str) -> None:
    with pytest.raises(envs.ConfigurationError) as raised:
        envs.queue_url({"DLQ_URL": url})
    assert str(raised.value) == (
        f"DLQ_URL={url!r} is invalid; expected https://sqs.<region>.amazonaws.com/<account>/<queue>"
    )


def test_queue_url_unset_and_other_variable_names() -> None:
    with pytest.raises(envs.ConfigurationError, match=r"^DLQ_URL='' is invalid"):
        envs.queue_url({})
    assert envs.queue_url({"REPORTS_URL": QUEUE}, "REPORTS_URL") == QUEUE
    with pytest.raises(envs.ConfigurationError, match=r"^REPORTS_URL='x' is invalid"):
        envs.queue_url({"REPORTS_URL": "x", "DLQ_URL": QUEUE}, "REPORTS_URL")


@pytest.mark.parametrize(
    "arn",
    [
        TOPIC,
        f"arn:aws:sns:eu-central-1:{ACCOUNT}:security-findings_1",
        f"arn:aws:sns:us-east-1:{ACCOUNT}:orders.fifo",
        f"arn:aws-us-gov:sns:us-gov-west-1:{ACCOUNT}:alerts",
        f"arn:aws-cn:sns:cn-north-1:{ACCOUNT}:alerts",
    ],
)
def test_topic_arn_accepts_topic_arns(arn: str) -> None:
    assert envs.topic_arn({"TOPIC_ARN": arn}) == arn


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "my-topic",
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:alerts",
        "arn:aws:sns:us-east-1:12345:alerts",
        f"arn:aws:sns:us-east-1:{ACCOUNT}:",
        f"arn:aws:sns:us-east-1:{ACCOUNT}:bad.name",
        f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts:subscription-id",
    ],
)
def test_topic_arn_refuses_anything_else(arn: str) -> None:
    with pytest.raises(envs.ConfigurationError) as raised:
        envs.topic_arn({"TOPIC_ARN": arn})
    assert str(raised.value) == (
        f"TOPIC_ARN={arn!r} is invalid; expected arn:aws:sns:<region>:<account>:<name>"
    )


def test_topic_arn_other_variable_name() -> None:
    assert envs.topic_arn({"ALERTS": TOPIC}, "ALERTS") == TOPIC
    with pytest.raises(envs.ConfigurationError, match=r"^ALERTS='' is invalid"):
        envs.topic_arn({"TOPIC_ARN": TOPIC}, "ALERTS")


# ---------------------------------------------------------------------------------------------
# env: numbers
# ---------------------------------------------------------------------------------------------


def test_bounded_int_reads_whole_numbers_in_range() -> None:
    assert envs.bounded_int({"DAYS": " 45 "}, "DAYS", 1, 3650) == 45
    assert envs.bounded_int({"DAYS": "1"}, "DAYS", 1, 3650) == 1
    assert envs.bounded_int({"DAYS": "3650"}, "DAYS", 1, 3650) == 3650
    assert envs.bounded_int({"BYTES": "99999999999"}, "BYTES", 1, None) == 99999999999


@pytest.mark.parametrize("env", [{}, {"N": ""}, {"N": "  "}])
def test_bounded_int_default_when_unset_or_blank(env: dict[str, str]) -> None:
    assert envs.bounded_int(env, "N", 1, 10, default=7) == 7


@pytest.mark.parametrize("env", [{}, {"DAYS": ""}, {"DAYS": "\t"}])
def test_bounded_int_required_when_no_default(env: dict[str, str]) -> None:
    with pytest.raises(envs.ConfigurationError) as raised:
        envs.bounded_int(env, "DAYS", 1, 3650, unit="a whole number of days")
    assert str(raised.value) == "DAYS is not set; allowed: a whole number of days 1-3650"


@pytest.mark.parametrize("raw", ["0", "3651", "-5", "1.5", "ninety", "1e3", "0x10"])
def test_bounded_int_refuses_other_values(raw: str) -> None:
    with pytest.raises(envs.ConfigurationError) as raised:
        envs.bounded_int({"DAYS": raw}, "DAYS", 1, 3650, default=90, unit="a whole number of days")
    assert str(raised.value) == f"DAYS={raw!r} is invalid; allowed: a whole number of days 1-3650"


def test_bounded_int_message_shows_the_value_as_set_and_an_open_range() -> None:
    with pytest.raises(envs.ConfigurationError) as raised:
        envs.bounded_int({"BYTES": " 0 "}, "BYTES", 1, None, unit="a whole number of bytes")
    assert (
        str(raised.value) == "BYTES=' 0 ' is invalid; allowed: a whole number of bytes, at least 1"
    )


def test_bounded_float_reads_numbers_in_range() -> None:
    assert envs.bounded_float({"S": "0.75"}, "S", 0.0, 1.0) == 0.75
    assert envs.bounded_float({"S": " 1 "}, "S", 0.0, 1.0) == 1.0
    assert envs.bounded_float({"S": "0"}, "S", 0.0, 1.0) == 0.0
    assert envs.bounded_float({}, "S", 0.0, 1.0, default=0.5) == 0.5
    assert envs.bounded_float({"S": ""}, "S", 0.0, 1.0, default=0.5) == 0.5


@pytest.mark.parametrize("raw", ["1.5", "-0.1", "high", "nan", "inf", "-inf"])
def test_bounded_float_refuses_other_values(raw: str) -> None:
    with pytest.raises(envs.ConfigurationError) as raised:
        envs.bounded_float({"MIN_SCORE": raw}, "MIN_SCORE", 0.0, 1.0, default=0.5)
    assert str(raised.value) == f"MIN_SCORE={raw!r} is invalid; allowed: a number 0.0-1.0"


def test_bounded_float_required_when_no_default() -> None:
    with pytest.raises(envs.ConfigurationError) as raised:
        envs.bounded_float({}, "MIN_SCORE", 0.0, 1.0)
    assert str(raised.value) == "MIN_SCORE is not set; allowed: a number 0.0-1.0"
    assert not math.isnan(envs.bounded_float({"MIN_SCORE": "0.1"}, "MIN_SCORE", 0.0, 1.0))


# ---------------------------------------------------------------------------------------------
# env: choices and flags
# ---------------------------------------------------------------------------------------------

SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")


def test_one_of_exact_and_folded_case() -> None:
    assert envs.one_of({"S": " HIGH "}, "S", SEVERITIES) == "HIGH"
    assert envs.one_of({"S": "medium"}, "S", SEVERITIES, fold_case=True) == "MEDIUM"
    assert envs.one_of({"S": "Job"}, "S", ("account", "job"), fold_case=True) == "job"
    assert envs.one_of({"S": "job"}, "S", iter(("account", "job"))) == "job"


def test_one_of_without_fold_case_is_case_sensitive() -> None:
    with pytest.raises(envs.ConfigurationError) as raised:
        envs.one_of({"EVALUATION_SCOPE": "Account"}, "EVALUATION_SCOPE", ("account", "job"))
    assert str(raised.value) == "EVALUATION_SCOPE='Account' is invalid; allowed: account, job"


def test_one_of_default_and_required() -> None:
    assert envs.one_of({}, "S", SEVERITIES, default="MEDIUM") == "MEDIUM"
    assert envs.one_of({"S": " "}, "S", SEVERITIES, default="MEDIUM") == "MEDIUM"
    with pytest.raises(envs.ConfigurationError) as raised:
        envs.one_of({"S": ""}, "S", SEVERITIES)
    assert str(raised.value) == (
        "S is not set; allowed: INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL"
    )


def test_one_of_refuses_other_values() -> None:
    with pytest.raises(envs.ConfigurationError) as raised:
        envs.one_of({"S": "SEVERE"}, "S", SEVERITIES, default="MEDIUM", fold_case=True)
    assert str(raised.value) == (
        "S='SEVERE' is invalid; allowed: INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("false", False), (" TRUE ", True), ("False", False)],
)
def test_boolean_values(raw: str, expected: bool) -> None:
    assert envs.boolean({"FLAG": raw}, "FLAG", default=not expected) is expected


@pytest.mark.parametrize("default", [True, False])
def test_boolean_default_when_unset_or_blank(default: bool) -> None:
    assert envs.boolean({}, "FLAG", default=default) is default
    assert envs.boolean({"FLAG": ""}, "FLAG", default=default) is default


@pytest.mark.parametrize("raw", ["maybe", "yes", "1", "0"])
def test_boolean_refuses_other_values(raw: str) -> None:
    with pytest.raises(envs.ConfigurationError) as raised:
        envs.boolean({"REDACT_LOW_SCORE": raw}, "REDACT_LOW_SCORE", default=True)
    assert str(raised.value) == f"REDACT_LOW_SCORE={raw!r} is invalid; allowed: true, false"


def test_env_errors_are_the_shared_configuration_error() -> None:
    assert envs.ConfigurationError is errors.ConfigurationError is kit.ConfigurationError
