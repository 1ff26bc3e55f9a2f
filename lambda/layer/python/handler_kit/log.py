"""One structured JSON log line per call, on stdout (Lambda sends stdout to CloudWatch Logs)."""

from __future__ import annotations

import json
import sys
from typing import Any


def log(level: str, message: str, **fields: Any) -> None:
    """Write ``{"level": level, "message": message, **fields}`` as one JSON line to stdout.

    The level is written as given (each handler keeps its own spelling, e.g. ``info`` or
    ``INFO``). Values JSON cannot hold are written as ``str(value)``; the output is ASCII JSON,
    so a value holding line breaks still makes one line. If the fields cannot be serialised at all
    (a circular structure, a dict with non-string keys), the line keeps the level and the message
    and lists the field names under ``unserialisable_fields``: logging never raises.

    Args:
        level: Severity label, written as given.
        message: A fixed description of the event (put variable data in ``fields``).
        **fields: Further keys of the JSON object. Callers pass identifiers, sizes, counts and
            error codes, never payload text that may hold personal data.
    """
    record = {"level": level, "message": message, **fields}
    try:
        line = json.dumps(record, default=str)
    except Exception:  # a log call must never break the handler
        line = json.dumps(
            {"level": level, "message": message, "unserialisable_fields": sorted(fields)},
            default=str,
        )
    sys.stdout.write(line + "\n")
