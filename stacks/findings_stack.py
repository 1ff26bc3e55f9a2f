"""Findings routing and the scheduled access review: stateless, redeployed freely.

Seed pages: Security and Privacy ("AI based threat detection"), Best Practices for Secure Data
Engineering (2) ("Regularly update & review access rights"), Monitoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from platform_config import AuditConfig, EnvironmentConfig
from secure_constructs.audit.config_recorder import managed_rule_name
from secure_constructs.core.cfn import cfn_of
from secure_constructs.core.compliance import KnownNoncompliance
from secure_constructs.core.dead_letter_alarm import alarm_on_queue
from secure_constructs.core.secure_function import SecureFunction, https_out_security_group
from secure_constructs.data.encryption_key import EncryptionKey
from stacks.base import LAMBDA_DIR, PlatformStack, handler_layer

# Products whose findings reach the router directly; their copies imported into Security Hub
# are not routed a second time.
ROUTED_DIRECTLY = ("GuardDuty", "Inspector", "Macie", "Config")


def finding_patterns(rule_name_prefix: str) -> dict[str, events.EventPattern]:
    """EventBridge patterns of the findings the router receives, by rule suffix."""
    return {
        "macie": events.EventPattern(source=["aws.macie"], detail_type=["Macie Finding"]),
        "inspector": events.EventPattern(
            source=["aws.inspector2"], detail_type=["Inspector2 Finding"]
        ),
        "guardduty": events.EventPattern(
            source=["aws.guardduty"], detail_type=["GuardDuty Finding"]
        ),
        "securityhub": events.EventPattern(
            source=["aws.securityhub"],
            detail_type=["Security Hub Findings - Imported"],
            detail={
                "findings": {
                    "ProductName": [{"anything-but": list(ROUTED_DIRECTLY)}],
                    "RecordState": ["ACTIVE"],
                    "Workflow": {"Status": ["NEW"]},
                }
            },
        ),
        "config": events.EventPattern(
            source=["aws.config"],
            detail_type=["Config Rules Compliance Change"],
            detail={"configRuleName": [{"prefix": rule_name_prefix}]},
        ),
    }


class FindingsStack(PlatformStack):
    """Findings routing to the alerts topic, and the scheduled IAM access review.

    * ``lambda/findings_router`` receives, through one EventBridge rule per source, Macie,
      Inspector, GuardDuty and Security Hub findings and the compliance changes of this
      environment's Config rules (names starting ``<project>-<env>-``). Security Hub copies of
      GuardDuty, Inspector, Macie and Config findings are filtered out (they arrive directly),
      as are archived or already-triaged Security Hub findings. It publishes findings at or
      above ``audit.findings_severity_threshold`` to the alerts topic. NON_COMPLIANT results the
      platform itself expects (``known_noncompliance``: CDK's deploy-time functions outside the
      VPC or without a DLQ, functions whose reservation config switched off) reach the router
      as ``ACKNOWLEDGED_NONCOMPLIANCE`` (rule name -> resource IDs and reasons) and are logged,
      not e-mailed; every other result is routed.
    * ``lambda/access_review`` runs on ``audit.access_review.schedule`` and publishes its report
      to the same topic.
    * Each function is a ``SecureFunction`` (VPC, KMS-encrypted logs and DLQ, X-Ray, reserved
      concurrency, least-privilege role); EventBridge retries delivery for up to 24 hours, then
      puts the event in the function's DLQ; an alarm on each DLQ notifies the topic.

    Stateless: no data lives here except the DLQs and log groups (retained). Attributes:
    ``router``, ``access_review``, ``rules`` (suffix -> rule).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        environment: EnvironmentConfig,
        description: str,
        logs_key: EncryptionKey,
        vpc: ec2.IVpc,
        alerts_topic: sns.ITopic,
        known_noncompliance: Sequence[KnownNoncompliance] = (),
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            project=project,
            environment=environment,
            name_suffix="findings",
            description=description,
        )
        env = environment
        audit: AuditConfig = env.audit
        prefix = f"{project}-{env.name}"
        key = logs_key.key
        region = self.region

        security_group = https_out_security_group(self, vpc, "Findings")
        publish = [
            iam.PolicyStatement(
                sid="PublishToAlertsTopic",
                actions=["sns:Publish"],
                resources=[alerts_topic.topic_arn],
            ),
            iam.PolicyStatement(
                sid="EncryptForAlertsTopic",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"}},
            ),
        ]
        common: dict[str, Any] = {
            "vpc": vpc,
            "subnets": ec2.SubnetSelection(subnets=vpc.private_subnets),
            "security_group": security_group,
            "logs_key": key,
            "layers": [handler_layer(self)],
            "queue_key": key,
            "log_retention_days": audit.cloudtrail_log_retention_days,
        }

        # A literal name: the router's own expected Config results name it in its environment.
        router_name = f"{prefix}-findings-router"
        self.router = SecureFunction(
            self,
            "FindingsRouter",
            function_name=router_name,
            code_dir=LAMBDA_DIR / "findings_router",
            description=f"{prefix}: route security findings at or above a severity to SNS",
            statements=publish,
            environment={
                "TOPIC_ARN": alerts_topic.topic_arn,
                "SEVERITY_THRESHOLD": audit.findings_severity_threshold,
                "NONCOMPLIANT_SEVERITY": "MEDIUM",
            },
            reserved_concurrency=env.reserved_concurrency.findings_router,
            timeout=cdk.Duration.seconds(30),
            **common,
        )
        self.rules: dict[str, events.Rule] = {}
        for suffix, pattern in finding_patterns(f"{prefix}-").items():
            rule = events.Rule(
                self,
                f"{suffix.capitalize()}FindingsRule",
                rule_name=f"{prefix}-findings-{suffix}",
                description=f"{suffix} findings to the findings router",
                event_pattern=pattern,
            )
            rule.add_target(self._target(self.router))
            self.rules[suffix] = rule

        review = audit.access_review
        self.access_review = SecureFunction(
            self,
            "AccessReview",
            code_dir=LAMBDA_DIR / "access_review",
            description=f"{prefix}: scheduled IAM access review, report to SNS",
            statements=[
                iam.PolicyStatement(
                    sid="ListPrincipals",
                    actions=["iam:ListRoles", "iam:ListUsers"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="ReadRoleLastUse",
                    actions=["iam:GetRole"],
                    resources=[f"arn:{self.partition}:iam::{self.account}:role/*"],
                ),
                iam.PolicyStatement(
                    sid="ReadUserCredentials",
                    actions=[
                        "iam:GetAccessKeyLastUsed",
                        "iam:GetLoginProfile",
                        "iam:ListAccessKeys",
                    ],
                    resources=[f"arn:{self.partition}:iam::{self.account}:user/*"],
                ),
                *publish,
            ],
            environment={
                "TOPIC_ARN": alerts_topic.topic_arn,
                "MAX_UNUSED_DAYS": str(review.max_unused_days),
                "MAX_KEY_AGE_DAYS": str(review.max_key_age_days),
            },
            timeout=cdk.Duration.minutes(5),
            reserved_concurrency=env.reserved_concurrency.access_review,
            **common,
        )
        self.access_review.acknowledge_wildcards(
            {
                "Resource::*": "iam:ListRoles and iam:ListUsers support no resource-level "
                "permissions; the review must see every role and user.",
                f"Resource::arn:{self.partition}:iam::{self.account}:role/*": (
                    "The review reads the last use of every role in the account (read only)."
                ),
                f"Resource::arn:{self.partition}:iam::{self.account}:user/*": (
                    "The review reads the credentials' last use and age of every user in the "
                    "account (read only; no secret is readable through these actions)."
                ),
            }
        )
        schedule = events.Rule(
            self,
            "AccessReviewSchedule",
            rule_name=f"{prefix}-access-review",
            description="Scheduled IAM access review",
            schedule=events.Schedule.expression(review.schedule),
        )
        schedule.add_target(self._target(self.access_review))
        self.rules["access-review"] = schedule

        logs_key.allow_service(
            "events",
            source_arns=[f"arn:{self.partition}:events:{region}:{self.account}:rule/{prefix}-*"],
        )
        for name, function in (
            ("FindingsRouter", self.router),
            ("AccessReview", self.access_review),
        ):
            alarm_on_queue(self, name, function.dead_letter_queue.queue, alerts_topic, prefix)

        acknowledged: dict[str, list[dict[str, str]]] = {}
        for known in (
            *known_noncompliance,
            *self.router.known_noncompliance,
            *self.access_review.known_noncompliance,
        ):
            own = known.resource_id == cfn_of(self.router.function).ref
            acknowledged.setdefault(managed_rule_name(prefix, known.managed_rule), []).append(
                {"resource_id": router_name if own else known.resource_id, "reason": known.reason}
            )
        self.router.function.add_environment(
            "ACKNOWLEDGED_NONCOMPLIANCE", self.to_json_string(acknowledged)
        )

    @staticmethod
    def _target(function: SecureFunction) -> targets.LambdaFunction:
        return targets.LambdaFunction(
            function.function,
            dead_letter_queue=function.dead_letter_queue.queue,
            retry_attempts=185,
            max_event_age=cdk.Duration.hours(24),
        )
