"""The one way the platform creates a log group: KMS-encrypted, retained, with a set retention."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from .sizing import LOG_RETENTION_DAYS


def encrypted_log_group(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey,
    retention_days: int,
    log_group_name: str | None = None,
) -> logs.LogGroup:
    """A log group encrypted with ``encryption_key``, kept ``retention_days``, retained.

    ``retention_days`` must be a CloudWatch Logs retention value (``LOG_RETENTION_DAYS``); it is
    set on the L1 resource because ``RetentionDays`` cannot be built from a day count in Python.
    The key's policy must let CloudWatch Logs of this account use it
    (``EncryptionKey.allow_cloudwatch_logs``). ``log_group_name`` is optional (CloudFormation
    names the group otherwise).
    """
    if retention_days not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"log group {construct_id}: retention_days={retention_days}; allowed "
            f"{LOG_RETENTION_DAYS}"
        )
    group = logs.LogGroup(
        scope,
        construct_id,
        log_group_name=log_group_name,
        encryption_key=encryption_key,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    resource = group.node.default_child
    assert isinstance(resource, logs.CfnLogGroup)
    resource.retention_in_days = retention_days
    return group
