"""Settings of the knowledge ingestion function, read and validated at the start of each call.

The variables are described in ``knowledge_ingestion.py`` (Environment variables).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from handler_kit.env import matching_str, optional_str, queue_url

BEDROCK_ID_RE = re.compile(r"[0-9a-zA-Z]{10}")
"""The pattern botocore's bedrock-agent model gives ``knowledgeBaseId`` and ``dataSourceId``."""
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
PREFIX_RE = re.compile(r"(?!/).*/", re.DOTALL)
HTTPS_URL_RE = re.compile(r"https://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/\S*)?")
BEDROCK_ID = "10 letters or digits (the ID shown by the Bedrock console, not the ARN)"
BUCKET = "a valid S3 bucket name"
PREFIX = "a key prefix ending in '/' and not starting with '/' (e.g. knowledge/)"
HTTPS_URL = "an https:// URL (e.g. https://bedrock-agent.us-east-1.amazonaws.com)"


@dataclass(frozen=True)
class Settings:
    """Validated configuration of one invocation."""

    knowledge_base_id: str
    data_source_id: str
    knowledge_bucket: str
    knowledge_prefix: str
    dlq_url: str
    bedrock_agent_endpoint_url: str | None = None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment (``os.environ`` when None).

    Raises:
        ConfigurationError: a variable is missing or invalid; the message names it.
    """
    env = os.environ if env is None else env
    knowledge_base_id = matching_str(env, "KNOWLEDGE_BASE_ID", BEDROCK_ID_RE, BEDROCK_ID)
    data_source_id = matching_str(env, "DATA_SOURCE_ID", BEDROCK_ID_RE, BEDROCK_ID)
    knowledge_bucket = matching_str(env, "KNOWLEDGE_BUCKET", BUCKET_RE, BUCKET)
    knowledge_prefix = matching_str(env, "KNOWLEDGE_PREFIX", PREFIX_RE, PREFIX)
    dlq_url = queue_url(env)
    endpoint = None
    if optional_str(env, "BEDROCK_AGENT_ENDPOINT_URL") is not None:
        endpoint = matching_str(env, "BEDROCK_AGENT_ENDPOINT_URL", HTTPS_URL_RE, HTTPS_URL)
    return Settings(
        knowledge_base_id=knowledge_base_id,
        data_source_id=data_source_id,
        knowledge_bucket=knowledge_bucket,
        knowledge_prefix=knowledge_prefix,
        dlq_url=dlq_url,
        bedrock_agent_endpoint_url=endpoint,
    )
