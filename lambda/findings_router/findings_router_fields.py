"""Field helpers of the findings router: read values from event JSON, map severities, links.

``InvalidFinding`` marks a finding that can never be routed (it is dead-lettered, not retried).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from findings_router_settings import SEVERITY_RANK


class InvalidFinding(Exception):
    """A finding that can never be routed (permanent: dead-lettered, not retried)."""


def as_text(value: Any) -> str | None:
    """A non-empty stripped string, or None (numbers are accepted and converted)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def dig(data: Any, *path: str | int) -> Any:
    """``data[path[0]][path[1]]...`` or None when any step is missing or of the wrong type."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(data, list) or not -len(data) <= step < len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[step] if isinstance(step, int) else data.get(step)
    return data


def first_text(*values: Any) -> str | None:
    """The first of ``values`` that ``as_text`` accepts, or None."""
    for value in values:
        text = as_text(value)
        if text is not None:
            return text
    return None


def require_text(name: str, *values: Any) -> str:
    """``first_text(*values)``; raises InvalidFinding naming the field ``name`` when None."""
    value = first_text(*values)
    if value is None:
        raise InvalidFinding(f"missing required field: {name}")
    return value


def severity_label(value: Any, name: str, aliases: Mapping[str, str] | None = None) -> str:
    """A severity label (any case, ``aliases`` applied) as one of the five; else InvalidFinding."""
    text = as_text(value)
    if text is None:
        raise InvalidFinding(f"missing severity ({name})")
    upper = text.upper()
    upper = (aliases or {}).get(upper, upper)
    if upper not in SEVERITY_RANK:
        raise InvalidFinding(f"unrecognised severity {text!r} ({name})")
    return upper


def guardduty_severity(value: Any) -> str:
    """Map a GuardDuty numeric severity (0.0-10.0) to a severity label.

    Raises:
        InvalidFinding: The value is missing, not a number, or outside 0-10.
    """
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InvalidFinding(f"GuardDuty severity {value!r} is not a number") from None
    if value is None:
        raise InvalidFinding("missing severity (detail.severity)")
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidFinding(f"GuardDuty severity {value!r} is not a number")
    if not 0 <= value <= 10:
        raise InvalidFinding(f"GuardDuty severity {value} is outside 0-10")
    if value >= 9:
        return "CRITICAL"
    if value >= 7:
        return "HIGH"
    if value >= 4:
        return "MEDIUM"
    return "LOW"


def securityhub_normalized_severity(value: Any) -> str:
    """Map an ASFF ``Severity.Normalized`` (0-100) to its label, as the ASFF docs do."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise InvalidFinding(f"Security Hub Severity.Normalized {value!r} is not in 0-100")
    if value >= 90:
        return "CRITICAL"
    if value >= 70:
        return "HIGH"
    if value >= 40:
        return "MEDIUM"
    if value >= 1:
        return "LOW"
    return "INFORMATIONAL"


def console_base(region: str) -> str:
    """The console host for a region's partition (commercial, China or GovCloud)."""
    if region.startswith("cn-"):
        return "https://console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "https://console.amazonaws-us-gov.com"
    return f"https://{region}.console.aws.amazon.com"


def quote_all(value: str) -> str:
    """``value`` URL-encoded with no safe characters (for console links)."""
    return quote(value, safe="")
