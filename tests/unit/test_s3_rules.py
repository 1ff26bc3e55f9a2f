"""Amazon S3's naming and lifecycle rules, as the platform enforces them."""

from __future__ import annotations

import pytest

from secure_constructs.data.s3_rules import (
    LifecyclePolicy,
    ObjectLock,
    Transition,
    bucket_name_problem,
    lifecycle_problem,
    object_lock_problem,
)


@pytest.mark.parametrize(
    "name",
    ["abc", "my-bucket.logs-2026", "a" * 63, "1data", "ml-platform-raw-111111111111"],
)
def test_valid_bucket_names(name: str) -> None:
    assert bucket_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("ab", "3 to 63 characters"),
        ("a" * 64, "3 to 63 characters"),
        ("My-bucket", "uppercase"),
        ("my_bucket", "underscores"),
        ("-bucket", "begin and end with a letter or digit"),
        ("bucket-", "begin and end with a letter or digit"),
        ("bucket!", "only lowercase letters, digits, dots and hyphens"),
        ("my..bucket", "adjacent dots"),
        ("192.168.5.4", "IP address"),
        ("xn--bucket", "start with 'xn--'"),
        ("sthree-bucket", "start with 'sthree-'"),
        ("bucket-s3alias", "end with '-s3alias'"),
        ("bucket--ol-s3", "end with '--ol-s3'"),
    ],
)
def test_invalid_bucket_names_name_the_rule(name: str, rule: str) -> None:
    problem = bucket_name_problem(name)
    assert problem is not None and rule in problem, problem


def _policy(*steps: tuple[str, int], expiration: int | None = None) -> LifecyclePolicy:
    return LifecyclePolicy(
        transitions=tuple(Transition(c, d) for c, d in steps), expiration_days=expiration
    )


@pytest.mark.parametrize(
    "policy",
    [
        _policy(),
        _policy(("INTELLIGENT_TIERING", 0)),
        _policy(("STANDARD_IA", 30), ("GLACIER", 60)),
        _policy(("GLACIER_IR", 90), ("GLACIER", 180), ("DEEP_ARCHIVE", 365), expiration=545),
        _policy(("DEEP_ARCHIVE", 0), expiration=180),
    ],
)
def test_valid_lifecycles(policy: LifecyclePolicy) -> None:
    assert lifecycle_problem(policy) is None


@pytest.mark.parametrize(
    ("policy", "rule"),
    [
        (_policy(("STANDARD_IA", 29)), "only after 30 days"),
        (_policy(("ONEZONE_IA", 10)), "only after 30 days"),
        (_policy(("GLACIER_TURBO", 10)), "unknown storage class 'GLACIER_TURBO'"),
        (_policy(("GLACIER", 90), ("STANDARD_IA", 200)), "goes up S3's waterfall"),
        (_policy(("GLACIER_IR", 90), ("GLACIER", 120)), "minimum storage duration ends (day 180)"),
        (_policy(("STANDARD_IA", 30), ("GLACIER", 45)), "minimum storage duration ends (day 60)"),
        (
            _policy(("GLACIER", 30), expiration=100),
            "before GLACIER's minimum storage duration ends (day 120)",
        ),
        (
            _policy(("DEEP_ARCHIVE", 365), expiration=400),
            "before DEEP_ARCHIVE's minimum storage duration ends (day 545)",
        ),
        (_policy(expiration=0), "at least 1"),
        (LifecyclePolicy(noncurrent_expiration_days=0), "noncurrent_expiration_days"),
        (LifecyclePolicy(abort_incomplete_multipart_days=0), "abort_incomplete_multipart_days"),
        (_policy(("GLACIER", -1)), "negative"),
    ],
)
def test_invalid_lifecycles_name_the_rule(policy: LifecyclePolicy, rule: str) -> None:
    problem = lifecycle_problem(policy)
    assert problem is not None and rule in problem, problem


def test_object_lock_rules() -> None:
    keep_400 = _policy(expiration=400)
    assert object_lock_problem(ObjectLock("GOVERNANCE", 365), keep_400) is None
    assert "before the object lock retention ends (day 500)" in str(
        object_lock_problem(ObjectLock("COMPLIANCE", 500), keep_400)
    )
    assert "at least 1 day" in str(object_lock_problem(ObjectLock("GOVERNANCE", 0), keep_400))
    assert "GOVERNANCE or COMPLIANCE" in str(
        object_lock_problem(ObjectLock("LEGAL", 10), keep_400)  # type: ignore[arg-type]
    )
