"""Clinical text landing in the raw bucket is redacted with Comprehend Medical into curated."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..core.secure_function import ASYNC_RETRY_ATTEMPTS, SecureFunction
from ..core.secure_queue import eventbridge_key_statement
from .secure_bucket import SecureBucket


class PhiRedactionPipeline(Construct):
    """``lambda/phi_redaction`` triggered by objects created under ``clinical_prefix``.

    Guarantees:
      * trigger: S3 "Object Created" events of ``raw`` delivered through Amazon EventBridge
        (the construct turns EventBridge notifications on for ``raw``, a plain bucket property:
        no custom resource), matched on the bucket name and the key prefix by a rule named
        ``rule_name``; the rule retries the invocation ``ASYNC_RETRY_ATTEMPTS`` times within
        two hours and then dead-letters the event;
      * the function (``SecureFunction``: private subnets, endpoints only, encrypted logs,
        tracing, reserved concurrency) may read ``raw`` under ``clinical_prefix`` only, write
        ``curated`` under ``curated_prefix`` only (never delete), encrypt with ``data_key``
        through S3 only, call ``comprehendmedical:DetectPHI`` (which has no resource type) and
        send to its own dead-letter queue. It cannot read any other prefix or bucket;
      * failures: objects the function cannot process (its own decision), events Lambda gave
        up on after retries, and events EventBridge could not deliver all land in one
        dead-letter queue, encrypted with ``data_key``. For EventBridge to write there, the
        construct adds a statement to ``data_key``'s policy for ``events.amazonaws.com``,
        limited to this rule (``aws:SourceArn``) and to SQS (``kms:ViaService``).

    The VPC needs interface endpoints for ``comprehendmedical`` and ``sqs`` (and the S3 gateway
    endpoint, ``s3_prefix_list_id``). Attributes: ``function`` (``SecureFunction``), ``rule``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        layers: Sequence[lambda_.ILayerVersion] = (),
        raw: SecureBucket,
        curated: SecureBucket,
        data_key: kms.IKey,
        logs_key: kms.IKey,
        vpc: ec2.IVpc,
        endpoint_security_group: ec2.ISecurityGroup,
        s3_prefix_list_id: str,
        rule_name: str,
        clinical_prefix: str = "clinical/",
        curated_prefix: str = "clinical-redacted/",
        min_score: float = 0.5,
        redact_low_score: bool = True,
        max_object_bytes: int = 1_000_000,
        reserved_concurrency: int | None = 5,
        log_retention_days: int = 365,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.function = SecureFunction(
            self,
            "Redaction",
            code_dir=code_dir,
            layers=layers,
            description="Redact PHI from clinical text (Comprehend Medical DetectPHI)",
            vpc=vpc,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            endpoint_security_group=endpoint_security_group,
            s3_prefix_list_id=s3_prefix_list_id,
            logs_key=logs_key,
            queue_key=data_key,
            environment_key=data_key,
            queue_id="Queue",
            log_retention_days=log_retention_days,
            reserved_concurrency=reserved_concurrency,
            memory_mb=512,
            timeout=cdk.Duration.minutes(5),
            environment={
                "RAW_BUCKET": raw.bucket.bucket_name,
                "CLINICAL_PREFIX": clinical_prefix,
                "CURATED_BUCKET": curated.bucket.bucket_name,
                "CURATED_PREFIX": curated_prefix,
                "DATA_KEY_ARN": data_key.key_arn,
                "MAX_OBJECT_BYTES": str(max_object_bytes),
                "MIN_SCORE": str(min_score),
                "REDACT_LOW_SCORE": "true" if redact_low_score else "false",
            },
            statements=[
                iam.PolicyStatement(
                    sid="DetectPhi", actions=["comprehendmedical:DetectPHI"], resources=["*"]
                )
            ],
        )
        raw.grant_read(self.function.role, clinical_prefix)
        curated.grant_write(self.function.role, curated_prefix)

        raw_bucket = raw.bucket.node.default_child
        assert isinstance(raw_bucket, s3.CfnBucket)
        raw_bucket.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )
        rule_arn = f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule/{rule_name}"
        queue = self.function.dead_letter_queue
        self.rule = events.Rule(
            self,
            "ClinicalObjectCreated",
            rule_name=rule_name,
            description=f"Objects created under {clinical_prefix} of the raw bucket",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [raw.bucket.bucket_name]},
                    "object": {"key": [{"prefix": clinical_prefix}]},
                },
            ),
            targets=[
                targets.LambdaFunction(
                    self.function.function,
                    dead_letter_queue=queue.queue,
                    retry_attempts=ASYNC_RETRY_ATTEMPTS,
                    max_event_age=cdk.Duration.hours(2),
                )
            ],
        )
        data_key.add_to_resource_policy(
            eventbridge_key_statement(
                "EventBridgeDeadLettersOfThePhiRule",
                rule_arn=rule_arn,
                account=stack.account,
                region=stack.region,
            )
        )
