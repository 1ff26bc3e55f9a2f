"""Validated readers of environment variables (read at the start of each invocation).

Every reader takes the environment as a mapping (``os.environ`` on Lambda, a dict in tests),
strips surrounding whitespace, and treats a blank value as unset. A missing or invalid value
raises ``ConfigurationError`` with a message naming the variable, the value and what is allowed:

- ``NAME is not set; allowed: ...`` when a required value is unset or blank;
- ``NAME='value' is invalid; allowed: ...`` (or ``...; expected ...`` for a pattern) otherwise.
  Pattern readers (``matching_str``, ``queue_url``, ``topic_arn``) use this form for a blank
  value too (``NAME='' is invalid; expected ...``): what to put there matters most.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from handler_kit.errors import ConfigurationError

QUEUE_URL_RE = re.compile(r"https://\S+/\d{12}/(?:[A-Za-z0-9_-]{1,75}\.fifo|[A-Za-z0-9_-]{1,80})")
"""An SQS queue URL: ``https://<host>/<12-digit account>/<queue name>`` (matched in full)."""

TOPIC_ARN_RE = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?")
"""An SNS topic ARN in any partition (matched in full)."""

QUEUE_URL_EXPECTED = "https://sqs.<region>.amazonaws.com/<account>/<queue>"
TOPIC_ARN_EXPECTED = "arn:aws:sns:<region>:<account>:<name>"


def optional_str(env: Mapping[str, str], name: str) -> str | None:
    """The stripped value of ``name``, or None when it is unset or blank."""
    value = env.get(name, "").strip()
    return value or None


def matching_str(env: Mapping[str, str], name: str, pattern: re.Pattern[str], expected: str) -> str:
    """The stripped value of ``name``, which must match ``pattern`` in full.

    Raises:
        ConfigurationError: ``NAME='value' is invalid; expected <expected>`` (also when unset).
    """
    value = env.get(name, "").strip()
    if not pattern.fullmatch(value):
        raise ConfigurationError(f"{name}={value!r} is invalid; expected {expected}")
    return value


def queue_url(env: Mapping[str, str], name: str = "DLQ_URL") -> str:
    """A required SQS queue URL (``DLQ_URL`` by default)."""
    return matching_str(env, name, QUEUE_URL_RE, QUEUE_URL_EXPECTED)


def topic_arn(env: Mapping[str, str], name: str = "TOPIC_ARN") -> str:
    """A required SNS topic ARN (``TOPIC_ARN`` by default)."""
    return matching_str(env, name, TOPIC_ARN_RE, TOPIC_ARN_EXPECTED)


def _raw(env: Mapping[str, str], name: str) -> tuple[str | None, str | None]:
    """``(value as set, stripped value or None when unset/blank)``."""
    raw = env.get(name)
    stripped = raw.strip() if raw is not None else ""
    return raw, stripped or None


def _range(unit: str, low: float, high: float | None) -> str:
    return f"{unit} {low}-{high}" if high is not None else f"{unit}, at least {low}"


def bounded_int(
    env: Mapping[str, str],
    name: str,
    low: int,
    high: int | None,
    *,
    default: int | None = None,
    unit: str = "a whole number",
) -> int:
    """A whole number in ``low..high`` (``high`` None: no upper bound).

    Args:
        env: The environment.
        name: The variable.
        low: Smallest value allowed.
        high: Largest value allowed, or None.
        default: Value when unset or blank; None makes the variable required.
        unit: How the allowed values are described (``a whole number of days``).

    Raises:
        ConfigurationError: unset without a default, not a whole number, or out of range.
    """
    raw, value = _raw(env, name)
    allowed = _range(unit, low, high)
    if value is None:
        if default is None:
            raise ConfigurationError(f"{name} is not set; allowed: {allowed}")
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is invalid; allowed: {allowed}") from None
    if number < low or (high is not None and number > high):
        raise ConfigurationError(f"{name}={raw!r} is invalid; allowed: {allowed}")
    return number


def bounded_float(
    env: Mapping[str, str],
    name: str,
    low: float,
    high: float,
    *,
    default: float | None = None,
) -> float:
    """A number in ``low..high`` (NaN and infinities are refused).

    Raises:
        ConfigurationError: unset without a default, not a number, or out of range.
    """
    raw, value = _raw(env, name)
    allowed = _range("a number", low, high)
    if value is None:
        if default is None:
            raise ConfigurationError(f"{name} is not set; allowed: {allowed}")
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not low <= number <= high:  # False for NaN
        raise ConfigurationError(f"{name}={raw!r} is invalid; allowed: {allowed}")
    return number


def one_of(
    env: Mapping[str, str],
    name: str,
    choices: Iterable[str],
    *,
    default: str | None = None,
    fold_case: bool = False,
) -> str:
    """One of ``choices``; with ``fold_case`` any case is accepted and the choice's own returned.

    Raises:
        ConfigurationError: unset without a default, or not one of the choices.
    """
    options = tuple(choices)
    raw, value = _raw(env, name)
    allowed = ", ".join(options)
    if value is None:
        if default is None:
            raise ConfigurationError(f"{name} is not set; allowed: {allowed}")
        return default
    for option in options:
        if value == option or (fold_case and value.casefold() == option.casefold()):
            return option
    raise ConfigurationError(f"{name}={raw!r} is invalid; allowed: {allowed}")


def boolean(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    """``true`` or ``false`` in any case; ``default`` when unset or blank.

    Raises:
        ConfigurationError: any other value.
    """
    fallback = "true" if default else "false"
    return one_of(env, name, ("true", "false"), default=fallback, fold_case=True) == "true"
