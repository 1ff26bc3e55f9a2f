"""Amazon S3's rules for bucket names and lifecycle transitions (pure Python, no CDK import).

Both the config loader (to stop synth with a clear message) and ``SecureBucket`` (to fail fast
when used alone) call these. Each function returns ``None`` when the input is valid, or one
sentence saying which rule is broken.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

# Lifecycle transition targets, in S3's "waterfall" order: an object can only move down it.
STORAGE_CLASS_ORDER: tuple[str, ...] = (
    "STANDARD_IA",
    "INTELLIGENT_TIERING",
    "ONEZONE_IA",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
)

# Minimum storage duration (days) S3 bills for each class: moving on or expiring earlier is
# charged as if the object stayed. Standard-IA and One Zone-IA are also reachable only after
# an object is 30 days old.
MINIMUM_STORAGE_DAYS: dict[str, int] = {
    "STANDARD_IA": 30,
    "INTELLIGENT_TIERING": 0,
    "ONEZONE_IA": 30,
    "GLACIER_IR": 90,
    "GLACIER": 90,
    "DEEP_ARCHIVE": 180,
}
MINIMUM_AGE_FOR_CLASS: dict[str, int] = {"STANDARD_IA": 30, "ONEZONE_IA": 30}

_NAME_CHARS = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")


def bucket_name_problem(name: str) -> str | None:
    """The S3 general-purpose bucket naming rule ``name`` breaks, or ``None``."""
    if not 3 <= len(name) <= 63:
        return f"must be 3 to 63 characters long (is {len(name)})"
    if any(c.isupper() for c in name):
        return "must not contain uppercase letters"
    if "_" in name:
        return "must not contain underscores"
    if not _NAME_CHARS.match(name):
        return (
            "may contain only lowercase letters, digits, dots and hyphens, and must begin and "
            "end with a letter or digit"
        )
    if ".." in name:
        return "must not contain two adjacent dots"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "must not be formatted as an IP address"
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            return f"must not start with '{prefix}'"
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            return f"must not end with '{suffix}'"
    return None


@dataclass(frozen=True)
class Transition:
    """Move current object versions to ``storage_class`` ``days`` after creation."""

    storage_class: str
    days: int


@dataclass(frozen=True)
class LifecyclePolicy:
    """A bucket's lifecycle: transitions, expirations and multipart clean-up.

    ``expiration_days`` ``None`` keeps current versions forever; noncurrent versions expire after
    ``noncurrent_expiration_days``; incomplete multipart uploads are aborted after
    ``abort_incomplete_multipart_days``.
    """

    transitions: tuple[Transition, ...] = ()
    expiration_days: int | None = None
    noncurrent_expiration_days: int = 90
    abort_incomplete_multipart_days: int = 7


def lifecycle_problem(policy: LifecyclePolicy) -> str | None:
    """The S3 lifecycle rule ``policy`` breaks, or ``None``."""
    previous: Transition | None = None
    for transition in policy.transitions:
        if transition.storage_class not in MINIMUM_STORAGE_DAYS:
            return (
                f"unknown storage class {transition.storage_class!r}; allowed: "
                f"{', '.join(STORAGE_CLASS_ORDER)}"
            )
        if transition.days < 0:
            return f"transition to {transition.storage_class} at day {transition.days} is negative"
        minimum_age = MINIMUM_AGE_FOR_CLASS.get(transition.storage_class, 0)
        if transition.days < minimum_age:
            return (
                f"transition to {transition.storage_class} at day {transition.days}: S3 allows "
                f"it only after {minimum_age} days"
            )
        if previous is not None:
            problem = _step_problem(previous, transition)
            if problem:
                return problem
        previous = transition
    if policy.expiration_days is not None:
        if policy.expiration_days < 1:
            return f"expiration_days must be at least 1 (is {policy.expiration_days})"
        if previous is not None:
            earliest = previous.days + MINIMUM_STORAGE_DAYS[previous.storage_class]
            if policy.expiration_days < max(earliest, previous.days + 1):
                return (
                    f"expiration at day {policy.expiration_days} is before "
                    f"{previous.storage_class}'s minimum storage duration ends (day {earliest})"
                )
    if policy.noncurrent_expiration_days < 1:
        return (
            "noncurrent_expiration_days must be at least 1 "
            f"(is {policy.noncurrent_expiration_days})"
        )
    if policy.abort_incomplete_multipart_days < 1:
        return (
            "abort_incomplete_multipart_days must be at least 1 "
            f"(is {policy.abort_incomplete_multipart_days})"
        )
    return None


def _step_problem(previous: Transition, current: Transition) -> str | None:
    order = STORAGE_CLASS_ORDER.index
    if order(current.storage_class) <= order(previous.storage_class):
        return (
            f"{previous.storage_class} -> {current.storage_class} goes up S3's waterfall; "
            f"transitions must follow {' -> '.join(STORAGE_CLASS_ORDER)}"
        )
    earliest = previous.days + MINIMUM_STORAGE_DAYS[previous.storage_class]
    earliest = max(earliest, previous.days + 1)
    if current.days < earliest:
        return (
            f"transition to {current.storage_class} at day {current.days} is before "
            f"{previous.storage_class}'s minimum storage duration ends (day {earliest})"
        )
    return None


@dataclass(frozen=True)
class ObjectLock:
    """Default S3 Object Lock retention for ``days`` days.

    ``GOVERNANCE``: users with ``s3:BypassGovernanceRetention`` may shorten it. ``COMPLIANCE``:
    nobody can, not even the account root, until it expires.
    """

    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    days: int


def object_lock_problem(lock: ObjectLock, policy: LifecyclePolicy) -> str | None:
    """The rule an object-lock setting breaks, alone or with the bucket's lifecycle, or ``None``."""
    if lock.mode not in ("GOVERNANCE", "COMPLIANCE"):
        return f"object lock mode {lock.mode!r}: allowed GOVERNANCE or COMPLIANCE"
    if lock.days < 1:
        return f"object lock retention must be at least 1 day (is {lock.days})"
    if policy.expiration_days is not None and policy.expiration_days < lock.days:
        return (
            f"expiration at day {policy.expiration_days} is before the object lock retention "
            f"ends (day {lock.days})"
        )
    return None
