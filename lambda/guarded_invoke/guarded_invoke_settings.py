"""Settings of the guarded-invoke function, read and validated at the start of each call.

The variables are described in ``guarded_invoke.py`` (Environment).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from handler_kit.env import bounded_int, matching_str, optional_str
from handler_kit.errors import ConfigurationError

# Bedrock's contextual grounding policy takes at most 100,000 characters of grounding source.
GROUNDING_CHARS_LIMIT = 100_000
GUARDRAIL_ID_RE = re.compile(
    r"[a-z0-9]+|arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+"
)
GUARDRAIL_VERSION_RE = re.compile(r"[1-9][0-9]{0,7}")
MODEL_ID_RE = re.compile(r"\S+")


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


def _model_ids(env: Mapping[str, str]) -> set[str]:
    """``ALLOWED_MODEL_IDS``: comma-separated model IDs, blanks ignored (unset: none)."""
    raw = env.get("ALLOWED_MODEL_IDS", "")
    allowed = {m.strip() for m in raw.split(",") if m.strip()}
    if any(any(c.isspace() for c in m) for m in allowed):
        raise ConfigurationError(
            f"ALLOWED_MODEL_IDS={raw!r} is invalid; expected comma-separated model IDs"
        )
    return allowed


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment (``os.environ`` when None).

    Raises:
        ConfigurationError: a variable is missing or invalid.
    """
    env = os.environ if env is None else env
    guardrail_id = matching_str(
        env, "GUARDRAIL_ID", GUARDRAIL_ID_RE, "a guardrail ID or ARN (required)"
    )
    version = matching_str(
        env,
        "GUARDRAIL_VERSION",
        GUARDRAIL_VERSION_RE,
        "a published version number (required; not DRAFT, which can change without a deployment)",
    )
    default_model = matching_str(
        env, "DEFAULT_MODEL_ID", MODEL_ID_RE, "a model or inference profile ID (required)"
    )
    allowed = _model_ids(env) | {default_model}
    endpoint = optional_str(env, "BEDROCK_ENDPOINT_URL")
    if endpoint is not None and not endpoint.startswith("https://"):
        raise ConfigurationError(
            f"BEDROCK_ENDPOINT_URL={endpoint!r} is invalid; expected an https:// URL"
        )
    return Settings(
        guardrail_id=guardrail_id,
        guardrail_version=version,
        default_model_id=default_model,
        allowed_model_ids=frozenset(allowed),
        max_prompt_chars=bounded_int(env, "MAX_PROMPT_CHARS", 1, 1_000_000, default=20000),
        max_output_tokens=bounded_int(env, "MAX_OUTPUT_TOKENS", 1, 1_000_000, default=4096),
        max_grounding_chars=bounded_int(
            env, "MAX_GROUNDING_CHARS", 1, GROUNDING_CHARS_LIMIT, default=GROUNDING_CHARS_LIMIT
        ),
        endpoint_url=endpoint,
        read_timeout=bounded_int(env, "BEDROCK_READ_TIMEOUT_SECONDS", 1, 900, default=60),
    )
