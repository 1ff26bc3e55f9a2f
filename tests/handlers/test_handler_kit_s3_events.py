"""Tests for the layer's handler_kit.s3_events (EventBridge S3 events), imported as on Lambda."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.handlers.loader import LAYER_PATH, load_layer

s3_events = load_layer("s3_events")


def eb_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2024-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::bucket"],
        "detail": {"bucket": {"name": "bucket"}, "object": {"key": "docs/red+flower.txt"}},
    }
    event.update(overrides)
    return event


def test_module_is_the_layers() -> None:
    assert s3_events.__file__ == str(LAYER_PATH / "handler_kit" / "s3_events.py")


def test_object_created_event_is_read_and_key_decoded() -> None:
    found = s3_events.eventbridge_s3_object(eb_event())
    assert found == s3_events.S3ObjectEvent(
        detail_type="Object Created",
        bucket="bucket",
        key="docs/red flower.txt",
        time=datetime(2024, 1, 1, tzinfo=UTC),
    )


def test_percent_encoded_key_is_decoded() -> None:
    detail = {"bucket": {"name": "bucket"}, "object": {"key": "docs/caf%C3%A9%2B1.txt"}}
    found = s3_events.eventbridge_s3_object(eb_event(detail=detail))
    assert found is not None and found.key == "docs/café+1.txt"


@pytest.mark.parametrize("detail_type", ["Object Deleted", "Object Restore Completed", ""])
def test_any_detail_type_is_returned_for_the_caller_to_judge(detail_type: str) -> None:
    found = s3_events.eventbridge_s3_object(eb_event(**{"detail-type": detail_type}))
    assert found is not None and found.detail_type == detail_type


def test_non_string_detail_type_reads_as_empty() -> None:
    found = s3_events.eventbridge_s3_object(eb_event(**{"detail-type": 7}))
    assert found is not None and found.detail_type == ""


@pytest.mark.parametrize(
    "event",
    [
        None,
        "text",
        [],
        eb_event(source="aws.ec2"),
        eb_event(detail="not a dict"),
        eb_event(detail={}),
        eb_event(detail={"bucket": {"name": "bucket"}}),
        eb_event(detail={"bucket": "bucket", "object": {"key": "k"}}),
        eb_event(detail={"bucket": {"name": "bucket"}, "object": ["k"]}),
        eb_event(detail={"bucket": {"name": ""}, "object": {"key": "k"}}),
        eb_event(detail={"bucket": {"name": "bucket"}, "object": {"key": ""}}),
        eb_event(detail={"bucket": {"name": "bucket"}, "object": {"key": 5}}),
    ],
)
def test_events_naming_no_object_give_none(event: Any) -> None:
    assert s3_events.eventbridge_s3_object(event) is None


def test_is_eventbridge_s3_event() -> None:
    assert s3_events.is_eventbridge_s3_event(eb_event())
    assert not s3_events.is_eventbridge_s3_event(eb_event(source="aws.s3x"))
    assert not s3_events.is_eventbridge_s3_event(eb_event(detail=None))
    assert not s3_events.is_eventbridge_s3_event({"Records": []})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-01T12:00:00Z", datetime(2024, 1, 1, 12, tzinfo=UTC)),
        (" 2024-01-01T12:00:00.250Z ", datetime(2024, 1, 1, 12, 0, 0, 250000, tzinfo=UTC)),
        (
            "2024-01-01T14:00:00+02:00",
            datetime(2024, 1, 1, 14, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2024-01-01T12:00:00", None),  # no offset: refused, not guessed
        ("yesterday", None),
        ("", None),
        (None, None),
        (1704110400, None),
    ],
)
def test_parse_event_time(value: Any, expected: datetime | None) -> None:
    parsed = s3_events.parse_event_time(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() is not None


def test_offset_time_equals_the_same_instant_in_utc() -> None:
    parsed = s3_events.parse_event_time("2024-01-01T14:00:00+02:00")
    assert parsed == datetime(2024, 1, 1, 12, tzinfo=UTC)


def test_missing_or_bad_time_still_names_the_object() -> None:
    event = eb_event()
    del event["time"]
    found = s3_events.eventbridge_s3_object(event)
    assert found is not None and found.time is None and found.key == "docs/red flower.txt"


def test_event_time_resolution_is_one_second() -> None:
    assert timedelta(seconds=1) == s3_events.EVENT_TIME_RESOLUTION
