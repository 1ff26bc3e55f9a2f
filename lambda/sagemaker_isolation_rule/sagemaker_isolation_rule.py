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

Modules (this folder plus the ``handler_kit`` layer): ``sagemaker_isolation_rule_settings``
(``Settings``), ``sagemaker_isolation_rule_event`` (the rule event),
``sagemaker_isolation_rule_checks`` (describing and checking the jobs); the layer's
``handler_kit.config_rule`` validates the Config event envelope and sends the evaluations.

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

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from handler_kit.config_rule import ACCOUNT_RESOURCE_TYPE as ACCOUNT_RESOURCE_TYPE
from handler_kit.config_rule import PERMANENT_CONFIG_ERRORS as PERMANENT_CONFIG_ERRORS
from handler_kit.config_rule import EvaluationDeliveryError as EvaluationDeliveryError
from handler_kit.config_rule import send_evaluations as send_evaluations
from handler_kit.dlq import send_to_dlq
from handler_kit.errors import ConfigurationError as ConfigurationError
from handler_kit.errors import error_code
from handler_kit.log import log
from sagemaker_isolation_rule_checks import (
    JobResult,
    account_annotation,
    collect_results,
    job_annotation,
)
from sagemaker_isolation_rule_event import MalformedEventError, RuleEvent, parse_event
from sagemaker_isolation_rule_settings import Settings, load_settings


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


def dead_letter(sqs: Any, dlq_url: str, reason: str, event: Any) -> dict[str, Any]:
    """Send the original event with the reason to the DLQ, log it, and say so."""
    send_to_dlq(sqs, dlq_url, reason, event, level="ERROR")
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
        code = error_code(exc)
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
