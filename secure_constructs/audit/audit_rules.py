"""Rules of the audit services that config validation and constructs both apply (no CDK import).

The config loader calls these to stop synth with a one-line message; the constructs call them to
fail fast when used alone. Each ``*_problem`` function returns ``None`` when the input is valid,
or one sentence saying which rule is broken.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

INSPECTOR_RESOURCE_TYPES: tuple[str, ...] = ("EC2", "ECR", "LAMBDA", "LAMBDA_CODE")
"""What the audit stack activates Inspector v2 for (``Enable`` resourceTypes)."""

MACIE_PUBLISHING_FREQUENCIES: tuple[str, ...] = ("FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS")
MACIE_SCHEDULES: tuple[str, ...] = ("DAILY", "WEEKLY", "MONTHLY")
CONFIG_RECORDING_FREQUENCIES: tuple[str, ...] = ("CONTINUOUS", "DAILY")

# Amazon Macie's limits for a custom data identifier (CreateCustomDataIdentifier).
MACIE_NAME_MAX = 128
MACIE_DESCRIPTION_MAX = 512
MACIE_REGEX_MAX = 512
MACIE_KEYWORDS_MAX = 50
MACIE_KEYWORD_LENGTH = (3, 90)
MACIE_MATCH_DISTANCE = (1, 300)

_MACIE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")


@dataclass(frozen=True)
class CustomDataIdentifier:
    """A Macie custom data identifier: a domain term such as a medical record number.

    ``regex`` finds candidates; when ``keywords`` are given, a candidate counts only if one of
    them appears within ``maximum_match_distance`` characters before it (Macie's semantics).
    """

    name: str
    regex: str
    keywords: tuple[str, ...] = ()
    maximum_match_distance: int = 50
    description: str = ""


def custom_data_identifier_problem(identifier: CustomDataIdentifier) -> tuple[str, str] | None:
    """``(field, sentence)`` for the first Macie rule ``identifier`` breaks, or ``None``."""
    name = identifier.name
    if not 1 <= len(name) <= MACIE_NAME_MAX or not _MACIE_NAME.match(name):
        return (
            "name",
            f"1-{MACIE_NAME_MAX} characters: letters, digits, spaces, '.', '_' and '-', "
            "starting with a letter or digit",
        )
    if len(identifier.description) > MACIE_DESCRIPTION_MAX:
        return "description", f"at most {MACIE_DESCRIPTION_MAX} characters"
    regex = identifier.regex
    if not 1 <= len(regex) <= MACIE_REGEX_MAX:
        return "regex", f"a regular expression of 1-{MACIE_REGEX_MAX} characters"
    try:
        compiled = re.compile(regex)
    except re.error as err:
        return "regex", f"a valid regular expression ({err})"
    if compiled.fullmatch(""):
        return "regex", "must not match the empty string (it would match everywhere)"
    keywords = identifier.keywords
    if len(keywords) > MACIE_KEYWORDS_MAX:
        return "keywords", f"at most {MACIE_KEYWORDS_MAX} keywords"
    low, high = MACIE_KEYWORD_LENGTH
    for keyword in keywords:
        if not low <= len(keyword) <= high:
            return "keywords", f"each keyword {low}-{high} characters (got {keyword!r})"
    low, high = MACIE_MATCH_DISTANCE
    if not low <= identifier.maximum_match_distance <= high:
        return "maximum_match_distance", f"an integer from {low} to {high} (characters)"
    return None


# EventBridge cron: cron(minutes hours day-of-month month day-of-week year).
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...], str], ...] = (
    # name, lowest, highest, names accepted, special characters accepted
    ("minutes", 0, 59, (), ",-*/"),
    ("hours", 0, 23, (), ",-*/"),
    ("day-of-month", 1, 31, (), ",-*/?LW"),
    ("month", 1, 12, _MONTHS, ",-*/"),
    ("day-of-week", 1, 7, _DAYS, ",-*/?L#"),
    ("year", 1970, 2199, (), ",-*/"),
)
_TOKEN = re.compile(r"[0-9]+|[A-Za-z]+|[,\-*/?#]")


def cron_problem(expression: str) -> str | None:
    """What is wrong with an EventBridge ``cron(...)`` expression, or ``None``.

    Checks the six fields, the characters and ranges each accepts, and that exactly one of
    day-of-month and day-of-week is ``?`` (EventBridge's rule). ``rate(...)`` is not accepted.
    """
    match = re.fullmatch(r"cron\((.*)\)", expression.strip())
    if not match:
        return "an EventBridge cron expression such as cron(0 6 ? * MON *)"
    fields = match.group(1).split()
    if len(fields) != len(_CRON_FIELDS):
        return "six fields: minutes hours day-of-month month day-of-week year"
    for value, (name, low, high, names, specials) in zip(fields, _CRON_FIELDS, strict=True):
        problem = _cron_field_problem(value, low, high, names, specials)
        if problem:
            return f"{name} field {value!r}: {problem}"
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    return None


def _cron_field_problem(
    value: str, low: int, high: int, names: Sequence[str], specials: str
) -> str | None:
    if "?" in value and value != "?":
        return "'?' must stand alone"
    position = 0
    after_slash = False
    for token in _TOKEN.finditer(value):
        if token.start() != position:
            return f"unexpected character {value[position]!r}"
        position = token.end()
        text = token.group()
        if text.isdigit():
            number = int(text)
            if not after_slash and not low <= number <= high:
                return f"{number} is outside {low}-{high}"
            if after_slash and number < 1:
                return "an increment must be at least 1"
            after_slash = False
        elif text.isalpha():
            upper = text.upper()
            if upper in names or (upper in ("L", "W") and upper in specials):
                continue
            if upper.endswith("W") and "W" in specials and upper[:-1].isdigit():
                continue
            return f"{text!r} is not accepted here"
        else:
            if text not in specials:
                return f"{text!r} is not accepted here"
            after_slash = text == "/"
    if position != len(value):
        return f"unexpected character {value[position]!r}"
    return None
