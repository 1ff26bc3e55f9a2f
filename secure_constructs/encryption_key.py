"""A customer-managed KMS key with rotation, retention and a key policy that names every use."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# What key administrators may do. They can manage the key's life cycle and policy but cannot use
# it for data (no Encrypt/Decrypt/GenerateDataKey) and cannot create grants for themselves.
KEY_ADMIN_ACTIONS: tuple[str, ...] = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)

# What a workload may do with a data key, through an AWS service that encrypts on its behalf.
DATA_USE_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)

# What CloudWatch Logs needs to encrypt and read back a log group's data.
LOGS_SERVICE_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)


class EncryptionKey(Construct):
    """A symmetric customer-managed KMS key.

    Guarantees:
      * automatic rotation every 365 days;
      * ``RemovalPolicy.RETAIN``: deleting the stack leaves the key (and the data it protects)
        readable; a deliberate deletion still waits ``pending_window`` (default 30 days);
      * an alias, so humans and policies can name the key;
      * a key policy that *replaces* CDK's default ``kms:*`` for the account root: administrators
        (default: the account, through IAM) get only ``KEY_ADMIN_ACTIONS`` -- no data operations,
        no ``kms:CreateGrant``. Each use of the key is a separate statement added through an
        ``allow_*`` method, with the narrowest condition AWS supports.

    Attribute ``key`` is the ``kms.IKey`` to pass to other constructs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alias: str,
        description: str,
        administrators: Sequence[iam.IPrincipal] | None = None,
        pending_window: cdk.Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        admins = list(administrators) if administrators else [iam.AccountRootPrincipal()]
        self._stack = cdk.Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description=description,
            enable_key_rotation=True,
            rotation_period=cdk.Duration.days(365),
            pending_window=pending_window or cdk.Duration.days(30),
            removal_policy=cdk.RemovalPolicy.RETAIN,
            policy=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="KeyAdministration",
                        principals=admins,
                        actions=list(KEY_ADMIN_ACTIONS),
                        resources=["*"],
                    )
                ]
            ),
        )

    def allow_use_via_services(self, services: Sequence[str]) -> None:
        """Let IAM policies of this account grant use of the key, only through ``services``.

        ``services`` are endpoint prefixes such as ``s3`` or ``sagemaker``. The statement names
        the account (so an IAM policy is still needed: nobody gets access from the key policy
        alone) with conditions ``kms:CallerAccount`` = this account and ``kms:ViaService`` in
        ``<service>.<region>.amazonaws.com``: the key cannot be used directly, e.g. to decrypt
        a copied object outside S3.
        """
        if not services:
            raise ValueError("allow_use_via_services needs at least one service")
        stack = self._stack
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowUseThroughNamedServicesOnly",
                principals=[iam.AccountRootPrincipal()],
                actions=list(DATA_USE_ACTIONS),
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "kms:CallerAccount": stack.account,
                        "kms:ViaService": [f"{s}.{stack.region}.amazonaws.com" for s in services],
                    }
                },
            )
        )

    def allow_grants_for_aws_resources(self, services: Sequence[str]) -> None:
        """Let IAM policies of this account grant ``kms:CreateGrant``, for AWS resources only.

        Services that encrypt volumes they attach (SageMaker's ML storage volumes, EFS file
        systems) create grants on the caller's behalf. The statement requires
        ``kms:GrantIsForAWSResource`` (a grant made by an AWS service integrated with KMS) and
        ``kms:ViaService`` in ``services``: nobody can hand out the key's use directly.
        """
        if not services:
            raise ValueError("allow_grants_for_aws_resources needs at least one service")
        stack = self._stack
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowGrantsForAwsResourcesOnly",
                principals=[iam.AccountRootPrincipal()],
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "kms:CallerAccount": stack.account,
                        "kms:ViaService": [f"{s}.{stack.region}.amazonaws.com" for s in services],
                    },
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            )
        )

    def allow_cloudwatch_logs(self) -> None:
        """Let CloudWatch Logs in this stack's region use the key for this account's log groups.

        Condition: the encryption context names a log group of this account and region
        (``kms:EncryptionContext:aws:logs:arn``), as the CloudWatch Logs documentation prescribes.
        """
        stack = self._stack
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=list(LOGS_SERVICE_ACTIONS),
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                        )
                    }
                },
            )
        )
