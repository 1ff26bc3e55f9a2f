"""Settings of the access review function, read and validated at the start of each call.

Environment variables:
    TOPIC_ARN: ARN of the SNS topic that receives the report (required).
    DLQ_URL: URL of the SQS dead-letter queue for unprocessable events (required).
    MAX_UNUSED_DAYS: days without use after which a role or user is reported (required, 1-3650).
    MAX_KEY_AGE_DAYS: age in days after which an access key is reported (required, 1-3650).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from handler_kit.env import bounded_int, queue_url, topic_arn

MAX_DAYS = 3650
DAYS = "a whole number of days"


@dataclass(frozen=True)
class Settings:
    """Validated configuration, read from the environment at the start of each call."""

    topic_arn: str
    dlq_url: str
    max_unused_days: int
    max_key_age_days: int


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The validated settings from ``env`` (``os.environ`` when None).

    Raises ``ConfigurationError`` naming the variable that is missing or invalid.
    """
    env = os.environ if env is None else env
    return Settings(
        topic_arn=topic_arn(env),
        dlq_url=queue_url(env),
        max_unused_days=bounded_int(env, "MAX_UNUSED_DAYS", 1, MAX_DAYS, unit=DAYS),
        max_key_age_days=bounded_int(env, "MAX_KEY_AGE_DAYS", 1, MAX_DAYS, unit=DAYS),
    )
