"""``environments.<env>.genai.knowledge_base`` and ``.batch_inference`` (both optional)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from platform_config.catalogue import EMBEDDING_MODELS
from platform_config.model import BatchInferenceConfig, KnowledgeBaseConfig, PhiConfig
from platform_config.readers import (
    ConfigError,
    get,
    integer,
    no_unknown,
    prefix,
    require_endpoints,
    role_arns,
    text,
)

KNOWLEDGE_ENDPOINTS: tuple[str, ...] = ("bedrock-agent", "bedrock-agent-runtime", "sqs")
"""The ingestion function starts jobs (bedrock-agent) and dead-letters (sqs); the retrieval
function calls Retrieve (bedrock-agent-runtime): all from subnets without an internet route."""

GROUNDING_QUERY_MAX = 1_000
"""The longest query contextual grounding reads (Bedrock user guide, "contextual grounding
check": 1,000 characters of query, 5,000 of response, 100,000 of grounding source); Retrieve
itself takes 20,000. A longer question would be answered partly unchecked."""

BATCHING_WINDOW_MAX = 300
"""Lambda's largest ``MaximumBatchingWindowInSeconds`` for an SQS event source."""


def _overlaps(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def parse_knowledge_base(
    raw: Mapping[str, Any],
    key: str,
    *,
    phi: PhiConfig,
    env_key: str,
    endpoints: Sequence[str],
) -> KnowledgeBaseConfig | None:
    """Validate ``<env>.genai.knowledge_base`` (absent or null: no knowledge base)."""
    block = raw.get("knowledge_base")
    if block is None:
        return None
    key = f"{key}.knowledge_base"
    if not isinstance(block, dict):
        raise ConfigError(key, block, "an object (the knowledge base), or null for none")
    no_unknown(
        block,
        key,
        {
            "prefix",
            "embedding_model_id",
            "dimensions",
            "number_of_results",
            "max_results",
            "max_question_chars",
            "max_output_tokens",
            "chunk_max_tokens",
            "chunk_overlap_percentage",
            "ingestion_window_seconds",
        },
    )
    require_endpoints(
        endpoints,
        KNOWLEDGE_ENDPOINTS,
        env_key,
        "the knowledge-base functions reach Bedrock Agents and SQS only through PrivateLink",
    )
    knowledge_prefix = prefix(block, "prefix", key)
    if _overlaps(knowledge_prefix, phi.curated_prefix):
        raise ConfigError(
            f"{key}.prefix",
            knowledge_prefix,
            f"a curated prefix apart from genai.phi.curated_prefix ({phi.curated_prefix}): the "
            "PHI pipeline writes findings records there, which must not become retrievable",
        )
    model_id = text(block, "embedding_model_id", key)
    model = EMBEDDING_MODELS.get(model_id)
    if model is None:
        raise ConfigError(
            f"{key}.embedding_model_id", model_id, f"one of {', '.join(sorted(EMBEDDING_MODELS))}"
        )
    sizes = f"one of {', '.join(map(str, model.dimensions))} for {model_id}"
    dimensions = get(block, "dimensions", f"{key}.dimensions", int, sizes)
    if type(dimensions) is not int or dimensions not in model.dimensions:
        raise ConfigError(f"{key}.dimensions", dimensions, sizes)
    max_results = integer(block, "max_results", key, 1, 100)
    return KnowledgeBaseConfig(
        prefix=knowledge_prefix,
        embedding_model_id=model_id,
        dimensions=dimensions,
        number_of_results=integer(block, "number_of_results", key, 1, max_results),
        max_results=max_results,
        max_question_chars=integer(block, "max_question_chars", key, 1, GROUNDING_QUERY_MAX),
        max_output_tokens=integer(block, "max_output_tokens", key, 1, 1_000_000),
        chunk_max_tokens=integer(block, "chunk_max_tokens", key, 20, model.max_input_tokens),
        chunk_overlap_percentage=integer(block, "chunk_overlap_percentage", key, 1, 99),
        ingestion_window_seconds=integer(
            block, "ingestion_window_seconds", key, 1, BATCHING_WINDOW_MAX
        ),
    )


def parse_batch_inference(
    raw: Mapping[str, Any],
    key: str,
    *,
    phi: PhiConfig,
    knowledge_base: KnowledgeBaseConfig | None,
    account: str,
) -> BatchInferenceConfig | None:
    """Validate ``<env>.genai.batch_inference`` (absent or null: no batch-inference role).

    Guardrails do not apply to batch jobs, so the input prefix must hold redacted text only:
    it must lie under ``phi.curated_prefix`` (the PHI pipeline's output) or the knowledge
    prefix. The output prefix is the job's own, apart from every input.
    """
    block = raw.get("batch_inference")
    if block is None:
        return None
    key = f"{key}.batch_inference"
    if not isinstance(block, dict):
        raise ConfigError(key, block, "an object (the batch-inference role), or null for none")
    no_unknown(block, key, {"input_prefix", "output_prefix", "submitter_role_arns"})
    redacted = [phi.curated_prefix] + ([knowledge_base.prefix] if knowledge_base else [])
    input_prefix = prefix(block, "input_prefix", key)
    if not any(input_prefix.startswith(p) for p in redacted):
        raise ConfigError(
            f"{key}.input_prefix",
            input_prefix,
            f"a prefix under {' or '.join(redacted)} (redacted text only: guardrails do not "
            "apply to batch inference)",
        )
    output_prefix = prefix(block, "output_prefix", key)
    for taken in (*redacted, input_prefix):
        if _overlaps(output_prefix, taken):
            raise ConfigError(
                f"{key}.output_prefix",
                output_prefix,
                f"a curated prefix of its own, apart from {taken} (a job must not overwrite its "
                "input or the redacted or knowledge text)",
            )
    return BatchInferenceConfig(
        input_prefix=input_prefix,
        output_prefix=output_prefix,
        submitter_role_arns=role_arns(block, "submitter_role_arns", key, account),
    )
