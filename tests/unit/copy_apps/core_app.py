"""Copy app of the core group: a ``SecureFunction``, an ``SdkCallProvider`` call, a dead-letter alarm.

What the function needs from outside core is plain CDK: an imported VPC (two private subnets),
the imported security group of the VPC's interface endpoints, and two ``kms.Key`` (rotation on)
standing for the logs and queue keys; the alarm's topic is an ``sns.Topic`` of the app.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import custom_resources as cr
from harness import ENV, imported_endpoint_group, imported_vpc, main
from lifted_kit.core.dead_letter_alarm import alarm_on_queue
from lifted_kit.core.sdk_calls import SdkCallProvider
from lifted_kit.core.secure_function import SecureFunction
from lifted_kit.core.secure_queue import DeadLetterQueue

HERE = Path(__file__).resolve().parent
SETTING = "/ssm/parameter-store/high-throughput-enabled"


def handler_folder(name: str) -> Path:
    """``<name>/<name>.py`` with a handler that does nothing (the test synthesizes only)."""
    folder = HERE / name
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text("def handler(event, context):\n    return None\n")
    return folder


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Core", env=ENV)
    logs_key = kms.Key(stack, "LogsKey", enable_key_rotation=True)
    queue_key = kms.Key(stack, "QueueKey", enable_key_rotation=True)
    vpc = imported_vpc(stack)
    endpoints = imported_endpoint_group(stack)
    function = SecureFunction(
        stack,
        "Notifier",
        code_dir=handler_folder("notifier"),
        description="Reads one parameter and reports it",
        vpc=vpc,
        subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        endpoint_security_group=endpoints,
        s3_prefix_list_id="pl-63a5400a",
        logs_key=logs_key,
        queue_key=queue_key,
        environment={"PARAMETER": "/team/notifier/threshold"},
        statements=[
            iam.PolicyStatement(
                sid="ReadOwnParameter",
                actions=["ssm:GetParameter"],
                resources=["arn:aws:ssm:us-east-1:123456789012:parameter/team/notifier/threshold"],
            )
        ],
        reserved_concurrency=2,
        log_retention_days=90,
    )

    provider = SdkCallProvider(
        stack, "SdkCalls", logs_key=logs_key, queue_key=queue_key, log_retention_days=90
    )
    setting_arn = f"arn:aws:ssm:us-east-1:123456789012:servicesetting{SETTING}"
    update = cr.AwsSdkCall(
        service="SSM",
        action="updateServiceSetting",
        parameters={"SettingId": setting_arn, "SettingValue": "true"},
        physical_resource_id=cr.PhysicalResourceId.of("ssm-high-throughput"),
    )
    provider.call(
        "HighThroughputParameters",
        statements=[
            iam.PolicyStatement(
                sid="UpdateOneServiceSetting",
                actions=["ssm:UpdateServiceSetting"],
                resources=[setting_arn],
            )
        ],
        on_create=update,
        on_update=update,
    )

    topic = sns.Topic(stack, "Alerts", master_key=queue_key, enforce_ssl=True)
    for name, queue in (
        ("Notifier", function.dead_letter_queue.queue),
        ("SdkCalls", provider.dead_letter_queue.queue),
    ):
        alarm_on_queue(stack, name, queue, topic, "team-dev")
    # A dead-letter queue of its own for an EventBridge target (as PhiRedactionPipeline does).
    schedule_dead_letters = DeadLetterQueue(
        stack, "ScheduleDeadLetters", encryption_key=queue_key, owner="the nightly schedule's"
    )
    events.Rule(
        stack,
        "Nightly",
        schedule=events.Schedule.cron(minute="0", hour="2"),
        targets=[
            targets.LambdaFunction(
                function.function,
                dead_letter_queue=schedule_dead_letters.queue,
                retry_attempts=2,
                max_event_age=cdk.Duration.hours(2),
            )
        ],
    )


if __name__ == "__main__":
    main(build, HERE / "lifted_kit" / "core" / "README.md")
