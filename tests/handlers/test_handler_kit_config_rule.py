"""Tests for handler_kit.config_rule: the Config rule event envelope and PutEvaluations delivery.

The layer module is imported as Lambda imports it (``lambda/layer/python`` on ``sys.path``).
``send_evaluations`` runs against a real Config client wrapped in a Stubber (the request is
checked against the Config API model) and against a fake for the batching arithmetic.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tests.handlers.loader import load_handler, load_layer

rule = load_layer("config_rule")

ACCOUNT = "123456789012"
NOW = datetime(2025, 6, 2, 3, 4, 5, tzinfo=UTC)
CAPTURE = datetime(2025, 6, 2, 2, 0, 0, 500000, tzinfo=UTC)
SCHEDULED = ("ScheduledNotification",)
ALL = ("ScheduledNotification", *rule.CHANGE_NOTIFICATIONS)


def scheduled_event(**overrides: Any) -> dict[str, Any]:
    invoking = {
        "awsAccountId": ACCOUNT,
        "notificationCreationTime": "2025-06-02T03:04:05.000Z",
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    }
    event = {
        "invokingEvent": json.dumps(invoking),
        "ruleParameters": json.dumps({"a": "1"}),
        "resultToken": "token",
        "eventLeftScope": False,
        "configRuleName": "my-rule",
        "accountId": ACCOUNT,
    }
    event.update(overrides)
    return event


def item(**overrides: Any) -> dict[str, Any]:
    body = {
        "configurationItemCaptureTime": "2025-06-02T02:00:00.500Z",
        "configurationItemStatus": "OK",
        "resourceType": "AWS::EC2::VPCEndpoint",
        "resourceId": "vpce-0123456789abcdef0",
        "awsAccountId": ACCOUNT,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def change_event(*, oversized: bool = False, body: Any = None, **overrides: Any) -> dict[str, Any]:
    key = "configurationItemSummary" if oversized else "configurationItem"
    message = rule.OVERSIZED_CHANGE_NOTIFICATION if oversized else rule.CHANGE_NOTIFICATION
    invoking = {
        key: item() if body is None else body,
        "notificationCreationTime": "2025-06-02T03:04:05.000Z",
        "messageType": message,
    }
    return scheduled_event(invokingEvent=json.dumps(invoking), **overrides)


# --- parse_invocation: accepted events -------------------------------------------------------


def test_scheduled_invocation():
    parsed = rule.parse_invocation(scheduled_event(), SCHEDULED)

    assert parsed == rule.RuleInvocation(
        message_type="ScheduledNotification",
        result_token="token",
        account_id=ACCOUNT,
        notification_time=NOW,
        rule_name="my-rule",
        parameters={"a": "1"},
        item=None,
        event_left_scope=False,
    )
    assert parsed.ordering_time == NOW


@pytest.mark.parametrize("oversized", [False, True])
def test_change_invocation_reads_the_item_or_its_summary(oversized):
    parsed = rule.parse_invocation(change_event(oversized=oversized), ALL)

    assert parsed.message_type == (
        rule.OVERSIZED_CHANGE_NOTIFICATION if oversized else rule.CHANGE_NOTIFICATION
    )
    assert parsed.item == rule.ConfigurationItem(
        resource_type="AWS::EC2::VPCEndpoint",
        resource_id="vpce-0123456789abcdef0",
        status="OK",
        capture_time=CAPTURE,
    )
    assert parsed.notification_time == NOW
    assert parsed.ordering_time == CAPTURE
    assert not parsed.item.deleted


@pytest.mark.parametrize(
    ("status", "deleted"),
    [
        ("ResourceDeleted", True),
        ("ResourceDeletedNotRecorded", True),
        ("OK", False),
        ("ResourceDiscovered", False),
        ("ResourceNotRecorded", False),
        (None, False),
    ],
)
def test_item_deleted_statuses(status, deleted):
    parsed = rule.parse_invocation(change_event(body=item(configurationItemStatus=status)), ALL)
    assert parsed.item.deleted is deleted
    assert parsed.item.status == (status or "")


def test_account_id_falls_back_to_invoking_event_then_item():
    event = scheduled_event()
    del event["accountId"]
    assert rule.parse_invocation(event, SCHEDULED).account_id == ACCOUNT

    event = change_event(body=item(awsAccountId="210987654321"))
    del event["accountId"]
    assert rule.parse_invocation(event, ALL).account_id == "210987654321"


def test_times_without_zone_are_utc_and_offsets_are_kept():
    invoking = {
        "messageType": "ScheduledNotification",
        "notificationCreationTime": "2025-06-02T03:04:05",
    }
    parsed = rule.parse_invocation(scheduled_event(invokingEvent=json.dumps(invoking)), SCHEDULED)
    assert parsed.notification_time == NOW and parsed.notification_time.tzinfo is UTC

    offset = rule.parse_time("2025-06-02T05:04:05+02:00", "t")
    assert offset == NOW and offset.utcoffset() == timedelta(hours=2)
    assert offset.tzinfo == timezone(timedelta(hours=2))


def test_missing_rule_parameters_and_blank_ones_are_empty():
    event = scheduled_event()
    del event["ruleParameters"]
    assert rule.parse_invocation(event, SCHEDULED).parameters == {}
    blank = scheduled_event(ruleParameters="  ")
    assert rule.parse_invocation(blank, SCHEDULED).parameters == {}


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False), ("true", False)])
def test_event_left_scope_is_true_only_for_json_true(value, expected):
    parsed = rule.parse_invocation(change_event(eventLeftScope=value), ALL)
    assert parsed.event_left_scope is expected


def test_rule_name_defaults_to_empty():
    event = scheduled_event()
    del event["configRuleName"]
    assert rule.parse_invocation(event, SCHEDULED).rule_name == ""


# --- parse_invocation: malformed events ------------------------------------------------------


def _without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != key}


MALFORMED = [
    pytest.param(["x"], SCHEDULED, "event must be an object, got list", id="not-a-dict"),
    pytest.param(
        _without(scheduled_event(), "invokingEvent"),
        SCHEDULED,
        "invokingEvent is missing",
        id="no-invoking",
    ),
    pytest.param(
        scheduled_event(invokingEvent={"messageType": "x"}),
        SCHEDULED,
        "invokingEvent must be a JSON string, got dict",
        id="invoking-dict",
    ),
    pytest.param(
        scheduled_event(invokingEvent="{x"),
        SCHEDULED,
        "invokingEvent is not valid JSON",
        id="invoking-bad-json",
    ),
    pytest.param(
        scheduled_event(invokingEvent="7"),
        SCHEDULED,
        "invokingEvent must hold a JSON object",
        id="invoking-number",
    ),
    pytest.param(
        change_event(),
        SCHEDULED,
        "messageType 'ConfigurationItemChangeNotification' is not ScheduledNotification "
        "(periodic rule only)",
        id="periodic-only",
    ),
    pytest.param(
        scheduled_event(invokingEvent=json.dumps({"messageType": 5})),
        ALL,
        "messageType 5 is not one of ScheduledNotification, ConfigurationItemChangeNotification, "
        "OversizedConfigurationItemChangeNotification",
        id="message-type-not-string",
    ),
    pytest.param(
        _without(scheduled_event(), "resultToken"),
        SCHEDULED,
        "resultToken is missing",
        id="no-token",
    ),
    pytest.param(
        scheduled_event(resultToken=7), SCHEDULED, "resultToken is missing", id="token-int"
    ),
    pytest.param(
        scheduled_event(invokingEvent=json.dumps({"messageType": "ScheduledNotification"})),
        SCHEDULED,
        "notificationCreationTime None is not an ISO 8601 time",
        id="no-time",
    ),
    pytest.param(
        change_event(body="not an item"),
        ALL,
        "configurationItem is missing from the ConfigurationItemChangeNotification",
        id="item-not-object",
    ),
    pytest.param(
        change_event(oversized=True, body=[]),
        ALL,
        "configurationItemSummary is missing from the OversizedConfigurationItemChangeNotification",
        id="summary-not-object",
    ),
    pytest.param(
        change_event(body=item(resourceType=None)),
        ALL,
        "configurationItem.resourceType is missing",
        id="no-resource-type",
    ),
    pytest.param(
        change_event(body=item(resourceId="")),
        ALL,
        "configurationItem.resourceId is missing",
        id="empty-resource-id",
    ),
    pytest.param(
        change_event(oversized=True, body=item(resourceId=12)),
        ALL,
        "configurationItemSummary.resourceId is missing",
        id="resource-id-not-string",
    ),
    pytest.param(
        change_event(body=item(configurationItemCaptureTime="later")),
        ALL,
        "configurationItem.configurationItemCaptureTime 'later' is not an ISO 8601 time",
        id="bad-capture-time",
    ),
    pytest.param(
        scheduled_event(accountId="1234567890ab"),
        SCHEDULED,
        "account ID '1234567890ab' is not a 12-digit account ID",
        id="account-not-digits",
    ),
    pytest.param(
        scheduled_event(ruleParameters=json.dumps(["a"])),
        SCHEDULED,
        "ruleParameters must hold a JSON object",
        id="parameters-list",
    ),
    pytest.param(
        scheduled_event(ruleParameters={"a": "1"}),
        SCHEDULED,
        "ruleParameters must be a JSON string, got dict",
        id="parameters-dict",
    ),
]


@pytest.mark.parametrize(("event", "types", "reason"), MALFORMED)
def test_malformed_events(event, types, reason):
    with pytest.raises(rule.MalformedEventError) as info:
        rule.parse_invocation(event, types)
    assert str(info.value).startswith(reason)


def test_account_missing_everywhere_is_malformed():
    event = change_event(body=item(awsAccountId=None))
    del event["accountId"]
    with pytest.raises(rule.MalformedEventError, match="account ID None"):
        rule.parse_invocation(event, ALL)


# --- helpers ---------------------------------------------------------------------------------


def test_json_object():
    assert rule.json_object('{"a": [1]}', "x") == {"a": [1]}
    assert rule.json_object("", "x") == {}
    with pytest.raises(rule.MalformedEventError, match="x must be a JSON string, got NoneType"):
        rule.json_object(None, "x")


def test_clip_annotation():
    assert rule.clip_annotation("short") == "short"
    assert rule.clip_annotation("a" * 256) == "a" * 256
    cut = rule.clip_annotation("a" * 300)
    assert len(cut) == rule.MAX_ANNOTATION == 256 and cut.endswith("a...")
    assert rule.clip_annotation("abcdef", limit=5) == "ab..."


def test_constants():
    assert rule.ACCOUNT_RESOURCE_TYPE == "AWS::::Account"
    assert rule.MAX_BATCH == 100
    assert sorted(rule.DELETED_STATUSES) == ["ResourceDeleted", "ResourceDeletedNotRecorded"]
    assert "InvalidResultTokenException" in rule.PERMANENT_CONFIG_ERRORS
    assert "ThrottlingException" not in rule.PERMANENT_CONFIG_ERRORS


def test_the_sagemaker_rule_uses_the_layer_module():
    sagemaker = load_handler("sagemaker_isolation_rule")
    event_module = load_handler("sagemaker_isolation_rule", "sagemaker_isolation_rule_event")
    assert sagemaker.send_evaluations is rule.send_evaluations
    assert sagemaker.EvaluationDeliveryError is rule.EvaluationDeliveryError
    assert event_module.MalformedEventError is rule.MalformedEventError
    bedrock = load_handler("bedrock_config_rules")
    assert bedrock.EvaluationDeliveryError is rule.EvaluationDeliveryError


# --- send_evaluations ------------------------------------------------------------------------

SESSION = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)


def evaluation(resource_id: str = ACCOUNT) -> dict[str, Any]:
    return {
        "ComplianceResourceType": "AWS::::Account",
        "ComplianceResourceId": resource_id,
        "ComplianceType": "COMPLIANT",
        "Annotation": "ok",
        "OrderingTimestamp": NOW,
    }


def test_send_evaluations_against_the_config_model():
    client = SESSION.client("config")
    with Stubber(client) as stubber:
        stubber.add_response(
            "put_evaluations",
            {"FailedEvaluations": []},
            {"Evaluations": [evaluation()], "ResultToken": "token"},
        )
        assert rule.send_evaluations(client, [evaluation()], "token") == 1
        stubber.assert_no_pending_responses()


def test_send_evaluations_batches_at_100():
    sizes: list[int] = []

    class FakeConfig:
        def put_evaluations(self, **kwargs: Any) -> dict[str, Any]:
            sizes.append(len(kwargs["Evaluations"]))
            assert kwargs["ResultToken"] == "t"
            return {}

    assert rule.send_evaluations(FakeConfig(), [evaluation()] * 100, "t") == 1
    assert rule.send_evaluations(FakeConfig(), [evaluation()] * 201, "t") == 3
    assert rule.send_evaluations(FakeConfig(), [], "t") == 0
    assert sizes == [100, 100, 100, 1]


def test_failed_evaluations_raise_and_are_logged(capsys):
    client = SESSION.client("config")
    with Stubber(client) as stubber:
        stubber.add_response("put_evaluations", {"FailedEvaluations": [evaluation("acct-x")]})
        with pytest.raises(
            rule.EvaluationDeliveryError, match=r"1 evaluations failed: \['acct-x'\]"
        ):
            rule.send_evaluations(client, [evaluation()], "token")
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert line == {
        "level": "ERROR",
        "message": "Config rejected some evaluations",
        "failed": 1,
        "resources": ["acct-x"],
    }


def test_config_errors_propagate():
    client = SESSION.client("config")
    with Stubber(client) as stubber:
        stubber.add_client_error("put_evaluations", "InvalidResultTokenException", "bad", 400)
        with pytest.raises(ClientError, match="InvalidResultTokenException"):
            rule.send_evaluations(client, [evaluation()], "token")
