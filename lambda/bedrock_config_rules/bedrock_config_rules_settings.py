"""Settings of the Bedrock Config rules, read and validated at the start of each call.

The variables are described in ``bedrock_config_rules.py`` (Environment).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from handler_kit.env import matching_str, queue_url

REGION_RE = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
"""An AWS Region name such as ``us-east-1`` or ``us-gov-west-1`` (matched in full)."""
REGION_EXPECTED = "an AWS Region such as us-east-1 (Lambda sets it)"


@dataclass(frozen=True)
class Settings:
    """Validated environment configuration."""

    dlq_url: str
    region: str


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment (``os.environ`` when None).

    Raises:
        ConfigurationError: a variable is missing or invalid.
    """
    env = os.environ if env is None else env
    return Settings(
        dlq_url=queue_url(env),
        region=matching_str(env, "AWS_REGION", REGION_RE, REGION_EXPECTED),
    )
