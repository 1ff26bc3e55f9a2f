"""The review itself: list every IAM role, user and access key and keep the stale ones.

See ``access_review.py`` for what is reported and why. Every list call is paginated; a role or
user deleted between the list call and the follow-up call (``NoSuchEntity``) is skipped and
logged; any other IAM error raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from access_review_settings import Settings
from botocore.exceptions import ClientError
from handler_kit.errors import error_code
from handler_kit.log import log

SERVICE_LINKED_PATH = "/aws-service-role/"
DEFAULT_PAGE_SIZE = 100


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


def iso(value: datetime | None) -> str | None:
    """``value`` in UTC as ISO 8601, or None."""
    return value.astimezone(UTC).isoformat() if value is not None else None


def _paginate(iam: Any, operation: str, key: str, page_size: int, **kwargs: Any) -> Iterator[Any]:
    paginator = iam.get_paginator(operation)
    for page in paginator.paginate(PaginationConfig={"PageSize": page_size}, **kwargs):
        yield from page.get(key, [])


def _review_roles(iam: Any, settings: Settings, now: datetime, page_size: int, out: Review) -> None:
    limit = timedelta(days=settings.max_unused_days)
    for listed in _paginate(iam, "list_roles", "Roles", page_size):
        name = listed["RoleName"]
        if str(listed.get("Path", "/")).startswith(SERVICE_LINKED_PATH):
            out.service_linked_roles_skipped += 1
            continue
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
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
                    "created": iso(role["CreateDate"]),
                    "last_used": iso(last_used),
                    "days_unused": (now - reference).days,
                }
            )


def _has_console_password(iam: Any, user: str) -> bool:
    try:
        iam.get_login_profile(UserName=user)
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return False
        raise
    return True


def _review_user(
    iam: Any, settings: Settings, now: datetime, page_size: int, listed: dict[str, Any], out: Review
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
    key_limit = timedelta(days=settings.max_key_age_days)
    for key in keys:
        age = now - key["CreateDate"]
        if age > key_limit:
            out.old_keys.append(
                {
                    "user": name,
                    "access_key_id": key["AccessKeyId"],
                    "status": key.get("Status", "Unknown"),
                    "created": iso(key["CreateDate"]),
                    "last_used": iso(key_last_used[key["AccessKeyId"]]),
                    "age_days": age.days,
                }
            )

    password_last_used = listed.get("PasswordLastUsed")
    uses = [when for when in (password_last_used, *key_last_used.values()) if when is not None]
    last_activity = max(uses) if uses else None
    reference = last_activity or listed["CreateDate"]
    if now - reference > timedelta(days=settings.max_unused_days):
        out.stale_users.append(
            {
                "name": name,
                "arn": listed["Arn"],
                "created": iso(listed["CreateDate"]),
                "has_console_password": has_password,
                "password_last_used": iso(password_last_used),
                "access_keys": len(keys),
                "last_activity": iso(last_activity),
                "days_inactive": (now - reference).days,
            }
        )


def _review_users(iam: Any, settings: Settings, now: datetime, page_size: int, out: Review) -> None:
    for listed in _paginate(iam, "list_users", "Users", page_size):
        try:
            _review_user(iam, settings, now, page_size, listed, out)
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            log("info", "user deleted during the review, skipped", user=listed["UserName"])


def review_access(
    iam: Any, settings: Settings, now: datetime, page_size: int = DEFAULT_PAGE_SIZE
) -> Review:
    """Review every IAM role, user and access key in the account.

    Args:
        iam: An IAM client.
        settings: The validated settings.
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
    _review_roles(iam, settings, now, page_size, out)
    _review_users(iam, settings, now, page_size, out)
    out.unused_roles.sort(key=lambda item: item["name"])
    out.stale_users.sort(key=lambda item: item["name"])
    out.old_keys.sort(key=lambda item: (item["user"], item["access_key_id"]))
    return out
