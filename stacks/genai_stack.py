"""Generative AI for an environment: Bedrock behind a guardrail, and PHI redaction.

Seed pages: AWS for Bedrock (IAM, Guardrails, CloudTrail/Config, PrivateLink), Prompt misuses,
Hallucinations, Toxicity, Amazon Comprehend Medical (DetectPHI), Data Logging.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from platform_config import EnvironmentConfig
from secure_constructs.core.compliance import KnownNoncompliance, acknowledge
from secure_constructs.core.secure_function import SecureFunction
from secure_constructs.data.phi_pipeline import PhiRedactionPipeline
from secure_constructs.data.secure_bucket import SecureBucket
from secure_constructs.genai.bedrock_guardrail import INVOKE_ACTIONS, SecureGuardrail
from secure_constructs.genai.bedrock_logging import BedrockInvocationLogging
from secure_constructs.genai.bedrock_rules import model_grants
from secure_constructs.network.secure_vpc import SecureVpc
from stacks.base import LAMBDA_DIR, PlatformStack, handler_layer

BEDROCK_READ_TIMEOUT_SECONDS = 60


class GenAiStack(PlatformStack):
    """Guardrail, invocation role, invocation logging, guarded invoke, PHI redaction.

    * ``Guardrail``: ``SecureGuardrail`` from ``genai.guardrail``, published as a version; with
      ``genai.enforce_guardrail_in_account`` also the account-level enforced guardrail;
    * ``InvocationRole``: assumable only by ``genai.invoker_role_arns``; may invoke (InvokeModel,
      InvokeModelWithResponseStream, hence Converse and ConverseStream) only the allow-listed
      models and only with the guardrail's published version, apply that guardrail, and invoke
      the guarded-invoke function; nothing else;
    * ``InvocationLogging`` (when the environment owns ``bedrock_invocation_logging`` in
      ``audit.account_services``): every model invocation logged to the data stack's
      invocation-logs bucket (data key; its own retention, not the audit bucket's lock) and an
      encrypted log group;
    * ``GuardedInvoke``: ``lambda/guarded_invoke`` in the private subnets, reaching Bedrock
      Runtime through its PrivateLink endpoint, with the same model and guardrail pinning;
    * ``PhiRedaction``: ``lambda/phi_redaction`` on objects created under the raw bucket's
      clinical prefix, writing redacted copies and findings to the curated bucket.

    Attributes: ``guardrail``, ``invocation_role``, ``invocation_logging``, ``guarded_invoke``,
    ``phi``, ``known_noncompliance``.
    """

    @property
    def known_noncompliance(self) -> list[KnownNoncompliance]:
        """Config results its functions are expected to get (for the findings router)."""
        logging = self.invocation_logging.known_noncompliance if self.invocation_logging else []
        return [
            *logging,
            *self.guarded_invoke.known_noncompliance,
            *self.phi.function.known_noncompliance,
        ]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        environment: EnvironmentConfig,
        description: str,
        network: SecureVpc,
        data_key: kms.IKey,
        logs_key: kms.IKey,
        raw: SecureBucket,
        curated: SecureBucket,
        invocation_logs: SecureBucket,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            project=project,
            environment=environment,
            name_suffix="genai",
            description=description,
        )
        env = environment
        genai = env.genai
        prefix = f"{project}-{env.name}"

        self.guardrail = SecureGuardrail(
            self,
            "Guardrail",
            name=f"{prefix}-platform",
            spec=genai.guardrail,
            enforce_in_account=genai.enforce_guardrail_in_account,
        )
        grants = model_grants(
            genai.allowed_model_ids,
            partition=self.partition,
            region=self.region,
            account=self.account,
            allowed_regions=env.allowed_regions,
        )

        self.invocation_logging: BedrockInvocationLogging | None = None
        if env.audit.manages("bedrock_invocation_logging"):
            self.invocation_logging = BedrockInvocationLogging(
                self,
                "InvocationLogging",
                bucket=invocation_logs.bucket,
                bucket_key=data_key,
                prefix=genai.invocation_logging.s3_prefix,
                logs_key=logs_key,
                log_retention_days=genai.invocation_logging.log_retention_days,
                text_data=genai.invocation_logging.text_data,
                image_data=genai.invocation_logging.image_data,
                embedding_data=genai.invocation_logging.embedding_data,
                reserved_concurrency=env.reserved_concurrency.genai_deploy_calls,
            )
        else:
            acknowledge(
                self,
                "MLGenAIChecks::MLGenAI-BedrockInvocationLogging",
                "Model invocation logging is owned outside this app for this account and region "
                "(audit.account_services omits bedrock_invocation_logging); make preflight checks "
                "that it is configured before a deploy.",
            )

        others = [m for m in genai.allowed_model_ids if m != genai.default_model_id]
        self.guarded_invoke = SecureFunction(
            self,
            "GuardedInvoke",
            code_dir=LAMBDA_DIR / "guarded_invoke",
            layers=[handler_layer(self)],
            description="One prompt through Bedrock Converse, always behind the platform guardrail",
            vpc=network.vpc,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            endpoint_security_group=network.endpoint_security_group,
            logs_key=logs_key,
            queue_key=data_key,
            environment_key=data_key,
            queue_id="Queue",
            log_retention_days=genai.log_retention_days,
            reserved_concurrency=env.reserved_concurrency.guarded_invoke,
            # three attempts of at most BEDROCK_READ_TIMEOUT_SECONDS each, plus backoff
            timeout=cdk.Duration.seconds(3 * BEDROCK_READ_TIMEOUT_SECONDS + 10),
            environment={
                "GUARDRAIL_ID": self.guardrail.guardrail_arn,
                "GUARDRAIL_VERSION": self.guardrail.version_number,
                "DEFAULT_MODEL_ID": genai.default_model_id,
                "ALLOWED_MODEL_IDS": ",".join(others),
                "MAX_PROMPT_CHARS": str(genai.guarded_invoke.max_prompt_chars),
                "MAX_OUTPUT_TOKENS": str(genai.guarded_invoke.max_output_tokens),
                "BEDROCK_READ_TIMEOUT_SECONDS": str(BEDROCK_READ_TIMEOUT_SECONDS),
            },
            # Converse only: bedrock:InvokeModel is the action that authorises it.
            statements=self.guardrail.invoke_statements(grants, actions=["bedrock:InvokeModel"]),
        )

        self.invocation_role = iam.Role(
            self,
            "InvocationRole",
            description="Applications: allow-listed Bedrock models behind the platform guardrail",
            assumed_by=iam.AccountPrincipal(self.account).with_conditions(
                {"ArnEquals": {"aws:PrincipalArn": list(genai.invoker_role_arns)}}
            ),
            max_session_duration=cdk.Duration.hours(1),
        )
        iam.ManagedPolicy(
            self,
            "InvocationPolicy",
            description="Invoke allow-listed models with the platform guardrail; nothing else",
            roles=[self.invocation_role],
            statements=[
                *self.guardrail.invoke_statements(grants, actions=INVOKE_ACTIONS),
                iam.PolicyStatement(
                    sid="InvokeTheGuardedFunction",
                    actions=["lambda:InvokeFunction"],
                    resources=[self.guarded_invoke.function.function_arn],
                ),
            ],
        )

        phi = genai.phi
        self.phi = PhiRedactionPipeline(
            self,
            "PhiRedaction",
            code_dir=LAMBDA_DIR / "phi_redaction",
            layers=[handler_layer(self)],
            raw=raw,
            curated=curated,
            data_key=data_key,
            logs_key=logs_key,
            vpc=network.vpc,
            endpoint_security_group=network.endpoint_security_group,
            s3_prefix_list_id=env.s3_prefix_list_id,
            rule_name=f"{prefix}-phi-clinical-object-created",
            clinical_prefix=phi.clinical_prefix,
            curated_prefix=phi.curated_prefix,
            min_score=phi.min_score,
            redact_low_score=phi.redact_low_score,
            max_object_bytes=phi.max_object_bytes,
            reserved_concurrency=env.reserved_concurrency.phi_redaction,
            log_retention_days=genai.log_retention_days,
        )

        for output_id, value, text in (
            ("GuardrailArn", self.guardrail.guardrail_arn, "Platform guardrail"),
            ("GuardrailVersion", self.guardrail.version_number, "Published guardrail version"),
            ("InvocationRoleArn", self.invocation_role.role_arn, "Role applications assume"),
            (
                "GuardedInvokeFunctionArn",
                self.guarded_invoke.function.function_arn,
                "Synchronous guarded invocation",
            ),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=text)
        if self.guardrail.enforced_use_policy is not None:
            cdk.CfnOutput(
                self,
                "EnforcedGuardrailUsePolicyArn",
                value=self.guardrail.enforced_use_policy.managed_policy_arn,
                description="Attach to every other role that calls Bedrock models in this account",
            )
