"""Typed, validated platform configuration read from ``cdk.json`` context."""

from platform_config.catalogue import ENDPOINT_SERVICES, SECURITYHUB_STANDARDS
from platform_config.loader import (
    BUCKETS,
    CONTEXT_KEY,
    SELECT_KEY,
    AccessReviewConfig,
    AuditConfig,
    BucketConfig,
    ConfigError,
    DataConfig,
    EnvironmentConfig,
    MacieConfig,
    PlatformConfig,
    load_config,
    read_cdk_json,
)

__all__ = [
    "BUCKETS",
    "CONTEXT_KEY",
    "ENDPOINT_SERVICES",
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
    "load_config",
    "read_cdk_json",
]
