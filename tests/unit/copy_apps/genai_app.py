"""Copy app of the genai group: a guardrail, the roles it pins, and invocation logging.

Built as the platform's GenAI stack builds them. What the group needs from outside itself is
plain CDK or a stub: an imported invocation-log bucket with an ``s3.BucketPolicy`` of this stack
(``BedrockInvocationLogging`` adds Bedrock's delivery statement to it), two ``kms.Key``
(rotation on) for the bucket and the log groups, an imported VPC and endpoint security group,
and the curated bucket imported by name behind ``PrefixBucket`` (a stub of
``core.bucket_grants.BucketWithPrefixGrants``) for the knowledge base and batch inference. The
role that applications assume is the app's own ``iam.Role``, with the guardrail's
``invoke_statements`` in a managed policy. The Lambda code folders are stubs: the constructs
ship no handler code (``lambda/`` of the platform has it).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from harness import ENV, PrefixBucket, imported_endpoint_group, imported_vpc, main
from lifted_kit.genai.batch_inference import BatchInference
from lifted_kit.genai.bedrock_config_rules import BedrockConfigRules
from lifted_kit.genai.bedrock_guardrail import INVOKE_ACTIONS, SecureGuardrail
from lifted_kit.genai.bedrock_logging import BedrockInvocationLogging
from lifted_kit.genai.bedrock_rules import (
    ContentFilter,
    DeniedTopic,
    GuardrailSpec,
    RegexFilter,
    model_grants,
)
from lifted_kit.genai.knowledge_base import SecureKnowledgeBase

HERE = Path(__file__).resolve().parent
PREFIX = "team-dev"
HANDLER = "def handler(event, context):\n    return None\n"


def code_dir(name: str) -> Path:
    """A stub handler folder ``<name>/<name>.py`` (SecureFunction checks the entry point)."""
    folder = HERE / "handlers" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(HANDLER)
    return folder


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

    vpc = imported_vpc(stack)
    endpoints = imported_endpoint_group(stack)
    curated = PrefixBucket(s3.Bucket.from_bucket_name(stack, "Curated", "team-dev-curated"))
    SecureKnowledgeBase(
        stack,
        "KnowledgeBase",
        name=PREFIX,
        bucket=curated,
        prefix="knowledge/",
        data_key=data_key,
        logs_key=logs_key,
        embedding_model_id="amazon.titan-embed-text-v2:0",
        dimensions=1024,
        chunk_max_tokens=300,
        chunk_overlap_percentage=20,
        vpc=vpc,
        endpoint_security_group=endpoints,
        code_dir=code_dir("knowledge_ingestion"),
    )
    BatchInference(
        stack,
        "BatchInference",
        name=PREFIX,
        bucket=curated,
        input_prefix="redacted/batch-input/",
        output_prefix="batch-output/",
        vpc=vpc,
        s3_prefix_list_id="pl-63a5400a",
        model_arns=list(grants.foundation_models),
        submitter_role_arns=["arn:aws:iam::123456789012:role/team-batch"],
    )
    BedrockConfigRules(
        stack,
        "BedrockConfigRules",
        prefix=PREFIX,
        code_dir=code_dir("bedrock_config_rules"),
        vpc=vpc,
        encryption_key=logs_key,
        prompt_attack_strength="HIGH",
        required_services=["bedrock", "bedrock-runtime"],
        invocation_logging={"expectedBucket": "team-dev-invocation-logs"},
        log_retention_days=365,
        reserved_concurrency=1,
    )


if __name__ == "__main__":
    main(build, HERE / "lifted_kit" / "genai" / "README.md")
