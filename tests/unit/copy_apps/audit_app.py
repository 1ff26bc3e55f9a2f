"""Copy app of the audit group: trail, Config recorder and rules, Macie, alerts, isolation rule.

Built as the platform's audit stack builds them. What the group needs from outside itself is
plain CDK: an imported VPC (private subnets) for the isolation rule's function, imported buckets
(the trail's with an ``s3.BucketPolicy`` of this stack, since ``AuditTrail`` adds CloudTrail's
delivery statements to it), and one ``kms.Key`` (rotation on) for logs, trail and alerts. The
deploy-time calls go through core's ``SdkCallProvider``.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from harness import ENV, imported_vpc, main
from lifted_kit.audit.audit_rules import CustomDataIdentifier
from lifted_kit.audit.audit_trail import AuditTrail
from lifted_kit.audit.config_recorder import ConfigRecorder, ManagedRuleSet
from lifted_kit.audit.macie_discovery import MacieDiscovery
from lifted_kit.audit.managed_rule_table import baseline_rules
from lifted_kit.audit.sagemaker_isolation import add_sagemaker_isolation_rule
from lifted_kit.audit.security_alerts import add_security_alerts
from lifted_kit.core.sdk_calls import SdkCallProvider

HERE = Path(__file__).resolve().parent
PREFIX = "team-dev"
DATA_BUCKETS = ["team-dev-raw", "team-dev-curated"]


def handler_folder(name: str) -> Path:
    """``<name>/<name>.py`` with a handler that does nothing (the test synthesizes only)."""
    folder = HERE / name
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text("def handler(event, context):\n    return None\n")
    return folder


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Audit", env=ENV)
    key = kms.Key(stack, "LogsKey", enable_key_rotation=True)
    alerts = add_security_alerts(
        stack,
        prefix=PREFIX,
        encryption_key=key,
        email="security-alerts@example.com",
        partition=stack.partition,
        region=stack.region,
        account=stack.account,
    )

    trail_bucket = s3.Bucket.from_bucket_name(stack, "TrailBucket", "team-dev-audit")
    # The bucket belongs to another team's stack; its policy is managed here, TLS only.
    trail_bucket.policy = s3.BucketPolicy(stack, "TrailBucketPolicy", bucket=trail_bucket)
    trail_bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyWithoutTls",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["s3:*"],
            resources=[trail_bucket.bucket_arn, trail_bucket.arn_for_objects("*")],
            conditions={"Bool": {"aws:SecureTransport": "false"}},
        )
    )
    trail = AuditTrail(
        stack,
        "Trail",
        trail_name=f"{PREFIX}-trail",
        bucket=trail_bucket,
        encryption_key=key,
        data_bucket_names=DATA_BUCKETS,
        read_audited_bucket_names=["team-dev-audit", "team-dev-config-history"],
        log_retention_days=365,
    )
    assert trail.trail_arn

    recorder = ConfigRecorder(
        stack,
        "ConfigRecorder",
        bucket=s3.Bucket.from_bucket_name(stack, "ConfigBucket", "team-dev-config-history"),
        encryption_key=key,
        include_global_resources=True,
        recording_frequency="DAILY",
    )
    after_recorder = [recorder.delivery_channel]
    ManagedRuleSet(
        stack,
        "ConfigRules",
        name_prefix=PREFIX,
        rules=baseline_rules(max_key_age_days=90, max_unused_days=90),
        include_account_level=True,
        depends_on=after_recorder,
    )

    vpc = imported_vpc(stack)
    isolation = add_sagemaker_isolation_rule(
        stack,
        code_dir=handler_folder("sagemaker_isolation_rule"),
        prefix=PREFIX,
        vpc=vpc,
        allowed_subnets=vpc.private_subnets,
        encryption_key=key,
        log_retention_days=365,
        reserved_concurrency=1,
        depends_on=after_recorder,
    )
    alerts.alarm_on_queue(
        stack, "SageMakerIsolationRule", isolation.function.dead_letter_queue.queue, PREFIX
    )

    provider = SdkCallProvider(
        stack, "SdkCalls", logs_key=key, queue_key=key, log_retention_days=365
    )
    alerts.alarm_on_queue(stack, "SdkCalls", provider.dead_letter_queue.queue, PREFIX)
    MacieDiscovery(
        stack,
        "Macie",
        provider=provider,
        job_name=f"{PREFIX}-sensitive-data-discovery",
        bucket_names=DATA_BUCKETS,
        custom_data_identifiers=[
            CustomDataIdentifier(
                name="medical-record-number",
                regex=r"\b[0-9]{7,10}\b",
                keywords=("MRN", "medical record number"),
                maximum_match_distance=30,
                description="Hospital medical record number near an MRN keyword",
            )
        ],
        schedule="WEEKLY",
        sampling_percentage=10,
    )


if __name__ == "__main__":
    main(build, HERE / "lifted_kit" / "audit" / "README.md")
