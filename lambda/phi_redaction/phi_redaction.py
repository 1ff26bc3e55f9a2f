"""Redact PHI from clinical text objects landing in the raw bucket.

Trigger: an S3 "object created" notification for the raw bucket, in either documented shape:

- classic S3 event notification: ``{"Records": [{"eventSource": "aws:s3", "eventName":
  "ObjectCreated:Put", "s3": {"bucket": {"name": ...}, "object": {"key": ..., "size": ...}}}]}``
  (one event may carry several records);
- Amazon EventBridge: ``{"source": "aws.s3", "detail-type": "Object Created", "detail":
  {"bucket": {"name": ...}, "object": {"key": ..., "size": ...}}}`` (one object per event).

Object keys in both shapes are URL-encoded by S3 ("red flower.jpg" arrives as "red+flower.jpg"),
so they are decoded with ``urllib.parse.unquote_plus`` (as AWS Lambda Powertools does for both).

For each object: read it from S3, decode it as strict UTF-8, call Amazon Comprehend Medical
``DetectPHI`` on chunks of the text, replace every PHI entity with ``[<TYPE>]`` (for example
``[NAME]``, ``[DATE]``, ``[ID]``) and write two objects to the curated bucket, both SSE-KMS with
the platform data key:

- ``<CURATED_PREFIX><key relative to CLINICAL_PREFIX>``: the redacted text (UTF-8);
- the same key plus ``.phi.json``: the findings record (entity type, category, offsets in the
  original text in code points, score and whether it was redacted; counts per type). It never
  holds the original text nor any entity's text.

DetectPHI input limit: the API reference says the Text "must contain fewer than 20,000 bytes of
characters" (length constraint: max 20000). Text is therefore split into chunks of at most
19,999 UTF-8 bytes (``DETECT_PHI_MAX_BYTES`` - 1), cut after a line break or other whitespace
(a hard cut only for a run without whitespace), always between two characters, so a multi-byte
character is never split. Entity offsets (documented as 0-based code-point offsets) are shifted
by the chunk's start to the full text's coordinates. An entity cut in two by a chunk boundary is
detected (or not) as two pieces; cutting at line breaks first keeps that rare. Whitespace-only
chunks are not sent. If a DetectPHI response carries a ``PaginationToken`` (its entity list may
be truncated, and the request has no way to ask for the next page), that chunk is split in
smaller pieces and re-analysed; if it is still truncated after ``MAX_RESPLIT_DEPTH`` halvings,
the object is a permanent failure. Nothing is written until every chunk has been analysed.

Score policy: entities scoring at or above MIN_SCORE are always redacted. Entities below it are
ALSO redacted by default (REDACT_LOW_SCORE=true): a false positive costs a word of context, a
false negative leaks PHI, so the safe default wins. REDACT_LOW_SCORE=false leaves low-score
entities in the text (they are still listed in the findings with ``"redacted": false``).
Overlapping entities are merged into one placeholder bearing the first entity's type.

Empty object: an empty redacted object and a findings record with zero entities are written
(no DetectPHI call: the API needs at least one character), so every raw object has a curated
counterpart and an audit record. A key ending in "/" (a console "folder" marker) or equal to the
prefix is skipped: it names no document.

The source object is never modified (no delete, copy or tag change), whatever the outcome.

Environment variables (all validated at the start of each call; ConfigurationError if wrong):
    RAW_BUCKET: the only bucket whose events are accepted.
    CLINICAL_PREFIX: key prefix of accepted objects, ending in "/" (e.g. "clinical/").
    CURATED_BUCKET: bucket receiving the redacted text and findings.
    CURATED_PREFIX: key prefix in the curated bucket, ending in "/".
    DATA_KEY_ARN: KMS key ARN used as SSEKMSKeyId for both curated objects.
    DLQ_URL: SQS queue URL receiving permanent failures.
    MAX_OBJECT_BYTES: largest object accepted, in bytes (default 1000000).
    MIN_SCORE: score threshold in [0, 1] (default 0.5).
    REDACT_LOW_SCORE: "true" (default) or "false", see the score policy.

Failure modes:
    Permanent (a message ``{"reason", "bucket", "key"}`` (plus ``error_code`` or the
    malformed ``event`` where relevant, never object text) goes to DLQ_URL, the handler carries
    on with the other records and returns normally): malformed event or record, not an "object
    created" event, wrong bucket, key outside CLINICAL_PREFIX, object missing (NoSuchKey),
    object larger than MAX_OBJECT_BYTES, content not valid UTF-8, Comprehend Medical
    InvalidRequestException / TextSizeLimitExceededException / InvalidEncodingException (the
    same input fails the same way on retry), entity offsets outside the chunk, result still
    truncated after re-splitting.
    Transient (raised after the other records of the event are processed, so Lambda's async
    retries run, then the platform DLQ receives the event): Comprehend Medical
    TooManyRequestsException, ThrottlingException, ServiceUnavailableException,
    InternalServerException; S3 5xx and any other S3 or unknown error (AccessDenied, KMS);
    network errors; a failed DLQ send. A retry re-runs every record of the event: outputs are
    overwritten with identical content, and a permanent failure may be dead-lettered twice.
    Configuration errors raise ConfigurationError.

Logs are one JSON object per line and hold keys, sizes, counts and error codes only: never the
object text, entity text nor a service error message (which could quote the input).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import boto3
from botocore.exceptions import ClientError

DETECT_PHI_MAX_BYTES = 20_000
"""Documented DetectPHI limit: Text must contain fewer than 20,000 bytes (max length 20000)."""

DEFAULT_MAX_OBJECT_BYTES = 1_000_000
DEFAULT_MIN_SCORE = 0.5
MAX_RESPLIT_DEPTH = 3
FINDINGS_SUFFIX = ".phi.json"
FINDINGS_SCHEMA_VERSION = 1

PERMANENT_CM_ERRORS = frozenset(
    {"InvalidRequestException", "TextSizeLimitExceededException", "InvalidEncodingException"}
)
"""Comprehend Medical errors that the same input reproduces on every retry."""

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_KMS_KEY_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
_PLACEHOLDER_RE = re.compile(r"[^A-Z0-9_]")
_MIN_CHUNK_BYTES = 8  # room for one 4-byte character under a strict "fewer than" limit


class ConfigurationError(Exception):
    """An environment variable is missing or invalid."""


class PermanentError(Exception):
    """The object can never be processed as it is: dead-letter it, do not retry."""

    def __init__(self, reason: str, error_code: str | None = None) -> None:
        """Record a short machine-readable reason and, optionally, the service error code."""
        super().__init__(reason if error_code is None else f"{reason} ({error_code})")
        self.reason = reason
        self.error_code = error_code


class TransientError(Exception):
    """At least one object failed in a way a retry may fix."""


@dataclass(frozen=True)
class Config:
    """Validated configuration of one invocation."""

    raw_bucket: str
    clinical_prefix: str
    curated_bucket: str
    curated_prefix: str
    data_key_arn: str
    dlq_url: str
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    min_score: float = DEFAULT_MIN_SCORE
    redact_low_score: bool = True


@dataclass(frozen=True)
class Clients:
    """boto3 clients the function uses (real, moto-backed or Stubber-wrapped)."""

    s3: Any
    comprehendmedical: Any
    sqs: Any


@dataclass(frozen=True)
class PhiEntity:
    """One PHI entity, offsets in code points of the full text (end exclusive)."""

    type: str
    category: str
    begin: int
    end: int
    score: float


@dataclass(frozen=True)
class ObjectRecord:
    """One object reference taken from the event, or why it could not be read."""

    bucket: str | None
    key: str | None
    error: str | None = None
    raw: Any = None


def log(level: str, message: str, **fields: Any) -> None:
    """Print one JSON log line to stdout (callers pass keys, sizes and counts, never text)."""
    sys.stdout.write(json.dumps({"level": level, "message": message, **fields}, default=str))
    sys.stdout.write("\n")


def _require(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} is missing or empty (required)")
    return value


def _bucket(env: Mapping[str, str], name: str) -> str:
    value = _require(env, name)
    if not _BUCKET_RE.match(value):
        raise ConfigurationError(f"{name}={value!r} is not a valid S3 bucket name")
    return value


def _prefix(env: Mapping[str, str], name: str) -> str:
    value = _require(env, name)
    if not value.endswith("/") or value.startswith("/"):
        raise ConfigurationError(
            f"{name}={value!r} must be a key prefix ending in '/' and not starting with '/'"
        )
    return value


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the environment (``os.environ`` by default).

    Raises:
        ConfigurationError: a variable is missing or invalid; the message names it.
    """
    env = os.environ if environ is None else environ
    data_key_arn = _require(env, "DATA_KEY_ARN")
    if not _KMS_KEY_ARN_RE.match(data_key_arn):
        raise ConfigurationError(
            f"DATA_KEY_ARN={data_key_arn!r} is not a KMS key ARN "
            "(arn:aws:kms:<region>:<account>:key/<id>)"
        )
    dlq_url = _require(env, "DLQ_URL")
    if not dlq_url.startswith("https://"):
        raise ConfigurationError(f"DLQ_URL={dlq_url!r} must be an https:// SQS queue URL")

    raw_max = env.get("MAX_OBJECT_BYTES", "").strip() or str(DEFAULT_MAX_OBJECT_BYTES)
    try:
        max_object_bytes = int(raw_max)
    except ValueError:
        max_object_bytes = 0
    if max_object_bytes < 1:
        raise ConfigurationError(f"MAX_OBJECT_BYTES={raw_max!r} must be a positive integer")

    raw_score = env.get("MIN_SCORE", "").strip() or str(DEFAULT_MIN_SCORE)
    try:
        min_score = float(raw_score)
    except ValueError:
        min_score = -1.0
    if not 0.0 <= min_score <= 1.0:
        raise ConfigurationError(f"MIN_SCORE={raw_score!r} must be a number between 0 and 1")

    raw_low = env.get("REDACT_LOW_SCORE", "").strip().lower() or "true"
    if raw_low not in {"true", "false"}:
        raise ConfigurationError(f"REDACT_LOW_SCORE={raw_low!r} must be 'true' or 'false'")

    return Config(
        raw_bucket=_bucket(env, "RAW_BUCKET"),
        clinical_prefix=_prefix(env, "CLINICAL_PREFIX"),
        curated_bucket=_bucket(env, "CURATED_BUCKET"),
        curated_prefix=_prefix(env, "CURATED_PREFIX"),
        data_key_arn=data_key_arn,
        dlq_url=dlq_url,
        max_object_bytes=max_object_bytes,
        min_score=min_score,
        redact_low_score=raw_low == "true",
    )


def make_clients() -> Clients:
    """Create the boto3 clients (region and credentials from the Lambda environment)."""
    return Clients(
        s3=boto3.client("s3"),
        comprehendmedical=boto3.client("comprehendmedical"),
        sqs=boto3.client("sqs"),
    )


# --------------------------------------------------------------------------- event parsing


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
    try:
        bucket = event["detail"]["bucket"]["name"]
        key = event["detail"]["object"]["key"]
    except (KeyError, TypeError):
        return ObjectRecord(None, None, "malformed_event", event)
    if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
        return ObjectRecord(None, None, "malformed_event", event)
    decoded = unquote_plus(key)
    if event.get("detail-type") != "Object Created":
        return ObjectRecord(bucket, decoded, "not_object_created")
    return ObjectRecord(bucket, decoded)


def parse_event(event: Any) -> list[ObjectRecord]:
    """Turn an S3 notification or an EventBridge S3 event into object records.

    A record that cannot be read comes back with ``error`` set (and the raw record), so the
    caller dead-letters it and carries on with the others.
    """
    if isinstance(event, dict):
        records = event.get("Records")
        if isinstance(records, list) and records:
            return [_s3_record(record) for record in records]
        if event.get("source") == "aws.s3" and isinstance(event.get("detail"), dict):
            return [_eventbridge_record(event)]
    return [ObjectRecord(None, None, "malformed_event", event)]


# --------------------------------------------------------------------------- text chunking


def _break_point(text: str, start: int, end: int) -> int:
    """Where to cut ``text[start:end]``: after a late line break, else after whitespace."""
    newline = text.rfind("\n", start, end)
    if newline >= start + (end - start) // 2:
        return newline + 1
    for index in range(end - 1, start - 1, -1):
        if text[index].isspace():
            return index + 1
    return end


def split_text(text: str, max_bytes: int = DETECT_PHI_MAX_BYTES) -> list[tuple[int, str]]:
    """Split ``text`` into ``(offset, chunk)`` pieces of fewer than ``max_bytes`` UTF-8 bytes.

    Cuts fall after a line break in the second half of the window, else after the last
    whitespace, else (a run with no whitespace) at the last whole character that fits. Cuts are
    between code points, so a multi-byte character is never split. Offsets are code-point
    indexes into ``text``; ``"".join(chunks) == text``.

    Raises:
        ValueError: ``max_bytes`` is too small to hold one 4-byte character.
    """
    if max_bytes < _MIN_CHUNK_BYTES:
        raise ValueError(f"max_bytes must be at least {_MIN_CHUNK_BYTES}, got {max_bytes}")
    budget = max_bytes - 1  # the documented limit is strict: "fewer than"
    chunks: list[tuple[int, str]] = []
    start = 0
    length = len(text)
    while start < length:
        window = text[start : start + budget]  # never more bytes than characters
        fit = len(window.encode("utf-8")[:budget].decode("utf-8", "ignore"))
        end = start + fit
        if end < length:
            end = _break_point(text, start, end)
        chunks.append((start, text[start:end]))
        start = end
    return chunks


# --------------------------------------------------------------------------- detection


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _entities_of(response: dict[str, Any], chunk: str, offset: int) -> list[PhiEntity]:
    found: list[PhiEntity] = []
    for raw in response.get("Entities", []):
        begin, end = raw.get("BeginOffset"), raw.get("EndOffset")
        if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin < end <= len(chunk)):
            raise PermanentError("invalid_entity_offsets")
        found.append(
            PhiEntity(
                type=str(raw.get("Type") or raw.get("Category") or "PHI"),
                category=str(raw.get("Category") or "PROTECTED_HEALTH_INFORMATION"),
                begin=begin + offset,
                end=end + offset,
                score=float(raw.get("Score", 0.0)),
            )
        )
    return found


def _detect_chunk(cm: Any, chunk: str, offset: int, depth: int = 0) -> tuple[list[PhiEntity], int]:
    """Entities of one chunk (full-text offsets) and the number of DetectPHI calls made."""
    try:
        response = cm.detect_phi(Text=chunk)
    except ClientError as exc:
        code = _error_code(exc)
        if code in PERMANENT_CM_ERRORS:
            raise PermanentError("comprehend_medical_rejected", code) from exc
        raise
    if not response.get("PaginationToken"):
        return _entities_of(response, chunk, offset), 1
    size = len(chunk.encode("utf-8"))
    if depth >= MAX_RESPLIT_DEPTH or size // 2 < _MIN_CHUNK_BYTES:
        raise PermanentError("detect_phi_result_truncated")
    log("WARNING", "DetectPHI result truncated; re-splitting chunk", chunk_bytes=size, depth=depth)
    entities: list[PhiEntity] = []
    calls = 1
    for sub_offset, sub_chunk in split_text(chunk, size // 2 + 1):
        if sub_chunk.strip():
            sub_entities, sub_calls = _detect_chunk(cm, sub_chunk, offset + sub_offset, depth + 1)
            entities.extend(sub_entities)
            calls += sub_calls
    return entities, calls


def detect_phi(
    cm: Any, text: str, max_bytes: int = DETECT_PHI_MAX_BYTES
) -> tuple[list[PhiEntity], int, int]:
    """Run DetectPHI over ``text`` chunk by chunk.

    Returns:
        The entities in full-text coordinates, the number of chunks and of DetectPHI calls.

    Raises:
        PermanentError: Comprehend Medical rejected the input, or returned unusable results.
        ClientError: any other service error (transient: the caller lets it propagate).
    """
    entities: list[PhiEntity] = []
    chunks = split_text(text, max_bytes)
    calls = 0
    for offset, chunk in chunks:
        if not chunk.strip():
            continue
        chunk_entities, chunk_calls = _detect_chunk(cm, chunk, offset)
        entities.extend(chunk_entities)
        calls += chunk_calls
    return entities, len(chunks), calls


def _placeholder(entity_type: str) -> str:
    return f"[{_PLACEHOLDER_RE.sub('_', entity_type.upper()) or 'PHI'}]"


def should_redact(entity: PhiEntity, config: Config) -> bool:
    """Apply the score policy (see the module docstring)."""
    return entity.score >= config.min_score or config.redact_low_score


def redact(text: str, entities: list[PhiEntity], config: Config) -> str:
    """Replace each entity chosen by the score policy with ``[<TYPE>]``; merge overlaps."""
    spans: list[list[Any]] = []
    for entity in sorted(entities, key=lambda e: (e.begin, -e.end)):
        if not should_redact(entity, config):
            continue
        if spans and entity.begin < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], entity.end)
            continue
        spans.append([entity.begin, entity.end, entity.type])
    parts: list[str] = []
    position = 0
    for begin, end, entity_type in spans:
        parts.append(text[position:begin])
        parts.append(_placeholder(entity_type))
        position = end
    parts.append(text[position:])
    return "".join(parts)


# --------------------------------------------------------------------------- per object


def _dead_letter(
    clients: Clients,
    config: Config,
    record: ObjectRecord,
    reason: str,
    error_code: str | None = None,
) -> None:
    body: dict[str, Any] = {"reason": reason, "bucket": record.bucket, "key": record.key}
    if error_code is not None:
        body["error_code"] = error_code
    if record.raw is not None:  # a malformed event: keep it for inspection (it holds no text)
        body["event"] = record.raw
    clients.sqs.send_message(QueueUrl=config.dlq_url, MessageBody=json.dumps(body, default=str))
    log(
        "WARNING",
        "object dead-lettered",
        reason=reason,
        error_code=error_code,
        bucket=record.bucket,
        key=record.key,
    )


def _read_object(clients: Clients, config: Config, bucket: str, key: str) -> tuple[bytes, str]:
    try:
        response = clients.s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _error_code(exc) in {"NoSuchKey", "404", "NotFound"}:
            raise PermanentError("object_not_found", _error_code(exc)) from exc
        raise
    body = response["Body"]
    try:
        declared = response.get("ContentLength")
        if isinstance(declared, int) and declared > config.max_object_bytes:
            raise PermanentError("object_too_large")
        data: bytes = body.read(config.max_object_bytes + 1)
    finally:
        body.close()
    if len(data) > config.max_object_bytes:
        raise PermanentError("object_too_large")
    return data, str(response.get("ETag", "")).strip('"')


def _findings(entities: list[PhiEntity], config: Config, **header: Any) -> dict[str, Any]:
    ordered = sorted(entities, key=lambda e: (e.begin, e.end))
    return {
        "schema_version": FINDINGS_SCHEMA_VERSION,
        **header,
        "min_score": config.min_score,
        "redact_low_score": config.redact_low_score,
        "offsets": "code points of the original text, end exclusive",
        "entity_count": len(ordered),
        "redacted_count": sum(1 for e in ordered if should_redact(e, config)),
        "counts_by_type": dict(sorted(Counter(e.type for e in ordered).items())),
        "entities": [
            {
                "type": e.type,
                "category": e.category,
                "begin_offset": e.begin,
                "end_offset": e.end,
                "score": e.score,
                "redacted": should_redact(e, config),
            }
            for e in ordered
        ],
    }


def _put(clients: Clients, config: Config, key: str, body: bytes, content_type: str) -> None:
    clients.s3.put_object(
        Bucket=config.curated_bucket,
        Key=key,
        Body=body,
        ContentType=content_type,
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=config.data_key_arn,
    )


def process_object(
    clients: Clients, config: Config, bucket: str, key: str, max_chunk_bytes: int
) -> dict[str, Any]:
    """Redact one object and write its redacted copy and findings record.

    Raises:
        PermanentError: the object cannot be processed (nothing written).
        ClientError: a transient or unknown AWS error (nothing written if it hit DetectPHI).
    """
    if bucket != config.raw_bucket:
        raise PermanentError("wrong_bucket")
    if not key.startswith(config.clinical_prefix):
        raise PermanentError("key_outside_prefix")
    relative = key[len(config.clinical_prefix) :]
    if not relative or key.endswith("/"):
        log("INFO", "folder marker skipped", bucket=bucket, key=key)
        return {"bucket": bucket, "key": key, "status": "skipped", "reason": "folder_marker"}

    data, etag = _read_object(clients, config, bucket, key)
    try:
        text = data.decode("utf-8")  # strict
    except UnicodeDecodeError as exc:
        raise PermanentError("not_utf8") from exc

    entities, chunks, calls = detect_phi(clients.comprehendmedical, text, max_chunk_bytes)
    redacted = redact(text, entities, config)
    curated_key = config.curated_prefix + relative
    findings_key = curated_key + FINDINGS_SUFFIX
    findings = _findings(
        entities,
        config,
        source={"bucket": bucket, "key": key, "etag": etag, "size_bytes": len(data)},
        redacted_object={"bucket": config.curated_bucket, "key": curated_key},
        characters=len(text),
        chunks=chunks,
        detect_phi_calls=calls,
    )
    _put(clients, config, curated_key, redacted.encode("utf-8"), "text/plain; charset=utf-8")
    _put(
        clients,
        config,
        findings_key,
        json.dumps(findings, indent=2).encode("utf-8"),
        "application/json",
    )
    log(
        "INFO",
        "object redacted",
        bucket=bucket,
        key=key,
        size_bytes=len(data),
        characters=len(text),
        chunks=chunks,
        detect_phi_calls=calls,
        entity_count=findings["entity_count"],
        redacted_count=findings["redacted_count"],
        counts_by_type=findings["counts_by_type"],
        curated_key=curated_key,
    )
    return {
        "bucket": bucket,
        "key": key,
        "status": "redacted",
        "curated_key": curated_key,
        "findings_key": findings_key,
        "entity_count": findings["entity_count"],
        "redacted_count": findings["redacted_count"],
    }


def _handle_record(
    clients: Clients, config: Config, record: ObjectRecord, max_chunk_bytes: int
) -> dict[str, Any]:
    dead = {"bucket": record.bucket, "key": record.key, "status": "dead_lettered"}
    if record.error is not None or record.bucket is None or record.key is None:
        reason = record.error or "malformed_record"
        _dead_letter(clients, config, record, reason)
        return {**dead, "reason": reason}
    try:
        return process_object(clients, config, record.bucket, record.key, max_chunk_bytes)
    except PermanentError as exc:
        _dead_letter(clients, config, record, exc.reason, exc.error_code)
        return {**dead, "reason": exc.reason}


def process_event(
    event: Any, clients: Clients, config: Config, max_chunk_bytes: int = DETECT_PHI_MAX_BYTES
) -> dict[str, Any]:
    """Process every object of ``event``; dead-letter permanent failures.

    Returns:
        ``{"results": [...], "redacted": n, "dead_lettered": n, "skipped": n}``, one result per
        record, in order.

    Raises:
        TransientError: after all records were tried, if any failed transiently (chained to
        the first such error), so Lambda retries the event.
    """
    results: list[dict[str, Any]] = []
    transient: list[BaseException] = []
    for record in parse_event(event):
        try:
            results.append(_handle_record(clients, config, record, max_chunk_bytes))
        except Exception as exc:  # transient or unknown: retry the event
            code = _error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
            log(
                "ERROR",
                "transient failure; nothing written for this object",
                bucket=record.bucket,
                key=record.key,
                error_code=code,
            )
            results.append(
                {"bucket": record.bucket, "key": record.key, "status": "failed", "error_code": code}
            )
            transient.append(exc)
    summary = {
        "results": results,
        "redacted": sum(1 for r in results if r["status"] == "redacted"),
        "dead_lettered": sum(1 for r in results if r["status"] == "dead_lettered"),
        "skipped": sum(1 for r in results if r["status"] == "skipped"),
    }
    if transient:
        raise TransientError(
            f"{len(transient)} of {len(results)} object(s) failed transiently; retry the event"
        ) from transient[0]
    log(
        "INFO",
        "event processed",
        records=len(results),
        redacted=summary["redacted"],
        dead_lettered=summary["dead_lettered"],
        skipped=summary["skipped"],
    )
    return summary


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: validate the environment, build clients, process the event."""
    config = load_config()
    return process_event(event, make_clients(), config)
