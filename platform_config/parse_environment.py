"""One environment: account, region, network, tags, reservations, then each section."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from platform_config.catalogue import (
    ENDPOINT_SERVICES,
    REGION_AZ_LETTERS,
    availability_zones_of,
)
from platform_config.model import RESERVED_FUNCTIONS, EnvironmentConfig, ReservedConcurrency
from platform_config.parse_audit import parse_audit
from platform_config.parse_data import parse_data
from platform_config.parse_genai import parse_genai
from platform_config.parse_ml import parse_ml
from platform_config.readers import (
    ACCOUNT_ID,
    EMAIL,
    MISSING,
    ConfigError,
    get,
    no_unknown,
    retention,
    str_list,
)
from secure_constructs.core.sizing import DEFAULT_SUBNET_PLAN

REQUIRED_TAGS = ("owner", "cost-center", "data-classification")

DATA_CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")

_ENV_NAME = re.compile(r"^[a-z][a-z0-9]{1,9}$")


_TAG_KEY = re.compile(r"^(?!aws:)[\w .:/=+@-]{1,128}$")

_PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)

_ENV_KEYS = frozenset(
    {
        "account",
        "region",
        "availability_zones",
        "allowed_regions",
        "vpc_cidr",
        "nat_gateways",
        "interface_endpoints",
        "endpoint_availability_zones",
        "flow_log_retention_days",
        "alert_email",
        "termination_protection",
        "tags",
        "reserved_concurrency",
        "data",
        "audit",
        "s3_prefix_list_id",
        "ml",
        "genai",
    }
)

_PREFIX_LIST = re.compile(r"^pl-[0-9a-f]{8,17}$")


def parse_environment(name: str, raw: Any, key: str) -> EnvironmentConfig:
    """Validate one environment ``name`` (``key`` is its path in cdk.json)."""
    if not _ENV_NAME.match(name):
        raise ConfigError(key, name, "environment names are 2-10 lowercase letters or digits")
    if not isinstance(raw, dict):
        raise ConfigError(key, raw, "an object")
    no_unknown(raw, key, _ENV_KEYS)

    account = get(raw, "account", f"{key}.account", str, "a 12-digit AWS account ID as a string")
    if not ACCOUNT_ID.match(account):
        raise ConfigError(f"{key}.account", account, "a 12-digit AWS account ID as a string")

    regions_text = f"a supported region: {', '.join(sorted(REGION_AZ_LETTERS))}"
    allowed_regions = str_list(raw, "allowed_regions", key, min_items=1)
    for region_name in allowed_regions:
        if region_name not in REGION_AZ_LETTERS:
            raise ConfigError(f"{key}.allowed_regions", region_name, regions_text)
    region = get(raw, "region", f"{key}.region", str, regions_text)
    if region not in REGION_AZ_LETTERS:
        raise ConfigError(f"{key}.region", region, regions_text)
    if region not in allowed_regions:
        raise ConfigError(
            f"{key}.region",
            region,
            f"must be one of allowed_regions ({', '.join(allowed_regions)}): data residency",
        )

    azs = str_list(raw, "availability_zones", key, min_items=2)
    region_azs = availability_zones_of(region)
    for az in azs:
        if az not in region_azs:
            raise ConfigError(
                f"{key}.availability_zones", az, f"an AZ of {region}: {', '.join(region_azs)}"
            )

    cidr = vpc_cidr(raw, f"{key}.vpc_cidr", len(azs))

    nat_key = f"{key}.nat_gateways"
    nat = get(raw, "nat_gateways", nat_key, int, "an integer")
    if not 1 <= nat <= len(azs):
        raise ConfigError(
            nat_key, nat, f"an integer from 1 to the number of availability_zones ({len(azs)})"
        )

    endpoints = str_list(raw, "interface_endpoints", key, min_items=0)
    for endpoint in endpoints:
        if endpoint not in ENDPOINT_SERVICES:
            raise ConfigError(
                f"{key}.interface_endpoints",
                endpoint,
                f"a known endpoint service: {', '.join(sorted(ENDPOINT_SERVICES))}",
            )
    endpoint_azs = str_list(raw, "endpoint_availability_zones", key, min_items=1)
    for az in endpoint_azs:
        if az not in azs:
            raise ConfigError(
                f"{key}.endpoint_availability_zones",
                az,
                f"one of the environment's availability_zones: {', '.join(azs)}",
            )

    flow_log_retention = retention(raw, "flow_log_retention_days", key)

    email = get(raw, "alert_email", f"{key}.alert_email", str, "an email address")
    if not EMAIL.match(email):
        raise ConfigError(f"{key}.alert_email", email, "an email address such as ops@example.com")

    protection = get(
        raw, "termination_protection", f"{key}.termination_protection", bool, "true or false"
    )

    return EnvironmentConfig(
        name=name,
        account=account,
        region=region,
        availability_zones=tuple(azs),
        allowed_regions=tuple(allowed_regions),
        vpc_cidr=cidr,
        nat_gateways=nat,
        interface_endpoints=tuple(endpoints),
        endpoint_availability_zones=tuple(endpoint_azs),
        flow_log_retention_days=flow_log_retention,
        alert_email=email,
        termination_protection=protection,
        tags=_tags(raw, f"{key}.tags"),
        reserved_concurrency=_reserved_concurrency(raw, f"{key}.reserved_concurrency"),
        data=parse_data(raw, f"{key}.data", account),
        audit=parse_audit(raw, f"{key}.audit"),
        **_workloads(raw, key, account=account, region=region, endpoints=endpoints),
    )


def _reserved_concurrency(raw: Mapping[str, Any], key: str) -> ReservedConcurrency:
    block = get(
        raw, "reserved_concurrency", key, dict, f"an object with {', '.join(RESERVED_FUNCTIONS)}"
    )
    no_unknown(block, key, set(RESERVED_FUNCTIONS))
    values: dict[str, int | None] = {}
    for name in RESERVED_FUNCTIONS:
        # Absent and null both mean "no reservation" (the CDK CLI drops null context values);
        # unknown names are refused above, so a misspelt function cannot pass for absent.
        value = block.get(name)
        if value is not None and (type(value) is not int or not 1 <= value <= 1000):
            raise ConfigError(
                f"{key}.{name}", value, "an integer from 1 to 1000, or null for no reservation"
            )
        values[name] = value
    return ReservedConcurrency(**values)


def _workloads(
    raw: Mapping[str, Any], key: str, *, account: str, region: str, endpoints: list[str]
) -> dict[str, Any]:
    """The SageMaker and Bedrock/PHI sections (``parse_ml``, ``parse_genai``)."""
    return {
        "s3_prefix_list_id": parse_s3_prefix_list(raw, key),
        "ml": parse_ml(raw, key, region=region, endpoints=endpoints),
        "genai": parse_genai(raw, key, account=account, region=region, endpoints=endpoints),
    }


def parse_s3_prefix_list(env_raw: Mapping[str, Any], env_key: str) -> str:
    """``<env>.s3_prefix_list_id``: the region's S3 managed prefix list (for security groups)."""
    full = f"{env_key}.s3_prefix_list_id"
    value: str = get(
        env_raw, "s3_prefix_list_id", full, str, "a prefix list ID such as pl-63a5400a"
    )
    if not _PREFIX_LIST.match(value):
        raise ConfigError(
            full,
            value,
            "the ID of the region's com.amazonaws.<region>.s3 managed prefix list, such as "
            "pl-63a5400a (aws ec2 describe-managed-prefix-lists)",
        )
    return value


def vpc_cidr(raw: Mapping[str, Any], key: str, az_count: int) -> str:
    """``vpc_cidr`` of ``raw``: a private IPv4 network large enough for ``az_count`` AZs."""
    text: str = get(raw, "vpc_cidr", key, str, "an IPv4 CIDR such as 10.0.0.0/16")
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise ConfigError(
            key, text, "an IPv4 network in CIDR notation with no host bits, such as 10.0.0.0/16"
        ) from None
    if not isinstance(network, ipaddress.IPv4Network) or not any(
        network.subnet_of(private) for private in _PRIVATE_RANGES
    ):
        raise ConfigError(key, text, "a private IPv4 range inside 10/8, 172.16/12 or 192.168/16")
    if network.prefixlen < 16:
        raise ConfigError(key, text, "a prefix of /16 or longer (the largest VPC AWS allows)")
    needed = DEFAULT_SUBNET_PLAN.addresses_needed(az_count)
    if network.num_addresses < needed:
        largest_prefix = 32 - (needed - 1).bit_length()
        raise ConfigError(
            key,
            text,
            f"too small: {az_count} AZs need {needed} addresses (public /"
            f"{DEFAULT_SUBNET_PLAN.public_mask}, private /{DEFAULT_SUBNET_PLAN.private_mask}, "
            f"isolated /{DEFAULT_SUBNET_PLAN.isolated_mask} per AZ); use /{largest_prefix} "
            "or a shorter prefix",
        )
    return text


def _tags(raw: Mapping[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    tags = get(raw, "tags", key, dict, f"an object with at least {', '.join(REQUIRED_TAGS)}")
    for required in REQUIRED_TAGS:
        if required not in tags:
            raise ConfigError(f"{key}.{required}", MISSING, "a required tag")
    for tag_key, value in tags.items():
        if not _TAG_KEY.match(tag_key):
            raise ConfigError(
                f"{key}", tag_key, "tag keys are 1-128 characters and must not start with 'aws:'"
            )
        if not isinstance(value, str) or not 1 <= len(value) <= 256:
            raise ConfigError(f"{key}.{tag_key}", value, "a string of 1-256 characters")
    classification = tags["data-classification"]
    if classification not in DATA_CLASSIFICATIONS:
        raise ConfigError(
            f"{key}.data-classification",
            classification,
            f"one of {', '.join(DATA_CLASSIFICATIONS)}",
        )
    return tuple(sorted(tags.items()))
