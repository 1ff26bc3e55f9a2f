"""Settings of the SageMaker isolation rule, read and validated at the start of each call.

The variables are described in ``sagemaker_isolation_rule.py`` (Environment).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from handler_kit.env import bounded_int, matching_str, one_of, optional_str, queue_url

SCOPES = ("account", "job")
MAX_LOOKBACK_HOURS = 8760
ROLE_NAME_RE = re.compile(r"[\w+=,.@-]{1,64}")
"""An IAM role name (no path): 1-64 letters, digits and ``+=,.@_-`` (matched in full)."""
ROLE_NAME_EXPECTED = "an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-, no path), or unset"


@dataclass(frozen=True)
class Settings:
    """Validated environment configuration.

    ``member_role_name`` None: single-account mode (the function's own credentials do
    everything); set: organization mode (assume that role in the event's account).
    """

    dlq_url: str
    lookback_hours: int
    scope: str
    member_role_name: str | None = None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment (``os.environ`` when None).

    Raises:
        ConfigurationError: a variable is missing or invalid.
    """
    env = os.environ if env is None else env
    member_role = None
    if optional_str(env, "MEMBER_ROLE_NAME") is not None:
        member_role = matching_str(env, "MEMBER_ROLE_NAME", ROLE_NAME_RE, ROLE_NAME_EXPECTED)
    return Settings(
        dlq_url=queue_url(env),
        lookback_hours=bounded_int(
            env, "LOOKBACK_HOURS", 1, MAX_LOOKBACK_HOURS, default=24, unit="whole hours"
        ),
        scope=one_of(env, "EVALUATION_SCOPE", SCOPES, default="account"),
        member_role_name=member_role,
    )
