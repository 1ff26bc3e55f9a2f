"""Amazon S3 events delivered by Amazon EventBridge: the object they name and when it changed.

An S3 bucket with EventBridge notifications enabled sends events such as::

    {"version": "0", "id": "...", "source": "aws.s3", "detail-type": "Object Created",
     "time": "2024-01-01T00:00:00Z", "region": "...", "resources": ["arn:aws:s3:::bucket"],
     "detail": {"bucket": {"name": "bucket"}, "object": {"key": "a+b.txt", ...}, ...}}

``detail-type`` is one of ``Object Created``, ``Object Deleted``, ``Object Restore ...``,
``Object Tags Added`` and so on. The object key arrives URL-encoded ("a b.txt" as "a+b.txt"), so
it is decoded with ``urllib.parse.unquote_plus``. ``time`` is when the event occurred, in UTC to
the whole second (``yyyy-mm-ddThh:mm:ssZ``): ``EVENT_TIME_RESOLUTION``.

This module reads the fields and judges nothing: which detail types, buckets and keys a
function accepts is the function's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

EVENTBRIDGE_S3_SOURCE = "aws.s3"
OBJECT_CREATED = "Object Created"
OBJECT_DELETED = "Object Deleted"
EVENT_TIME_RESOLUTION = timedelta(seconds=1)
"""EventBridge writes ``time`` to the whole second: the change happened in [time, time + 1 s)."""


@dataclass(frozen=True)
class S3ObjectEvent:
    """The object an EventBridge S3 event names.

    Attributes:
        detail_type: The event's ``detail-type`` ("" when it is missing or not a string).
        bucket: The bucket name.
        key: The object key, URL-decoded.
        time: When the event occurred (timezone-aware), or None when ``time`` is missing, not an
            ISO 8601 timestamp, or carries no UTC offset.
    """

    detail_type: str
    bucket: str
    key: str
    time: datetime | None


def is_eventbridge_s3_event(event: Any) -> bool:
    """Whether ``event`` looks like an EventBridge event from S3 (a dict with a ``detail``)."""
    return (
        isinstance(event, dict)
        and event.get("source") == EVENTBRIDGE_S3_SOURCE
        and isinstance(event.get("detail"), dict)
    )


def parse_event_time(value: Any) -> datetime | None:
    """An EventBridge ``time`` as a timezone-aware datetime, or None if it cannot be one.

    A timestamp without a UTC offset is refused (None) rather than guessed.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed


def eventbridge_s3_object(event: Any) -> S3ObjectEvent | None:
    """The object named by an EventBridge S3 event, or None if the event names none.

    None when ``event`` is not an ``aws.s3`` event with a ``detail``, or ``detail.bucket.name``
    or ``detail.object.key`` is missing, not a string, or empty. The detail type is returned
    whatever it is; the caller decides which ones it accepts.
    """
    if not is_eventbridge_s3_event(event):
        return None
    detail = event["detail"]
    try:
        bucket = detail["bucket"]["name"]
        key = detail["object"]["key"]
    except (KeyError, TypeError):
        return None
    if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
        return None
    detail_type = event.get("detail-type")
    return S3ObjectEvent(
        detail_type=detail_type if isinstance(detail_type, str) else "",
        bucket=bucket,
        key=unquote_plus(key),
        time=parse_event_time(event.get("time")),
    )
