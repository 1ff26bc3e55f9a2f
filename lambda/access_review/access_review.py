"""Scheduled IAM access review: report unused roles, stale users and old access keys.

Implements the "regularly review access rights" control. An EventBridge schedule invokes the
function; every run publishes ONE report to ``TOPIC_ARN``, also when nothing is found (the
report is the evidence that the review ran). The report lists:

- IAM roles not used for more than ``MAX_UNUSED_DAYS`` days: ``RoleLastUsed.LastUsedDate``
  from ``GetRole`` is older than that, or the role was never used and was created more than
  that many days ago. Service-linked roles (path ``/aws-service-role/``) are skipped: they are
  managed by their service and cannot be deleted from here. IAM only tracks role use over a
  trailing 400 days, so "never used" means "not used within that window".
- IAM users with no credential use for more than ``MAX_UNUSED_DAYS`` days: the latest of the
  console password's ``PasswordLastUsed`` and every access key's ``LastUsedDate`` (or, when
  none was ever used, the user's ``CreateDate``) is older than that.
- Access keys (active or inactive) created more than ``MAX_KEY_AGE_DAYS`` days ago.

Every list call is paginated. The subject reads ``Access review: 3 unused roles, 1 stale user,
2 old keys``; the message is JSON with the lists, the counts, the thresholds and a human summary.
If the report is too large for one SNS message the lists are shortened (the counts stay exact
and ``truncated`` is true); every reported item is also logged on its own line.

Environment variables:
    TOPIC_ARN: ARN of the SNS topic that receives the report (required).
    DLQ_URL: URL of the SQS dead-letter queue for unprocessable events (required).
    MAX_UNUSED_DAYS: days without use after which a role or user is reported (required, 1-3650).
    MAX_KEY_AGE_DAYS: age in days after which an access key is reported (required, 1-3650).

Modules (this folder plus the ``handler_kit`` layer): ``access_review_settings`` (``Settings``),
``access_review_scan`` (the IAM review), ``access_review_report`` (subject, summary, size limit).

Failure modes:
    Configuration: a missing or invalid variable raises ``ConfigurationError`` before any call.
    Permanent (dead-lettered, handler returns normally, no review): an event that is not a JSON
        object. A scheduled event carries no data, so any object shape is accepted.
    Skipped (logged): a role or user deleted between the list call and the follow-up call
        (``NoSuchEntity``); a user without a console password (``GetLoginProfile`` NoSuchEntity).
    Transient (raised, so Lambda's async retries run and then the platform DLQ takes the event):
        any other IAM error (throttling, 5xx, network, access denied), any SNS publish error,
        and any SQS error while dead-lettering. No partial report is sent.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from access_review_report import build_report, fit_message, make_subject
from access_review_scan import DEFAULT_PAGE_SIZE, review_access
from access_review_settings import Settings, load_settings
from botocore.config import Config as BotoConfig
from handler_kit.dlq import send_to_dlq
from handler_kit.errors import ConfigurationError as ConfigurationError
from handler_kit.log import log


def make_clients() -> tuple[Any, Any, Any]:
    """Create the IAM, SNS and SQS clients (per invocation, never at import).

    IAM gets more retries than the default: a review makes one or two calls per role, user
    and key, and IAM throttles bursts.
    """
    retrying = BotoConfig(retries={"mode": "standard", "max_attempts": 10})
    return boto3.client("iam", config=retrying), boto3.client("sns"), boto3.client("sqs")


def publish_report(sns: Any, settings: Settings, subject: str, report: dict[str, Any]) -> str:
    """Publish the report to the topic and return the SNS message id (errors raise)."""
    response = sns.publish(
        TopicArn=settings.topic_arn,
        Subject=subject,
        Message=fit_message(report),
        MessageAttributes={
            "report": {"DataType": "String", "StringValue": "iam-access-review"},
        },
    )
    return str(response["MessageId"])


def run(
    event: Any,
    settings: Settings,
    iam: Any,
    sns: Any,
    sqs: Any,
    now: datetime,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> dict[str, Any]:
    """Check the event, review access and publish the report.

    Args:
        event: The scheduled EventBridge event (its content is not used).
        settings: The validated settings.
        iam: An IAM client.
        sns: An SNS client.
        sqs: An SQS client (for the dead-letter queue).
        now: The time the review is made at.
        page_size: ``MaxItems`` per IAM list call.

    Returns:
        ``{"status": "reported", "message_id": ..., "counts": {...}}`` or
        ``{"status": "dead_lettered"}`` for a non-object event.
    """
    if not isinstance(event, dict):
        reason = f"event is not a JSON object (got {type(event).__name__})"
        send_to_dlq(sqs, settings.dlq_url, reason, event)
        return {"status": "dead_lettered"}
    review = review_access(iam, settings, now, page_size)
    for role in review.unused_roles:
        log("info", "unused role", **role)
    for user in review.stale_users:
        log("info", "stale user", **user)
    for key in review.old_keys:
        log("info", "old access key", **key)
    report = build_report(review, settings, now)
    message_id = publish_report(sns, settings, make_subject(review), report)
    counts = report["counts"]
    log("info", "access review published", message_id=message_id, **counts)
    return {"status": "reported", "message_id": message_id, "counts": counts}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: validate the configuration, review access, publish the report."""
    settings = load_settings(os.environ)
    iam, sns, sqs = make_clients()
    return run(event, settings, iam, sns, sqs, now=datetime.now(UTC))
