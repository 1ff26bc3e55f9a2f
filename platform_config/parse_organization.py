"""The optional ``organization`` block: an AWS Organization the environments belong to.

Without the block the platform is single-account, exactly as before. With it: the organization
ID, the management, log-archive and security account IDs (three distinct accounts), the
organizational units by name, and the OU each environment belongs to. An environment's account
may not be one of the three organization accounts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from platform_config.catalogue import REGION_AZ_LETTERS, availability_zones_of
from platform_config.model import (
    SEVERITIES,
    EnvironmentConfig,
    LogArchiveConfig,
    OrganizationConfig,
    ToolingNetworkConfig,
)
from platform_config.parse_environment import vpc_cidr
from platform_config.readers import (
    ACCOUNT_ID,
    EMAIL,
    ORGANIZATION_ID,
    ConfigError,
    choice,
    get,
    integer,
    no_unknown,
    str_list,
)

_OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
_OU_NAME = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
_ROLE_PATTERN = re.compile(r"^[A-Za-z0-9+=,.@_*-]{1,64}$")
ROLES = ("management_account", "log_archive_account", "security_account")
KEYS = frozenset(
    {
        "id",
        *ROLES,
        "organizational_units",
        "environment_ous",
        "home_region",
        "break_glass_role",
        "deployment_role_patterns",
        "security_alert_email",
        "findings_severity_threshold",
        "log_archive",
        "security_network",
    }
)


def _network(raw: Mapping[str, Any], key: str, region: str) -> ToolingNetworkConfig:
    block = get(raw, "security_network", key, dict, "an object: vpc_cidr, availability_zones")
    no_unknown(block, key, {"vpc_cidr", "availability_zones"})
    azs = str_list(block, "availability_zones", key, min_items=2)
    for az in azs:
        if az not in availability_zones_of(region):
            raise ConfigError(
                f"{key}.availability_zones",
                az,
                f"an AZ of home_region {region}: {', '.join(availability_zones_of(region))}",
            )
    return ToolingNetworkConfig(
        vpc_cidr=vpc_cidr(block, f"{key}.vpc_cidr", len(azs)), availability_zones=tuple(azs)
    )


def _log_archive(raw: Mapping[str, Any], key: str) -> LogArchiveConfig:
    block = get(raw, "log_archive", key, dict, "an object (see the README)")
    no_unknown(
        block,
        key,
        {
            "object_lock_mode",
            "object_lock_days",
            "trail_retention_days",
            "access_log_retention_days",
        },
    )
    lock_days = integer(block, "object_lock_days", key, 1, 36500)
    retention = integer(block, "trail_retention_days", key, 1, 36500)
    if retention < lock_days:
        raise ConfigError(
            f"{key}.trail_retention_days",
            retention,
            f"at least object_lock_days ({lock_days}): locked objects cannot expire earlier",
        )
    return LogArchiveConfig(
        object_lock_mode=choice(block, "object_lock_mode", key, ("GOVERNANCE", "COMPLIANCE")),
        object_lock_days=lock_days,
        trail_retention_days=retention,
        access_log_retention_days=integer(block, "access_log_retention_days", key, 1, 36500),
    )


def _roles(raw: Mapping[str, Any], key: str) -> tuple[str, tuple[str, ...]]:
    role_key = f"{key}.break_glass_role"
    role = get(raw, "break_glass_role", role_key, str, "an IAM role name")
    if not _ROLE_NAME.match(role):
        raise ConfigError(role_key, role, "an IAM role name (letters, digits, +=,.@_-; 1-64)")
    patterns = str_list(raw, "deployment_role_patterns", key, min_items=1)
    for pattern in patterns:
        if not _ROLE_PATTERN.match(pattern) or pattern.strip("*") == "":
            raise ConfigError(
                f"{key}.deployment_role_patterns",
                pattern,
                "an IAM role name, * allowed, not only * (e.g. cdk-hnb659fds-*)",
            )
    return role, tuple(patterns)


def parse_organization(
    raw: Mapping[str, Any], key: str, environments: Sequence[EnvironmentConfig]
) -> OrganizationConfig:
    """Validate the block at ``key`` against the (already validated) ``environments``."""
    no_unknown(raw, key, KEYS)
    org_id = get(raw, "id", f"{key}.id", str, "an organization ID, o- and 10-32 letters or digits")
    if not ORGANIZATION_ID.match(org_id):
        raise ConfigError(f"{key}.id", org_id, "an organization ID, o- and 10-32 letters or digits")
    accounts: dict[str, str] = {}
    for role in ROLES:
        account = get(raw, role, f"{key}.{role}", str, "a 12-digit AWS account ID as a string")
        if not ACCOUNT_ID.match(account):
            raise ConfigError(f"{key}.{role}", account, "a 12-digit AWS account ID as a string")
        other = next((r for r, a in accounts.items() if a == account), None)
        if other is not None:
            raise ConfigError(f"{key}.{role}", account, f"a different account than {other}")
        accounts[role] = account
    ous_key = f"{key}.organizational_units"
    raw_ous = get(raw, "organizational_units", ous_key, dict, "an object: OU name -> OU ID")
    if not raw_ous:
        raise ConfigError(ous_key, raw_ous, "at least one organizational unit")
    ous: dict[str, str] = {}
    for name, ou_id in raw_ous.items():
        if not _OU_NAME.match(name):
            raise ConfigError(ous_key, name, "OU names: lowercase letters, digits and hyphens")
        if not isinstance(ou_id, str) or not _OU_ID.match(ou_id):
            raise ConfigError(f"{ous_key}.{name}", ou_id, "an OU ID: ou-<root part>-<8-32 chars>")
        ous[name] = ou_id
    members_key = f"{key}.environment_ous"
    raw_members = get(raw, "environment_ous", members_key, dict, "an object: environment -> OU")
    by_name = {env.name: env for env in environments}
    missing = sorted(set(by_name) - set(raw_members))
    if missing:
        raise ConfigError(
            members_key, raw_members, f"an OU for every environment; missing {missing}"
        )
    members: dict[str, str] = {}
    for env_name, ou_name in raw_members.items():
        if env_name not in by_name:
            raise ConfigError(
                f"{members_key}.{env_name}", ou_name, f"one of the environments {sorted(by_name)}"
            )
        if ou_name not in ous:
            raise ConfigError(f"{members_key}.{env_name}", ou_name, f"one of {sorted(ous)}")
        taken = next((r for r, a in accounts.items() if a == by_name[env_name].account), None)
        if taken is not None:
            raise ConfigError(
                f"{members_key}.{env_name}",
                by_name[env_name].account,
                f"a workload account: environment {env_name}'s account is the {taken}",
            )
        members[env_name] = ou_name
    region_key = f"{key}.home_region"
    home = get(raw, "home_region", region_key, str, "an AWS region")
    if home not in REGION_AZ_LETTERS:
        raise ConfigError(region_key, home, f"one of {', '.join(sorted(REGION_AZ_LETTERS))}")
    email_key = f"{key}.security_alert_email"
    email = get(raw, "security_alert_email", email_key, str, "an email address")
    if not EMAIL.match(email):
        raise ConfigError(email_key, email, "an email address such as security@example.com")
    break_glass, deployers = _roles(raw, key)
    return OrganizationConfig(
        organization_id=org_id,
        management_account=accounts["management_account"],
        log_archive_account=accounts["log_archive_account"],
        security_account=accounts["security_account"],
        organizational_units=tuple(sorted(ous.items())),
        environment_ous=tuple(sorted(members.items())),
        home_region=home,
        break_glass_role=break_glass,
        deployment_role_patterns=deployers,
        security_alert_email=email,
        findings_severity_threshold=choice(raw, "findings_severity_threshold", key, SEVERITIES),
        log_archive=_log_archive(raw, f"{key}.log_archive"),
        security_network=_network(raw, f"{key}.security_network", home),
        regions=(
            home,
            *sorted({r for env in environments for r in env.allowed_regions} - {home}),
        ),
        securityhub_standards=tuple(
            sorted({s for env in environments for s in env.audit.securityhub_standards})
        ),
    )
