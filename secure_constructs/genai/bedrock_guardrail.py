"""An Amazon Bedrock guardrail with a published version, and the policy that pins callers to it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from constructs import Construct

from .bedrock_rules import (
    GuardrailSpec,
    ModelGrants,
    guardrail_name_problem,
    guardrail_problem,
)

GUARDRAIL_CONDITION_KEY = "bedrock:GuardrailIdentifier"
INFERENCE_PROFILE_CONDITION_KEY = "bedrock:InferenceProfileArn"

# Converse is authorised as bedrock:InvokeModel and ConverseStream as
# bedrock:InvokeModelWithResponseStream (Bedrock API reference): there is no bedrock:Converse.
INVOKE_ACTIONS: tuple[str, ...] = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")


class SecureGuardrail(Construct):
    """A guardrail built from a validated ``GuardrailSpec``, and a published version of it.

    Guarantees:
      * all six content filters (hate, insults, sexual, violence, misconduct, prompt attack) at
        the configured strengths; denied topics; PII entities blocked or anonymised; custom
        regexes; custom words and (default) the managed profanity list; contextual grounding and
        relevance checks when thresholds are given. The spec is validated first
        (``guardrail_problem``): a bad value raises ``ValueError`` before anything is built;
      * a published, numbered version (``CfnGuardrailVersion``): callers pin a number, never the
        mutable DRAFT. The version's description carries a hash of the spec, so changing the spec
        publishes a new version on the next deployment; old versions are retained (audit trail,
        rollback) rather than deleted;
      * with ``enforce_in_account``, the account-level enforced guardrail configuration
        (``CfnEnforcedGuardrailConfiguration``): Bedrock applies this version to every model
        invocation in the account and region, whatever the caller asks for, on every model
        (no model filter) and with selective content guarding set to ``COMPREHENSIVE`` for both
        the system prompt and the messages (the whole prompt is evaluated; nothing a caller tags
        can opt out). Every principal of the account that calls a model then needs
        ``bedrock:ApplyGuardrail`` on this guardrail, or its calls fail with AccessDenied: attach
        ``enforced_use_policy`` (a customer-managed policy granting exactly that) to those roles.

    The guardrail itself is not encrypted with a customer-managed key: it holds configuration
    (topic definitions, patterns), not data, and a CMK would require every invoker to hold
    ``kms:Decrypt`` on it.

    Attributes: ``guardrail`` (L1), ``version`` (L1), ``enforced`` and ``enforced_use_policy``
    (``None`` unless enforced), ``guardrail_arn``, ``guardrail_id``,
    ``version_number``, ``versioned_arn`` (``<arn>:<version>``: the value the
    ``bedrock:GuardrailIdentifier`` condition key carries).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        spec: GuardrailSpec,
        enforce_in_account: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        problem = guardrail_name_problem(name) or guardrail_problem(spec)
        if problem:
            raise ValueError(
                f"SecureGuardrail {construct_id}: {problem.path} = {problem.value!r}: "
                f"{problem.allowed}"
            )
        self.guardrail = bedrock.CfnGuardrail(
            self,
            "Guardrail",
            name=name,
            description=spec.description,
            blocked_input_messaging=spec.blocked_input_message,
            blocked_outputs_messaging=spec.blocked_output_message,
            content_policy_config=bedrock.CfnGuardrail.ContentPolicyConfigProperty(
                filters_config=[
                    bedrock.CfnGuardrail.ContentFilterConfigProperty(
                        type=f.type,
                        input_strength=f.input_strength,
                        output_strength=f.output_strength,
                    )
                    for f in spec.content_filters
                ]
            ),
            topic_policy_config=_topics(spec),
            sensitive_information_policy_config=_sensitive(spec),
            word_policy_config=_words(spec),
            contextual_grounding_policy_config=_grounding(spec),
        )
        fingerprint = hashlib.sha256(
            json.dumps(asdict(spec), sort_keys=True).encode("utf-8")
        ).hexdigest()[:16]
        self.version = bedrock.CfnGuardrailVersion(
            self,
            "Version",
            guardrail_identifier=self.guardrail.attr_guardrail_arn,
            description=f"{name} config {fingerprint}",
        )
        self.version.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        self.guardrail_arn = self.guardrail.attr_guardrail_arn
        self.guardrail_id = self.guardrail.attr_guardrail_id
        self.version_number = self.version.attr_version
        self.versioned_arn = f"{self.guardrail_arn}:{self.version_number}"
        self.enforced: bedrock.CfnEnforcedGuardrailConfiguration | None = None
        self.enforced_use_policy: iam.ManagedPolicy | None = None
        if enforce_in_account:
            self.enforced = bedrock.CfnEnforcedGuardrailConfiguration(
                self,
                "EnforcedInAccount",
                guardrail_identifier=self.guardrail_arn,
                guardrail_version=self.version_number,
                selective_content_guarding=(
                    bedrock.CfnEnforcedGuardrailConfiguration.SelectiveContentGuardingProperty(
                        messages="COMPREHENSIVE", system="COMPREHENSIVE"
                    )
                ),
            )
            self.enforced_use_policy = iam.ManagedPolicy(
                self,
                "EnforcedGuardrailUsePolicy",
                description="Attach to every role that calls Bedrock models in this account: the "
                "enforced guardrail is applied to its calls",
                statements=[
                    iam.PolicyStatement(
                        sid="ApplyTheEnforcedGuardrail",
                        actions=["bedrock:ApplyGuardrail"],
                        resources=[self.guardrail_arn],
                    )
                ],
            )

    def invoke_statements(
        self, grants: ModelGrants, actions: Sequence[str] = INVOKE_ACTIONS
    ) -> list[iam.PolicyStatement]:
        """Statements allowing ``actions`` only on ``grants`` and only with this version.

        ``actions`` (default: both invoke actions, i.e. Converse and ConverseStream too) must be
        a subset of ``INVOKE_ACTIONS``. Every ``Allow`` requires ``bedrock:GuardrailIdentifier``
        = ``versioned_arn``, and a ``Deny`` refuses the same actions on any resource when the
        request names another guardrail or none, whatever other policies allow.
        ``bedrock:ApplyGuardrail`` is allowed on this guardrail only.
        """
        stray = sorted(set(actions) - set(INVOKE_ACTIONS))
        if stray or not actions:
            raise ValueError(f"invoke_statements: actions must be among {INVOKE_ACTIONS}: {stray}")
        pinned = {"StringEquals": {GUARDRAIL_CONDITION_KEY: self.versioned_arn}}
        statements = []
        direct = [*grants.foundation_models, *grants.profiles]
        if direct:
            statements.append(
                iam.PolicyStatement(
                    sid="InvokeAllowListedModelsWithThePlatformGuardrail",
                    actions=list(actions),
                    resources=direct,
                    conditions=pinned,
                )
            )
        if grants.profile_models:
            statements.append(
                iam.PolicyStatement(
                    sid="InvokeProfileModelsThroughTheirProfileOnly",
                    actions=list(actions),
                    resources=list(grants.profile_models),
                    conditions={
                        "StringEquals": {GUARDRAIL_CONDITION_KEY: self.versioned_arn},
                        "ForAnyValue:StringEquals": {
                            INFERENCE_PROFILE_CONDITION_KEY: list(grants.profiles)
                        },
                    },
                )
            )
        statements.append(
            iam.PolicyStatement(
                sid="DenyInvocationWithoutThePlatformGuardrail",
                effect=iam.Effect.DENY,
                actions=list(INVOKE_ACTIONS),
                resources=["*"],
                conditions={"StringNotEquals": {GUARDRAIL_CONDITION_KEY: self.versioned_arn}},
            )
        )
        statements.append(
            iam.PolicyStatement(
                sid="ApplyThePlatformGuardrail",
                actions=["bedrock:ApplyGuardrail"],
                resources=[self.guardrail_arn],
            )
        )
        return statements


def _topics(spec: GuardrailSpec) -> bedrock.CfnGuardrail.TopicPolicyConfigProperty | None:
    if not spec.denied_topics:
        return None
    return bedrock.CfnGuardrail.TopicPolicyConfigProperty(
        topics_config=[
            bedrock.CfnGuardrail.TopicConfigProperty(
                name=t.name,
                definition=t.definition,
                examples=list(t.examples) or None,
                type="DENY",
            )
            for t in spec.denied_topics
        ]
    )


def _sensitive(
    spec: GuardrailSpec,
) -> bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty | None:
    entities = [
        bedrock.CfnGuardrail.PiiEntityConfigProperty(type=entity, action=action)
        for action, types in (("BLOCK", spec.pii_block), ("ANONYMIZE", spec.pii_anonymize))
        for entity in sorted(types)
    ]
    regexes = [
        bedrock.CfnGuardrail.RegexConfigProperty(
            name=r.name, pattern=r.pattern, action=r.action, description=r.description or None
        )
        for r in spec.regexes
    ]
    if not entities and not regexes:
        return None
    return bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty(
        pii_entities_config=entities or None, regexes_config=regexes or None
    )


def _words(spec: GuardrailSpec) -> bedrock.CfnGuardrail.WordPolicyConfigProperty | None:
    if not spec.words and not spec.profanity_filter:
        return None
    return bedrock.CfnGuardrail.WordPolicyConfigProperty(
        words_config=[bedrock.CfnGuardrail.WordConfigProperty(text=w) for w in spec.words] or None,
        managed_word_lists_config=(
            [bedrock.CfnGuardrail.ManagedWordsConfigProperty(type="PROFANITY")]
            if spec.profanity_filter
            else None
        ),
    )


def _grounding(
    spec: GuardrailSpec,
) -> bedrock.CfnGuardrail.ContextualGroundingPolicyConfigProperty | None:
    filters: Sequence[tuple[str, float | None]] = (
        ("GROUNDING", spec.grounding_threshold),
        ("RELEVANCE", spec.relevance_threshold),
    )
    configs = [
        bedrock.CfnGuardrail.ContextualGroundingFilterConfigProperty(type=kind, threshold=value)
        for kind, value in filters
        if value is not None
    ]
    if not configs:
        return None
    return bedrock.CfnGuardrail.ContextualGroundingPolicyConfigProperty(filters_config=configs)
