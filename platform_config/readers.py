"""Reading raw ``cdk.json`` values: one-line ``ConfigError`` messages and typed getters.

Every parser module uses these; none of them imports another parser's private helpers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from secure_constructs.core.sizing import LOG_RETENTION_DAYS

ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
"""A 12-digit AWS account ID."""
ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
"""An AWS Organizations organization ID."""
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
"""An e-mail address, as the alert and approval subscriptions need one."""


class ConfigError(ValueError):
    """A configuration value is missing or invalid. ``str(err)`` is one line for the user."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        shown = "(missing)" if value is MISSING else json.dumps(value, default=str)
        super().__init__(f"{key} = {shown}: {allowed}")


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


MISSING: Any = _Missing()

ROLE_ARN = re.compile(r"^arn:aws:iam::(?P<account>[0-9]{12}):role/[\w+=,.@/-]{1,512}$")

_PREFIX = re.compile(r"^[a-z0-9][a-z0-9!_.()-]*(/[a-z0-9][a-z0-9!_.()-]*)*/$")


def get(
    raw: Mapping[str, Any],
    name: str,
    key: str,
    kind: type | tuple[type, ...],
    allowed: str,
) -> Any:
    """``raw[name]`` of type ``kind``, or ``ConfigError`` naming ``key`` and what is ``allowed``."""
    if not isinstance(raw, Mapping) or name not in raw:
        raise ConfigError(key, MISSING, f"required: {allowed}")
    value = raw[name]
    # bool is an int subclass: true must not pass for an integer.
    if kind is int and isinstance(value, bool):
        raise ConfigError(key, value, allowed)
    if not isinstance(value, kind):
        raise ConfigError(key, value, allowed)
    return value


def str_list(raw: Mapping[str, Any], name: str, key: str, *, min_items: int) -> list[str]:
    """A list of distinct strings, at least ``min_items`` long."""
    full = f"{key}.{name}"
    items = get(raw, name, full, list, "a list of strings")
    if len(items) < min_items:
        raise ConfigError(full, items, f"a list of at least {min_items} strings")
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(full, item, "a list of strings")
    duplicates = sorted({item for item in items if items.count(item) > 1})
    if duplicates:
        raise ConfigError(full, duplicates[0], "each entry at most once")
    return list(items)


def no_unknown(raw: Mapping[str, Any], key: str, known: frozenset[str] | set[str]) -> None:
    """Refuse any key of ``raw`` not in ``known``, listing the known ones."""
    for name in raw:
        if name not in known:
            raise ConfigError(
                f"{key}.{name}", raw[name], f"unknown key; known: {', '.join(sorted(known))}"
            )


def choice(raw: Mapping[str, Any], name: str, key: str, choices: Sequence[str]) -> str:
    """One of ``choices``."""
    allowed = f"one of {', '.join(choices)}"
    value: str = get(raw, name, f"{key}.{name}", str, allowed)
    if value not in choices:
        raise ConfigError(f"{key}.{name}", value, allowed)
    return value


def integer(raw: Mapping[str, Any], name: str, key: str, low: int, high: int) -> int:
    """An integer from ``low`` to ``high`` (booleans refused)."""
    full = f"{key}.{name}"
    value: int = get(raw, name, full, int, f"an integer from {low} to {high}")
    if not low <= value <= high:
        raise ConfigError(full, value, f"an integer from {low} to {high}")
    return value


def number(raw: Mapping[str, Any], name: str, key: str, low: float, high: float) -> float:
    """A number from ``low`` to ``high`` (booleans refused)."""
    full = f"{key}.{name}"
    value = get(raw, name, full, (int, float), f"a number from {low} to {high}")
    if isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(full, value, f"a number from {low} to {high}")
    return float(value)


def boolean(raw: Mapping[str, Any], name: str, key: str) -> bool:
    """``true`` or ``false``."""
    value: bool = get(raw, name, f"{key}.{name}", bool, "true or false")
    return value


def text(raw: Mapping[str, Any], name: str, key: str) -> str:
    """A string."""
    value: str = get(raw, name, f"{key}.{name}", str, "a string")
    return value


def retention(raw: Mapping[str, Any], name: str, key: str) -> int:
    """A CloudWatch Logs retention value in days."""
    full = f"{key}.{name}"
    value: int = get(raw, name, full, int, "an integer")
    if value not in LOG_RETENTION_DAYS:
        raise ConfigError(
            full, value, f"a CloudWatch Logs retention: {', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    return value


def prefix(raw: Mapping[str, Any], name: str, key: str) -> str:
    """An S3 key prefix ending with ``/``, without wildcards."""
    full = f"{key}.{name}"
    value: str = get(raw, name, full, str, "an S3 key prefix")
    if not _PREFIX.match(value) or len(value) > 256:
        raise ConfigError(
            full,
            value,
            "an S3 key prefix of lowercase path segments ending with '/', such as clinical/ "
            "(no leading '/', no wildcard)",
        )
    return value


def role_arns(raw: Mapping[str, Any], name: str, key: str, account: str) -> tuple[str, ...]:
    """At least one IAM role ARN, each of ``account``."""
    arns = str_list(raw, name, key, min_items=1)
    for arn in arns:
        match = ROLE_ARN.match(arn)
        if not match or match.group("account") != account:
            raise ConfigError(
                f"{key}.{name}",
                arn,
                f"an IAM role ARN of this environment's account, arn:aws:iam::{account}:role/NAME",
            )
    return tuple(arns)


def require_endpoints(
    endpoints: Sequence[str], needed: Sequence[str], env_key: str, why: str
) -> None:
    """Refuse an endpoint list without every one of ``needed`` (``why`` says what needs it)."""
    missing = [name for name in needed if name not in endpoints]
    if missing:
        raise ConfigError(
            f"{env_key}.interface_endpoints",
            list(endpoints),
            f"must include {', '.join(missing)}: {why}",
        )
