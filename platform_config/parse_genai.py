"""``environments.<env>.genai``: models, invokers, guardrail, logging, guarded invoke, PHI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from platform_config.model import (
    GenAiConfig,
    GuardedInvokeConfig,
    InvocationLoggingConfig,
    PhiConfig,
)
from platform_config.parse_knowledge import parse_batch_inference, parse_knowledge_base
from platform_config.readers import (
    ConfigError,
    boolean,
    get,
    integer,
    no_unknown,
    number,
    prefix,
    require_endpoints,
    retention,
    role_arns,
    str_list,
    text,
)
from secure_constructs.genai.bedrock_rules import (
    CONTENT_FILTER_TYPES,
    ContentFilter,
    DeniedTopic,
    GuardrailSpec,
    RegexFilter,
    guardrail_problem,
    model_id_problem,
)

GUARDED_INVOKE_ENDPOINTS: tuple[str, ...] = ("bedrock-runtime",)

PHI_ENDPOINTS: tuple[str, ...] = ("comprehendmedical", "sqs")
"""The PHI function calls DetectPHI and sends dead letters itself, from a subnet with no
internet route for its security group."""


def parse_genai(
    env_raw: Mapping[str, Any],
    env_key: str,
    *,
    account: str,
    region: str,
    endpoints: Sequence[str],
) -> GenAiConfig:
    """Validate ``<env>.genai``."""
    key = f"{env_key}.genai"
    raw = get(env_raw, "genai", key, dict, "an object (the Bedrock and PHI section)")
    no_unknown(
        raw,
        key,
        {
            "allowed_model_ids",
            "default_model_id",
            "invoker_role_arns",
            "guardrail",
            "enforce_guardrail_in_account",
            "log_retention_days",
            "invocation_logging",
            "guarded_invoke",
            "phi",
            "knowledge_base",
            "batch_inference",
        },
    )
    require_endpoints(
        endpoints,
        GUARDED_INVOKE_ENDPOINTS,
        env_key,
        "the guarded-invoke function reaches Bedrock only through PrivateLink",
    )
    require_endpoints(
        endpoints,
        PHI_ENDPOINTS,
        env_key,
        "the PHI function calls Comprehend Medical and SQS from the VPC with no internet route",
    )
    models = str_list(raw, "allowed_model_ids", key, min_items=1)
    for model_id in models:
        problem = model_id_problem(model_id, region)
        if problem:
            raise ConfigError(f"{key}.allowed_model_ids", model_id, problem)
    default = text(raw, "default_model_id", key)
    if default not in models:
        raise ConfigError(
            f"{key}.default_model_id", default, f"one of allowed_model_ids ({', '.join(models)})"
        )
    phi = _phi(raw, f"{key}.phi")
    knowledge_base = parse_knowledge_base(raw, key, phi=phi, env_key=env_key, endpoints=endpoints)
    return GenAiConfig(
        allowed_model_ids=tuple(models),
        default_model_id=default,
        invoker_role_arns=role_arns(raw, "invoker_role_arns", key, account),
        guardrail=_guardrail(raw, f"{key}.guardrail"),
        enforce_guardrail_in_account=boolean(raw, "enforce_guardrail_in_account", key),
        log_retention_days=retention(raw, "log_retention_days", key),
        invocation_logging=_invocation_logging(raw, f"{key}.invocation_logging"),
        guarded_invoke=_guarded_invoke(raw, f"{key}.guarded_invoke"),
        phi=phi,
        knowledge_base=knowledge_base,
        batch_inference=parse_batch_inference(
            raw, key, phi=phi, knowledge_base=knowledge_base, account=account
        ),
    )


def _invocation_logging(raw: Mapping[str, Any], key: str) -> InvocationLoggingConfig:
    logging = get(raw, "invocation_logging", key, dict, "an object")
    no_unknown(
        logging,
        key,
        {"s3_prefix", "log_retention_days", "text_data", "image_data", "embedding_data"},
    )
    return InvocationLoggingConfig(
        s3_prefix=prefix(logging, "s3_prefix", key),
        log_retention_days=retention(logging, "log_retention_days", key),
        text_data=boolean(logging, "text_data", key),
        image_data=boolean(logging, "image_data", key),
        embedding_data=boolean(logging, "embedding_data", key),
    )


def _guarded_invoke(raw: Mapping[str, Any], key: str) -> GuardedInvokeConfig:
    invoke = get(raw, "guarded_invoke", key, dict, "an object")
    no_unknown(invoke, key, {"max_prompt_chars", "max_output_tokens"})
    return GuardedInvokeConfig(
        max_prompt_chars=integer(invoke, "max_prompt_chars", key, 1, 1_000_000),
        max_output_tokens=integer(invoke, "max_output_tokens", key, 1, 1_000_000),
    )


def _phi(raw: Mapping[str, Any], key: str) -> PhiConfig:
    phi = get(raw, "phi", key, dict, "an object")
    no_unknown(
        phi,
        key,
        {
            "clinical_prefix",
            "curated_prefix",
            "min_score",
            "redact_low_score",
            "max_object_bytes",
        },
    )
    return PhiConfig(
        clinical_prefix=prefix(phi, "clinical_prefix", key),
        curated_prefix=prefix(phi, "curated_prefix", key),
        min_score=number(phi, "min_score", key, 0.0, 1.0),
        redact_low_score=boolean(phi, "redact_low_score", key),
        max_object_bytes=integer(phi, "max_object_bytes", key, 1, 100_000_000),
    )


def _guardrail(raw: Mapping[str, Any], key: str) -> GuardrailSpec:
    guard = get(raw, "guardrail", key, dict, "an object")
    no_unknown(
        guard,
        key,
        {
            "blocked_input_message",
            "blocked_output_message",
            "content_filters",
            "denied_topics",
            "pii",
            "regexes",
            "words",
            "profanity_filter",
            "contextual_grounding",
        },
    )
    filters_key = f"{key}.content_filters"
    filters_raw = get(
        guard,
        "content_filters",
        filters_key,
        dict,
        f"an object with {', '.join(CONTENT_FILTER_TYPES)}",
    )
    filters = []
    for name, strengths in filters_raw.items():
        item_key = f"{filters_key}.{name}"
        if not isinstance(strengths, dict) or set(strengths) != {"input", "output"}:
            raise ConfigError(item_key, strengths, "an object with exactly input and output")
        filters.append(ContentFilter(name, strengths["input"], strengths["output"]))

    topics = []
    for index, item in enumerate(
        get(guard, "denied_topics", f"{key}.denied_topics", list, "a list")
    ):
        item_key = f"{key}.denied_topics[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(item_key, item, "an object with name, definition, examples")
        no_unknown(item, item_key, {"name", "definition", "examples"})
        topics.append(
            DeniedTopic(
                name=text(item, "name", item_key),
                definition=text(item, "definition", item_key),
                examples=tuple(str_list(item, "examples", item_key, min_items=0)),
            )
        )

    pii_key = f"{key}.pii"
    pii = get(guard, "pii", pii_key, dict, "an object with block and anonymize")
    no_unknown(pii, pii_key, {"block", "anonymize"})
    block = str_list(pii, "block", pii_key, min_items=0)
    anonymize = str_list(pii, "anonymize", pii_key, min_items=0)

    regexes = []
    for index, item in enumerate(get(guard, "regexes", f"{key}.regexes", list, "a list")):
        item_key = f"{key}.regexes[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(item_key, item, "an object with name, pattern, action, description")
        no_unknown(item, item_key, {"name", "pattern", "action", "description"})
        regexes.append(
            RegexFilter(
                name=text(item, "name", item_key),
                pattern=text(item, "pattern", item_key),
                action=text(item, "action", item_key),
                description=text(item, "description", item_key),
            )
        )

    grounding_key = f"{key}.contextual_grounding"
    grounding = get(
        guard, "contextual_grounding", grounding_key, dict, "an object with two thresholds"
    )
    no_unknown(grounding, grounding_key, {"grounding_threshold", "relevance_threshold"})

    spec = GuardrailSpec(
        blocked_input_message=text(guard, "blocked_input_message", key),
        blocked_output_message=text(guard, "blocked_output_message", key),
        content_filters=tuple(filters),
        denied_topics=tuple(topics),
        pii_block=tuple(block),
        pii_anonymize=tuple(anonymize),
        regexes=tuple(regexes),
        words=tuple(str_list(guard, "words", key, min_items=0)),
        profanity_filter=boolean(guard, "profanity_filter", key),
        # absent or null: that check is off (the CDK CLI drops null context values)
        grounding_threshold=grounding.get("grounding_threshold"),
        relevance_threshold=grounding.get("relevance_threshold"),
    )
    problem = guardrail_problem(spec)
    if problem:
        path = problem.path
        if path.startswith(("grounding_threshold", "relevance_threshold")):
            path = f"contextual_grounding.{path}"
        elif path.startswith(("pii_block", "pii_anonymize")):
            path = path.replace("pii_block", "pii.block").replace("pii_anonymize", "pii.anonymize")
        raise ConfigError(f"{key}.{path}", problem.value, problem.allowed)
    return spec
