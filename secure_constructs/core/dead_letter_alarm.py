"""An alarm that tells the alerts topic as soon as a dead-letter queue holds a message."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def alarm_on_queue(
    scope: Construct, name: str, queue: sqs.IQueue, topic: sns.ITopic, prefix: str
) -> cloudwatch.Alarm:
    """An alarm to ``topic`` as soon as ``queue`` (a dead-letter queue) holds a message."""
    kebab = "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")
    alarm = cloudwatch.Alarm(
        scope,
        f"{name}DeadLettersAlarm",
        alarm_name=f"{prefix}-{kebab}-dead-letters",
        alarm_description=f"{name}: a message reached the dead-letter queue; inspect and redrive",
        metric=queue.metric_approximate_number_of_messages_visible(
            period=cdk.Duration.minutes(5), statistic="Maximum"
        ),
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
    return alarm
