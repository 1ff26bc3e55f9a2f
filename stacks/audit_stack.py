"""The account-level audit and threat-detection baseline of an environment.

Seed pages: Summary (1)/(2) (Macie, Config, Inspector, CloudTrail), Security and Privacy ("AI
based threat detection", vulnerability management), Monitoring, Data Logging ("log all data
access"), AWS for Bedrock (CloudTrail and Config with Bedrock).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_accessanalyzer as accessanalyzer
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_securityhub as securityhub
from aws_cdk import aws_sqs as sqs
from aws_cdk import custom_resources as cr
from constructs import Construct

from platform_config import AuditConfig, EnvironmentConfig
from secure_constructs.audit.audit_rules import INSPECTOR_RESOURCE_TYPES
from secure_constructs.audit.audit_trail import AuditTrail
from secure_constructs.audit.config_recorder import ConfigRecorder, ManagedRuleSet
from secure_constructs.audit.macie_discovery import MacieDiscovery
from secure_constructs.audit.managed_rule_table import baseline_rules
from secure_constructs.audit.sagemaker_isolation import add_sagemaker_isolation_rule
from secure_constructs.audit.security_alerts import add_security_alerts
from secure_constructs.core.compliance import KnownNoncompliance
from secure_constructs.core.dead_letter_alarm import alarm_on_queue
from secure_constructs.core.managed_policy_role import acknowledge_wildcard
from secure_constructs.core.sdk_calls import SdkCallProvider
from secure_constructs.data.encryption_key import EncryptionKey
from secure_constructs.data.secure_bucket import SecureBucket
from stacks.base import LAMBDA_DIR, PlatformStack, handler_layer

GUARDDUTY_FEATURES = ("S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION")


class AuditStack(PlatformStack):
    """Account-level audit services of one environment (one per account and region).

    Holds the services that record and detect, and whose lifecycle is the account's rather than
    a workload's: the CloudTrail trail, the AWS Config recorder and rules (managed rules plus
    the custom SageMaker-isolation rule), GuardDuty, Security Hub and its standards, Macie with
    its discovery job, Inspector, IAM Access Analyzer, and the encrypted SNS topic that security
    alerts go to. Which of the one-per-account services this stack owns is configured
    (``audit.account_services``); ``audit.disable_on_delete`` decides whether deleting the
    stack turns them off (otherwise they are retained).

    It adds, in the keys and data stacks, the statements CloudTrail, SNS and CloudWatch need on
    the logs key, Macie needs on the data key, and CloudTrail needs on the audit bucket: all
    built from literal names, so those stacks never depend on this one.

    Attributes: ``alerts_topic``, ``trail``, ``recorder`` (or None), ``rules``,
    ``isolation_rule``, ``provider``, ``macie``, ``known_noncompliance``.
    """

    @property
    def known_noncompliance(self) -> list[KnownNoncompliance]:
        """Config results its functions are expected to get (for the findings router)."""
        return [*self.isolation_function.known_noncompliance, *self.provider.known_noncompliance]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        environment: EnvironmentConfig,
        description: str,
        logs_key: EncryptionKey,
        data_key: EncryptionKey,
        vpc: ec2.IVpc,
        audit_bucket: SecureBucket,
        config_bucket: SecureBucket,
        data_buckets: list[SecureBucket],
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            project=project,
            environment=environment,
            name_suffix="audit",
            description=description,
        )
        env = environment
        audit: AuditConfig = env.audit
        prefix = f"{project}-{env.name}"
        self._prefix = prefix
        removal = cdk.RemovalPolicy.DESTROY if audit.disable_on_delete else cdk.RemovalPolicy.RETAIN
        partition, region, account = self.partition, self.region, self.account
        key = logs_key.key

        alerts = add_security_alerts(
            self,
            prefix=prefix,
            encryption_key=key,
            email=env.alert_email,
            partition=partition,
            region=region,
            account=account,
        )
        for use in alerts.key_uses:
            logs_key.allow_service(
                use.service, source_arns=list(use.source_arns), actions=list(use.actions)
            )
        self.alerts_topic = alerts.topic
        self.undelivered_alerts = alerts.undelivered
        config_history = self._import_by_name(config_bucket, "ConfigHistoryBucket")

        # --- CloudTrail -------------------------------------------------------------------
        self.trail = AuditTrail(
            self,
            "Trail",
            trail_name=f"{prefix}-trail",
            bucket=audit_bucket.bucket,
            encryption_key=key,
            data_bucket_names=[b.bucket.bucket_name for b in data_buckets],
            read_audited_bucket_names=[audit_bucket.bucket.bucket_name, config_history.bucket_name],
            log_retention_days=audit.cloudtrail_log_retention_days,
            organization_id=audit.organization_id if audit.organization_trail else None,
            removal_policy=removal,
        )
        logs_key.allow_cloudtrail(trail_arn=self.trail.trail_arn)

        # --- AWS Config ----------------------------------------------------------------------
        records_global = audit.config_global_resources_region == region
        self.recorder: ConfigRecorder | None = None
        if audit.manages("config_recorder"):
            self.recorder = ConfigRecorder(
                self,
                "ConfigRecorder",
                bucket=config_history,
                encryption_key=key,
                include_global_resources=records_global,
                recording_frequency=audit.config_recording_frequency,
                removal_policy=removal,
            )
        after_recorder = [self.recorder.delivery_channel] if self.recorder else []
        self.rules = ManagedRuleSet(
            self,
            "ConfigRules",
            name_prefix=prefix,
            rules=baseline_rules(
                max_key_age_days=audit.access_review.max_key_age_days,
                max_unused_days=audit.access_review.max_unused_days,
            ),
            include_account_level=records_global,
            depends_on=after_recorder,
        )

        isolation = add_sagemaker_isolation_rule(
            self,
            code_dir=LAMBDA_DIR / "sagemaker_isolation_rule",
            prefix=prefix,
            vpc=vpc,
            allowed_subnets=[*vpc.private_subnets, *vpc.isolated_subnets],
            encryption_key=key,
            log_retention_days=audit.cloudtrail_log_retention_days,
            reserved_concurrency=env.reserved_concurrency.sagemaker_isolation_rule,
            layers=[handler_layer(self)],
            depends_on=after_recorder,
        )
        self.isolation_function = isolation.function
        self.isolation_rule = isolation.rule
        self._alarm_on_queue("SageMakerIsolationRule", isolation.function.dead_letter_queue.queue)

        # --- GuardDuty, Security Hub, Access Analyzer -----------------------------------------
        if audit.manages("guardduty"):
            detector = guardduty.CfnDetector(
                self,
                "GuardDutyDetector",
                enable=True,
                finding_publishing_frequency="FIFTEEN_MINUTES",
                features=[
                    guardduty.CfnDetector.CFNFeatureConfigurationProperty(
                        name=name, status="ENABLED"
                    )
                    for name in GUARDDUTY_FEATURES
                ],
            )
            detector.apply_removal_policy(removal)
        if audit.manages("securityhub"):
            hub = securityhub.CfnHub(
                self,
                "SecurityHub",
                enable_default_standards=False,
                auto_enable_controls=True,
                control_finding_generator="SECURITY_CONTROL",
            )
            hub.apply_removal_policy(removal)
            for standard in audit.securityhub_standards:
                resource = securityhub.CfnStandard(
                    self,
                    "Standard" + "".join(c for c in standard.title() if c.isalnum()),
                    standards_arn=f"arn:{partition}:securityhub:{region}::standards/{standard}",
                )
                resource.node.add_dependency(hub)
                resource.apply_removal_policy(removal)
                for dependency in after_recorder:
                    resource.node.add_dependency(dependency)
        if audit.manages("access_analyzer"):
            analyzer = accessanalyzer.CfnAnalyzer(
                self, "AccessAnalyzer", type="ACCOUNT", analyzer_name=f"{prefix}-account"
            )
            analyzer.apply_removal_policy(removal)

        # --- Deploy-time API calls: Macie discovery job, Inspector ------------------------------
        self.provider = SdkCallProvider(
            self,
            "SdkCalls",
            logs_key=key,
            queue_key=key,
            log_retention_days=audit.cloudtrail_log_retention_days,
            reserved_concurrency=env.reserved_concurrency.audit_deploy_calls,
        )
        self._alarm_on_queue("SdkCalls", self.provider.dead_letter_queue.queue)

        macie_role = (
            f"arn:{partition}:iam::{account}:role/aws-service-role/macie.amazonaws.com/"
            "AWSServiceRoleForAmazonMacie"
        )
        data_key.allow_service_linked_role_via_services(
            macie_role, ["s3"], ["kms:Decrypt", "kms:DescribeKey"]
        )
        self.macie = MacieDiscovery(
            self,
            "Macie",
            provider=self.provider,
            job_name=f"{prefix}-sensitive-data-discovery",
            bucket_names=[b.bucket.bucket_name for b in data_buckets],
            custom_data_identifiers=audit.macie.custom_data_identifiers,
            schedule=audit.macie.discovery_schedule,
            sampling_percentage=audit.macie.sampling_percentage,
            enable_session=audit.manages("macie"),
            finding_publishing_frequency=audit.macie.finding_publishing_frequency,
            removal_policy=removal,
        )

        if audit.manages("inspector"):
            self._enable_inspector(disable_on_delete=audit.disable_on_delete)

    def _import_by_name(self, bucket: SecureBucket, name: str) -> s3.IBucket:
        """``bucket`` through exports named ``<its stack>:<name>Arn`` / ``Name``.

        Named exports (rather than CDK's generated ones) keep the references strong and give
        the IAM policies that name the bucket a predictable form for their acknowledgements.
        """
        owner = cdk.Stack.of(bucket)
        return s3.Bucket.from_bucket_attributes(
            self,
            name,
            bucket_arn=owner.export_value(
                bucket.bucket.bucket_arn, name=f"{owner.stack_name}:{name}Arn"
            ),
            bucket_name=owner.export_value(
                bucket.bucket.bucket_name, name=f"{owner.stack_name}:{name}Name"
            ),
        )

    def _enable_inspector(self, *, disable_on_delete: bool) -> None:
        partition, account = self.partition, self.account
        scan = {"resourceTypes": list(INSPECTOR_RESOURCE_TYPES), "accountIds": [account]}
        enable = cr.AwsSdkCall(
            service="Inspector2",
            action="enable",
            parameters=scan,
            physical_resource_id=cr.PhysicalResourceId.of(f"inspector2-{account}-{self.region}"),
        )
        actions = ["inspector2:Enable", *(["inspector2:Disable"] if disable_on_delete else [])]
        self.inspector = self.provider.call(
            "Inspector",
            resource_type="Custom::InspectorActivation",
            statements=[
                iam.PolicyStatement(sid="InspectorActivation", actions=actions, resources=["*"]),
                iam.PolicyStatement(
                    sid="InspectorServiceLinkedRole",
                    actions=["iam:CreateServiceLinkedRole"],
                    resources=[
                        f"arn:{partition}:iam::{account}:role/aws-service-role/"
                        "inspector2.amazonaws.com/AWSServiceRoleForAmazonInspector2"
                    ],
                    conditions={"StringEquals": {"iam:AWSServiceName": "inspector2.amazonaws.com"}},
                ),
            ],
            on_create=enable,
            on_update=enable,
            on_delete=cr.AwsSdkCall(service="Inspector2", action="disable", parameters=scan)
            if disable_on_delete
            else None,
        )
        assert self.provider.calls_policy is not None
        acknowledge_wildcard(
            self.provider.calls_policy,
            "Resource::*",
            "inspector2:Enable and inspector2:Disable act on the calling account and support no "
            "resource-level permissions.",
        )

    def _alarm_on_queue(self, name: str, queue: sqs.IQueue) -> cloudwatch.Alarm:
        return alarm_on_queue(self, name, queue, self.alerts_topic, self._prefix)
