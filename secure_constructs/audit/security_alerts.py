"""The encrypted topic security alerts go to, with the alert e-mail and a dead-letter alarm.

A function that adds to the scope it is given rather than a construct of its own, so the topic,
queue and alarm keep the logical IDs they have always had: the topic and the alarms have fixed
names, and a resource with a fixed name cannot be replaced by CloudFormation (the new one would
collide with the old, or take it over and then be deleted with it).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..core.compliance import acknowledge
from ..core.dead_letter_alarm import alarm_on_queue
from ..core.secure_queue import DeadLetterQueue


@dataclass(frozen=True)
class KeyUse:
    """A service that must be allowed to use the topic's key, for these source ARNs."""

    service: str
    source_arns: tuple[str, ...]
    actions: tuple[str, ...]


@dataclass(frozen=True)
class SecurityAlerts:
    """What ``add_security_alerts`` created, and the key policy statements it needs."""

    topic: sns.Topic
    undelivered: sqs.IQueue
    key_uses: tuple[KeyUse, ...]

    def alarm_on_queue(self, scope: Construct, name: str, queue: sqs.IQueue, prefix: str) -> None:
        """An alarm on ``queue`` (a dead-letter queue) to this topic (``<prefix>-...`` name)."""
        alarm_on_queue(scope, name, queue, self.topic, prefix)


def add_security_alerts(
    scope: Construct,
    *,
    prefix: str,
    encryption_key: kms.IKey,
    email: str,
    partition: str,
    region: str,
    account: str,
) -> SecurityAlerts:
    """Add ``AlertsTopic`` (``<prefix>-security-alerts``) and its e-mail subscription to ``scope``.

    Guarantees: the topic is encrypted with ``encryption_key`` and refuses requests without TLS;
    CloudWatch may publish only for alarms of this account named ``<prefix>-*``; ``email`` is
    subscribed with a redrive policy to ``UndeliveredAlerts`` (a ``DeadLetterQueue`` encrypted with
    ``encryption_key``), whose own alarm notifies the topic. The caller must add ``key_uses`` to the
    key's policy (CloudWatch for the alarms, SNS for the topic). Acknowledges AwsSolutions-SQS3 on
    the undelivered-alerts queue (it is itself a dead-letter queue, of the subscription).
    """
    topic_name = f"{prefix}-security-alerts"
    topic = sns.Topic(
        scope,
        "AlertsTopic",
        topic_name=topic_name,
        display_name=f"{prefix} security alerts",
        master_key=encryption_key,
        enforce_ssl=True,
    )
    alarm_arns = f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{prefix}-*"
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudWatchAlarmsOfThisEnvironment",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": alarm_arns},
            },
        )
    )
    # Messages SNS cannot deliver to the email endpoint are kept here, not dropped.
    undelivered = DeadLetterQueue(
        scope,
        "UndeliveredAlerts",
        encryption_key=encryption_key,
        owner="the alert e-mail subscription's (SNS redrive policy)",
    ).queue
    acknowledge(
        undelivered,
        "AwsSolutions::AwsSolutions-SQS3",
        "This queue is the dead-letter queue of the alert email subscription (SNS redrive "
        "policy), which cdk-nag does not recognise; a DLQ of its own would need another.",
    )
    topic.add_subscription(subscriptions.EmailSubscription(email, dead_letter_queue=undelivered))
    alerts = SecurityAlerts(
        topic=topic,
        undelivered=undelivered,
        key_uses=(
            KeyUse("cloudwatch", (alarm_arns,), ("kms:Decrypt", "kms:GenerateDataKey*")),
            KeyUse(
                "sns",
                (f"arn:{partition}:sns:{region}:{account}:{topic_name}",),
                ("kms:Decrypt", "kms:GenerateDataKey"),
            ),
        ),
    )
    alerts.alarm_on_queue(scope, "UndeliveredAlerts", undelivered, prefix)
    return alerts
