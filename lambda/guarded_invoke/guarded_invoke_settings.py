"""Settings of the guarded-invoke function, read and validated at the start of each call.

The variables are described in ``guarded_invoke.py`` (Environment).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from handler_kit.bedrock import GROUNDING_CHARS_LIMIT, guarded_models, https_url, read_timeout
from handler_kit.env import bounded_int


@dataclass(frozen=True)
class Settings:
    """Validated environment configuration."""

    guardrail_id: str
    guardrail_version: str
    default_model_id: str
    allowed_model_ids: frozenset[str]
    max_prompt_chars: int
    max_output_tokens: int
    max_grounding_chars: int
    endpoint_url: str | None
    read_timeout: int


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment (``os.environ`` when None).

    Raises:
        ConfigurationError: a variable is missing or invalid.
    """
    env = os.environ if env is None else env
    models = guarded_models(env)
    return Settings(
        guardrail_id=models.guardrail_id,
        guardrail_version=models.guardrail_version,
        default_model_id=models.default_model_id,
        allowed_model_ids=models.allowed_model_ids,
        max_prompt_chars=bounded_int(env, "MAX_PROMPT_CHARS", 1, 1_000_000, default=20000),
        max_output_tokens=bounded_int(env, "MAX_OUTPUT_TOKENS", 1, 1_000_000, default=4096),
        max_grounding_chars=bounded_int(
            env, "MAX_GROUNDING_CHARS", 1, GROUNDING_CHARS_LIMIT, default=GROUNDING_CHARS_LIMIT
        ),
        endpoint_url=https_url(env, "BEDROCK_ENDPOINT_URL"),
        read_timeout=read_timeout(env),
    )
