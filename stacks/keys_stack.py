"""Stateful root of each environment: the customer-managed KMS keys every other stack uses."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from secure_constructs.encryption_key import EncryptionKey
from stacks.base import PlatformStack


class KeysStack(PlatformStack):
    """KMS keys, retained on stack deletion.

    ``logs_key`` encrypts CloudWatch Logs log groups (VPC flow logs now; trail and function logs
    as they land). It sits in its own stack so that the network and data stacks can both use it
    without a dependency cycle (data bucket policies reference the network's S3 endpoint).
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, name_suffix="keys", **kwargs)
        project = kwargs["project"]
        env_name = kwargs["environment"].name
        self.logs = EncryptionKey(
            self,
            "LogsKey",
            alias=f"alias/{project}/{env_name}/logs",
            description=f"{project} {env_name}: CloudWatch Logs encryption",
        )
        self.logs.allow_cloudwatch_logs()
        self.logs_key = self.logs.key
