"""Event parsing: an S3 notification or an EventBridge S3 event -> one record per object.

Keys are URL-decoded (``unquote_plus``) as S3 sends them encoded in both shapes; the EventBridge
shape is read by the layer's ``handler_kit.s3_events``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from handler_kit.s3_events import OBJECT_CREATED, eventbridge_s3_object, is_eventbridge_s3_event


@dataclass(frozen=True)
class ObjectRecord:
    """One object reference taken from the event, or why it could not be read."""

    bucket: str | None
    key: str | None
    error: str | None = None
    raw: Any = None


def _s3_record(record: Any) -> ObjectRecord:
    try:
        if record.get("eventSource") != "aws:s3":
            return ObjectRecord(None, None, "malformed_record", record)
        bucket = record["s3"]["bucket"]["name"]
        key = record["s3"]["object"]["key"]
        event_name = record.get("eventName", "")
    except (AttributeError, KeyError, TypeError):
        return ObjectRecord(None, None, "malformed_record", record)
    if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
        return ObjectRecord(None, None, "malformed_record", record)
    decoded = unquote_plus(key)
    if not isinstance(event_name, str) or not event_name.startswith("ObjectCreated:"):
        return ObjectRecord(bucket, decoded, "not_object_created")
    return ObjectRecord(bucket, decoded)


def _eventbridge_record(event: dict[str, Any]) -> ObjectRecord:
    found = eventbridge_s3_object(event)
    if found is None:
        return ObjectRecord(None, None, "malformed_event", event)
    if found.detail_type != OBJECT_CREATED:
        return ObjectRecord(found.bucket, found.key, "not_object_created")
    return ObjectRecord(found.bucket, found.key)


def parse_event(event: Any) -> list[ObjectRecord]:
    """Turn an S3 notification or an EventBridge S3 event into object records.

    A record that cannot be read comes back with ``error`` set (and the raw record), so the
    caller dead-letters it and carries on with the others.
    """
    if isinstance(event, dict):
        records = event.get("Records")
        if isinstance(records, list) and records:
            return [_s3_record(record) for record in records]
        if is_eventbridge_s3_event(event):
            return [_eventbridge_record(event)]
    return [ObjectRecord(None, None, "malformed_event", event)]
