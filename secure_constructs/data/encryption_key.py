"""A customer-managed KMS key with rotation, retention and a key policy that names every use."""

from __future__ import annotations

import re
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..core.compliance import skip_checkov

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

# The use of a key on data: what CloudWatch Logs needs for a log group, and what an AWS service
# (S3, SageMaker) does on a workload's behalf. Each statement granting these adds a condition.
KEY_USE_ACTIONS: tuple[str, ...] = (
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
                actions=list(KEY_USE_ACTIONS),
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
                actions=list(KEY_USE_ACTIONS),
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

    def allow_cloudtrail(self, *, trail_arn: str) -> None:
        """Let CloudTrail encrypt the log files of one trail with the key, and describe the key.

        Three statements for the ``cloudtrail.amazonaws.com`` principal, as the CloudTrail key
        policy documentation prescribes: ``kms:GenerateDataKey*`` when ``aws:SourceArn`` is
        ``trail_arn`` and the encryption context names a trail of this account
        (``kms:EncryptionContext:aws:cloudtrail:arn``); ``kms:DescribeKey`` for that trail; and
        ``kms:Decrypt`` for that trail of this account (``aws:SourceArn``, ``aws:SourceAccount``),
        which CloudTrail needs to create or update a trail whose bucket uses an S3 Bucket Key
        (the platform's buckets do). The Decrypt statement pins the trail by source rather than
        by the ``aws:cloudtrail:arn`` encryption context, because data keys derived from a
        Bucket Key carry the bucket's context, not the trail's. ``trail_arn`` must be a literal
        ARN (the trail's name is known before it exists), so this key's stack never depends on
        the trail's. Reading log files needs no statement here: readers decrypt through S3
        (``allow_use_via_services(["s3"])``).
        """
        stack = self._stack
        source = {"StringEquals": {"aws:SourceArn": trail_arn}}
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailToEncryptLogFiles",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    **source,
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:{stack.partition}:cloudtrail:*:{stack.account}:trail/*"
                        )
                    },
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailToDecryptWithTheBucketKey",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceArn": trail_arn, "aws:SourceAccount": stack.account}
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailToDescribeTheKey",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions=source,
            )
        )

    def allow_service(
        self,
        service: str,
        *,
        source_arns: Sequence[str],
        actions: Sequence[str] = ("kms:Decrypt", "kms:GenerateDataKey"),
    ) -> None:
        """Let an AWS service principal use the key on behalf of named resources of this account.

        For services that encrypt with the key themselves rather than for a caller: EventBridge
        delivering to an encrypted dead-letter queue, SNS moving undeliverable messages to an
        encrypted queue, CloudWatch alarms publishing to an encrypted topic. ``service`` is the
        principal's prefix (``events`` -> ``events.amazonaws.com``). Conditions:
        ``aws:SourceAccount`` is this account and ``aws:SourceArn`` matches one of
        ``source_arns`` (literal ARNs; ``*`` wildcards allowed, e.g. a name prefix). Default
        actions: ``kms:Decrypt`` and ``kms:GenerateDataKey``.
        """
        if not source_arns:
            raise ValueError(f"allow_service({service!r}) needs at least one source ARN")
        if not re.fullmatch(r"[a-z0-9-]+", service):
            raise ValueError(f"allow_service: {service!r} is not a service principal prefix")
        stack = self._stack
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"Allow{''.join(p.capitalize() for p in service.split('-'))}ForNamedResources",
                principals=[iam.ServicePrincipal(f"{service}.amazonaws.com")],
                actions=list(actions),
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": list(source_arns)},
                },
            )
        )

    def allow_service_linked_role_via_services(
        self, role_arn: str, services: Sequence[str], actions: Sequence[str]
    ) -> None:
        """Let one service-linked role of this account use the key, only through ``services``.

        Service-linked roles (e.g. Macie's ``AWSServiceRoleForAmazonMacie``, which reads S3
        objects for sensitive-data discovery) carry AWS-managed policies without KMS
        permissions, so the key policy must name them directly. KMS rejects a key policy whose
        principal does not exist yet, and such a role appears only when its service is first
        enabled; so the statement names the role by condition (``aws:PrincipalArn``), with the
        ``*`` principal narrowed by ``kms:CallerAccount`` and ``kms:ViaService``. checkov's
        wildcard-principal check (CKV_AWS_33) cannot see the conditions and is skipped with
        this reason on the key.
        """
        if not services or not actions:
            raise ValueError("allow_service_linked_role_via_services needs services and actions")
        if ":role/aws-service-role/" not in role_arn:
            raise ValueError(f"{role_arn!r} is not a service-linked role ARN")
        stack = self._stack
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowNamedServiceLinkedRoleThroughNamedServices",
                principals=[iam.AnyPrincipal()],
                actions=list(actions),
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "kms:CallerAccount": stack.account,
                        "kms:ViaService": [f"{s}.{stack.region}.amazonaws.com" for s in services],
                    },
                    "ArnEquals": {"aws:PrincipalArn": role_arn},
                },
            )
        )
        cfn_key = self.key.node.default_child
        assert isinstance(cfn_key, kms.CfnKey)
        skip_checkov(
            cfn_key,
            "CKV_AWS_33",
            "The only '*' principal is narrowed by aws:PrincipalArn to one service-linked role, "
            "kms:CallerAccount and kms:ViaService: KMS rejects naming a role that does not exist "
            "yet, and the role appears only when its service is enabled after this stack.",
        )
