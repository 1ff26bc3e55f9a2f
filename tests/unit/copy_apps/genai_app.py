"""Copy app of the genai group: a guardrail, the roles it pins, and invocation logging.

Built as the platform's GenAI stack builds them. What the group needs from outside itself is
plain CDK: an imported invocation-log bucket with an ``s3.BucketPolicy`` of this stack
(``BedrockInvocationLogging`` adds Bedrock's delivery statement to it), and two ``kms.Key``
(rotation on) for the bucket and the log groups. The role that applications assume is the app's
own ``iam.Role``, with the guardrail's ``invoke_statements`` in a managed policy.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from harness import ENV, main
from lifted_kit.genai.bedrock_guardrail import INVOKE_ACTIONS, SecureGuardrail
from lifted_kit.genai.bedrock_logging import BedrockInvocationLogging
from lifted_kit.genai.bedrock_rules import (
    ContentFilter,
    DeniedTopic,
    GuardrailSpec,
    RegexFilter,
    model_grants,
)

HERE = Path(__file__).resolve().parent
PREFIX = "team-dev"

SPEC = GuardrailSpec(
    blocked_input_message="This request cannot be processed by the clinical assistant.",
    blocked_output_message="The answer was withheld because it broke the safety rules.",
    content_filters=(
        *(ContentFilter(t, "HIGH", "HIGH") for t in ("HATE", "INSULTS", "SEXUAL", "MISCONDUCT")),
        ContentFilter("VIOLENCE", "MEDIUM", "HIGH"),
        ContentFilter("PROMPT_ATTACK", "HIGH", "NONE"),
    ),
    denied_topics=(
        DeniedTopic(
            "Individual diagnosis or treatment",
            "Diagnosing a specific person's condition or recommending their treatment.",
            ("What dose of warfarin should my patient take?",),
        ),
    ),
    pii_block=("US_SOCIAL_SECURITY_NUMBER", "CREDIT_DEBIT_CARD_NUMBER"),
    pii_anonymize=("NAME", "EMAIL", "PHONE"),
    regexes=(RegexFilter("medical-record-number", r"\bMRN[-: ]?[0-9]{6,10}\b", "ANONYMIZE"),),
    words=("re-identify",),
    grounding_threshold=0.8,
    relevance_threshold=0.75,
)


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "GenAi", env=ENV)
    data_key = kms.Key(stack, "DataKey", enable_key_rotation=True)
    logs_key = kms.Key(stack, "LogsKey", enable_key_rotation=True)

    guardrail = SecureGuardrail(
        stack, "Guardrail", name=f"{PREFIX}-platform", spec=SPEC, enforce_in_account=True
    )
    grants = model_grants(
        ["anthropic.claude-3-haiku-20240307-v1:0", "us.amazon.nova-lite-v1:0"],
        partition=stack.partition,
        region=stack.region,
        account=stack.account,
        allowed_regions=["us-east-1", "us-east-2"],
    )
    invoker = iam.Role(
        stack,
        "InvocationRole",
        description="Applications: allow-listed Bedrock models behind the guardrail",
        assumed_by=iam.AccountPrincipal(stack.account).with_conditions(
            {"ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/team-app"]}}
        ),
        max_session_duration=cdk.Duration.hours(1),
    )
    iam.ManagedPolicy(
        stack,
        "InvocationPolicy",
        description="Invoke allow-listed models with the guardrail; nothing else",
        roles=[invoker],
        statements=guardrail.invoke_statements(grants, actions=INVOKE_ACTIONS),
    )

    logs_bucket = s3.Bucket.from_bucket_name(stack, "InvocationLogs", "team-dev-invocation-logs")
    # The bucket belongs to another team's stack; its policy is managed here, TLS only.
    logs_bucket.policy = s3.BucketPolicy(stack, "InvocationLogsPolicy", bucket=logs_bucket)
    logs_bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyWithoutTls",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["s3:*"],
            resources=[logs_bucket.bucket_arn, logs_bucket.arn_for_objects("*")],
            conditions={"Bool": {"aws:SecureTransport": "false"}},
        )
    )
    BedrockInvocationLogging(
        stack,
        "InvocationLogging",
        bucket=logs_bucket,
        bucket_key=data_key,
        prefix="bedrock/invocations/",
        logs_key=logs_key,
        log_retention_days=365,
        reserved_concurrency=1,
    )


if __name__ == "__main__":
    main(build, HERE / "lifted_kit" / "genai" / "README.md")
