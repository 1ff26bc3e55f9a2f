"""Custom AWS Config rule (periodic): SageMaker training and processing jobs run isolated.

AWS has no managed Config rule for SageMaker *jobs*, so this Lambda backs a custom rule with a
periodic trigger (``ScheduledNotification``). On each run it lists every training job and
processing job created in the last ``LOOKBACK_HOURS`` before the notification time, describes
each one and checks that it:

- runs with network isolation (training ``EnableNetworkIsolation``; processing
  ``NetworkConfig.EnableNetworkIsolation``);
- runs inside a VPC (``VpcConfig`` / ``NetworkConfig.VpcConfig`` with subnets and security
  groups); when the rule parameter ``allowedSubnetIds`` (comma-separated) is set, every subnet
  must be in it;
- encrypts inter-container traffic (``EnableInterContainerTrafficEncryption``; processing
  ``NetworkConfig.EnableInterContainerTrafficEncryption``);
- uses KMS keys for the ML volume and the output (training ``ResourceConfig.VolumeKmsKeyId`` and
  ``OutputDataConfig.KmsKeyId``; processing ``ProcessingResources.ClusterConfig.VolumeKmsKeyId``
  and ``ProcessingOutputConfig.KmsKeyId``, the field's name in the SageMaker API).

Event: the standard Config custom-rule event. For a periodic rule ``invokingEvent`` is a JSON
*string* such as ``{"awsAccountId": "123456789012", "notificationCreationTime":
"2016-07-13T21:50:00.373Z", "messageType": "ScheduledNotification", "recordVersion": "1.0"}``;
``ruleParameters`` is a JSON string; ``resultToken``, ``configRuleName``, ``accountId`` sit at the
top level. Evaluations are sent with ``config.put_evaluations`` in batches of at most 100 (the API
limit), ``OrderingTimestamp`` = ``notificationCreationTime``.

What the evaluations are reported against (``EVALUATION_SCOPE``):

- ``account`` (default): ONE evaluation per run, ``AWS::::Account`` / the account ID, NON_COMPLIANT
  when any job in the window fails, with an annotation naming the failing jobs and checks (each
  job's full result is in the logs). Why the default: Config records neither training nor
  processing jobs. Its docs say custom rules may report "additional resource types" taken from
  the CloudFormation resource type reference, but warn that types recently added there may not be
  accepted yet; ``AWS::SageMaker::TrainingJob`` / ``ProcessingJob`` are recent, non-provisionable
  CloudFormation types, and PutEvaluations rejects a type it does not accept with
  InvalidParameterValueException ("Only the following values are permitted"). ``AWS::::Account``
  is the type Config documents as accepted for account-level results, and one account result also
  means yesterday's jobs do not linger as stale per-job results.
- ``job``: one evaluation per job, ``AWS::SageMaker::TrainingJob`` or
  ``AWS::SageMaker::ProcessingJob`` with the job name as resource ID. Use it once
  ``put_evaluations(..., TestMode=True)`` has shown that Config accepts these types in the
  target region. With no jobs in the window the account result below is sent instead.

No jobs in the window: the account is reported COMPLIANT, not NOT_APPLICABLE. The rule does apply
to the account (every job it creates must comply), nothing violated it in the window, and
NOT_APPLICABLE would hide an earlier NON_COMPLIANT result from compliance summaries instead of
clearing it.

Environment:
    DLQ_URL: SQS queue URL for unprocessable events (required).
    LOOKBACK_HOURS: window of job creation times to check, whole hours 1..8760 (default 24).
    EVALUATION_SCOPE: ``account`` (default) or ``job``, see above.

Failure modes:
    Dead-lettered, handler returns normally (no retry would help): event not a dict, invokingEvent
    not a JSON object string, messageType other than ScheduledNotification, missing resultToken,
    missing/invalid notificationCreationTime or account ID, ruleParameters not a JSON object
    string, allowedSubnetIds not a string; Config rejecting the evaluations permanently
    (InvalidParameterValueException, InvalidResultTokenException, NoSuchConfigRuleException,
    ValidationException).
    Raised, so Lambda's async retries run and then the platform DLQ receives the event:
    throttling, 5xx and network errors from SageMaker, Config or SQS (after botocore's own
    retries); any other SageMaker error such as AccessDenied; Config returning FailedEvaluations.
    Re-running is safe: a later run overwrites the same evaluations.
    ``ConfigurationError``: a missing or invalid environment variable (raised).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

ACCOUNT_RESOURCE_TYPE = "AWS::::Account"
TRAINING_RESOURCE_TYPE = "AWS::SageMaker::TrainingJob"
PROCESSING_RESOURCE_TYPE = "AWS::SageMaker::ProcessingJob"
SCHEDULED_NOTIFICATION = "ScheduledNotification"
SCOPES = ("account", "job")
MAX_BATCH = 100  # PutEvaluations accepts at most 100 evaluations per call
MAX_ANNOTATION = 256  # Evaluation.Annotation length limit
MAX_LOOKBACK_HOURS = 8760
# PutEvaluations errors that no retry can fix: the event goes to the DLQ.
PERMANENT_CONFIG_ERRORS = frozenset(
    {
        "InvalidParameterValueException",
        "InvalidResultTokenException",
        "NoSuchConfigRuleException",
        "ValidationException",
    }
)

CHECK_MESSAGES = {
    "network-isolation": "network isolation off",
    "vpc": "not in a VPC (subnets and security groups)",
    "allowed-subnets": "subnets not in allowedSubnetIds",
    "inter-container-encryption": "inter-container traffic encryption off",
    "volume-kms": "no volume KMS key",
    "output-kms": "no output KMS key",
}


class ConfigurationError(Exception):
    """An environment variable is missing or invalid."""


class MalformedEventError(Exception):
    """The event cannot be processed; it goes to the dead-letter queue."""


class EvaluationDeliveryError(Exception):
    """Config reported FailedEvaluations; raised so that the invocation is retried."""


def log(level: str, message: str, **fields: Any) -> None:
    """Print one JSON log line to stdout."""
    record = {"level": level, "message": message, **fields}
    sys.stdout.write(json.dumps(record, default=str, sort_keys=True) + "\n")


@dataclass(frozen=True)
class Settings:
    """Validated environment configuration."""

    dlq_url: str
    lookback_hours: int
    scope: str


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read and validate the environment.

    Raises:
        ConfigurationError: a variable is missing or invalid.
    """
    dlq_url = env.get("DLQ_URL", "").strip()
    if not dlq_url.startswith("https://"):
        raise ConfigurationError(f"DLQ_URL={dlq_url!r}: required, an https:// SQS queue URL")
    raw_hours = env.get("LOOKBACK_HOURS", "24").strip()
    try:
        hours = int(raw_hours)
    except ValueError:
        hours = 0
    if not 1 <= hours <= MAX_LOOKBACK_HOURS:
        raise ConfigurationError(
            f"LOOKBACK_HOURS={raw_hours!r}: must be whole hours, 1..{MAX_LOOKBACK_HOURS}"
        )
    scope = env.get("EVALUATION_SCOPE", "account").strip()
    if scope not in SCOPES:
        raise ConfigurationError(f"EVALUATION_SCOPE={scope!r}: must be one of {', '.join(SCOPES)}")
    return Settings(dlq_url=dlq_url, lookback_hours=hours, scope=scope)


@dataclass(frozen=True)
class Clients:
    """The boto3 clients the rule uses."""

    sagemaker: Any
    config: Any
    sqs: Any


def make_clients() -> Clients:
    """Create the boto3 clients (standard retry mode: throttling is retried before raising)."""
    boto_config = BotoConfig(retries={"mode": "standard", "max_attempts": 5})
    return Clients(
        sagemaker=boto3.client("sagemaker", config=boto_config),
        config=boto3.client("config", config=boto_config),
        sqs=boto3.client("sqs", config=boto_config),
    )


@dataclass(frozen=True)
class RuleEvent:
    """The parts of a Config rule event the evaluation needs."""

    result_token: str
    account_id: str
    notification_time: datetime
    rule_name: str
    allowed_subnets: frozenset[str] | None


@dataclass(frozen=True)
class JobResult:
    """The checks one job failed (empty: compliant)."""

    kind: str  # "training" or "processing"
    name: str
    failed: tuple[str, ...]
    bad_subnets: tuple[str, ...] = ()

    @property
    def resource_type(self) -> str:
        """The Config resource type used in ``job`` scope."""
        return TRAINING_RESOURCE_TYPE if self.kind == "training" else PROCESSING_RESOURCE_TYPE


def _json_object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, str):
        raise MalformedEventError(f"{name} must be a JSON string, got {type(value).__name__}")
    try:
        parsed = json.loads(value) if value.strip() else {}
    except json.JSONDecodeError as exc:
        raise MalformedEventError(f"{name} is not valid JSON: {exc.msg}") from exc
    if not isinstance(parsed, dict):
        raise MalformedEventError(f"{name} must hold a JSON object")
    return parsed


def parse_event(event: Any) -> RuleEvent:
    """Validate a periodic Config rule event.

    Raises:
        MalformedEventError: the event is not a well-formed ScheduledNotification event.
    """
    if not isinstance(event, dict):
        raise MalformedEventError(f"event must be an object, got {type(event).__name__}")
    if "invokingEvent" not in event:
        raise MalformedEventError("invokingEvent is missing")
    invoking = _json_object(event["invokingEvent"], "invokingEvent")
    message_type = invoking.get("messageType")
    if message_type != SCHEDULED_NOTIFICATION:
        raise MalformedEventError(
            f"messageType {message_type!r} is not {SCHEDULED_NOTIFICATION} (periodic rule only)"
        )
    token = event.get("resultToken")
    if not isinstance(token, str) or not token:
        raise MalformedEventError("resultToken is missing")
    raw_time = invoking.get("notificationCreationTime")
    try:
        notification_time = datetime.fromisoformat(str(raw_time))
    except ValueError as exc:
        raise MalformedEventError(
            f"notificationCreationTime {raw_time!r} is not an ISO 8601 time"
        ) from exc
    if notification_time.tzinfo is None:
        notification_time = notification_time.replace(tzinfo=UTC)
    account_id = event.get("accountId") or invoking.get("awsAccountId")
    if not isinstance(account_id, str) or not (len(account_id) == 12 and account_id.isdigit()):
        raise MalformedEventError(f"account ID {account_id!r} is not a 12-digit account ID")
    parameters = _json_object(event.get("ruleParameters", "{}"), "ruleParameters")
    allowed = parameters.get("allowedSubnetIds")
    allowed_subnets: frozenset[str] | None = None
    if allowed is not None:
        if not isinstance(allowed, str):
            raise MalformedEventError("rule parameter allowedSubnetIds must be a string")
        ids = frozenset(part.strip() for part in allowed.split(",") if part.strip())
        allowed_subnets = ids or None  # blank parameter: no subnet restriction
    return RuleEvent(
        result_token=token,
        account_id=account_id,
        notification_time=notification_time,
        rule_name=str(event.get("configRuleName", "")),
        allowed_subnets=allowed_subnets,
    )


def _check(
    kind: str,
    name: str,
    *,
    isolation: Any,
    vpc: Any,
    encryption: Any,
    volume_key: Any,
    output_key: Any,
    allowed_subnets: frozenset[str] | None,
) -> JobResult:
    failed: list[str] = []
    bad_subnets: tuple[str, ...] = ()
    if isolation is not True:
        failed.append("network-isolation")
    subnets = list(vpc.get("Subnets") or []) if isinstance(vpc, dict) else []
    groups = list(vpc.get("SecurityGroupIds") or []) if isinstance(vpc, dict) else []
    if not subnets or not groups:
        failed.append("vpc")
    if allowed_subnets is not None and subnets:
        bad_subnets = tuple(sorted(s for s in subnets if s not in allowed_subnets))
        if bad_subnets:
            failed.append("allowed-subnets")
    if encryption is not True:
        failed.append("inter-container-encryption")
    if not volume_key:
        failed.append("volume-kms")
    if not output_key:
        failed.append("output-kms")
    return JobResult(kind, name, tuple(failed), bad_subnets)


def check_training_job(job: dict[str, Any], allowed_subnets: frozenset[str] | None) -> JobResult:
    """Check a DescribeTrainingJob response."""
    return _check(
        "training",
        job["TrainingJobName"],
        isolation=job.get("EnableNetworkIsolation"),
        vpc=job.get("VpcConfig"),
        encryption=job.get("EnableInterContainerTrafficEncryption"),
        volume_key=(job.get("ResourceConfig") or {}).get("VolumeKmsKeyId"),
        output_key=(job.get("OutputDataConfig") or {}).get("KmsKeyId"),
        allowed_subnets=allowed_subnets,
    )


def check_processing_job(job: dict[str, Any], allowed_subnets: frozenset[str] | None) -> JobResult:
    """Check a DescribeProcessingJob response."""
    network = job.get("NetworkConfig") or {}
    cluster = (job.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    return _check(
        "processing",
        job["ProcessingJobName"],
        isolation=network.get("EnableNetworkIsolation"),
        vpc=network.get("VpcConfig"),
        encryption=network.get("EnableInterContainerTrafficEncryption"),
        volume_key=cluster.get("VolumeKmsKeyId"),
        output_key=(job.get("ProcessingOutputConfig") or {}).get("KmsKeyId"),
        allowed_subnets=allowed_subnets,
    )


def _truncate(text: str, limit: int = MAX_ANNOTATION) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def job_annotation(result: JobResult) -> str:
    """A readable reason for one job (at most 256 characters)."""
    if not result.failed:
        return "Network isolation, VPC, inter-container encryption and KMS keys all set."
    parts = []
    for code in result.failed:
        text = CHECK_MESSAGES[code]
        if code == "allowed-subnets":
            text += ": " + ",".join(result.bad_subnets)
        parts.append(text)
    return _truncate("Failed: " + "; ".join(parts))


def account_annotation(results: list[JobResult], hours: int) -> str:
    """A readable account-level reason (at most 256 characters)."""
    if not results:
        return f"No SageMaker training or processing jobs created in the last {hours} h."
    failing = [r for r in results if r.failed]
    if not failing:
        return f"All {len(results)} SageMaker jobs created in the last {hours} h comply."
    details = "; ".join(f"{r.kind} {r.name} [{','.join(r.failed)}]" for r in failing)
    return _truncate(f"{len(failing)} of {len(results)} jobs in last {hours} h fail: {details}")


def _summaries(
    client: Any, operation: str, key: str, since: datetime, page_size: int
) -> Iterator[dict[str, Any]]:
    paginator = client.get_paginator(operation)
    pages = paginator.paginate(CreationTimeAfter=since, PaginationConfig={"PageSize": page_size})
    for page in pages:
        yield from page.get(key, [])


def _is_not_found(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in ("ResourceNotFound", "ResourceNotFoundException")


def collect_results(
    sagemaker: Any, since: datetime, allowed: frozenset[str] | None, page_size: int = 100
) -> list[JobResult]:
    """List and check every training and processing job created after ``since``."""
    results: list[JobResult] = []
    for summary in _summaries(
        sagemaker, "list_training_jobs", "TrainingJobSummaries", since, page_size
    ):
        name = summary["TrainingJobName"]
        try:
            job = sagemaker.describe_training_job(TrainingJobName=name)
        except ClientError as exc:
            if not _is_not_found(exc):
                raise
            log("WARNING", "training job vanished before describe", job=name)
            continue
        results.append(check_training_job(job, allowed))
    for summary in _summaries(
        sagemaker, "list_processing_jobs", "ProcessingJobSummaries", since, page_size
    ):
        name = summary["ProcessingJobName"]
        try:
            job = sagemaker.describe_processing_job(ProcessingJobName=name)
        except ClientError as exc:
            if not _is_not_found(exc):
                raise
            log("WARNING", "processing job vanished before describe", job=name)
            continue
        results.append(check_processing_job(job, allowed))
    return results


def build_evaluations(
    results: list[JobResult], rule_event: RuleEvent, settings: Settings
) -> list[dict[str, Any]]:
    """The evaluations to send, per ``settings.scope``."""
    timestamp = rule_event.notification_time
    if settings.scope == "job" and results:
        return [
            {
                "ComplianceResourceType": r.resource_type,
                "ComplianceResourceId": r.name,
                "ComplianceType": "NON_COMPLIANT" if r.failed else "COMPLIANT",
                "Annotation": job_annotation(r),
                "OrderingTimestamp": timestamp,
            }
            for r in results
        ]
    compliant = not any(r.failed for r in results)
    return [
        {
            "ComplianceResourceType": ACCOUNT_RESOURCE_TYPE,
            "ComplianceResourceId": rule_event.account_id,
            "ComplianceType": "COMPLIANT" if compliant else "NON_COMPLIANT",
            "Annotation": account_annotation(results, settings.lookback_hours),
            "OrderingTimestamp": timestamp,
        }
    ]


def send_evaluations(config: Any, evaluations: list[dict[str, Any]], token: str) -> int:
    """Send evaluations in batches of at most 100; return the number of calls.

    Raises:
        EvaluationDeliveryError: Config returned FailedEvaluations.
    """
    calls = 0
    for start in range(0, len(evaluations), MAX_BATCH):
        batch = evaluations[start : start + MAX_BATCH]
        response = config.put_evaluations(Evaluations=batch, ResultToken=token)
        calls += 1
        failed = response.get("FailedEvaluations") or []
        if failed:
            ids = [f.get("ComplianceResourceId") for f in failed]
            log("ERROR", "Config rejected some evaluations", failed=len(failed), resources=ids)
            raise EvaluationDeliveryError(f"{len(failed)} evaluations failed: {ids[:10]}")
    return calls


def dead_letter(sqs: Any, dlq_url: str, reason: str, event: Any) -> dict[str, Any]:
    """Send the original event with the reason to the DLQ, log it, and say so."""
    body = json.dumps({"reason": reason, "event": event}, default=str)
    sqs.send_message(QueueUrl=dlq_url, MessageBody=body)
    log("ERROR", "event dead-lettered", reason=reason)
    return {"status": "dead_lettered", "reason": reason}


def evaluate(
    event: Any, clients: Clients, settings: Settings, *, page_size: int = 100
) -> dict[str, Any]:
    """Evaluate the jobs of the look-back window and report them to Config."""
    try:
        rule_event = parse_event(event)
    except MalformedEventError as exc:
        return dead_letter(clients.sqs, settings.dlq_url, str(exc), event)
    since = rule_event.notification_time - timedelta(hours=settings.lookback_hours)
    results = collect_results(clients.sagemaker, since, rule_event.allowed_subnets, page_size)
    for r in results:
        log(
            "INFO" if not r.failed else "WARNING",
            "job evaluated",
            kind=r.kind,
            job=r.name,
            compliant=not r.failed,
            failedChecks=list(r.failed),
            subnetsNotAllowed=list(r.bad_subnets),
        )
    evaluations = build_evaluations(results, rule_event, settings)
    try:
        calls = send_evaluations(clients.config, evaluations, rule_event.result_token)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code not in PERMANENT_CONFIG_ERRORS:
            raise
        return dead_letter(
            clients.sqs, settings.dlq_url, f"Config rejected the evaluations: {code}", event
        )
    non_compliant = sum(1 for r in results if r.failed)
    log(
        "INFO",
        "evaluations sent",
        rule=rule_event.rule_name,
        scope=settings.scope,
        jobs=len(results),
        nonCompliantJobs=non_compliant,
        evaluations=len(evaluations),
        calls=calls,
    )
    return {
        "status": "evaluated",
        "jobs": len(results),
        "nonCompliantJobs": non_compliant,
        "evaluations": len(evaluations),
        "putEvaluationsCalls": calls,
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    settings = load_settings(os.environ)
    return evaluate(event, make_clients(), settings)
