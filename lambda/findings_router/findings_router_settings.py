"""Settings of the findings router, read and validated at the start of each call.

The variables (``TOPIC_ARN``, ``DLQ_URL``, ``SEVERITY_THRESHOLD``, ``NONCOMPLIANT_SEVERITY``,
``ACKNOWLEDGED_NONCOMPLIANCE``) are described in ``findings_router.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from handler_kit.env import one_of, queue_url, topic_arn
from handler_kit.errors import ConfigurationError

SEVERITIES: tuple[str, ...] = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}
ACKNOWLEDGED_VAR = "ACKNOWLEDGED_NONCOMPLIANCE"
_ACKNOWLEDGED_SHAPE = (
    'expected {"<config rule name>": [{"resource_id": "<resource id>", "reason": "<why>"}]}'
)


@dataclass(frozen=True)
class Settings:
    """Validated configuration, read from the environment at the start of each call."""

    topic_arn: str
    dlq_url: str
    severity_threshold: str
    noncompliant_severity: str
    # Config rule name -> resource ID -> reason (ACKNOWLEDGED_NONCOMPLIANCE).
    acknowledged: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def _exact_name(value: Any) -> bool:
    """A non-empty string without surrounding whitespace (one that Config could report)."""
    return isinstance(value, str) and bool(value) and value == value.strip()


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ConfigurationError(
                f"{ACKNOWLEDGED_VAR}: key {key!r} appears twice in one object; list it once"
            )
        seen[key] = value
    return seen


def _reasons(where: str, entries: Any) -> dict[str, str]:
    """Resource ID -> reason for one rule's list of acknowledgements."""
    if not isinstance(entries, list):
        raise ConfigurationError(
            f"{where} must be a list, got {type(entries).__name__}; {_ACKNOWLEDGED_SHAPE}"
        )
    reasons: dict[str, str] = {}
    for index, entry in enumerate(entries):
        at = f"{where}[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"resource_id", "reason"}:
            got = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise ConfigurationError(
                f"{at} must be an object with exactly the keys resource_id and reason, got {got}"
            )
        resource_id, reason = entry["resource_id"], entry["reason"]
        if not _exact_name(resource_id):
            raise ConfigurationError(
                f"{at}.resource_id={resource_id!r} must be a non-empty string without "
                "surrounding spaces, exactly as Config reports it in detail.resourceId"
            )
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigurationError(
                f"{at}.reason={reason!r} must be a non-empty string saying why the "
                "non-compliance is accepted"
            )
        # A resource listed twice (two constructs acknowledging the same result) is kept
        # once, with each distinct reason: a harmless repeat must not stop all routing.
        known = reasons.get(resource_id)
        if known is None:
            reasons[resource_id] = reason.strip()
        elif reason.strip() not in known.split("; "):
            reasons[resource_id] = f"{known}; {reason.strip()}"
    return reasons


def acknowledged_noncompliance(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Parse ``ACKNOWLEDGED_NONCOMPLIANCE`` into rule name -> resource ID -> reason.

    Raises:
        ConfigurationError: The value is not JSON or not of the documented shape.
    """
    raw = env.get(ACKNOWLEDGED_VAR)
    if raw is None or not raw.strip():
        return {}
    try:
        parsed = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    except ValueError as error:
        raise ConfigurationError(
            f"{ACKNOWLEDGED_VAR}={raw[:200]!r} is not valid JSON ({error}); {_ACKNOWLEDGED_SHAPE}"
        ) from None
    if not isinstance(parsed, dict):
        raise ConfigurationError(
            f"{ACKNOWLEDGED_VAR} must be a JSON object, got {type(parsed).__name__}; "
            f"{_ACKNOWLEDGED_SHAPE}"
        )
    acknowledged: dict[str, dict[str, str]] = {}
    for rule, entries in parsed.items():
        if not _exact_name(rule):
            raise ConfigurationError(
                f"{ACKNOWLEDGED_VAR}: rule name {rule!r} must be non-empty, without surrounding "
                "spaces (the Config rule name as deployed)"
            )
        acknowledged[rule] = _reasons(f"{ACKNOWLEDGED_VAR}[{rule!r}]", entries)
    return acknowledged


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The validated settings from ``env`` (``os.environ`` when None).

    Raises ``ConfigurationError`` naming the variable that is missing or invalid.
    """
    env = os.environ if env is None else env
    return Settings(
        topic_arn=topic_arn(env),
        dlq_url=queue_url(env),
        severity_threshold=one_of(env, "SEVERITY_THRESHOLD", SEVERITIES, fold_case=True),
        noncompliant_severity=one_of(
            env, "NONCOMPLIANT_SEVERITY", SEVERITIES, default="MEDIUM", fold_case=True
        ),
        acknowledged=acknowledged_noncompliance(env),
    )
