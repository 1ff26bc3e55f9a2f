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

import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

SERVICE_LINKED_PATH = "/aws-service-role/"
DEFAULT_PAGE_SIZE = 100
MAX_DAYS = 3650
SNS_MESSAGE_MAX = 250 * 1024  # SNS allows 256 KiB; keep room for the envelope.
SQS_BODY_MAX = 256 * 1024
SUBJECT_MAX = 99
_TOPIC_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
_QUEUE_URL_RE = re.compile(r"^https://\S+/\d{12}/[A-Za-z0-9_-]{1,80}$")
LIST_KEYS = ("unused_roles", "stale_users", "old_keys")


class ConfigurationError(Exception):
    """An environment variable is missing or invalid."""


@dataclass(frozen=True)
class Config:
    """Validated configuration, read from the environment at the start of each call."""

    topic_arn: str
    dlq_url: str
    max_unused_days: int
    max_key_age_days: int


@dataclass
class Review:
    """What one run found, with how much it looked at."""

    unused_roles: list[dict[str, Any]] = field(default_factory=list)
    stale_users: list[dict[str, Any]] = field(default_factory=list)
    old_keys: list[dict[str, Any]] = field(default_factory=list)
    roles_reviewed: int = 0
    service_linked_roles_skipped: int = 0
    users_reviewed: int = 0
    keys_reviewed: int = 0


def log(level: str, message: str, **fields: Any) -> None:
    """Print one structured JSON log line to stdout."""
    record = {"level": level, "message": message, **fields}
    sys.stdout.write(json.dumps(record, default=str) + "\n")


def _days(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        raise ConfigurationError(f"{name} is not set; allowed: a whole number of days 1-{MAX_DAYS}")
    try:
        value = int(raw.strip())
    except ValueError:
        value = -1
    if not 1 <= value <= MAX_DAYS:
        raise ConfigurationError(
            f"{name}={raw!r} is invalid; allowed: a whole number of days 1-{MAX_DAYS}"
        )
    return value


def load_config(env: Mapping[str, str]) -> Config:
    """Read and validate the configuration.

    Args:
        env: The environment (``os.environ`` in Lambda).

    Returns:
        The validated configuration.

    Raises:
        ConfigurationError: A variable is missing or invalid.
    """
    topic_arn = env.get("TOPIC_ARN", "").strip()
    if not _TOPIC_ARN_RE.match(topic_arn):
        raise ConfigurationError(
            f"TOPIC_ARN={topic_arn!r} is invalid; expected arn:aws:sns:<region>:<account>:<name>"
        )
    dlq_url = env.get("DLQ_URL", "").strip()
    if not _QUEUE_URL_RE.match(dlq_url):
        raise ConfigurationError(
            f"DLQ_URL={dlq_url!r} is invalid; expected https://sqs.<region>.amazonaws.com/"
            "<account>/<queue>"
        )
    return Config(
        topic_arn=topic_arn,
        dlq_url=dlq_url,
        max_unused_days=_days(env, "MAX_UNUSED_DAYS"),
        max_key_age_days=_days(env, "MAX_KEY_AGE_DAYS"),
    )


def make_clients() -> tuple[Any, Any, Any]:
    """Create the IAM, SNS and SQS clients (per invocation, never at import).

    IAM gets more retries than the default: a review makes one or two calls per role, user
    and key, and IAM throttles bursts.
    """
    retrying = BotoConfig(retries={"mode": "standard", "max_attempts": 10})
    return boto3.client("iam", config=retrying), boto3.client("sns"), boto3.client("sqs")


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _paginate(iam: Any, operation: str, key: str, page_size: int, **kwargs: Any) -> Iterator[Any]:
    paginator = iam.get_paginator(operation)
    for page in paginator.paginate(PaginationConfig={"PageSize": page_size}, **kwargs):
        yield from page.get(key, [])


def _review_roles(iam: Any, config: Config, now: datetime, page_size: int, out: Review) -> None:
    limit = timedelta(days=config.max_unused_days)
    for listed in _paginate(iam, "list_roles", "Roles", page_size):
        name = listed["RoleName"]
        if str(listed.get("Path", "/")).startswith(SERVICE_LINKED_PATH):
            out.service_linked_roles_skipped += 1
            continue
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except ClientError as error:
            if _error_code(error) != "NoSuchEntity":
                raise
            log("info", "role deleted during the review, skipped", role=name)
            continue
        out.roles_reviewed += 1
        last_used = (role.get("RoleLastUsed") or {}).get("LastUsedDate")
        reference = last_used or role["CreateDate"]
        if now - reference > limit:
            out.unused_roles.append(
                {
                    "name": name,
                    "arn": role["Arn"],
                    "path": role.get("Path", "/"),
                    "created": _iso(role["CreateDate"]),
                    "last_used": _iso(last_used),
                    "days_unused": (now - reference).days,
                }
            )


def _has_console_password(iam: Any, user: str) -> bool:
    try:
        iam.get_login_profile(UserName=user)
    except ClientError as error:
        if _error_code(error) == "NoSuchEntity":
            return False
        raise
    return True


def _review_user(
    iam: Any, config: Config, now: datetime, page_size: int, listed: dict[str, Any], out: Review
) -> None:
    name = listed["UserName"]
    keys = list(_paginate(iam, "list_access_keys", "AccessKeyMetadata", page_size, UserName=name))
    key_last_used: dict[str, datetime | None] = {}
    for key in keys:
        used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
        key_last_used[key["AccessKeyId"]] = used.get("LastUsedDate")
    has_password = _has_console_password(iam, name)

    out.users_reviewed += 1
    out.keys_reviewed += len(keys)
    key_limit = timedelta(days=config.max_key_age_days)
    for key in keys:
        age = now - key["CreateDate"]
        if age > key_limit:
            out.old_keys.append(
                {
                    "user": name,
                    "access_key_id": key["AccessKeyId"],
                    "status": key.get("Status", "Unknown"),
                    "created": _iso(key["CreateDate"]),
                    "last_used": _iso(key_last_used[key["AccessKeyId"]]),
                    "age_days": age.days,
                }
            )

    password_last_used = listed.get("PasswordLastUsed")
    uses = [when for when in (password_last_used, *key_last_used.values()) if when is not None]
    last_activity = max(uses) if uses else None
    reference = last_activity or listed["CreateDate"]
    if now - reference > timedelta(days=config.max_unused_days):
        out.stale_users.append(
            {
                "name": name,
                "arn": listed["Arn"],
                "created": _iso(listed["CreateDate"]),
                "has_console_password": has_password,
                "password_last_used": _iso(password_last_used),
                "access_keys": len(keys),
                "last_activity": _iso(last_activity),
                "days_inactive": (now - reference).days,
            }
        )


def _review_users(iam: Any, config: Config, now: datetime, page_size: int, out: Review) -> None:
    for listed in _paginate(iam, "list_users", "Users", page_size):
        try:
            _review_user(iam, config, now, page_size, listed, out)
        except ClientError as error:
            if _error_code(error) != "NoSuchEntity":
                raise
            log("info", "user deleted during the review, skipped", user=listed["UserName"])


def review_access(
    iam: Any, config: Config, now: datetime, page_size: int = DEFAULT_PAGE_SIZE
) -> Review:
    """Review every IAM role, user and access key in the account.

    Args:
        iam: An IAM client.
        config: The validated configuration.
        now: The time the review is made at (a naive value is taken as UTC).
        page_size: ``MaxItems`` per list call (small values exercise pagination in tests).

    Returns:
        The findings, each list sorted, and how many roles, users and keys were reviewed.

    Raises:
        botocore.exceptions.ClientError: An IAM call failed (other than NoSuchEntity races).
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    out = Review()
    _review_roles(iam, config, now, page_size, out)
    _review_users(iam, config, now, page_size, out)
    out.unused_roles.sort(key=lambda item: item["name"])
    out.stale_users.sort(key=lambda item: item["name"])
    out.old_keys.sort(key=lambda item: (item["user"], item["access_key_id"]))
    return out


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def make_subject(review: Review) -> str:
    """``Access review: 3 unused roles, 1 stale user, 2 old keys``."""
    subject = (
        f"Access review: {_plural(len(review.unused_roles), 'unused role')}, "
        f"{_plural(len(review.stale_users), 'stale user')}, "
        f"{_plural(len(review.old_keys), 'old key')}"
    )
    return subject[:SUBJECT_MAX]


def make_summary(review: Review, config: Config, now: datetime) -> str:
    """A short human-readable account of the review."""
    lines = [
        f"IAM access review at {_iso(now)}.",
        f"Reviewed {_plural(review.roles_reviewed, 'role')} "
        f"({review.service_linked_roles_skipped} service-linked skipped), "
        f"{_plural(review.users_reviewed, 'user')} and "
        f"{_plural(review.keys_reviewed, 'access key')}.",
        f"Roles unused for more than {config.max_unused_days} days: {len(review.unused_roles)}.",
        f"Users with no credential use for more than {config.max_unused_days} days: "
        f"{len(review.stale_users)}.",
        f"Access keys older than {config.max_key_age_days} days: {len(review.old_keys)}.",
    ]
    if not (review.unused_roles or review.stale_users or review.old_keys):
        lines.append("Nothing to act on.")
    else:
        lines.append("Review each item: remove access that is no longer needed, rotate old keys.")
    return "\n".join(lines)


def build_report(review: Review, config: Config, now: datetime) -> dict[str, Any]:
    """The JSON report: thresholds, counts, the three lists and the summary."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return {
        "report": "iam-access-review",
        "generated_at": _iso(now),
        "thresholds": {
            "max_unused_days": config.max_unused_days,
            "max_key_age_days": config.max_key_age_days,
        },
        "counts": {
            "unused_roles": len(review.unused_roles),
            "stale_users": len(review.stale_users),
            "old_keys": len(review.old_keys),
            "roles_reviewed": review.roles_reviewed,
            "service_linked_roles_skipped": review.service_linked_roles_skipped,
            "users_reviewed": review.users_reviewed,
            "keys_reviewed": review.keys_reviewed,
        },
        "truncated": False,
        "summary": make_summary(review, config, now),
        "unused_roles": review.unused_roles,
        "stale_users": review.stale_users,
        "old_keys": review.old_keys,
    }


def fit_message(report: dict[str, Any], limit: int = SNS_MESSAGE_MAX) -> str:
    """Serialise the report, shortening its lists until it fits in one SNS message.

    The counts stay exact; ``truncated`` says the lists were cut.
    """
    body = json.dumps(report, sort_keys=True)
    keep = max((len(report[key]) for key in LIST_KEYS), default=0)
    while len(body.encode("utf-8")) > limit and keep > 0:
        keep //= 2
        report = {**report, "truncated": True}
        for key in LIST_KEYS:
            report[key] = report[key][:keep]
        body = json.dumps(report, sort_keys=True)
    return body


def publish_report(sns: Any, config: Config, subject: str, report: dict[str, Any]) -> str:
    """Publish the report to the topic and return the SNS message id (errors raise)."""
    response = sns.publish(
        TopicArn=config.topic_arn,
        Subject=subject,
        Message=fit_message(report),
        MessageAttributes={
            "report": {"DataType": "String", "StringValue": "iam-access-review"},
        },
    )
    return str(response["MessageId"])


def send_to_dlq(sqs: Any, config: Config, reason: str, event: Any) -> None:
    """Send an unprocessable event to the dead-letter queue (errors raise)."""
    body = json.dumps({"reason": reason, "event": event}, default=str)
    if len(body.encode("utf-8")) > SQS_BODY_MAX:
        preview = json.dumps(event, default=str)[: SQS_BODY_MAX // 2]
        body = json.dumps({"reason": reason, "event_truncated": True, "event": preview})
    sqs.send_message(QueueUrl=config.dlq_url, MessageBody=body)
    log("warning", "event dead-lettered", reason=reason)


def run(
    event: Any,
    config: Config,
    iam: Any,
    sns: Any,
    sqs: Any,
    now: datetime,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> dict[str, Any]:
    """Check the event, review access and publish the report.

    Args:
        event: The scheduled EventBridge event (its content is not used).
        config: The validated configuration.
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
        send_to_dlq(sqs, config, f"event is not a JSON object (got {type(event).__name__})", event)
        return {"status": "dead_lettered"}
    review = review_access(iam, config, now, page_size)
    for role in review.unused_roles:
        log("info", "unused role", **role)
    for user in review.stale_users:
        log("info", "stale user", **user)
    for key in review.old_keys:
        log("info", "old access key", **key)
    report = build_report(review, config, now)
    message_id = publish_report(sns, config, make_subject(review), report)
    counts = report["counts"]
    log("info", "access review published", message_id=message_id, **counts)
    return {"status": "reported", "message_id": message_id, "counts": counts}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: validate the configuration, review access, publish the report."""
    config = load_config(os.environ)
    iam, sns, sqs = make_clients()
    return run(event, config, iam, sns, sqs, now=datetime.now(UTC))
