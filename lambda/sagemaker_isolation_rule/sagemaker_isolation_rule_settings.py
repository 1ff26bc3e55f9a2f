"""Settings of the SageMaker isolation rule, read and validated at the start of each call.

The variables are described in ``sagemaker_isolation_rule.py`` (Environment).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from handler_kit.env import bounded_int, one_of, queue_url

SCOPES = ("account", "job")
MAX_LOOKBACK_HOURS = 8760


@dataclass(frozen=True)
class Settings:
    """Validated environment configuration."""

    dlq_url: str
    lookback_hours: int
    scope: str


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment (``os.environ`` when None).

    Raises:
        ConfigurationError: a variable is missing or invalid.
    """
    env = os.environ if env is None else env
    return Settings(
        dlq_url=queue_url(env),
        lookback_hours=bounded_int(
            env, "LOOKBACK_HOURS", 1, MAX_LOOKBACK_HOURS, default=24, unit="whole hours"
        ),
        scope=one_of(env, "EVALUATION_SCOPE", SCOPES, default="account"),
    )
