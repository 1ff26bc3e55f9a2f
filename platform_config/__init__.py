"""Typed, validated platform configuration read from ``cdk.json`` context.

``readers`` (one-line errors, typed getters) -> one parser per section (``parse_environment``,
``parse_data``, ``parse_audit``, ``parse_ml``, ``parse_genai``) -> the frozen ``model`` ->
``loader.load_config``. No module imports another's private helpers and there is no cycle.
"""

from platform_config.catalogue import ENDPOINT_SERVICES, SECURITYHUB_STANDARDS
from platform_config.loader import load_config, read_cdk_json, singletons_owned
from platform_config.model import (
    ACCOUNT_SERVICES,
    BUCKETS,
    CONTEXT_KEY,
    LAMBDA_UNRESERVED_MINIMUM,
    RESERVED_FUNCTIONS,
    SELECT_KEY,
    SEVERITIES,
    AccessReviewConfig,
    AuditConfig,
    BucketConfig,
    DataConfig,
    DeliveryConfig,
    EnvironmentConfig,
    GenAiConfig,
    MacieConfig,
    MlConfig,
    OrganizationConfig,
    PlatformConfig,
    ReservedConcurrency,
)
from platform_config.readers import ConfigError

__all__ = [
    "ACCOUNT_SERVICES",
    "BUCKETS",
    "CONTEXT_KEY",
    "ENDPOINT_SERVICES",
    "LAMBDA_UNRESERVED_MINIMUM",
    "RESERVED_FUNCTIONS",
    "SECURITYHUB_STANDARDS",
    "SELECT_KEY",
    "SEVERITIES",
    "AccessReviewConfig",
    "AuditConfig",
    "BucketConfig",
    "ConfigError",
    "DataConfig",
    "DeliveryConfig",
    "EnvironmentConfig",
    "GenAiConfig",
    "MacieConfig",
    "MlConfig",
    "OrganizationConfig",
    "PlatformConfig",
    "ReservedConcurrency",
    "load_config",
    "read_cdk_json",
    "singletons_owned",
]
