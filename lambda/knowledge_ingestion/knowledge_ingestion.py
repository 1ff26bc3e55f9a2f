"""Start Amazon Bedrock knowledge-base ingestion jobs when knowledge documents change.

Wiring (built in CDK): the curated bucket (``KNOWLEDGE_BUCKET``) sends its S3 events to Amazon
EventBridge; a rule matches ``source`` "aws.s3", ``detail-type`` "Object Created" and "Object
Deleted", the bucket and keys under ``KNOWLEDGE_PREFIX``, and targets an SQS buffer queue
(KMS-encrypted). This function consumes that queue through an SQS event source mapping with
``ReportBatchItemFailures``, a batch size of up to 100 and a maximum batching window of 300 s,
and has a reserved concurrency of 1. The buffer queue redrives a message to the function's
dead-letter queue (``DLQ_URL``) after its ``maxReceiveCount`` receives; an alarm watches that
queue.

Event: an SQS event, ``{"Records": [{"messageId", "receiptHandle", "body", "attributes":
{"ApproximateReceiveCount", "SentTimestamp", ...}, "eventSource": "aws:sqs", ...}]}``, each
``body`` the EventBridge event as JSON text: ``{"source": "aws.s3", "detail-type": "Object
Created" | "Object Deleted", "time": "2024-01-01T00:00:00Z", "detail": {"bucket": {"name"},
"object": {"key"}}}`` (the key URL-encoded; it is decoded as ``handler_kit.s3_events`` does).

Flow:
    1. Parse every record (``knowledge_ingestion_event``). A record that is not an SQS record,
       whose body is not JSON or not an S3 "Object Created"/"Object Deleted" event, names
       another bucket or a key outside KNOWLEDGE_PREFIX is dead-lettered with its reason and
       NOT reported as failed, so SQS deletes it. An event that is not an SQS event at all is
       dead-lettered whole. No usable record left: return without calling Bedrock.
    2. ``ListIngestionJobs`` for the data source, filtered on status STARTING or IN_PROGRESS,
       newest first. If such a job runs, it will list the bucket after its ``startedAt``: a
       change whose event time lies wholly before that (``time`` + 1 s <= ``startedAt``, as
       EventBridge writes ``time`` to the whole second; a record without a readable time is
       never covered) is covered and done. Every other record is returned as a batch item
       failure: SQS redelivers it after the visibility timeout, when the job has finished.
    3. Otherwise ``StartIngestionJob`` once for the whole batch, with a deterministic
       ``clientToken`` and a short description ("12 objects changed under knowledge/").

Idempotency: ``clientToken`` is the SHA-256 hex digest (64 characters; the API allows 33-256
of ``[a-zA-Z0-9-]``) of the JSON list of the batch's sorted, distinct usable message IDs. A
redelivered batch (a timeout after the job started, a lost response) sends the same token and
the same description, and Bedrock returns the job it already started instead of a second one.
A differently composed batch gets a new token, but then step 2 finds the running job first.

Throttling (why a burst yields one job): reserved concurrency 1 means invocations never
overlap; the 300 s batching window gathers a burst of uploads into batches of up to 100
messages; each invocation starts at most one job for its whole batch, and none while a job is
running (step 2, and ConflictException below), so at most one job per data source runs at a
time and changes made during it are ingested by one follow-up job once their messages return.
Pollers throttled by the concurrency limit return messages to the queue too: that also counts
as a receive towards ``maxReceiveCount``.

Environment variables (validated at the start of each call; ConfigurationError if wrong):
    KNOWLEDGE_BASE_ID: the knowledge base ID (10 letters or digits, botocore's pattern).
    DATA_SOURCE_ID: the knowledge base's S3 data source ID (10 letters or digits).
    KNOWLEDGE_BUCKET: the only bucket whose events are accepted.
    KNOWLEDGE_PREFIX: key prefix of accepted objects, ending in "/" (e.g. "knowledge/").
    DLQ_URL: SQS queue URL receiving unprocessable records.
    BEDROCK_AGENT_ENDPOINT_URL: optional https URL of the bedrock-agent endpoint (for example
        a VPC interface endpoint's DNS name); unset: the regional default.

IAM actions the code calls:
    bedrock:ListIngestionJobs and bedrock:StartIngestionJob, both on the knowledge base
    ``arn:${Partition}:bedrock:${Region}:${Account}:knowledge-base/${KnowledgeBaseId}``;
    sqs:SendMessage on the DLQ_URL queue (plus kms:GenerateDataKey and kms:Decrypt on its key
    if it is KMS-encrypted). The event source mapping needs sqs:ReceiveMessage,
    sqs:DeleteMessage and sqs:GetQueueAttributes on the buffer queue and kms:Decrypt on its key
    (CDK's SqsEventSource grants them). The ingestion job itself reads the bucket with the
    knowledge base's service role, not with this function's.

Failure modes:
    Dead-lettered (``{"reason", "message_id", "bucket", "key", "event": <the SQS record>}``
    sent to DLQ_URL; the record is deleted from the buffer queue): malformed_record,
    body_not_json, not_s3_object_event, unsupported_detail_type, wrong_bucket,
    key_outside_prefix; not_sqs_event (the whole event, response without failures).
    Batch item failures (retried after the visibility timeout, finally redriven to the DLQ):
    records not covered by a running job; every usable record when either call fails with
    ConflictException, ThrottlingException or ServiceQuotaExceededException (a job started
    meanwhile, throttling, the account's concurrent-job quota; logged as a warning).
    Raised (the whole batch returns to the queue; after maxReceiveCount it lands in the DLQ,
    which alarms): ValidationException, ResourceNotFoundException, AccessDeniedException (the
    platform is misconfigured), InternalServerException and any other error or 5xx, network
    errors, a failed DLQ send. Records dead-lettered before the error may be dead-lettered
    again when the batch is retried. Configuration errors raise ConfigurationError.

Modules (this folder plus the ``handler_kit`` layer): ``knowledge_ingestion_settings``
(``Settings``), ``knowledge_ingestion_event`` (SQS records and the S3 events they carry).

Logs are one JSON object per line: counts, message IDs, job IDs, error codes and at most
``MAX_LOGGED_KEYS`` object keys, never object content nor a service error message.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError
from handler_kit.dlq import send_to_dlq
from handler_kit.errors import ConfigurationError as ConfigurationError
from handler_kit.errors import error_code
from handler_kit.log import log
from handler_kit.s3_events import EVENT_TIME_RESOLUTION, OBJECT_DELETED
from knowledge_ingestion_event import Change, Rejected, is_sqs_event, parse_batch
from knowledge_ingestion_settings import Settings, load_settings

ACTIVE_STATUSES = ("STARTING", "IN_PROGRESS")
RETRYABLE_CODES = frozenset(
    {"ConflictException", "ThrottlingException", "ServiceQuotaExceededException"}
)
"""Error codes after which the batch's records are returned as failures and retried later."""
DESCRIPTION_MAX = 200
"""Longest ``description`` StartIngestionJob accepts (botocore: length 1-200)."""
MAX_LOGGED_KEYS = 20


@dataclass(frozen=True)
class Clients:
    """boto3 clients the function uses (real or Stubber-wrapped)."""

    bedrock_agent: Any
    sqs: Any


def make_clients(settings: Settings) -> Clients:
    """Create the boto3 clients (region and credentials from the Lambda environment)."""
    endpoint = settings.bedrock_agent_endpoint_url
    bedrock_agent = (
        boto3.client("bedrock-agent", endpoint_url=endpoint)
        if endpoint is not None
        else boto3.client("bedrock-agent")
    )
    return Clients(bedrock_agent=bedrock_agent, sqs=boto3.client("sqs"))


def client_token(message_ids: Iterable[str]) -> str:
    """The StartIngestionJob ``clientToken`` for a set of message IDs (order-independent)."""
    canonical = json.dumps(sorted(set(message_ids)), separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def describe(count: int, prefix: str) -> str:
    """The job description, e.g. ``12 objects changed under knowledge/`` (at most 200 chars)."""
    text = f"{count} object{'' if count == 1 else 's'} changed under {prefix}"
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 3] + "..."


def _aware(value: Any) -> datetime | None:
    """A botocore timestamp as a timezone-aware datetime (naive ones are UTC), else None."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def is_covered(change: Change, started_at: datetime | None) -> bool:
    """Whether a job started at ``started_at`` lists the bucket after ``change`` happened."""
    if change.time is None or started_at is None:
        return False
    return change.time + EVENT_TIME_RESOLUTION <= started_at


def _failures(changes: Iterable[Change]) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": c.message_id} for c in changes]}


def _keys(changes: list[Change]) -> dict[str, Any]:
    keys = [c.key for c in changes[:MAX_LOGGED_KEYS]]
    return {"keys": keys, "keys_truncated": len(changes) > MAX_LOGGED_KEYS}


def _dead_letter(clients: Clients, settings: Settings, rejected: Rejected) -> None:
    send_to_dlq(
        clients.sqs,
        settings.dlq_url,
        rejected.reason,
        rejected.record,
        details={"message_id": rejected.message_id, "bucket": rejected.bucket, "key": rejected.key},
        level="WARNING",
        message="record dead-lettered",
    )


def active_job(clients: Clients, settings: Settings) -> dict[str, Any] | None:
    """The most recently started STARTING / IN_PROGRESS job of the data source, or None."""
    response = clients.bedrock_agent.list_ingestion_jobs(
        knowledgeBaseId=settings.knowledge_base_id,
        dataSourceId=settings.data_source_id,
        filters=[{"attribute": "STATUS", "operator": "EQ", "values": list(ACTIVE_STATUSES)}],
        sortBy={"attribute": "STARTED_AT", "order": "DESCENDING"},
        maxResults=10,
    )
    jobs: list[dict[str, Any]] = [
        job
        for job in response.get("ingestionJobSummaries", [])
        if job.get("status") in ACTIVE_STATUSES
    ]
    if not jobs:
        return None
    earliest = datetime.min.replace(tzinfo=UTC)
    return max(jobs, key=lambda job: _aware(job.get("startedAt")) or earliest)


def _while_running(job: dict[str, Any], changes: list[Change]) -> dict[str, Any]:
    started_at = _aware(job.get("startedAt"))
    pending = [c for c in changes if not is_covered(c, started_at)]
    counts = [c.receive_count for c in pending if c.receive_count is not None]
    log(
        "INFO",
        "ingestion job running",
        job_id=job.get("ingestionJobId"),
        status=job.get("status"),
        started_at=started_at.isoformat() if started_at is not None else None,
        covered=len(changes) - len(pending),
        retried_later=len(pending),
        max_receive_count=max(counts, default=None),
    )
    return _failures(pending)


def _start(clients: Clients, settings: Settings, changes: list[Change]) -> dict[str, Any]:
    token = client_token(c.message_id for c in changes)
    response = clients.bedrock_agent.start_ingestion_job(
        knowledgeBaseId=settings.knowledge_base_id,
        dataSourceId=settings.data_source_id,
        clientToken=token,
        description=describe(len(changes), settings.knowledge_prefix),
    )
    job = response.get("ingestionJob", {})
    deleted = sum(1 for c in changes if c.detail_type == OBJECT_DELETED)
    log(
        "INFO",
        "ingestion job started",
        job_id=job.get("ingestionJobId"),
        status=job.get("status"),
        client_token=token,
        object_count=len(changes),
        created=len(changes) - deleted,
        deleted=deleted,
        **_keys(changes),
    )
    return _failures([])


def process_batch(event: Any, clients: Clients, settings: Settings) -> dict[str, Any]:
    """Dead-letter unusable records, then start (or defer) one ingestion job for the rest.

    Returns:
        ``{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}``: the records SQS
        should deliver again.

    Raises:
        ClientError: a Bedrock error other than the retryable codes, or an SQS error while
            dead-lettering (the whole batch returns to the queue).
    """
    if not is_sqs_event(event):
        send_to_dlq(
            clients.sqs,
            settings.dlq_url,
            "not_sqs_event",
            event,
            level="WARNING",
            message="event dead-lettered",
        )
        return _failures([])
    records = event["Records"]
    changes, rejected = parse_batch(records, settings)
    for item in rejected:
        _dead_letter(clients, settings, item)
    if not changes:
        log("INFO", "nothing to ingest", records=len(records), dead_lettered=len(rejected))
        return _failures([])
    try:
        job = active_job(clients, settings)
        if job is not None:
            return _while_running(job, changes)
        return _start(clients, settings, changes)
    except ClientError as exc:
        code = error_code(exc, "Unknown")
        if code in RETRYABLE_CODES:
            log(
                "WARNING",
                "ingestion deferred; records retried later",
                operation=exc.operation_name,
                error_code=code,
                retried_later=len(changes),
            )
            return _failures(changes)
        log(
            "ERROR",
            "ingestion failed; the batch returns to the queue",
            operation=exc.operation_name,
            error_code=code,
            object_count=len(changes),
        )
        raise


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: validate the environment, build clients, process the batch."""
    settings = load_settings(os.environ)
    return process_batch(event, make_clients(settings), settings)
