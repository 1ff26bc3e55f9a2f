"""A multi-region CloudTrail trail: validated, KMS-encrypted, to S3 and CloudWatch Logs."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..core.cfn import cfn_of
from ..core.compliance import nag_partition
from ..core.log_groups import encrypted_log_group
from ..core.managed_policy_role import acknowledge_wildcard
from ..core.sizing import LOG_RETENTION_DAYS

# Amazon Bedrock resource types CloudTrail logs data events for (resources.type values in the
# CloudTrail "Logging data events" table). Bedrock model invocations (InvokeModel, Converse)
# are management events and are logged by the management selector.
BEDROCK_DATA_EVENT_TYPES: tuple[str, ...] = (
    "AWS::Bedrock::AgentAlias",
    "AWS::Bedrock::FlowAlias",
    "AWS::Bedrock::Guardrail",
    "AWS::Bedrock::KnowledgeBase",
    "AWS::Bedrock::PromptVersion",
)


def trail_arn(stack: cdk.Stack, trail_name: str) -> str:
    """The ARN a trail named ``trail_name`` will have in ``stack``'s account and region."""
    return f"arn:{stack.partition}:cloudtrail:{stack.region}:{stack.account}:trail/{trail_name}"


def _selector(
    name: str,
    equals: dict[str, list[str]],
    starts_with: dict[str, list[str]] | None = None,
) -> cloudtrail.CfnTrail.AdvancedEventSelectorProperty:
    """An advanced event selector: each field Equals / StartsWith the values given."""
    Field = cloudtrail.CfnTrail.AdvancedFieldSelectorProperty
    fields = [Field(field=field, equal_to=values) for field, values in equals.items()]
    fields += [Field(field=f, starts_with=values) for f, values in (starts_with or {}).items()]
    return cloudtrail.CfnTrail.AdvancedEventSelectorProperty(name=name, field_selectors=fields)


class AuditTrail(Construct):
    """A CloudTrail trail an auditor can rely on.

    Guarantees:
      * multi-region, global service events included, log file integrity validation on,
        logging on; ``organization_id`` makes it an organization trail (deploy it from the
        management account or the CloudTrail delegated administrator);
      * log files encrypted with ``encryption_key`` (SSE-KMS) in ``bucket``; this construct adds
        to the bucket's policy the two statements CloudTrail needs (``GetBucketAcl`` and
        ``PutObject`` under ``AWSLogs/<account or organization>/``, each bound to this trail by
        ``aws:SourceArn``). The caller must let CloudTrail use the key for this trail
        (``EncryptionKey.allow_cloudtrail(trail_arn=...)``);
      * ``bucket_in_other_account``: the bucket's policy is written in its own account (the
        organization trail's bucket in the log-archive account); nothing is added to it here;
      * a copy in a CloudWatch Logs group encrypted with ``logs_key`` (default
        ``encryption_key``; pass a key of this account when ``encryption_key`` is another
        account's), kept
        ``log_retention_days`` (default 365) and retained, written by a role that trusts
        CloudTrail only for this trail and may only write this trail's streams;
      * ``removal_policy`` (default RETAIN) on the trail, that role and its policy: deleting the
        stack leaves the trail logging unless the caller asks otherwise;
      * advanced event selectors: all management events; S3 object data events (reads and
        writes) in ``data_bucket_names``; S3 object reads in ``read_audited_bucket_names``
        (e.g. the audit buckets themselves: reads only, so CloudTrail's own deliveries do not
        log themselves); Lambda invocations when ``lambda_data_events`` (default on); and, for
        each of ``bedrock_data_event_types`` (default ``BEDROCK_DATA_EVENT_TYPES``), Bedrock
        data events. Data events are billed per event.

    ``trail_name`` is required and literal so other stacks (key policy, bucket policy) can name
    the trail before it exists. Attributes: ``trail``, ``trail_arn``, ``log_group``, ``role``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trail_name: str,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        data_bucket_names: Sequence[str],
        read_audited_bucket_names: Sequence[str] = (),
        log_retention_days: int = 365,
        lambda_data_events: bool = True,
        bedrock_data_event_types: Sequence[str] = BEDROCK_DATA_EVENT_TYPES,
        organization_id: str | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        logs_key: kms.IKey | None = None,
        bucket_in_other_account: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"AuditTrail log_retention_days={log_retention_days}: allowed {LOG_RETENTION_DAYS}"
            )
        if not 3 <= len(trail_name) <= 128 or cdk.Token.is_unresolved(trail_name):
            raise ValueError(f"AuditTrail trail_name {trail_name!r}: a literal of 3-128 characters")
        stack = cdk.Stack.of(self)
        self.trail_arn = trail_arn(stack, trail_name)
        partition, account, region = stack.partition, stack.account, stack.region
        owners = [account, *([organization_id] if organization_id else [])]

        if not bucket_in_other_account:
            self._allow_delivery(bucket, owners)

        self.log_group = encrypted_log_group(
            self,
            "LogGroup",
            encryption_key=logs_key or encryption_key,
            retention_days=log_retention_days,
        )
        streams = [
            f"arn:{partition}:logs:{region}:{account}:log-group:"
            f"{self.log_group.log_group_name}:log-stream:{owner}_CloudTrail_{region}*"
            for owner in owners
        ]
        self.role = iam.Role(
            self,
            "LogsRole",
            description=f"CloudTrail trail {trail_name}: delivery to its CloudWatch Logs group",
            assumed_by=iam.ServicePrincipal(
                "cloudtrail.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": account, "aws:SourceArn": self.trail_arn}
                },
            ),
        )
        delivery = iam.ManagedPolicy(
            self,
            "LogsDeliveryPolicy",
            description=f"CloudTrail trail {trail_name}: write its own log streams only",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="WriteTrailLogStreams",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=streams,
                )
            ],
        )
        cfn_log_group = self.log_group.node.default_child
        assert isinstance(cfn_log_group, logs.CfnLogGroup)
        log_group_id = stack.resolve(stack.get_logical_id(cfn_log_group))
        for owner in owners:
            acknowledge_wildcard(
                delivery,
                f"Resource::arn:{nag_partition(stack)}:logs:{region}:"
                f"{account}:log-group:<{log_group_id}>:log-stream:{owner}_CloudTrail_{region}*",
                "CloudTrail names its log streams <account-or-organization>_CloudTrail_<region>_"
                "<suffix> at delivery time; the wildcard covers only this trail's streams in this "
                "one log group.",
            )

        def data(resource_type: str) -> dict[str, list[str]]:
            return {"eventCategory": ["Data"], "resources.type": [resource_type]}

        def objects_in(names: Sequence[str]) -> dict[str, list[str]]:
            return {"resources.ARN": [f"arn:{partition}:s3:::{name}/" for name in names]}

        selectors = [_selector("All management events", {"eventCategory": ["Management"]})]
        if data_bucket_names:
            selectors.append(
                _selector(
                    "S3 object reads and writes in the data buckets",
                    data("AWS::S3::Object"),
                    objects_in(data_bucket_names),
                )
            )
        if read_audited_bucket_names:
            selectors.append(
                _selector(
                    "S3 object reads in the audit buckets",
                    {**data("AWS::S3::Object"), "readOnly": ["true"]},
                    objects_in(read_audited_bucket_names),
                )
            )
        if lambda_data_events:
            selectors.append(_selector("Lambda invocations", data("AWS::Lambda::Function")))
        for resource_type in bedrock_data_event_types:
            name = resource_type.rsplit("::", 1)[1]
            selectors.append(_selector(f"Bedrock {name} data events", data(resource_type)))

        self.trail = cloudtrail.CfnTrail(
            self,
            "Trail",
            trail_name=trail_name,
            is_logging=True,
            s3_bucket_name=bucket.bucket_name,
            kms_key_id=encryption_key.key_arn,
            enable_log_file_validation=True,
            include_global_service_events=True,
            is_multi_region_trail=True,
            is_organization_trail=organization_id is not None,
            cloud_watch_logs_log_group_arn=self.log_group.log_group_arn,
            cloud_watch_logs_role_arn=self.role.role_arn,
            advanced_event_selectors=selectors,
        )
        # Depend on the policy resource itself: its construct also stands for the role.
        self.trail.node.add_dependency(cfn_of(delivery))
        # A retained trail keeps delivering to CloudWatch Logs: its role and policy stay too.
        for resource in (self.trail, self.role, delivery):
            resource.apply_removal_policy(removal_policy)

    def _allow_delivery(self, bucket: s3.IBucket, owners: list[str]) -> None:
        source = {"StringEquals": {"aws:SourceArn": self.trail_arn}}
        principal = iam.ServicePrincipal("cloudtrail.amazonaws.com")
        added = [
            bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="CloudTrailAclCheck",
                    principals=[principal],
                    actions=["s3:GetBucketAcl"],
                    resources=[bucket.bucket_arn],
                    conditions=source,
                )
            ).statement_added,
            bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="CloudTrailWrite",
                    principals=[principal],
                    actions=["s3:PutObject"],
                    resources=[bucket.arn_for_objects(f"AWSLogs/{owner}/*") for owner in owners],
                    conditions={
                        "StringEquals": {
                            **source["StringEquals"],
                            "s3:x-amz-acl": "bucket-owner-full-control",
                        }
                    },
                )
            ).statement_added,
        ]
        if not all(added):
            raise ValueError(
                "AuditTrail: the bucket's policy could not be extended (an imported bucket?); "
                "pass the s3.Bucket itself, or grant CloudTrail delivery in its own stack"
            )
