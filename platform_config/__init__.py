"""Typed, validated platform configuration read from ``cdk.json`` context."""

from platform_config.catalogue import ENDPOINT_SERVICES
from platform_config.loader import (
    CONTEXT_KEY,
    SELECT_KEY,
    ConfigError,
    EnvironmentConfig,
    PlatformConfig,
    load_config,
    read_cdk_json,
)

__all__ = [
    "CONTEXT_KEY",
    "ENDPOINT_SERVICES",
    "SELECT_KEY",
    "ConfigError",
    "EnvironmentConfig",
    "PlatformConfig",
    "load_config",
    "read_cdk_json",
]
