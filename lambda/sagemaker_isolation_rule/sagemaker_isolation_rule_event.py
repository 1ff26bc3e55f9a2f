"""The Config rule event: validation of a periodic (ScheduledNotification) rule invocation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SCHEDULED_NOTIFICATION = "ScheduledNotification"


class MalformedEventError(Exception):
    """The event cannot be processed; it goes to the dead-letter queue."""


@dataclass(frozen=True)
class RuleEvent:
    """The parts of a Config rule event the evaluation needs."""

    result_token: str
    account_id: str
    notification_time: datetime
    rule_name: str
    allowed_subnets: frozenset[str] | None


def _json_object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, str):
        raise MalformedEventError(f"{name} must be a JSON string, got {type(value).__name__}")
    try:
        parsed = json.loads(value) if value.strip() else {}
    except json.JSONDecodeError as exc:
        raise MalformedEventError(f"{name} is not valid JSON: {exc.msg}") from exc
    if not isinstance(parsed, dict):
        raise MalformedEventError(f"{name} must hold a JSON object")
    return parsed


def parse_event(event: Any) -> RuleEvent:
    """Validate a periodic Config rule event.

    Raises:
        MalformedEventError: the event is not a well-formed ScheduledNotification event.
    """
    if not isinstance(event, dict):
        raise MalformedEventError(f"event must be an object, got {type(event).__name__}")
    if "invokingEvent" not in event:
        raise MalformedEventError("invokingEvent is missing")
    invoking = _json_object(event["invokingEvent"], "invokingEvent")
    message_type = invoking.get("messageType")
    if message_type != SCHEDULED_NOTIFICATION:
        raise MalformedEventError(
            f"messageType {message_type!r} is not {SCHEDULED_NOTIFICATION} (periodic rule only)"
        )
    token = event.get("resultToken")
    if not isinstance(token, str) or not token:
        raise MalformedEventError("resultToken is missing")
    raw_time = invoking.get("notificationCreationTime")
    try:
        notification_time = datetime.fromisoformat(str(raw_time))
    except ValueError as exc:
        raise MalformedEventError(
            f"notificationCreationTime {raw_time!r} is not an ISO 8601 time"
        ) from exc
    if notification_time.tzinfo is None:
        notification_time = notification_time.replace(tzinfo=UTC)
    account_id = event.get("accountId") or invoking.get("awsAccountId")
    if not isinstance(account_id, str) or not (len(account_id) == 12 and account_id.isdigit()):
        raise MalformedEventError(f"account ID {account_id!r} is not a 12-digit account ID")
    parameters = _json_object(event.get("ruleParameters", "{}"), "ruleParameters")
    allowed = parameters.get("allowedSubnetIds")
    allowed_subnets: frozenset[str] | None = None
    if allowed is not None:
        if not isinstance(allowed, str):
            raise MalformedEventError("rule parameter allowedSubnetIds must be a string")
        ids = frozenset(part.strip() for part in allowed.split(",") if part.strip())
        allowed_subnets = ids or None  # blank parameter: no subnet restriction
    return RuleEvent(
        result_token=token,
        account_id=account_id,
        notification_time=notification_time,
        rule_name=str(event.get("configRuleName", "")),
        allowed_subnets=allowed_subnets,
    )
