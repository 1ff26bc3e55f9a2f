"""Custom AWS Config rules: the rule invocation event and the ``PutEvaluations`` delivery.

AWS Config invokes a custom rule's Lambda with ``invokingEvent`` and ``ruleParameters`` as JSON
*strings*, and ``resultToken``, ``accountId``, ``configRuleName`` and ``eventLeftScope`` at the
top level. ``parse_invocation`` validates that envelope for the message types a rule accepts:

- ``ScheduledNotification`` (periodic): ``notificationCreationTime`` is the evaluation time;
- ``ConfigurationItemChangeNotification``: the resource is ``configurationItem``;
- ``OversizedConfigurationItemChangeNotification``: the resource is
  ``configurationItemSummary`` (the item itself was too large for the event).

For a change the evaluation time is the item's ``configurationItemCaptureTime``. Anything
malformed raises ``MalformedEventError``; the handler dead-letters the event (no retry helps).

``send_evaluations`` sends evaluations in batches of ``MAX_BATCH`` (100, the API limit) and raises
``EvaluationDeliveryError`` when Config returns ``FailedEvaluations`` (transient: retried); a
``ClientError`` whose code is in ``PERMANENT_CONFIG_ERRORS`` cannot be fixed by a retry.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from handler_kit.log import log

SCHEDULED_NOTIFICATION = "ScheduledNotification"
CHANGE_NOTIFICATION = "ConfigurationItemChangeNotification"
OVERSIZED_CHANGE_NOTIFICATION = "OversizedConfigurationItemChangeNotification"
CHANGE_NOTIFICATIONS = (CHANGE_NOTIFICATION, OVERSIZED_CHANGE_NOTIFICATION)
DELETED_STATUSES = frozenset({"ResourceDeleted", "ResourceDeletedNotRecorded"})
"""``configurationItemStatus`` values of a resource that no longer exists."""

ACCOUNT_RESOURCE_TYPE = "AWS::::Account"
"""The resource type Config accepts for account-level results (resource ID: the account ID)."""
MAX_ANNOTATION = 256  # Evaluation.Annotation length limit
MAX_BATCH = 100  # PutEvaluations accepts at most 100 evaluations per call
PERMANENT_CONFIG_ERRORS = frozenset(
    {
        "InvalidParameterValueException",
        "InvalidResultTokenException",
        "NoSuchConfigRuleException",
        "ValidationException",
    }
)
"""PutEvaluations error codes that no retry can fix: the event goes to the DLQ."""

_ITEM_KEYS = {
    CHANGE_NOTIFICATION: "configurationItem",
    OVERSIZED_CHANGE_NOTIFICATION: "configurationItemSummary",
}


class MalformedEventError(Exception):
    """The event cannot be processed; it goes to the dead-letter queue."""


class EvaluationDeliveryError(Exception):
    """Config reported FailedEvaluations; raised so that the invocation is retried."""


@dataclass(frozen=True)
class ConfigurationItem:
    """The changed resource of a change notification (from the item or its summary)."""

    resource_type: str
    resource_id: str
    status: str
    capture_time: datetime

    @property
    def deleted(self) -> bool:
        """True when the item records a deleted resource."""
        return self.status in DELETED_STATUSES


@dataclass(frozen=True)
class RuleInvocation:
    """The validated envelope of one Config rule invocation."""

    message_type: str
    result_token: str
    account_id: str
    notification_time: datetime
    rule_name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    item: ConfigurationItem | None = None
    event_left_scope: bool = False

    @property
    def ordering_time(self) -> datetime:
        """``OrderingTimestamp``: the item's capture time for a change, else the notification's."""
        return self.item.capture_time if self.item is not None else self.notification_time


def json_object(value: Any, name: str) -> dict[str, Any]:
    """The JSON object held by the string ``value`` (a blank string is an empty object).

    Raises:
        MalformedEventError: ``value`` is not a string, not JSON, or not a JSON object.
    """
    if not isinstance(value, str):
        raise MalformedEventError(f"{name} must be a JSON string, got {type(value).__name__}")
    try:
        parsed = json.loads(value) if value.strip() else {}
    except json.JSONDecodeError as exc:
        raise MalformedEventError(f"{name} is not valid JSON: {exc.msg}") from exc
    if not isinstance(parsed, dict):
        raise MalformedEventError(f"{name} must hold a JSON object")
    return parsed


def parse_time(raw: Any, name: str) -> datetime:
    """An ISO 8601 time (``Z`` accepted); a time without a zone is taken as UTC.

    Raises:
        MalformedEventError: ``raw`` is missing or not an ISO 8601 time.
    """
    try:
        parsed = datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise MalformedEventError(f"{name} {raw!r} is not an ISO 8601 time") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _expected(message_types: Collection[str]) -> str:
    if tuple(message_types) == (SCHEDULED_NOTIFICATION,):
        return f"{SCHEDULED_NOTIFICATION} (periodic rule only)"
    return "one of " + ", ".join(message_types)


def _item(raw: Any, key: str, message_type: str) -> ConfigurationItem:
    if not isinstance(raw, dict):
        raise MalformedEventError(f"{key} is missing from the {message_type}")
    resource_type, resource_id = raw.get("resourceType"), raw.get("resourceId")
    if not isinstance(resource_type, str) or not resource_type:
        raise MalformedEventError(f"{key}.resourceType is missing")
    if not isinstance(resource_id, str) or not resource_id:
        raise MalformedEventError(f"{key}.resourceId is missing")
    status = raw.get("configurationItemStatus")
    return ConfigurationItem(
        resource_type=resource_type,
        resource_id=resource_id,
        status=status if isinstance(status, str) else "",
        capture_time=parse_time(
            raw.get("configurationItemCaptureTime"), f"{key}.configurationItemCaptureTime"
        ),
    )


def parse_invocation(event: Any, message_types: Collection[str]) -> RuleInvocation:
    """Validate a Config rule event whose ``messageType`` is one of ``message_types``.

    Checked in this order: the event is an object; ``invokingEvent`` is present and a JSON
    object string; its ``messageType`` is accepted; ``resultToken`` is set;
    ``notificationCreationTime`` is an ISO 8601 time; for a change, the item (or summary) has a
    resource type, a resource ID and a capture time; the account ID (``accountId``, else
    ``awsAccountId`` of the invoking event or of the item) has 12 digits; ``ruleParameters`` is
    a JSON object string (absent: empty).

    Raises:
        MalformedEventError: the first check that fails, with the reason.
    """
    if not isinstance(event, dict):
        raise MalformedEventError(f"event must be an object, got {type(event).__name__}")
    if "invokingEvent" not in event:
        raise MalformedEventError("invokingEvent is missing")
    invoking = json_object(event["invokingEvent"], "invokingEvent")
    message_type = invoking.get("messageType")
    if not isinstance(message_type, str) or message_type not in message_types:
        raise MalformedEventError(f"messageType {message_type!r} is not {_expected(message_types)}")
    token = event.get("resultToken")
    if not isinstance(token, str) or not token:
        raise MalformedEventError("resultToken is missing")
    notification_time = parse_time(
        invoking.get("notificationCreationTime"), "notificationCreationTime"
    )
    item: ConfigurationItem | None = None
    item_account: Any = None
    key = _ITEM_KEYS.get(message_type)
    if key is not None:
        item = _item(invoking.get(key), key, message_type)
        item_account = invoking[key].get("awsAccountId")
    account_id = event.get("accountId") or invoking.get("awsAccountId") or item_account
    if not isinstance(account_id, str) or not (len(account_id) == 12 and account_id.isdigit()):
        raise MalformedEventError(f"account ID {account_id!r} is not a 12-digit account ID")
    parameters = json_object(event.get("ruleParameters", "{}"), "ruleParameters")
    return RuleInvocation(
        message_type=message_type,
        result_token=token,
        account_id=account_id,
        notification_time=notification_time,
        rule_name=str(event.get("configRuleName", "")),
        parameters=parameters,
        item=item,
        event_left_scope=event.get("eventLeftScope") is True,
    )


def clip_annotation(text: str, limit: int = MAX_ANNOTATION) -> str:
    """``text`` cut to ``limit`` characters (the last three are then "...")."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def send_evaluations(config: Any, evaluations: list[dict[str, Any]], token: str) -> int:
    """Send evaluations in batches of at most ``MAX_BATCH``; return the number of calls.

    Raises:
        EvaluationDeliveryError: Config returned FailedEvaluations (logged, with their IDs).
        botocore.exceptions.ClientError: Config refused the call (see ``PERMANENT_CONFIG_ERRORS``).
    """
    calls = 0
    for start in range(0, len(evaluations), MAX_BATCH):
        batch = evaluations[start : start + MAX_BATCH]
        response = config.put_evaluations(Evaluations=batch, ResultToken=token)
        calls += 1
        failed = response.get("FailedEvaluations") or []
        if failed:
            ids = [f.get("ComplianceResourceId") for f in failed]
            log("ERROR", "Config rejected some evaluations", failed=len(failed), resources=ids)
            raise EvaluationDeliveryError(f"{len(failed)} evaluations failed: {ids[:10]}")
    return calls
