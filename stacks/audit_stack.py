"""The account-level audit and threat-detection baseline of an environment.

Seed pages: Summary (1)/(2) (Macie, Config, Inspector, CloudTrail), Security and Privacy ("AI
based threat detection", vulnerability management), Monitoring, Data Logging ("log all data
access"), AWS for Bedrock (CloudTrail and Config with Bedrock).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_accessanalyzer as accessanalyzer
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_config as config
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_securityhub as securityhub
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import custom_resources as cr
from constructs import Construct

from platform_config import AuditConfig, EnvironmentConfig
from secure_constructs.audit_rules import INSPECTOR_RESOURCE_TYPES
from secure_constructs.audit_trail import AuditTrail
from secure_constructs.compliance import KnownNoncompliance, acknowledge
from secure_constructs.config_recorder import ConfigRecorder, ManagedRuleSet
from secure_constructs.dead_letter_alarm import alarm_on_queue
from secure_constructs.encryption_key import EncryptionKey
from secure_constructs.macie_discovery import MacieDiscovery
from secure_constructs.managed_policy_role import acknowledge_wildcard
from secure_constructs.managed_rule_table import baseline_rules
from secure_constructs.sdk_calls import SdkCallProvider
from secure_constructs.secure_bucket import SecureBucket
from secure_constructs.secure_function import SecureFunction, https_out_security_group
from secure_constructs.secure_queue import DeadLetterQueue
from stacks.base import PlatformStack

LAMBDA_DIR = Path(__file__).resolve().parent.parent / "lambda"

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

        self._add_alerts_topic(logs_key, env.alert_email)
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

        security_group = https_out_security_group(self, vpc, "Audit")
        isolation = SecureFunction(
            self,
            "SageMakerIsolationRule",
            code_dir=LAMBDA_DIR / "sagemaker_isolation_rule",
            handler="sagemaker_isolation_rule.handler",
            description=f"{prefix}: Config rule, SageMaker jobs isolated, in the VPC, encrypted",
            statements=[
                iam.PolicyStatement(
                    sid="ListJobs",
                    actions=["sagemaker:ListProcessingJobs", "sagemaker:ListTrainingJobs"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="DescribeJobs",
                    actions=["sagemaker:DescribeTrainingJob"],
                    resources=[f"arn:{partition}:sagemaker:{region}:{account}:training-job/*"],
                ),
                iam.PolicyStatement(
                    sid="DescribeProcessingJobs",
                    actions=["sagemaker:DescribeProcessingJob"],
                    resources=[f"arn:{partition}:sagemaker:{region}:{account}:processing-job/*"],
                ),
                iam.PolicyStatement(
                    sid="ReportEvaluations", actions=["config:PutEvaluations"], resources=["*"]
                ),
            ],
            vpc=vpc,
            subnets=vpc.private_subnets,
            security_group=security_group,
            log_key=key,
            queue_key=key,
            environment={"LOOKBACK_HOURS": "24", "EVALUATION_SCOPE": "account"},
            reserved_concurrency=env.reserved_concurrency.sagemaker_isolation_rule,
            log_retention_days=audit.cloudtrail_log_retention_days,
            timeout=cdk.Duration.minutes(5),
        )
        isolation.acknowledge_wildcards(
            {
                "Resource::*": (
                    "sagemaker:ListTrainingJobs, sagemaker:ListProcessingJobs and "
                    "config:PutEvaluations support no resource-level permissions."
                ),
                f"Resource::arn:{partition}:sagemaker:{region}:{account}:training-job/*": (
                    "The rule describes every training job created in its look-back window; "
                    "their names are chosen by whoever starts them. Describe only, this account "
                    "and region."
                ),
                f"Resource::arn:{partition}:sagemaker:{region}:{account}:processing-job/*": (
                    "The rule describes every processing job created in its look-back window; "
                    "their names are chosen by whoever starts them. Describe only, this account "
                    "and region."
                ),
            }
        )
        self.isolation_function = isolation
        # L1 rule: CDK's CustomRule adds a redundant dependency cfn-lint rightly flags (W3005).
        invoke = lambda_.CfnPermission(
            self,
            "SageMakerIsolationRuleInvoke",
            action="lambda:InvokeFunction",
            function_name=isolation.function.function_arn,
            principal="config.amazonaws.com",
            source_account=account,
        )
        self.isolation_rule = config.CfnConfigRule(
            self,
            "SageMakerIsolationConfigRule",
            config_rule_name=f"{prefix}-sagemaker-job-isolation",
            description=(
                "SageMaker training and processing jobs run with network isolation, in the "
                "platform's subnets, with inter-container encryption and KMS keys"
            ),
            source=config.CfnConfigRule.SourceProperty(
                owner="CUSTOM_LAMBDA",
                source_identifier=isolation.function.function_arn,
                source_details=[
                    config.CfnConfigRule.SourceDetailProperty(
                        event_source="aws.config",
                        message_type="ScheduledNotification",
                        maximum_execution_frequency="TwentyFour_Hours",
                    )
                ],
            ),
            input_parameters={
                "allowedSubnetIds": cdk.Fn.join(
                    ",", [s.subnet_id for s in (*vpc.private_subnets, *vpc.isolated_subnets)]
                )
            },
        )
        self.isolation_rule.node.add_dependency(invoke)
        for dependency in after_recorder:
            self.isolation_rule.node.add_dependency(dependency)
        self._alarm_on_queue("SageMakerIsolationRule", isolation.dead_letter_queue.queue)

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
            log_key=key,
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

    def _add_alerts_topic(self, logs_key: EncryptionKey, email: str) -> None:
        """The KMS-encrypted topic security alerts go to, with the alert email subscribed."""
        prefix, partition, region, account = self._prefix, self.partition, self.region, self.account
        topic_name = f"{prefix}-security-alerts"
        self.alerts_topic = sns.Topic(
            self,
            "AlertsTopic",
            topic_name=topic_name,
            display_name=f"{prefix} security alerts",
            master_key=logs_key.key,
            enforce_ssl=True,
        )
        alarm_arns = f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{prefix}-*"
        self.alerts_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisEnvironment",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.alerts_topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": alarm_arns},
                },
            )
        )
        logs_key.allow_service(
            "cloudwatch", source_arns=[alarm_arns], actions=["kms:Decrypt", "kms:GenerateDataKey*"]
        )
        # Messages SNS cannot deliver to the email endpoint are kept here, not dropped.
        self.undelivered_alerts = DeadLetterQueue(
            self,
            "UndeliveredAlerts",
            key=logs_key.key,
            owner="the alert e-mail subscription's (SNS redrive policy)",
        ).queue
        acknowledge(
            self.undelivered_alerts,
            "AwsSolutions::AwsSolutions-SQS3",
            "This queue is the dead-letter queue of the alert email subscription (SNS redrive "
            "policy), which cdk-nag does not recognise; a DLQ of its own would need another.",
        )
        topic_arn = f"arn:{partition}:sns:{region}:{account}:{topic_name}"
        logs_key.allow_service("sns", source_arns=[topic_arn])
        self.alerts_topic.add_subscription(
            subscriptions.EmailSubscription(email, dead_letter_queue=self.undelivered_alerts)
        )
        self._alarm_on_queue("UndeliveredAlerts", self.undelivered_alerts)

    def _alarm_on_queue(self, name: str, queue: sqs.IQueue) -> cloudwatch.Alarm:
        return alarm_on_queue(self, name, queue, self.alerts_topic, self._prefix)
