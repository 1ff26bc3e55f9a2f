"""The Config rule event: validation of a periodic (ScheduledNotification) rule invocation.

The envelope (event object, ``invokingEvent``, ``messageType``, ``resultToken``,
``notificationCreationTime``, account ID, ``ruleParameters``) is checked by the layer's
``handler_kit.config_rule.parse_invocation``; this module adds the rule parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handler_kit.config_rule import SCHEDULED_NOTIFICATION as SCHEDULED_NOTIFICATION
from handler_kit.config_rule import MalformedEventError as MalformedEventError
from handler_kit.config_rule import parse_invocation


@dataclass(frozen=True)
class RuleEvent:
    """The parts of a Config rule event the evaluation needs."""

    result_token: str
    account_id: str
    notification_time: datetime
    rule_name: str
    allowed_subnets: frozenset[str] | None


def parse_event(event: Any) -> RuleEvent:
    """Validate a periodic Config rule event.

    Raises:
        MalformedEventError: the event is not a well-formed ScheduledNotification event.
    """
    invocation = parse_invocation(event, (SCHEDULED_NOTIFICATION,))
    allowed = invocation.parameters.get("allowedSubnetIds")
    allowed_subnets: frozenset[str] | None = None
    if allowed is not None:
        if not isinstance(allowed, str):
            raise MalformedEventError("rule parameter allowedSubnetIds must be a string")
        ids = frozenset(part.strip() for part in allowed.split(",") if part.strip())
        allowed_subnets = ids or None  # blank parameter: no subnet restriction
    return RuleEvent(
        result_token=invocation.result_token,
        account_id=invocation.account_id,
        notification_time=invocation.notification_time,
        rule_name=invocation.rule_name,
        allowed_subnets=allowed_subnets,
    )
