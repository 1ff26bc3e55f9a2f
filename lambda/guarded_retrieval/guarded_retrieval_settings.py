"""Settings of the guarded-retrieval function, read and validated at the start of each call.

The variables are described in ``guarded_retrieval.py`` (Environment).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from handler_kit.bedrock import guarded_models, https_url, read_timeout
from handler_kit.env import bounded_int, matching_str
from handler_kit.errors import ConfigurationError

KNOWLEDGE_BASE_ID_RE = re.compile(
    r"[0-9a-zA-Z]{10}"
    r"|arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:knowledge-base/[0-9a-zA-Z]{10}"
)
"""botocore's ``KnowledgeBaseIdentifier`` pattern (bedrock-agent-runtime ``Retrieve``)."""
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
PREFIX_RE = re.compile(r"[^/\s]\S*/")
RETRIEVE_QUERY_MAX = 20_000
"""The longest ``retrievalQuery.text`` Retrieve accepts (``KnowledgeBaseQueryTextString``)."""
RESULTS_MAX = 100
"""The most results one Retrieve returns (``vectorSearchConfiguration.numberOfResults``)."""


@dataclass(frozen=True)
class Settings:
    """Validated environment configuration."""

    knowledge_base_id: str
    knowledge_bucket: str
    knowledge_prefix: str
    guardrail_id: str
    guardrail_version: str
    default_model_id: str
    allowed_model_ids: frozenset[str]
    max_question_chars: int
    max_output_tokens: int
    number_of_results: int
    max_results: int
    read_timeout: int
    endpoint_url: str | None
    agent_runtime_endpoint_url: str | None


def _number_of_results(env: Mapping[str, str], max_results: int) -> int:
    """``NUMBER_OF_RESULTS``: 1..MAX_RESULTS, default 5 (which must fit MAX_RESULTS too)."""
    number = bounded_int(env, "NUMBER_OF_RESULTS", 1, max_results, default=5)
    if number > max_results:  # only the default can be: a set value was checked above
        raise ConfigurationError(
            f"NUMBER_OF_RESULTS is not set and its default 5 exceeds MAX_RESULTS={max_results}; "
            f"allowed: a whole number 1-{max_results}"
        )
    return number


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment (``os.environ`` when None).

    Raises:
        ConfigurationError: a variable is missing or invalid; the message names it.
    """
    env = os.environ if env is None else env
    knowledge_base_id = matching_str(
        env,
        "KNOWLEDGE_BASE_ID",
        KNOWLEDGE_BASE_ID_RE,
        "a knowledge base ID (10 letters or digits) or its ARN",
    )
    bucket = matching_str(env, "KNOWLEDGE_BUCKET", BUCKET_RE, "a valid S3 bucket name")
    prefix = matching_str(
        env,
        "KNOWLEDGE_PREFIX",
        PREFIX_RE,
        "a key prefix ending in '/' and not starting with '/' (e.g. knowledge/)",
    )
    models = guarded_models(env)
    max_results = bounded_int(env, "MAX_RESULTS", 1, RESULTS_MAX, default=20)
    return Settings(
        knowledge_base_id=knowledge_base_id,
        knowledge_bucket=bucket,
        knowledge_prefix=prefix,
        guardrail_id=models.guardrail_id,
        guardrail_version=models.guardrail_version,
        default_model_id=models.default_model_id,
        allowed_model_ids=models.allowed_model_ids,
        max_question_chars=bounded_int(
            env, "MAX_QUESTION_CHARS", 1, RETRIEVE_QUERY_MAX, default=4000
        ),
        max_output_tokens=bounded_int(env, "MAX_OUTPUT_TOKENS", 1, 1_000_000, default=1024),
        number_of_results=_number_of_results(env, max_results),
        max_results=max_results,
        read_timeout=read_timeout(env),
        endpoint_url=https_url(env, "BEDROCK_ENDPOINT_URL"),
        agent_runtime_endpoint_url=https_url(env, "BEDROCK_AGENT_RUNTIME_ENDPOINT_URL"),
    )
