"""Tests for lambda/phi_redaction: moto S3/SQS/KMS plus a Stubber-wrapped comprehendmedical."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from tests.handlers.loader import load_handler

mod = load_handler("phi_redaction")
detect = load_handler("phi_redaction", "phi_redaction_detect")

REGION = "us-east-1"
RAW = "raw-bucket"
CURATED = "curated-bucket"
MODEL = "2.0.0"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@dataclasses.dataclass
class Env:
    s3: Any
    sqs: Any
    cm: Any
    stub: Stubber
    dlq_url: str
    key_arn: str

    def clients(self) -> Any:
        return mod.Clients(s3=self.s3, comprehendmedical=self.cm, sqs=self.sqs)


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[Any, dict[str, Any]]]:
    """One moto mock and one set of clients per module (client creation is the slow part)."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            mp.setenv(name, value)
        with mock_aws() as mock:
            names = ("s3", "sqs", "kms", "comprehendmedical")
            yield mock, {n: boto3.client(n, region_name=REGION) for n in names}


@pytest.fixture
def env(aws: tuple[Any, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    mock, clients = aws
    mock.reset()  # fresh moto state for every test
    for name in ("MAX_OBJECT_BYTES", "MIN_SCORE", "REDACT_LOW_SCORE"):
        monkeypatch.delenv(name, raising=False)
    s3, sqs, cm = clients["s3"], clients["sqs"], clients["comprehendmedical"]
    s3.create_bucket(Bucket=RAW)
    s3.create_bucket(Bucket=CURATED)
    dlq_url = sqs.create_queue(QueueName="phi-redaction-dlq")["QueueUrl"]
    key_arn = clients["kms"].create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv("RAW_BUCKET", RAW)
    monkeypatch.setenv("CLINICAL_PREFIX", "clinical/")
    monkeypatch.setenv("CURATED_BUCKET", CURATED)
    monkeypatch.setenv("CURATED_PREFIX", "redacted/")
    monkeypatch.setenv("DATA_KEY_ARN", key_arn)
    monkeypatch.setenv("DLQ_URL", dlq_url)
    with Stubber(cm) as stub:
        yield Env(s3, sqs, cm, stub, dlq_url, key_arn)


@pytest.fixture
def config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid environment without any AWS mock, for configuration tests."""
    for name in ("MAX_OBJECT_BYTES", "MIN_SCORE", "REDACT_LOW_SCORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAW_BUCKET", RAW)
    monkeypatch.setenv("CLINICAL_PREFIX", "clinical/")
    monkeypatch.setenv("CURATED_BUCKET", CURATED)
    monkeypatch.setenv("CURATED_PREFIX", "redacted/")
    monkeypatch.setenv("DATA_KEY_ARN", KEY_ARN)
    monkeypatch.setenv("DLQ_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/phi-dlq")


# ----------------------------------------------------------------------------- helpers


def s3_event(*keys: str, bucket: str = RAW, event_name: str = "ObjectCreated:Put") -> dict:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": "2024-01-01T00:00:00.000Z",
                "eventName": event_name,
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "clinical",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe="/"), "size": 1, "sequencer": "0A"},
                },
            }
            for key in keys
        ]
    }


def eb_event(key: str, bucket: str = RAW) -> dict:
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2024-01-01T00:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": quote_plus(key, safe="/"), "size": 1, "etag": "x", "sequencer": "0A"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "reason": "PutObject",
        },
    }


def ent(chunk: str, needle: str, etype: str, score: float = 0.99, start: int = 0) -> dict:
    begin = chunk.index(needle, start)
    return {
        "Id": 0,
        "BeginOffset": begin,
        "EndOffset": begin + len(needle),
        "Score": score,
        "Text": needle,
        "Category": "PROTECTED_HEALTH_INFORMATION",
        "Type": etype,
        "Traits": [],
    }


def expect_detect(env: Env, chunk: str, entities: list[dict], **extra: Any) -> None:
    env.stub.add_response(
        "detect_phi", {"Entities": entities, "ModelVersion": MODEL, **extra}, {"Text": chunk}
    )


def put_raw(env: Env, key: str, body: bytes | str) -> None:
    env.s3.put_object(Bucket=RAW, Key=key, Body=body.encode() if isinstance(body, str) else body)


def run(env: Env, event: Any, max_chunk_bytes: int = mod.DETECT_PHI_MAX_BYTES) -> dict:
    return mod.process_event(event, env.clients(), mod.load_settings(), max_chunk_bytes)


def curated_keys(env: Env) -> list[str]:
    return [o["Key"] for o in env.s3.list_objects_v2(Bucket=CURATED).get("Contents", [])]


def read_curated(env: Env, key: str) -> bytes:
    return env.s3.get_object(Bucket=CURATED, Key=key)["Body"].read()


def findings(env: Env, key: str) -> dict:
    return json.loads(read_curated(env, key + ".phi.json"))


def dlq(env: Env) -> list[dict]:
    msgs = env.sqs.receive_message(QueueUrl=env.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in msgs]


NOTE = (
    "Patient John Smith (MRN 4455-12) was seen on 03/14/2024.\n"
    "Dr. Alice Wong, age 67, phone 555-0100.\n"
)
NOTE_ENTITIES = [
    ent(NOTE, "John Smith", "NAME"),
    ent(NOTE, "4455-12", "ID", 0.97),
    ent(NOTE, "03/14/2024", "DATE"),
    ent(NOTE, "Alice Wong", "NAME", 0.95),
    ent(NOTE, "67", "AGE", 0.9),
    ent(NOTE, "555-0100", "PHONE_OR_FAX", 0.88),
]
NOTE_REDACTED = (
    "Patient [NAME] (MRN [ID]) was seen on [DATE].\nDr. [NAME], age [AGE], phone [PHONE_OR_FAX].\n"
)


# ----------------------------------------------------------------------------- happy path


def test_normal_note_is_redacted_exactly(env: Env) -> None:
    put_raw(env, "clinical/2024/note1.txt", NOTE)
    expect_detect(env, NOTE, NOTE_ENTITIES)

    result = run(env, s3_event("clinical/2024/note1.txt"))

    env.stub.assert_no_pending_responses()
    assert read_curated(env, "redacted/2024/note1.txt").decode() == NOTE_REDACTED
    assert result["redacted"] == 1 and result["dead_lettered"] == 0
    assert result["results"][0]["curated_key"] == "redacted/2024/note1.txt"
    found = findings(env, "redacted/2024/note1.txt")
    assert found["entity_count"] == 6 and found["redacted_count"] == 6
    assert found["counts_by_type"] == {"AGE": 1, "DATE": 1, "ID": 1, "NAME": 2, "PHONE_OR_FAX": 1}
    assert found["entities"][0] == {
        "type": "NAME",
        "category": "PROTECTED_HEALTH_INFORMATION",
        "begin_offset": 8,
        "end_offset": 18,
        "score": 0.99,
        "redacted": True,
    }
    assert found["source"]["key"] == "clinical/2024/note1.txt"
    assert found["source"]["size_bytes"] == len(NOTE.encode())
    assert dlq(env) == []


def test_curated_objects_use_the_configured_kms_key(env: Env) -> None:
    put_raw(env, "clinical/note.txt", NOTE)
    expect_detect(env, NOTE, NOTE_ENTITIES)
    run(env, s3_event("clinical/note.txt"))

    for key in ("redacted/note.txt", "redacted/note.txt.phi.json"):
        head = env.s3.head_object(Bucket=CURATED, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == env.key_arn


def test_findings_record_holds_no_original_text(env: Env) -> None:
    put_raw(env, "clinical/note.txt", NOTE)
    expect_detect(env, NOTE, NOTE_ENTITIES)
    run(env, s3_event("clinical/note.txt"))

    raw = read_curated(env, "redacted/note.txt.phi.json").decode()
    for entity in NOTE_ENTITIES:
        assert entity["Text"] not in raw
    assert "Patient" not in raw and "phone" not in raw
    found = json.loads(raw)
    for entity in found["entities"]:
        assert set(entity) == {
            "type",
            "category",
            "begin_offset",
            "end_offset",
            "score",
            "redacted",
        }


def test_logs_are_json_and_hold_no_text(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    put_raw(env, "clinical/note.txt", NOTE)
    expect_detect(env, NOTE, NOTE_ENTITIES)
    run(env, s3_event("clinical/note.txt"))

    lines = capsys.readouterr().out.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert any(r["message"] == "object redacted" and r["entity_count"] == 6 for r in records)
    for entity in NOTE_ENTITIES:
        assert all(entity["Text"] not in line for line in lines)


def test_long_text_is_chunked_and_offsets_shifted(env: Env) -> None:
    text = "Name: John Smith\nDOB: 01/02/1970\nSeen by Dr. Ann Lee on 05/06/2024\nMRN 998877\n"
    chunks = [
        "Name: John Smith\nDOB: 01/02/1970\n",
        "Seen by Dr. Ann Lee on 05/06/2024\n",
        "MRN 998877\n",
    ]
    assert detect.split_text(text, 40) == [(0, chunks[0]), (33, chunks[1]), (67, chunks[2])]
    put_raw(env, "clinical/long.txt", text)
    expect_detect(
        env, chunks[0], [ent(chunks[0], "John Smith", "NAME"), ent(chunks[0], "01/02/1970", "DATE")]
    )
    expect_detect(
        env, chunks[1], [ent(chunks[1], "Ann Lee", "NAME"), ent(chunks[1], "05/06/2024", "DATE")]
    )
    expect_detect(env, chunks[2], [ent(chunks[2], "998877", "ID")])

    run(env, s3_event("clinical/long.txt"), max_chunk_bytes=40)

    env.stub.assert_no_pending_responses()
    assert read_curated(env, "redacted/long.txt").decode() == (
        "Name: [NAME]\nDOB: [DATE]\nSeen by Dr. [NAME] on [DATE]\nMRN [ID]\n"
    )
    found = findings(env, "redacted/long.txt")
    spans = [(e["begin_offset"], e["end_offset"]) for e in found["entities"]]
    needles = ["John Smith", "01/02/1970", "Ann Lee", "05/06/2024", "998877"]
    assert spans == [(text.index(n), text.index(n) + len(n)) for n in needles]
    assert found["chunks"] == 3 and found["detect_phi_calls"] == 3


def test_default_chunk_limit_matches_the_documented_detectphi_limit(env: Env) -> None:
    # API reference: "fewer than 20,000 bytes of characters"; model: max length 20000.
    assert mod.DETECT_PHI_MAX_BYTES == 20_000
    text_shape = env.cm.meta.service_model.operation_model("DetectPHI").input_shape
    assert text_shape.members["Text"].metadata["max"] == mod.DETECT_PHI_MAX_BYTES
    text = ("Patient Zoë visited on 2024-01-01 für Kontrolle 日本.\n" * 1200)[:-1]
    chunks = detect.split_text(text)
    assert len(chunks) > 1
    assert all(len(chunk.encode()) < 20_000 for _, chunk in chunks)
    assert "".join(chunk for _, chunk in chunks) == text
    assert all(text[offset : offset + len(chunk)] == chunk for offset, chunk in chunks)


def test_multibyte_text_is_never_cut_inside_a_character() -> None:
    text = "日本語テキスト😀é"  # 3-byte CJK, a 4-byte emoji, a 2-byte letter, no whitespace
    assert detect.split_text(text, 10) == [(0, "日本語"), (3, "テキス"), (6, "ト😀é")]
    with pytest.raises(UnicodeDecodeError):  # a naive byte cut would split the 4th character
        text.encode()[:10].decode("utf-8")
    for limit in range(8, 30):
        chunks = detect.split_text(text * 3, limit)
        assert "".join(c for _, c in chunks) == text * 3
        assert all(0 < len(c.encode()) < limit for _, c in chunks)
    with pytest.raises(ValueError, match="max_bytes"):
        detect.split_text(text, 4)


def test_multibyte_text_end_to_end_offsets_in_code_points(env: Env) -> None:
    text = "Zoë Ñúñez 😀 saw Dr. Müller\n日本 on 2024-02-03 ok\n"
    chunks = ["Zoë Ñúñez 😀 saw ", "Dr. Müller\n", "日本 on 2024-02-03 ", "ok\n"]
    assert [c for _, c in detect.split_text(text, 24)] == chunks
    put_raw(env, "clinical/intl.txt", text)
    expect_detect(env, chunks[0], [ent(chunks[0], "Zoë Ñúñez", "NAME")])
    expect_detect(env, chunks[1], [ent(chunks[1], "Müller", "NAME")])
    expect_detect(env, chunks[2], [ent(chunks[2], "2024-02-03", "DATE")])
    expect_detect(env, chunks[3], [])

    run(env, s3_event("clinical/intl.txt"), max_chunk_bytes=24)

    assert read_curated(env, "redacted/intl.txt").decode() == (
        "[NAME] 😀 saw Dr. [NAME]\n日本 on [DATE] ok\n"
    )
    spans = [
        (e["begin_offset"], e["end_offset"]) for e in findings(env, "redacted/intl.txt")["entities"]
    ]
    assert spans == [(0, 9), (20, 26), (text.index("2024"), text.index("2024") + 10)]


def test_whitespace_only_chunks_are_not_sent(env: Env) -> None:
    text = " " * 30 + "\nBob"
    assert [c for _, c in detect.split_text(text, 20)] == [" " * 19, " " * 11 + "\nBob"]
    put_raw(env, "clinical/ws.txt", text)
    last = " " * 11 + "\nBob"
    expect_detect(env, last, [ent(last, "Bob", "NAME")])  # the only call allowed
    run(env, s3_event("clinical/ws.txt"), max_chunk_bytes=20)
    env.stub.assert_no_pending_responses()
    assert read_curated(env, "redacted/ws.txt").decode() == " " * 30 + "\n[NAME]"


def test_truncated_result_is_resplit_and_reanalysed(env: Env) -> None:
    text = "John Smith\nMary Jones\n"
    put_raw(env, "clinical/t.txt", text)
    expect_detect(env, text, [ent(text, "John Smith", "NAME")], PaginationToken="more")
    expect_detect(env, "John Smith\n", [ent("John Smith\n", "John Smith", "NAME")])
    expect_detect(env, "Mary Jones\n", [ent("Mary Jones\n", "Mary Jones", "NAME")])

    run(env, s3_event("clinical/t.txt"))

    env.stub.assert_no_pending_responses()
    assert read_curated(env, "redacted/t.txt").decode() == "[NAME]\n[NAME]\n"
    assert findings(env, "redacted/t.txt")["detect_phi_calls"] == 3


def test_truncated_result_that_cannot_be_split_is_permanent(env: Env) -> None:
    put_raw(env, "clinical/t.txt", "Bob Li\n")
    expect_detect(env, "Bob Li\n", [], PaginationToken="more")
    result = run(env, s3_event("clinical/t.txt"))
    assert result["results"][0]["reason"] == "detect_phi_result_truncated"
    assert curated_keys(env) == []


def test_overlapping_entities_merge_into_one_placeholder(env: Env) -> None:
    text = "Seen by John Smith Jr today"
    put_raw(env, "clinical/o.txt", text)
    expect_detect(env, text, [ent(text, "John Smith", "NAME"), ent(text, "Smith Jr", "NAME")])
    run(env, s3_event("clinical/o.txt"))
    assert read_curated(env, "redacted/o.txt").decode() == "Seen by [NAME] today"


# ----------------------------------------------------------------------------- score policy


def test_low_score_entities_are_redacted_by_default(env: Env) -> None:
    text = "Seen by Bob on Monday"
    put_raw(env, "clinical/s.txt", text)
    expect_detect(env, text, [ent(text, "Bob", "NAME", 0.3), ent(text, "Monday", "DATE", 0.8)])
    run(env, s3_event("clinical/s.txt"))
    assert read_curated(env, "redacted/s.txt").decode() == "Seen by [NAME] on [DATE]"
    assert findings(env, "redacted/s.txt")["redacted_count"] == 2


def test_low_score_entities_kept_when_redact_low_score_false(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDACT_LOW_SCORE", "false")
    monkeypatch.setenv("MIN_SCORE", "0.5")
    text = "Seen by Bob on Monday"
    put_raw(env, "clinical/s.txt", text)
    expect_detect(env, text, [ent(text, "Bob", "NAME", 0.3), ent(text, "Monday", "DATE", 0.5)])
    run(env, s3_event("clinical/s.txt"))
    assert read_curated(env, "redacted/s.txt").decode() == "Seen by Bob on [DATE]"
    found = findings(env, "redacted/s.txt")
    assert [e["redacted"] for e in found["entities"]] == [False, True]
    assert found["entity_count"] == 2 and found["redacted_count"] == 1


# ----------------------------------------------------------------------------- edge cases


def test_empty_object_writes_empty_copy_and_zero_findings(env: Env) -> None:
    put_raw(env, "clinical/empty.txt", b"")
    result = run(env, s3_event("clinical/empty.txt"))  # no stubbed response: a call would fail
    assert result["results"][0]["status"] == "redacted"
    assert read_curated(env, "redacted/empty.txt") == b""
    found = findings(env, "redacted/empty.txt")
    assert found["entity_count"] == 0 and found["entities"] == [] and found["chunks"] == 0
    assert found["detect_phi_calls"] == 0


def test_folder_marker_is_skipped(env: Env) -> None:
    put_raw(env, "clinical/2024/", b"")
    result = run(env, s3_event("clinical/2024/"))
    assert result["results"][0] == {
        "bucket": RAW,
        "key": "clinical/2024/",
        "status": "skipped",
        "reason": "folder_marker",
    }
    assert curated_keys(env) == [] and dlq(env) == []


def test_url_encoded_key_is_decoded(env: Env) -> None:
    key = "clinical/visit notes+1:2.txt"
    put_raw(env, key, "Bob")
    expect_detect(env, "Bob", [ent("Bob", "Bob", "NAME")])
    event = s3_event(key)
    assert event["Records"][0]["s3"]["object"]["key"] == "clinical/visit+notes%2B1%3A2.txt"
    run(env, event)
    assert read_curated(env, "redacted/visit notes+1:2.txt") == b"[NAME]"


# ----------------------------------------------------------------------------- event shapes


@pytest.mark.parametrize("shape", ["s3", "eventbridge"])
def test_both_event_shapes(env: Env, shape: str) -> None:
    key = "clinical/a b.txt"
    put_raw(env, key, NOTE)
    expect_detect(env, NOTE, NOTE_ENTITIES)
    event = s3_event(key) if shape == "s3" else eb_event(key)
    result = run(env, event)
    assert result["results"] == [
        {
            "bucket": RAW,
            "key": key,
            "status": "redacted",
            "curated_key": "redacted/a b.txt",
            "findings_key": "redacted/a b.txt.phi.json",
            "entity_count": 6,
            "redacted_count": 6,
        }
    ]
    assert read_curated(env, "redacted/a b.txt").decode() == NOTE_REDACTED


def test_multi_record_event_with_one_bad_record(env: Env) -> None:
    put_raw(env, "clinical/one.txt", "Bob")
    put_raw(env, "clinical/bad.txt", b"\xff\xfeB\x00o\x00b\x00")  # UTF-16, not UTF-8
    put_raw(env, "clinical/three.txt", "Ann")
    expect_detect(env, "Bob", [ent("Bob", "Bob", "NAME")])
    expect_detect(env, "Ann", [ent("Ann", "Ann", "NAME")])

    result = run(env, s3_event("clinical/one.txt", "clinical/bad.txt", "clinical/three.txt"))

    assert [r["status"] for r in result["results"]] == ["redacted", "dead_lettered", "redacted"]
    assert result["redacted"] == 2 and result["dead_lettered"] == 1
    assert sorted(curated_keys(env)) == [
        "redacted/one.txt",
        "redacted/one.txt.phi.json",
        "redacted/three.txt",
        "redacted/three.txt.phi.json",
    ]
    assert dlq(env) == [{"reason": "not_utf8", "bucket": RAW, "key": "clinical/bad.txt"}]


def test_malformed_record_in_batch_is_dead_lettered_others_processed(env: Env) -> None:
    put_raw(env, "clinical/one.txt", "Bob")
    expect_detect(env, "Bob", [ent("Bob", "Bob", "NAME")])
    event = s3_event("clinical/one.txt")
    event["Records"].append({"eventSource": "aws:s3", "s3": {"bucket": {}}})
    result = run(env, event)
    assert [r["status"] for r in result["results"]] == ["redacted", "dead_lettered"]
    [message] = dlq(env)
    assert message["reason"] == "malformed_record" and message["key"] is None


@pytest.mark.parametrize(
    "event",
    [{}, {"foo": 1}, [], "x", {"Records": []}, {"source": "aws.s3", "detail": {"bucket": {}}}],
)
def test_malformed_event_is_dead_lettered(env: Env, event: Any) -> None:
    result = run(env, event)
    assert result["dead_lettered"] == 1
    [message] = dlq(env)
    assert message["reason"] == "malformed_event"
    assert message["bucket"] is None and message["key"] is None and message["event"] == event


def test_non_create_event_is_dead_lettered(env: Env) -> None:
    put_raw(env, "clinical/x.txt", "Bob")
    result = run(env, s3_event("clinical/x.txt", event_name="ObjectRemoved:Delete"))
    assert result["results"][0]["reason"] == "not_object_created"
    assert dlq(env) == [{"reason": "not_object_created", "bucket": RAW, "key": "clinical/x.txt"}]
    assert curated_keys(env) == []


# ----------------------------------------------------------------------------- permanent failures


def test_non_utf8_is_permanent(env: Env) -> None:
    put_raw(env, "clinical/latin1.txt", "Zoë Müller".encode("latin-1"))
    result = run(env, eb_event("clinical/latin1.txt"))
    assert result["results"][0]["reason"] == "not_utf8"
    assert dlq(env) == [{"reason": "not_utf8", "bucket": RAW, "key": "clinical/latin1.txt"}]
    assert curated_keys(env) == []


def test_object_too_large_is_permanent(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_OBJECT_BYTES", "100")
    put_raw(env, "clinical/big.txt", "a" * 101)
    put_raw(env, "clinical/fits.txt", "a" * 100)
    expect_detect(env, "a" * 100, [])
    result = run(env, s3_event("clinical/big.txt", "clinical/fits.txt"))
    assert [r["status"] for r in result["results"]] == ["dead_lettered", "redacted"]
    assert dlq(env) == [{"reason": "object_too_large", "bucket": RAW, "key": "clinical/big.txt"}]
    assert "redacted/big.txt" not in curated_keys(env)


def test_key_outside_prefix_is_permanent(env: Env) -> None:
    put_raw(env, "other/note.txt", NOTE)
    result = run(env, s3_event("other/note.txt"))
    assert result["results"][0]["reason"] == "key_outside_prefix"
    assert dlq(env) == [{"reason": "key_outside_prefix", "bucket": RAW, "key": "other/note.txt"}]
    assert curated_keys(env) == []


def test_wrong_bucket_is_permanent(env: Env) -> None:
    env.s3.create_bucket(Bucket="someone-else")
    env.s3.put_object(Bucket="someone-else", Key="clinical/note.txt", Body=NOTE.encode())
    result = run(env, eb_event("clinical/note.txt", bucket="someone-else"))
    assert result["results"][0]["reason"] == "wrong_bucket"
    assert dlq(env) == [
        {"reason": "wrong_bucket", "bucket": "someone-else", "key": "clinical/note.txt"}
    ]
    assert curated_keys(env) == []


def test_missing_object_is_permanent(env: Env) -> None:
    result = run(env, s3_event("clinical/gone.txt"))
    assert result["results"][0]["reason"] == "object_not_found"
    [message] = dlq(env)
    assert message["reason"] == "object_not_found" and message["key"] == "clinical/gone.txt"


@pytest.mark.parametrize(
    "code",
    ["InvalidRequestException", "TextSizeLimitExceededException", "InvalidEncodingException"],
)
def test_comprehend_medical_invalid_input_is_permanent(env: Env, code: str) -> None:
    put_raw(env, "clinical/note.txt", NOTE)
    env.stub.add_client_error("detect_phi", service_error_code=code, http_status_code=400)
    result = run(env, s3_event("clinical/note.txt"))
    assert result["results"][0]["reason"] == "comprehend_medical_rejected"
    assert dlq(env) == [
        {
            "reason": "comprehend_medical_rejected",
            "bucket": RAW,
            "key": "clinical/note.txt",
            "error_code": code,
        }
    ]
    assert curated_keys(env) == []


def test_entity_offsets_outside_chunk_are_permanent(env: Env) -> None:
    put_raw(env, "clinical/n.txt", "Bob")
    bad = ent("Bob", "Bob", "NAME") | {"EndOffset": 99}
    expect_detect(env, "Bob", [bad])
    result = run(env, s3_event("clinical/n.txt"))
    assert result["results"][0]["reason"] == "invalid_entity_offsets"
    assert curated_keys(env) == []


# ----------------------------------------------------------------------------- transient failures


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("TooManyRequestsException", 429),
        ("ServiceUnavailableException", 503),
        ("InternalServerException", 500),
    ],
)
def test_error_on_second_chunk_writes_nothing_and_raises(env: Env, code: str, status: int) -> None:
    text = "Name: John Smith\nDOB: 01/02/1970\nSeen by Dr. Ann Lee on 05/06/2024\nMRN 998877\n"
    env.s3.put_object(Bucket=RAW, Key="clinical/long.txt", Body=text.encode())
    before = env.s3.get_object(Bucket=RAW, Key="clinical/long.txt")
    expect_detect(env, "Name: John Smith\nDOB: 01/02/1970\n", [])
    env.stub.add_client_error("detect_phi", service_error_code=code, http_status_code=status)

    with pytest.raises(mod.TransientError) as raised:
        run(env, s3_event("clinical/long.txt"), max_chunk_bytes=40)

    assert isinstance(raised.value.__cause__, ClientError)
    assert raised.value.__cause__.response["Error"]["Code"] == code
    env.stub.assert_no_pending_responses()  # the 3rd chunk was never sent
    assert curated_keys(env) == []
    assert dlq(env) == []
    after = env.s3.get_object(Bucket=RAW, Key="clinical/long.txt")
    assert after["Body"].read() == text.encode() and after["ETag"] == before["ETag"]
    assert env.s3.get_object_tagging(Bucket=RAW, Key="clinical/long.txt")["TagSet"] == []
    assert [o["Key"] for o in env.s3.list_objects_v2(Bucket=RAW)["Contents"]] == [
        "clinical/long.txt"
    ]


def test_transient_failure_does_not_stop_other_records(env: Env) -> None:
    put_raw(env, "clinical/one.txt", "Bob")
    put_raw(env, "clinical/two.txt", "Ann")
    env.stub.add_client_error(
        "detect_phi", service_error_code="ThrottlingException", http_status_code=400
    )
    expect_detect(env, "Ann", [ent("Ann", "Ann", "NAME")])
    with pytest.raises(mod.TransientError, match="1 of 2"):
        run(env, s3_event("clinical/one.txt", "clinical/two.txt"))
    assert sorted(curated_keys(env)) == ["redacted/two.txt", "redacted/two.txt.phi.json"]


def test_s3_5xx_is_transient(env: Env) -> None:
    with Stubber(env.s3) as s3_stub:
        s3_stub.add_client_error(
            "get_object", service_error_code="InternalError", http_status_code=500
        )
        with pytest.raises(mod.TransientError) as raised:
            run(env, s3_event("clinical/note.txt"))
    assert raised.value.__cause__.response["Error"]["Code"] == "InternalError"
    assert dlq(env) == []


def test_dlq_send_failure_raises(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLQ_URL", env.dlq_url + "-missing")
    with pytest.raises(mod.TransientError):
        run(env, s3_event("other/x.txt"))


# ----------------------------------------------------------------------------- handler + config


def test_handler_entry_point(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mod, "make_clients", env.clients)
    put_raw(env, "clinical/h.txt", "Bob")
    expect_detect(env, "Bob", [ent("Bob", "Bob", "NAME")])
    assert mod.handler(eb_event("clinical/h.txt"), None)["redacted"] == 1
    assert read_curated(env, "redacted/h.txt") == b"[NAME]"


def test_config_defaults(config_env: None) -> None:
    config = mod.load_settings()
    assert config.max_object_bytes == 1_000_000
    assert config.min_score == 0.5 and config.redact_low_score is True
    assert config.data_key_arn == KEY_ARN
    assert config.clinical_prefix == "clinical/" and config.curated_prefix == "redacted/"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.min_score = 0.1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RAW_BUCKET", None),
        ("RAW_BUCKET", "Bad_Bucket"),
        ("CURATED_BUCKET", ""),
        ("CLINICAL_PREFIX", "clinical"),
        ("CLINICAL_PREFIX", "/clinical/"),
        ("CURATED_PREFIX", None),
        ("DATA_KEY_ARN", "alias/data"),
        ("DATA_KEY_ARN", None),
        ("DLQ_URL", "http://insecure"),
        ("MAX_OBJECT_BYTES", "0"),
        ("MAX_OBJECT_BYTES", "ten"),
        ("MIN_SCORE", "1.5"),
        ("MIN_SCORE", "high"),
        ("REDACT_LOW_SCORE", "maybe"),
    ],
)
def test_invalid_configuration(
    config_env: None, monkeypatch: pytest.MonkeyPatch, name: str, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv(name)
    else:
        monkeypatch.setenv(name, value)
    with pytest.raises(mod.ConfigurationError, match=name):
        mod.load_settings()
    with pytest.raises(mod.ConfigurationError):
        mod.handler(s3_event("clinical/x.txt"), None)
