"""Generative AI for an environment: Bedrock behind a guardrail, and PHI redaction.

Seed pages: AWS for Bedrock (IAM, Guardrails, CloudTrail/Config, PrivateLink), Prompt misuses,
Hallucinations, Toxicity, Amazon Comprehend Medical (DetectPHI), Data Logging.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from platform_config import EnvironmentConfig
from secure_constructs.core.compliance import KnownNoncompliance, acknowledge
from secure_constructs.core.dead_letter_alarm import alarm_on_queue
from secure_constructs.core.secure_function import SecureFunction
from secure_constructs.data.phi_pipeline import PhiRedactionPipeline
from secure_constructs.data.secure_bucket import SecureBucket
from secure_constructs.genai.batch_inference import BatchInference
from secure_constructs.genai.bedrock_config_rules import BedrockConfigRules
from secure_constructs.genai.bedrock_guardrail import INVOKE_ACTIONS, SecureGuardrail
from secure_constructs.genai.bedrock_logging import BedrockInvocationLogging
from secure_constructs.genai.bedrock_rules import ModelGrants, model_grants
from secure_constructs.genai.knowledge_base import SecureKnowledgeBase
from secure_constructs.network.secure_vpc import SecureVpc
from stacks.base import LAMBDA_DIR, PlatformStack, handler_layer

BEDROCK_READ_TIMEOUT_SECONDS = 60
UNGUARDED_RETRIEVAL_ACTIONS = ("bedrock:RetrieveAndGenerate",)
"""Retrieval with generation in one call: ``bedrock:GuardrailIdentifier`` is not evaluated on
it, so the IAM guardrail pin cannot hold; applications get ``Retrieve`` and the guarded
retrieval function instead, and the invocation role denies these outright."""


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
        alerts_topic: sns.ITopic,
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
        self._log_retention_days = genai.log_retention_days

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
        self.guarded_invoke = self._guarded_function(
            "GuardedInvoke",
            folder="guarded_invoke",
            description="One prompt through Bedrock Converse, always behind the platform guardrail",
            network=network,
            keys=(logs_key, data_key),
            reserved_concurrency=env.reserved_concurrency.guarded_invoke,
            # three attempts of at most BEDROCK_READ_TIMEOUT_SECONDS each, plus backoff
            timeout_seconds=3 * BEDROCK_READ_TIMEOUT_SECONDS + 10,
            environment={
                "DEFAULT_MODEL_ID": genai.default_model_id,
                "ALLOWED_MODEL_IDS": ",".join(others),
                "MAX_PROMPT_CHARS": str(genai.guarded_invoke.max_prompt_chars),
                "MAX_OUTPUT_TOKENS": str(genai.guarded_invoke.max_output_tokens),
            },
            grants=grants,
            queue_id="Queue",
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
        self.invocation_policy = iam.ManagedPolicy(
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

        self.knowledge_base: SecureKnowledgeBase | None = None
        self.guarded_retrieval: SecureFunction | None = None
        if genai.knowledge_base is not None:
            self._knowledge_base(
                env, prefix, grants, network, data_key, logs_key, curated, alerts_topic, others
            )
        self.batch: BatchInference | None = None
        if genai.batch_inference is not None:
            batch = genai.batch_inference
            self.batch = BatchInference(
                self,
                "BatchInference",
                name=prefix,
                bucket=curated,
                input_prefix=batch.input_prefix,
                output_prefix=batch.output_prefix,
                vpc=network.vpc,
                s3_prefix_list_id=env.s3_prefix_list_id,
                model_arns=list(grants.foundation_models),
                submitter_role_arns=batch.submitter_role_arns,
            )
            for output_id, value, text in (
                ("BatchServiceRoleArn", self.batch.service_role.role_arn, "roleArn of a batch job"),
                ("BatchSubmitterRoleArn", self.batch.submitter_role.role_arn, "Submits batch jobs"),
                ("BatchSecurityGroupId", self.batch.security_group.security_group_id, "vpcConfig"),
            ):
                cdk.CfnOutput(self, output_id, value=value, description=text)

        prompt_attack = next(
            f.input_strength for f in genai.guardrail.content_filters if f.type == "PROMPT_ATTACK"
        )
        self.config_rules = BedrockConfigRules(
            self,
            "BedrockConfigRules",
            prefix=prefix,
            code_dir=LAMBDA_DIR / "bedrock_config_rules",
            layers=[handler_layer(self)],
            vpc=network.vpc,
            encryption_key=logs_key,
            environment_key=data_key,
            prompt_attack_strength=prompt_attack,
            required_services=env.interface_endpoints,
            invocation_logging=(
                {
                    "expectedBucket": invocation_logs.bucket.bucket_name,
                    "expectedPrefix": genai.invocation_logging.s3_prefix,
                    "expectedLogGroup": self.invocation_logging.log_group.log_group_name,
                    "requireTextDelivery": "true"
                    if genai.invocation_logging.text_data
                    else "false",
                }
                if self.invocation_logging is not None
                else None
            ),
            log_retention_days=genai.log_retention_days,
            reserved_concurrency=env.reserved_concurrency.bedrock_config_rules,
        )
        alarm_on_queue(
            self,
            "BedrockConfigRules",
            self.config_rules.function.dead_letter_queue.queue,
            alerts_topic,
            prefix,
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

    def _knowledge_base(
        self,
        env: EnvironmentConfig,
        prefix: str,
        grants: ModelGrants,
        network: SecureVpc,
        data_key: kms.IKey,
        logs_key: kms.IKey,
        curated: SecureBucket,
        alerts_topic: sns.ITopic,
        other_models: list[str],
    ) -> None:
        genai = env.genai
        knowledge = genai.knowledge_base
        assert knowledge is not None
        kb = SecureKnowledgeBase(
            self,
            "KnowledgeBase",
            name=prefix,
            bucket=curated,
            prefix=knowledge.prefix,
            data_key=data_key,
            logs_key=logs_key,
            embedding_model_id=knowledge.embedding_model_id,
            dimensions=knowledge.dimensions,
            chunk_max_tokens=knowledge.chunk_max_tokens,
            chunk_overlap_percentage=knowledge.chunk_overlap_percentage,
            vpc=network.vpc,
            endpoint_security_group=network.endpoint_security_group,
            code_dir=LAMBDA_DIR / "knowledge_ingestion",
            layers=[handler_layer(self)],
            ingestion_window_seconds=knowledge.ingestion_window_seconds,
            reserved_concurrency=env.reserved_concurrency.knowledge_ingestion,
            log_retention_days=genai.log_retention_days,
        )
        self.knowledge_base = kb
        alarm_on_queue(self, "KnowledgeIngestion", kb.dead_letter_queue, alerts_topic, prefix)
        # A misconfiguration fails every batch, which reaches the dead-letter queue only after
        # MAX_RECEIVE_COUNT deliveries: an hour-old change in the buffer says so sooner.
        backlog = cloudwatch.Alarm(
            self,
            "KnowledgeIngestionBacklogAlarm",
            alarm_name=f"{prefix}-knowledge-ingestion-backlog",
            alarm_description="A change under the knowledge prefix has waited over an hour for "
            "ingestion: check the ingestion function's logs and the knowledge base's jobs",
            metric=kb.buffer.metric_approximate_age_of_oldest_message(
                period=cdk.Duration.minutes(5), statistic="Maximum"
            ),
            threshold=3600,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        backlog.add_alarm_action(cloudwatch_actions.SnsAction(alerts_topic))
        retrieve = iam.PolicyStatement(
            sid="RetrieveFromThePlatformKnowledgeBase",
            actions=["bedrock:Retrieve"],
            resources=[kb.knowledge_base_arn],
        )
        self.guarded_retrieval = self._guarded_function(
            "GuardedRetrieval",
            folder="guarded_retrieval",
            description="Answer from the knowledge base, generated behind the platform guardrail",
            network=network,
            keys=(logs_key, data_key),
            reserved_concurrency=env.reserved_concurrency.guarded_retrieval,
            # a retrieval and a generation, each up to three attempts, plus backoff
            timeout_seconds=6 * BEDROCK_READ_TIMEOUT_SECONDS + 20,
            environment={
                "KNOWLEDGE_BASE_ID": kb.knowledge_base.attr_knowledge_base_id,
                "KNOWLEDGE_BUCKET": curated.bucket.bucket_name,
                "KNOWLEDGE_PREFIX": knowledge.prefix,
                "DEFAULT_MODEL_ID": genai.default_model_id,
                "ALLOWED_MODEL_IDS": ",".join(other_models),
                "MAX_QUESTION_CHARS": str(knowledge.max_question_chars),
                "MAX_OUTPUT_TOKENS": str(knowledge.max_output_tokens),
                "NUMBER_OF_RESULTS": str(knowledge.number_of_results),
                "MAX_RESULTS": str(knowledge.max_results),
            },
            grants=grants,
            extra_statements=[retrieve],
        )
        for statement in (
            iam.PolicyStatement(
                sid="InvokeTheGuardedRetrieval",
                actions=["lambda:InvokeFunction"],
                resources=[self.guarded_retrieval.function.function_arn],
            ),
            retrieve.copy(),
            iam.PolicyStatement(
                sid="NeverRetrieveAndGenerate",
                effect=iam.Effect.DENY,
                actions=list(UNGUARDED_RETRIEVAL_ACTIONS),
                resources=["*"],
            ),
        ):
            self.invocation_policy.add_statements(statement)
        for output_id, value, text in (
            ("KnowledgeBaseId", kb.knowledge_base.attr_knowledge_base_id, "Knowledge base"),
            ("KnowledgeDataSourceId", kb.data_source.attr_data_source_id, "Its S3 data source"),
            (
                "GuardedRetrievalFunctionArn",
                self.guarded_retrieval.function.function_arn,
                "Grounded answers from the knowledge base, behind the guardrail",
            ),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=text)

    def _guarded_function(
        self,
        construct_id: str,
        *,
        folder: str,
        description: str,
        network: SecureVpc,
        keys: tuple[kms.IKey, kms.IKey],
        reserved_concurrency: int | None,
        timeout_seconds: int,
        environment: dict[str, str],
        grants: ModelGrants,
        extra_statements: Sequence[iam.PolicyStatement] = (),
        queue_id: str = "Default",
    ) -> SecureFunction:
        """A function in the private subnets that converses only through the pinned guardrail.

        ``keys``: (logs key, data key); the data key encrypts its queue and environment.
        Converse is authorised by ``bedrock:InvokeModel`` alone, so that is all it may invoke.
        """
        logs_key, data_key = keys
        return SecureFunction(
            self,
            construct_id,
            code_dir=LAMBDA_DIR / folder,
            layers=[handler_layer(self)],
            description=description,
            vpc=network.vpc,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            endpoint_security_group=network.endpoint_security_group,
            logs_key=logs_key,
            queue_key=data_key,
            environment_key=data_key,
            queue_id=queue_id,
            log_retention_days=self._log_retention_days,
            reserved_concurrency=reserved_concurrency,
            timeout=cdk.Duration.seconds(timeout_seconds),
            environment={
                **environment,
                "GUARDRAIL_ID": self.guardrail.guardrail_arn,
                "GUARDRAIL_VERSION": self.guardrail.version_number,
                "BEDROCK_READ_TIMEOUT_SECONDS": str(BEDROCK_READ_TIMEOUT_SECONDS),
            },
            statements=[
                *extra_statements,
                *self.guardrail.invoke_statements(grants, actions=["bedrock:InvokeModel"]),
            ],
        )
