"""Dead-lettering: send an event that can never be processed to the queue in ``DLQ_URL``.

The message body is JSON: ``{"reason": <why>, **details, "event": <the event>}``. When that is
larger than one SQS message may be (``SQS_BODY_MAX``), the event is kept as a cut JSON *string*
(``"event_truncated": true``), so the reason and the details always arrive. The send itself is
not guarded: an SQS error raises, the invocation fails and Lambda's own retries and dead-letter
queue take over (nothing is dropped).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from handler_kit.log import log

SQS_BODY_MAX = 256 * 1024
"""Largest SQS message body sent, in bytes: 256 KiB, the limit of a queue's default
``MaximumMessageSize`` (and the only limit before SQS allowed 1 MiB)."""

REASON_MAX = 1000
"""Longest reason kept, in characters (a reason quoting a huge field is cut, marked "...")."""

OMITTED: Any = object()
"""Pass as ``event`` to send the reason and details only (no ``event`` key)."""

RESERVED_KEYS = frozenset({"reason", "event", "event_truncated", "level", "message"})
"""Keys ``details`` may not use: the body's own keys and the log line's."""


def _size(body: str) -> int:
    return len(body.encode("utf-8"))


def clip_reason(reason: str) -> str:
    """``reason`` cut to ``REASON_MAX`` characters (the last three are then "...")."""
    return reason if len(reason) <= REASON_MAX else reason[: REASON_MAX - 3] + "..."


def dead_letter_body(
    reason: str,
    event: Any = OMITTED,
    *,
    details: Mapping[str, Any] | None = None,
    limit: int = SQS_BODY_MAX,
) -> str:
    """The JSON message body for one dead-lettered event, at most ``limit`` bytes.

    Args:
        reason: Why the event cannot be processed (cut to ``REASON_MAX`` characters).
        event: The original event (any JSON value; other values are written as ``str``), or
            ``OMITTED`` for a body without an ``event`` key.
        details: Further keys placed after ``reason`` (for example the bucket and key).
        limit: Largest body in bytes.

    Returns:
        ``{"reason", **details, "event"}`` as JSON, or, when that exceeds ``limit``,
        ``{"reason", **details, "event_truncated": true, "event": <cut JSON text of the event>}``.

    Raises:
        ValueError: ``details`` uses a reserved key, or even without the event the body exceeds
            ``limit`` (details too large).
    """
    clash = sorted(RESERVED_KEYS.intersection(details or {}))
    if clash:
        raise ValueError(f"dead-letter details may not use the keys {', '.join(clash)}")
    head: dict[str, Any] = {"reason": clip_reason(reason), **(details or {})}
    body = json.dumps(head if event is OMITTED else {**head, "event": event}, default=str)
    if _size(body) <= limit:
        return body
    if event is OMITTED:
        raise ValueError(
            f"dead-letter body is {_size(body)} bytes; the limit is {limit}: shorten the "
            f"details ({', '.join(sorted(details or {})) or 'none'})"
        )
    text = json.dumps(event, default=str)
    keep = min(len(text), limit // 2)
    while True:
        cut = {**head, "event_truncated": True, "event": text[:keep]}
        body = json.dumps(cut, default=str)
        over = _size(body) - limit
        if over <= 0:
            return body
        if keep == 0:
            raise ValueError(
                f"dead-letter body is {_size(body)} bytes without the event; the limit is "
                f"{limit}: shorten the details ({', '.join(sorted(details or {})) or 'none'})"
            )
        # Every character kept adds at least one byte, so this converges (usually at once).
        keep = max(0, keep - over)


def send_to_dlq(
    sqs: Any,
    queue_url: str,
    reason: str,
    event: Any = OMITTED,
    *,
    details: Mapping[str, Any] | None = None,
    level: str = "warning",
    message: str = "event dead-lettered",
    limit: int = SQS_BODY_MAX,
) -> None:
    """Send an unprocessable event to the dead-letter queue, then log it (errors raise).

    Args:
        sqs: An SQS client (real, moto-backed or Stubber-wrapped).
        queue_url: The dead-letter queue's URL (``DLQ_URL``).
        reason: Why the event cannot be processed.
        event: The original event, or ``OMITTED``; see ``dead_letter_body``.
        details: Further keys of the message, also written to the log line.
        level: Level of the log line (as the handler spells it).
        message: Message of the log line.
        limit: Largest body in bytes.

    Raises:
        botocore.exceptions.ClientError: SQS refused the message (transient: let it propagate).
        ValueError: ``details`` uses a reserved key, or alone exceeds ``limit``.
    """
    body = dead_letter_body(reason, event, details=details, limit=limit)
    sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    log(level, message, reason=clip_reason(reason), **(details or {}))
