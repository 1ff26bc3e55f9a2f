"""Typed, validated platform configuration read from ``cdk.json`` context."""

from platform_config.catalogue import ENDPOINT_SERVICES
from platform_config.loader import (
    BUCKETS,
    CONTEXT_KEY,
    SELECT_KEY,
    BucketConfig,
    ConfigError,
    DataConfig,
    EnvironmentConfig,
    PlatformConfig,
    load_config,
    read_cdk_json,
)

__all__ = [
    "BUCKETS",
    "CONTEXT_KEY",
    "ENDPOINT_SERVICES",
    "SELECT_KEY",
    "BucketConfig",
    "ConfigError",
    "DataConfig",
    "EnvironmentConfig",
    "PlatformConfig",
    "load_config",
    "read_cdk_json",
]
