"""Settings of the PHI redaction function, read and validated at the start of each call.

The variables are described in ``phi_redaction.py`` (Environment variables).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from handler_kit.env import boolean, bounded_float, bounded_int, matching_str, queue_url

DEFAULT_MAX_OBJECT_BYTES = 1_000_000
DEFAULT_MIN_SCORE = 0.5
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
PREFIX_RE = re.compile(r"(?!/).*/", re.DOTALL)
KMS_KEY_ARN_RE = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+")
BUCKET = "a valid S3 bucket name"
PREFIX = "a key prefix ending in '/' and not starting with '/'"


@dataclass(frozen=True)
class Settings:
    """Validated configuration of one invocation."""

    raw_bucket: str
    clinical_prefix: str
    curated_bucket: str
    curated_prefix: str
    data_key_arn: str
    dlq_url: str
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    min_score: float = DEFAULT_MIN_SCORE
    redact_low_score: bool = True


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment (``os.environ`` when None).

    Raises:
        ConfigurationError: a variable is missing or invalid; the message names it.
    """
    env = os.environ if env is None else env
    data_key_arn = matching_str(
        env,
        "DATA_KEY_ARN",
        KMS_KEY_ARN_RE,
        "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)",
    )
    dlq_url = queue_url(env)
    max_object_bytes = bounded_int(
        env,
        "MAX_OBJECT_BYTES",
        1,
        None,
        default=DEFAULT_MAX_OBJECT_BYTES,
        unit="a whole number of bytes",
    )
    min_score = bounded_float(env, "MIN_SCORE", 0.0, 1.0, default=DEFAULT_MIN_SCORE)
    redact_low_score = boolean(env, "REDACT_LOW_SCORE", default=True)
    return Settings(
        raw_bucket=matching_str(env, "RAW_BUCKET", BUCKET_RE, BUCKET),
        clinical_prefix=matching_str(env, "CLINICAL_PREFIX", PREFIX_RE, PREFIX),
        curated_bucket=matching_str(env, "CURATED_BUCKET", BUCKET_RE, BUCKET),
        curated_prefix=matching_str(env, "CURATED_PREFIX", PREFIX_RE, PREFIX),
        data_key_arn=data_key_arn,
        dlq_url=dlq_url,
        max_object_bytes=max_object_bytes,
        min_score=min_score,
        redact_low_score=redact_low_score,
    )
