"""``environments.<env>.data``: admin exception, forward-access services, the bucket family."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from platform_config.model import BUCKETS, BucketConfig, DataConfig
from platform_config.readers import ROLE_ARN, ConfigError, get, no_unknown, str_list
from secure_constructs.data.s3_rules import (
    LifecyclePolicy,
    ObjectLock,
    Transition,
    bucket_name_problem,
    lifecycle_problem,
    object_lock_problem,
)

_LIFECYCLE_KEYS = frozenset(
    {
        "transitions",
        "expiration_days",
        "noncurrent_expiration_days",
        "abort_incomplete_multipart_days",
    }
)

_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}\.amazonaws\.com$")


def parse_data(raw: Mapping[str, Any], key: str, account: str) -> DataConfig:
    """Validate ``<env>.data``; admin role ARNs must be of ``account``."""
    data = get(
        raw, "data", key, dict, "an object with admin_principal_arns, audit_object_lock, buckets"
    )
    no_unknown(
        data,
        key,
        {"admin_principal_arns", "forward_access_services", "audit_object_lock", "buckets"},
    )
    admins = str_list(data, "admin_principal_arns", key, min_items=0)
    services = str_list(data, "forward_access_services", key, min_items=0)
    for service in services:
        if not _SERVICE_PRINCIPAL.match(service):
            raise ConfigError(
                f"{key}.forward_access_services",
                service,
                "an AWS service principal such as athena.amazonaws.com (the services allowed to "
                "reach the data buckets outside the VPC endpoint on a caller's behalf)",
            )
    for arn in admins:
        match = ROLE_ARN.match(arn)
        if not match or match.group("account") != account:
            raise ConfigError(
                f"{key}.admin_principal_arns",
                arn,
                f"an IAM role ARN of this environment's account, arn:aws:iam::{account}:role/NAME",
            )
    lock_key = f"{key}.audit_object_lock"
    lock_raw = get(data, "audit_object_lock", lock_key, dict, "an object with mode and days")
    no_unknown(lock_raw, lock_key, {"mode", "days"})
    mode = get(lock_raw, "mode", f"{lock_key}.mode", str, "GOVERNANCE or COMPLIANCE")
    if mode not in ("GOVERNANCE", "COMPLIANCE"):
        raise ConfigError(f"{lock_key}.mode", mode, "GOVERNANCE or COMPLIANCE")
    days = get(lock_raw, "days", f"{lock_key}.days", int, "a number of days, at least 1")
    if days < 1:
        raise ConfigError(f"{lock_key}.days", days, "a number of days, at least 1")
    lock = ObjectLock(mode=mode, days=days)

    buckets_key = f"{key}.buckets"
    buckets_raw = get(data, "buckets", buckets_key, dict, f"an object with {', '.join(BUCKETS)}")
    no_unknown(buckets_raw, buckets_key, set(BUCKETS))
    buckets = {name: _bucket(buckets_raw, name, f"{buckets_key}.{name}") for name in BUCKETS}
    problem = object_lock_problem(lock, buckets["audit"].lifecycle)
    if problem:
        raise ConfigError(
            f"{buckets_key}.audit.lifecycle.expiration_days",
            buckets["audit"].lifecycle.expiration_days,
            f"{problem}: keep audit logs at least as long as they are locked",
        )
    if buckets["invocation_logs"].lifecycle.expiration_days is None:
        raise ConfigError(
            f"{buckets_key}.invocation_logs.lifecycle.expiration_days",
            None,
            "a number of days: invocation logs hold prompts and answers (possibly PHI), so they "
            "need a retention after which a deletion request can be honoured",
        )
    seen: dict[str, str] = {}
    for name, bucket in buckets.items():
        if bucket.name is None:
            continue
        if bucket.name in seen:
            raise ConfigError(
                f"{buckets_key}.{name}.name",
                bucket.name,
                f"already used by bucket {seen[bucket.name]}",
            )
        seen[bucket.name] = name
    return DataConfig(
        admin_principal_arns=tuple(admins),
        forward_access_services=tuple(services),
        audit_object_lock=lock,
        **buckets,
    )


def _bucket(raw: Mapping[str, Any], name: str, key: str) -> BucketConfig:
    bucket = get(raw, name, key, dict, "an object with lifecycle and an optional name")
    no_unknown(bucket, key, {"name", "lifecycle"})
    bucket_name = bucket.get("name")
    if bucket_name is not None:
        if not isinstance(bucket_name, str):
            raise ConfigError(f"{key}.name", bucket_name, "a string (an S3 bucket name)")
        problem = bucket_name_problem(bucket_name)
        if problem:
            raise ConfigError(f"{key}.name", bucket_name, f"an S3 bucket name {problem}")
    return BucketConfig(name=bucket_name, lifecycle=_lifecycle(bucket, f"{key}.lifecycle"))


def _lifecycle(raw: Mapping[str, Any], key: str) -> LifecyclePolicy:
    life = get(raw, "lifecycle", key, dict, f"an object with {', '.join(sorted(_LIFECYCLE_KEYS))}")
    no_unknown(life, key, set(_LIFECYCLE_KEYS))
    transitions = []
    for index, item in enumerate(get(life, "transitions", f"{key}.transitions", list, "a list")):
        item_key = f"{key}.transitions[{index}]"
        if not isinstance(item, dict) or set(item) != {"storage_class", "days"}:
            raise ConfigError(item_key, item, "an object with exactly storage_class and days")
        storage_class = get(item, "storage_class", f"{item_key}.storage_class", str, "a string")
        days = get(item, "days", f"{item_key}.days", int, "an integer")
        transitions.append(Transition(storage_class=storage_class, days=days))
    expiration = life.get("expiration_days")
    if expiration is not None and (isinstance(expiration, bool) or not isinstance(expiration, int)):
        raise ConfigError(f"{key}.expiration_days", expiration, "an integer or null (keep forever)")
    policy = LifecyclePolicy(
        transitions=tuple(transitions),
        expiration_days=expiration,
        noncurrent_expiration_days=get(
            life,
            "noncurrent_expiration_days",
            f"{key}.noncurrent_expiration_days",
            int,
            "an integer",
        ),
        abort_incomplete_multipart_days=get(
            life,
            "abort_incomplete_multipart_days",
            f"{key}.abort_incomplete_multipart_days",
            int,
            "an integer",
        ),
    )
    problem = lifecycle_problem(policy)
    if problem:
        raise ConfigError(key, life, f"breaks an S3 lifecycle rule: {problem}")
    return policy
