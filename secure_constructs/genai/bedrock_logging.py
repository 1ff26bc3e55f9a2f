"""Amazon Bedrock model invocation logging to an encrypted bucket and an encrypted log group.

CloudFormation has no resource for it, so the account-and-region setting is made with
``PutModelInvocationLoggingConfiguration`` through ``custom_resources.AwsCustomResource`` and
removed with ``DeleteModelInvocationLoggingConfiguration`` when the stack is deleted.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from ..core.compliance import (
    KnownNoncompliance,
    acknowledge,
    apply_reserved_concurrency,
    ignore_cfn_lint,
    skip_checkov,
)
from ..core.log_groups import encrypted_log_group
from ..core.managed_policy_role import (
    ACTIONS_WITHOUT_RESOURCE_TYPES,
    acknowledge_wildcards,
)
from ..core.sdk_calls import SdkCallProvider
from ..core.sizing import LOG_RETENTION_DAYS

LOG_STREAM = "aws/bedrock/modelinvocations"
"""The one log stream Bedrock writes invocation logs to (Bedrock user guide)."""

CONFIGURATION_ACTIONS: tuple[str, ...] = (
    "bedrock:DeleteModelInvocationLoggingConfiguration",
    "bedrock:PutModelInvocationLoggingConfiguration",
)


class BedrockInvocationLogging(Construct):
    """Log every Bedrock model invocation of this account and region, encrypted, twice.

    Guarantees:
      * S3: gzipped JSON batches (metadata, prompts and answers up to 100 KB each, larger bodies
        as separate objects) in ``bucket`` under ``<prefix>AWSLogs/<account>/
        BedrockModelInvocationLogs/``. The construct adds to ``bucket``'s policy a statement that
        lets ``bedrock.amazonaws.com`` put objects under that path only, for this account and
        region (``aws:SourceAccount``, ``aws:SourceArn``), and to ``bucket_key``'s policy one that
        lets it generate data keys under the same conditions (both documented by Bedrock). The
        bucket and key may live in other stacks of the same environment (no cycle: the
        statements use only this account and region);
      * CloudWatch Logs: a log group encrypted with ``logs_key``, kept ``log_retention_days``
        (default 365) and retained; the delivery role is trusted by Bedrock for this account and
        region only and may write exactly the stream ``aws/bedrock/modelinvocations`` of it;
      * which payloads are logged: text (default on), image, embedding (default off);
      * the setting is made by an ``AwsCustomResource`` whose role may call only
        ``bedrock:Put/DeleteModelInvocationLoggingConfiguration`` (no resource-level permissions
        exist for them) and pass the delivery role to Bedrock only. Its function's log group is
        encrypted with ``logs_key`` and retained; it runs outside the VPC (see the
        acknowledgements in ``_document_provider``).

    Bedrock keeps one logging configuration per account and region: deploy one of these per
    environment. Invocation logs hold prompts and answers (possibly PHI): read access to the
    bucket prefix and the log group is audit access.

    Attributes: ``log_group``, ``delivery_role``, ``configuration`` (the custom resource),
    ``known_noncompliance`` (the provider function's expected Config results).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        bucket_key: kms.IKey,
        prefix: str,
        logs_key: kms.IKey,
        log_retention_days: int = 365,
        text_data: bool = True,
        image_data: bool = False,
        embedding_data: bool = False,
        reserved_concurrency: int | None = 1,
    ) -> None:
        super().__init__(scope, construct_id)
        self._reserved_concurrency = reserved_concurrency
        if not prefix or not prefix.endswith("/") or prefix.startswith("/") or "*" in prefix:
            raise ValueError(
                f"BedrockInvocationLogging prefix {prefix!r}: a key prefix ending with '/'"
            )
        if log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"BedrockInvocationLogging log_retention_days={log_retention_days}: "
                f"allowed {LOG_RETENTION_DAYS}"
            )
        stack = cdk.Stack.of(self)
        if any(isinstance(node, SdkCallProvider) for node in stack.node.find_all()):
            raise ValueError(
                f"BedrockInvocationLogging {construct_id}: the stack has an SdkCallProvider, whose "
                "role would run this construct's call without its permissions; put it in a stack "
                "without one"
            )
        source = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:*"
            },
        }
        bedrock_principal = iam.ServicePrincipal("bedrock.amazonaws.com")

        bucket_policy = bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AmazonBedrockModelInvocationLogsWrite",
                principals=[bedrock_principal],
                actions=["s3:PutObject"],
                resources=[
                    bucket.arn_for_objects(
                        f"{prefix}AWSLogs/{stack.account}/BedrockModelInvocationLogs/*"
                    )
                ],
                conditions=source,
            )
        )
        key_policy = bucket_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AmazonBedrockModelInvocationLogsEncrypt",
                principals=[bedrock_principal],
                actions=["kms:GenerateDataKey"],
                resources=["*"],
                conditions=source,
            )
        )

        self.log_group = encrypted_log_group(
            self, "LogGroup", encryption_key=logs_key, retention_days=log_retention_days
        )

        self.delivery_role = iam.Role(
            self,
            "DeliveryRole",
            description="Bedrock writes model invocation logs to one log stream",
            assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com", conditions=source),
        )
        delivery_policy = iam.ManagedPolicy(
            self,
            "DeliveryPolicy",
            roles=[self.delivery_role],
            statements=[
                iam.PolicyStatement(
                    sid="WriteTheInvocationLogStream",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[
                        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:"
                        f"{self.log_group.log_group_name}:log-stream:{LOG_STREAM}"
                    ],
                )
            ],
        )

        provider_log_group = encrypted_log_group(
            self, "ProviderLogGroup", encryption_key=logs_key, retention_days=log_retention_days
        )
        provider_role = iam.Role(
            self,
            "ConfigurationRole",
            description="Sets Bedrock model invocation logging for this account and region",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        provider_policy = iam.ManagedPolicy(
            self,
            "ConfigurationPolicy",
            roles=[provider_role],
            statements=[
                iam.PolicyStatement(
                    sid="SetInvocationLogging",
                    actions=list(CONFIGURATION_ACTIONS),
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="PassTheDeliveryRoleToBedrock",
                    actions=["iam:PassRole"],
                    resources=[self.delivery_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="WriteOwnLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[provider_log_group.log_group_arn],
                ),
                iam.PolicyStatement(
                    sid="Tracing",
                    actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    resources=["*"],
                ),
            ],
        )
        logging_config = {
            "loggingConfig": {
                "s3Config": {"bucketName": bucket.bucket_name, "keyPrefix": prefix.rstrip("/")},
                "cloudWatchConfig": {
                    "logGroupName": self.log_group.log_group_name,
                    "roleArn": self.delivery_role.role_arn,
                },
                "textDataDeliveryEnabled": text_data,
                "imageDataDeliveryEnabled": image_data,
                "embeddingDataDeliveryEnabled": embedding_data,
            }
        }
        physical_id = cr.PhysicalResourceId.of(
            f"bedrock-invocation-logging-{stack.account}-{stack.region}"
        )
        self.configuration = cr.AwsCustomResource(
            self,
            "Configuration",
            resource_type="Custom::BedrockInvocationLogging",
            on_create=cr.AwsSdkCall(
                service="bedrock",
                action="PutModelInvocationLoggingConfiguration",
                parameters=logging_config,
                physical_resource_id=physical_id,
            ),
            on_update=cr.AwsSdkCall(
                service="bedrock",
                action="PutModelInvocationLoggingConfiguration",
                parameters=logging_config,
                physical_resource_id=physical_id,
            ),
            on_delete=cr.AwsSdkCall(
                service="bedrock",
                action="DeleteModelInvocationLoggingConfiguration",
                physical_resource_id=physical_id,
            ),
            role=provider_role,
            log_group=provider_log_group,
            install_latest_aws_sdk=False,
            memory_size=256,
            timeout=cdk.Duration.minutes(2),
        )
        # The configuration call validates its destinations: make it wait for every permission.
        # (The bucket and key policies live in the data and keys stacks, deployed before this.)
        for dependency in (delivery_policy, provider_policy):
            self.configuration.node.add_dependency(dependency)
        if not (bucket_policy.statement_added and key_policy.statement_added):
            raise ValueError(
                "BedrockInvocationLogging: the bucket and the key must accept policy statements "
                "(not imported by name)"
            )
        self._document_provider(stack)
        acknowledge_wildcards(self, [ACTIONS_WITHOUT_RESOURCE_TYPES])

    def _document_provider(self, stack: cdk.Stack) -> None:
        """Harden CDK's provider function where configuration reaches; acknowledge the rest."""
        provider = stack.node.try_find_child(
            "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        )
        function = provider.node.try_find_child("Resource") if provider else None
        if not isinstance(function, lambda_.CfnFunction):
            raise RuntimeError("AwsCustomResource's provider function was not found; revisit")
        function.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
        self.known_noncompliance = [
            KnownNoncompliance("LAMBDA_INSIDE_VPC", function.ref, "deploy-time provider"),
            KnownNoncompliance(
                "LAMBDA_DLQ_CHECK", function.ref, "synchronous deploy-time provider"
            ),
            *apply_reserved_concurrency(function, self._reserved_concurrency),
        ]
        synchronous = (
            "CloudFormation invokes custom-resource handlers synchronously and waits for the "
            "answer: a dead-letter queue only receives failed asynchronous invocations, and a "
            "failure here fails the deployment visibly."
        )
        outside_vpc = (
            "Runs only during deployment and handles no data. Inside the VPC it would need the "
            "S3 endpoint policy to admit CloudFormation's response bucket (another account's), "
            "widening the data perimeter for every workload."
        )
        assert provider is not None
        acknowledge(
            provider,
            [
                "HIPAA.Security::HIPAA.Security-LambdaDLQ",
                "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
                "Serverless::Serverless-LambdaDLQ",
            ],
            synchronous,
        )
        acknowledge(
            provider,
            [
                "HIPAA.Security::HIPAA.Security-LambdaInsideVPC",
                "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
                "PCI.DSS.321::PCI.DSS.321-LambdaInsideVPC",
            ],
            outside_vpc,
        )
        ignore_cfn_lint(
            function,
            "W3005",
            "CDK makes the function depend on its role subtree (role and policies) while its "
            "Role property also references the role: a redundant, harmless DependsOn.",
        )
        skip_checkov(function, "CKV_AWS_116", synchronous)
        skip_checkov(function, "CKV_AWS_117", outside_vpc)
