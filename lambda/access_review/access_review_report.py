"""The report one access review publishes: subject, JSON message, human summary, size limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from access_review_scan import Review, iso
from access_review_settings import Settings

SNS_MESSAGE_MAX = 250 * 1024  # SNS allows 256 KiB; keep room for the envelope.
SUBJECT_MAX = 99
LIST_KEYS = ("unused_roles", "stale_users", "old_keys")


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


def make_summary(review: Review, settings: Settings, now: datetime) -> str:
    """A short human-readable account of the review."""
    lines = [
        f"IAM access review at {iso(now)}.",
        f"Reviewed {_plural(review.roles_reviewed, 'role')} "
        f"({review.service_linked_roles_skipped} service-linked skipped), "
        f"{_plural(review.users_reviewed, 'user')} and "
        f"{_plural(review.keys_reviewed, 'access key')}.",
        f"Roles unused for more than {settings.max_unused_days} days: {len(review.unused_roles)}.",
        f"Users with no credential use for more than {settings.max_unused_days} days: "
        f"{len(review.stale_users)}.",
        f"Access keys older than {settings.max_key_age_days} days: {len(review.old_keys)}.",
    ]
    if not (review.unused_roles or review.stale_users or review.old_keys):
        lines.append("Nothing to act on.")
    else:
        lines.append("Review each item: remove access that is no longer needed, rotate old keys.")
    return "\n".join(lines)


def build_report(review: Review, settings: Settings, now: datetime) -> dict[str, Any]:
    """The JSON report: thresholds, counts, the three lists and the summary."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return {
        "report": "iam-access-review",
        "generated_at": iso(now),
        "thresholds": {
            "max_unused_days": settings.max_unused_days,
            "max_key_age_days": settings.max_key_age_days,
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
        "summary": make_summary(review, settings, now),
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
