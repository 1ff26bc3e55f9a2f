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

Modules (this folder plus the ``handler_kit`` layer): ``phi_redaction_settings`` (``Settings``),
``phi_redaction_event`` (event parsing), ``phi_redaction_detect`` (chunking, DetectPHI, redaction
and the findings record).

Logs are one JSON object per line and hold keys, sizes, counts and error codes only: never the
object text, entity text nor a service error message (which could quote the input).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError
from handler_kit.dlq import OMITTED, send_to_dlq
from handler_kit.errors import ConfigurationError as ConfigurationError
from handler_kit.errors import error_code
from handler_kit.log import log
from phi_redaction_detect import (
    DETECT_PHI_MAX_BYTES,
    PermanentError,
    detect_phi,
    findings_record,
    redact,
)
from phi_redaction_event import ObjectRecord, parse_event
from phi_redaction_settings import Settings, load_settings

FINDINGS_SUFFIX = ".phi.json"


class TransientError(Exception):
    """At least one object failed in a way a retry may fix."""


@dataclass(frozen=True)
class Clients:
    """boto3 clients the function uses (real, moto-backed or Stubber-wrapped)."""

    s3: Any
    comprehendmedical: Any
    sqs: Any


def make_clients() -> Clients:
    """Create the boto3 clients (region and credentials from the Lambda environment)."""
    return Clients(
        s3=boto3.client("s3"),
        comprehendmedical=boto3.client("comprehendmedical"),
        sqs=boto3.client("sqs"),
    )


def _dead_letter(
    clients: Clients,
    settings: Settings,
    record: ObjectRecord,
    reason: str,
    code: str | None = None,
) -> None:
    details: dict[str, Any] = {"bucket": record.bucket, "key": record.key}
    if code is not None:
        details["error_code"] = code
    # A malformed event is kept for inspection (it holds no object text).
    event = OMITTED if record.raw is None else record.raw
    send_to_dlq(
        clients.sqs,
        settings.dlq_url,
        reason,
        event,
        details=details,
        level="WARNING",
        message="object dead-lettered",
    )


def _read_object(clients: Clients, settings: Settings, bucket: str, key: str) -> tuple[bytes, str]:
    try:
        response = clients.s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = error_code(exc, "Unknown")
        if code in {"NoSuchKey", "404", "NotFound"}:
            raise PermanentError("object_not_found", code) from exc
        raise
    body = response["Body"]
    try:
        declared = response.get("ContentLength")
        if isinstance(declared, int) and declared > settings.max_object_bytes:
            raise PermanentError("object_too_large")
        data: bytes = body.read(settings.max_object_bytes + 1)
    finally:
        body.close()
    if len(data) > settings.max_object_bytes:
        raise PermanentError("object_too_large")
    return data, str(response.get("ETag", "")).strip('"')


def _put(clients: Clients, settings: Settings, key: str, body: bytes, content_type: str) -> None:
    clients.s3.put_object(
        Bucket=settings.curated_bucket,
        Key=key,
        Body=body,
        ContentType=content_type,
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=settings.data_key_arn,
    )


def process_object(
    clients: Clients, settings: Settings, bucket: str, key: str, max_chunk_bytes: int
) -> dict[str, Any]:
    """Redact one object and write its redacted copy and findings record.

    Raises:
        PermanentError: the object cannot be processed (nothing written).
        ClientError: a transient or unknown AWS error (nothing written if it hit DetectPHI).
    """
    if bucket != settings.raw_bucket:
        raise PermanentError("wrong_bucket")
    if not key.startswith(settings.clinical_prefix):
        raise PermanentError("key_outside_prefix")
    relative = key[len(settings.clinical_prefix) :]
    if not relative or key.endswith("/"):
        log("INFO", "folder marker skipped", bucket=bucket, key=key)
        return {"bucket": bucket, "key": key, "status": "skipped", "reason": "folder_marker"}

    data, etag = _read_object(clients, settings, bucket, key)
    try:
        text = data.decode("utf-8")  # strict
    except UnicodeDecodeError as exc:
        raise PermanentError("not_utf8") from exc

    entities, chunks, calls = detect_phi(clients.comprehendmedical, text, max_chunk_bytes)
    redacted = redact(text, entities, settings)
    curated_key = settings.curated_prefix + relative
    findings_key = curated_key + FINDINGS_SUFFIX
    findings = findings_record(
        entities,
        settings,
        source={"bucket": bucket, "key": key, "etag": etag, "size_bytes": len(data)},
        redacted_object={"bucket": settings.curated_bucket, "key": curated_key},
        characters=len(text),
        chunks=chunks,
        detect_phi_calls=calls,
    )
    _put(clients, settings, curated_key, redacted.encode("utf-8"), "text/plain; charset=utf-8")
    _put(
        clients,
        settings,
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
    clients: Clients, settings: Settings, record: ObjectRecord, max_chunk_bytes: int
) -> dict[str, Any]:
    dead = {"bucket": record.bucket, "key": record.key, "status": "dead_lettered"}
    if record.error is not None or record.bucket is None or record.key is None:
        reason = record.error or "malformed_record"
        _dead_letter(clients, settings, record, reason)
        return {**dead, "reason": reason}
    try:
        return process_object(clients, settings, record.bucket, record.key, max_chunk_bytes)
    except PermanentError as exc:
        _dead_letter(clients, settings, record, exc.reason, exc.error_code)
        return {**dead, "reason": exc.reason}


def process_event(
    event: Any, clients: Clients, settings: Settings, max_chunk_bytes: int = DETECT_PHI_MAX_BYTES
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
            results.append(_handle_record(clients, settings, record, max_chunk_bytes))
        except Exception as exc:  # transient or unknown: retry the event
            code = (
                error_code(exc, "Unknown") if isinstance(exc, ClientError) else type(exc).__name__
            )
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
    settings = load_settings(os.environ)
    return process_event(event, make_clients(), settings)
