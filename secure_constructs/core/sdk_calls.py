"""AWS API calls made at deployment, for services CloudFormation cannot configure."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct

from .cfn import cfn_of
from .compliance import (
    KnownNoncompliance,
    acknowledge,
    apply_reserved_concurrency,
    skip_checkov,
)
from .log_groups import encrypted_log_group
from .managed_policy_role import acknowledge_wildcard
from .secure_function import XRAY_ACTIONS, ignore_redundant_role_dependency
from .secure_queue import DeadLetterQueue
from .sizing import LOG_RETENTION_DAYS

# The construct ID CDK gives the AwsCustomResource provider: one function per stack.
_PROVIDER_ID = "AWS679f53fac002430cb0da5b7982bd2287"

OUTSIDE_VPC_REASON = (
    "Runs only during deployment and must answer CloudFormation through a pre-signed URL of an "
    "AWS-owned S3 bucket: inside the VPC that traffic meets the S3 gateway endpoint, whose policy "
    "admits only this account's buckets, so the stack would hang; widening the data perimeter "
    "for a deploy-time helper is the worse trade."
)


class SdkCallProvider(Construct):
    """The stack's one ``AwsCustomResource`` provider, hardened, and the calls made through it.

    CDK runs every ``AwsCustomResource`` of a stack on one singleton Lambda function; this
    construct owns its configuration so that all calls share it:

      * an execution role with no inline and no AWS-managed policy: ``baseline_policy`` (its
        own log group, X-Ray, its own dead-letter queue through SQS) and ``calls_policy``,
        which collects the exact statements each ``call`` declares (no ``from_sdk_calls``
        wildcard);
      * a log group encrypted with ``logs_key``, ``log_retention_days`` (default 365), retained;
      * ``reserved_concurrency`` (default 2; ``None`` for none, acknowledged), X-Ray
        tracing, 256 MB, a 2-minute timeout, and a dead-letter queue encrypted with
        ``queue_key`` (CloudFormation invokes the provider asynchronously), set on the
        function's L1 resource since ``AwsCustomResource`` exposes none of them;
      * outside the VPC, for the reason in ``OUTSIDE_VPC_REASON`` (acknowledged here);
      * the AWS SDK bundled with the runtime (``install_latest_aws_sdk=False``: no download
        from npm at deployment).

    Create calls with ``call``. Attributes: ``role``, ``baseline_policy``, ``log_group``,
    ``dead_letter_queue``, ``calls_policy`` and ``known_noncompliance`` (the Config results of
    the provider function, for the findings router) after the first call.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        logs_key: kms.IKey,
        queue_key: kms.IKey,
        log_retention_days: int = 365,
        reserved_concurrency: int | None = 2,
    ) -> None:
        super().__init__(scope, construct_id)
        self._reserved_concurrency = reserved_concurrency
        if log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"SdkCallProvider log_retention_days={log_retention_days}: "
                f"allowed {LOG_RETENTION_DAYS}"
            )
        stack = cdk.Stack.of(self)
        if stack.node.try_find_child(_PROVIDER_ID) is not None:
            raise ValueError(
                "SdkCallProvider: this stack already has an AwsCustomResource provider; "
                "create one SdkCallProvider per stack, before any AwsCustomResource"
            )
        self._stack = stack
        self._queue_key = queue_key
        self.log_group = encrypted_log_group(
            self, "LogGroup", encryption_key=logs_key, retention_days=log_retention_days
        )
        self.dead_letter_queue = DeadLetterQueue(
            self, "DeadLetterQueue", encryption_key=queue_key, owner="the deploy-time provider's"
        )
        self.role = iam.Role(
            self,
            "Role",
            description="Deploy-time AWS API calls of this stack (AwsCustomResource provider)",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        self.baseline_policy = iam.ManagedPolicy(
            self,
            "BaselinePolicy",
            description="AwsCustomResource provider: own logs, tracing, own DLQ",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="WriteOwnLogGroup",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    # The Arn attribute ends in ":*" and so covers the group's streams.
                    resources=[self.log_group.log_group_arn],
                ),
                iam.PolicyStatement(sid="Tracing", actions=list(XRAY_ACTIONS), resources=["*"]),
                *self.dead_letter_queue.send_statements(),
            ],
        )
        acknowledge_wildcard(
            self.baseline_policy,
            "Resource::*",
            "X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.",
        )
        self.calls_policy: iam.ManagedPolicy | None = None
        self._calls: list[cr.AwsCustomResource] = []
        self.known_noncompliance: list[KnownNoncompliance] = []

    def call(
        self,
        construct_id: str,
        *,
        statements: list[iam.PolicyStatement],
        on_create: cr.AwsSdkCall,
        on_update: cr.AwsSdkCall | None = None,
        on_delete: cr.AwsSdkCall | None = None,
        resource_type: str = "Custom::AwsApiCall",
    ) -> cr.AwsCustomResource:
        """One deploy-time call (an ``AwsCustomResource``) with exactly ``statements`` granted.

        The call is created in ``scope`` = this provider; it runs only after its permissions
        exist. Acknowledge IAM5 wildcards of ``statements`` on ``calls_policy``.
        """
        if not statements:
            raise ValueError(f"SdkCallProvider.call {construct_id}: statements are required")
        if self.calls_policy is None:
            self.calls_policy = iam.ManagedPolicy(
                self,
                "CallsPolicy",
                description="AwsCustomResource provider: the API calls this stack makes",
                roles=[self.role],
                statements=statements,
            )
        else:
            self.calls_policy.add_statements(*statements)
        resource = cr.AwsCustomResource(
            self,
            construct_id,
            resource_type=resource_type,
            role=self.role,
            install_latest_aws_sdk=False,
            log_group=self.log_group,
            memory_size=256,
            timeout=cdk.Duration.minutes(2),
            on_create=on_create,
            on_update=on_update,
            on_delete=on_delete,
        )
        # The policy resources themselves: their constructs also stand for the role.
        resource.node.add_dependency(cfn_of(self.baseline_policy), cfn_of(self.calls_policy))
        if not self._calls:
            self._harden_provider()
        self._calls.append(resource)
        return resource

    def _harden_provider(self) -> None:
        provider = self._stack.node.try_find_child(_PROVIDER_ID)
        function = provider.node.default_child if provider else None
        if not isinstance(function, lambda_.CfnFunction):
            raise RuntimeError("CDK's AwsCustomResource provider was not found; revisit sdk_calls")
        self.known_noncompliance = [
            KnownNoncompliance("LAMBDA_INSIDE_VPC", function.ref, "deploy-time provider"),
            *apply_reserved_concurrency(function, self._reserved_concurrency),
        ]
        function.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
        function.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
            target_arn=self.dead_letter_queue.queue.queue_arn
        )
        function.node.add_dependency(cfn_of(self.baseline_policy))
        ignore_redundant_role_dependency(function)
        acknowledge(
            provider,  # type: ignore[arg-type]
            [
                "HIPAA.Security::HIPAA.Security-LambdaInsideVPC",
                "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
                "PCI.DSS.321::PCI.DSS.321-LambdaInsideVPC",
            ],
            OUTSIDE_VPC_REASON,
        )
        skip_checkov(function, "CKV_AWS_117", OUTSIDE_VPC_REASON)
