"""The SQS batch: one ``Change`` per usable record, one ``Rejected`` per record to dead-letter.

Each SQS record's ``body`` is the EventBridge event the rule forwarded (JSON text). The object
and time it names are read by the layer's ``handler_kit.s3_events``; this module judges them
against the knowledge bucket and prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handler_kit.s3_events import OBJECT_CREATED, OBJECT_DELETED, eventbridge_s3_object
from knowledge_ingestion_settings import Settings

ACCEPTED_DETAIL_TYPES = frozenset({OBJECT_CREATED, OBJECT_DELETED})


@dataclass(frozen=True)
class Change:
    """A created or deleted object under the knowledge prefix, as one SQS message reported it.

    Attributes:
        message_id: The SQS ``messageId`` (the batch item identifier).
        detail_type: ``Object Created`` or ``Object Deleted``.
        bucket: The knowledge bucket.
        key: The object key (URL-decoded).
        time: The EventBridge event time (timezone-aware), or None when unreadable.
        receive_count: SQS ``ApproximateReceiveCount``, or None when absent.
    """

    message_id: str
    detail_type: str
    bucket: str
    key: str
    time: datetime | None
    receive_count: int | None


@dataclass(frozen=True)
class Rejected:
    """A record that can never be processed: dead-lettered, then deleted from the queue by SQS.

    Attributes:
        reason: Why (``malformed_record``, ``body_not_json``, ``not_s3_object_event``,
            ``unsupported_detail_type``, ``wrong_bucket``, ``key_outside_prefix``).
        record: The SQS record as received (kept in the dead-letter message).
        message_id: The SQS ``messageId`` when the record has one.
        bucket: The bucket the event names, when readable.
        key: The key the event names, when readable.
    """

    reason: str
    record: Any
    message_id: str | None = None
    bucket: str | None = None
    key: str | None = None


def is_sqs_event(event: Any) -> bool:
    """Whether ``event`` has the shape of an SQS event (a dict with a ``Records`` list)."""
    return isinstance(event, dict) and isinstance(event.get("Records"), list)


def _receive_count(record: dict[str, Any]) -> int | None:
    attributes = record.get("attributes")
    value = attributes.get("ApproximateReceiveCount") if isinstance(attributes, dict) else None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def parse_record(record: Any, settings: Settings) -> Change | Rejected:
    """Judge one SQS record against the knowledge bucket and prefix."""
    if not isinstance(record, dict):
        return Rejected("malformed_record", record)
    message_id = record.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        return Rejected("malformed_record", record)
    body = record.get("body")
    if record.get("eventSource") != "aws:sqs" or not isinstance(body, str):
        return Rejected("malformed_record", record, message_id)
    try:
        event = json.loads(body)
    except ValueError:
        return Rejected("body_not_json", record, message_id)
    found = eventbridge_s3_object(event)
    if found is None:
        return Rejected("not_s3_object_event", record, message_id)
    where = {"message_id": message_id, "bucket": found.bucket, "key": found.key}
    if found.detail_type not in ACCEPTED_DETAIL_TYPES:
        return Rejected("unsupported_detail_type", record, **where)
    if found.bucket != settings.knowledge_bucket:
        return Rejected("wrong_bucket", record, **where)
    if not found.key.startswith(settings.knowledge_prefix):
        return Rejected("key_outside_prefix", record, **where)
    return Change(
        message_id=message_id,
        detail_type=found.detail_type,
        bucket=found.bucket,
        key=found.key,
        time=found.time,
        receive_count=_receive_count(record),
    )


def parse_batch(records: list[Any], settings: Settings) -> tuple[list[Change], list[Rejected]]:
    """Split the batch into usable changes and rejected records, each in batch order.

    A message ID seen twice in one batch (SQS at-least-once delivery) keeps its first change.
    """
    changes: list[Change] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()
    for record in records:
        parsed = parse_record(record, settings)
        if isinstance(parsed, Rejected):
            rejected.append(parsed)
        elif parsed.message_id not in seen:
            seen.add(parsed.message_id)
            changes.append(parsed)
    return changes, rejected
