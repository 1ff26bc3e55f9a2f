"""Typed, validated platform configuration read from ``cdk.json`` context."""

from platform_config.catalogue import ENDPOINT_SERVICES, SECURITYHUB_STANDARDS
from platform_config.loader import (
    BUCKETS,
    CONTEXT_KEY,
    LAMBDA_UNRESERVED_MINIMUM,
    RESERVED_FUNCTIONS,
    SELECT_KEY,
    AccessReviewConfig,
    AuditConfig,
    BucketConfig,
    ConfigError,
    DataConfig,
    EnvironmentConfig,
    MacieConfig,
    PlatformConfig,
    ReservedConcurrency,
    load_config,
    read_cdk_json,
    singletons_owned,
)

__all__ = [
    "BUCKETS",
    "CONTEXT_KEY",
    "ENDPOINT_SERVICES",
    "LAMBDA_UNRESERVED_MINIMUM",
    "RESERVED_FUNCTIONS",
    "SECURITYHUB_STANDARDS",
    "SELECT_KEY",
    "AccessReviewConfig",
    "AuditConfig",
    "BucketConfig",
    "ConfigError",
    "DataConfig",
    "EnvironmentConfig",
    "MacieConfig",
    "PlatformConfig",
    "ReservedConcurrency",
    "load_config",
    "read_cdk_json",
    "singletons_owned",
]
