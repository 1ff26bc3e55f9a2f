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

from platform_config.model import EnvironmentConfig, OrganizationConfig
from platform_config.readers import ConfigError, get, no_unknown

_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_OU_NAME = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
ROLES = ("management_account", "log_archive_account", "security_account")


def parse_organization(
    raw: Mapping[str, Any], key: str, environments: Sequence[EnvironmentConfig]
) -> OrganizationConfig:
    """Validate the block at ``key`` against the (already validated) ``environments``."""
    no_unknown(raw, key, {"id", *ROLES, "organizational_units", "environment_ous"})
    org_id = get(raw, "id", f"{key}.id", str, "an organization ID, o- and 10-32 letters or digits")
    if not _ORG_ID.match(org_id):
        raise ConfigError(f"{key}.id", org_id, "an organization ID, o- and 10-32 letters or digits")
    accounts: dict[str, str] = {}
    for role in ROLES:
        account = get(raw, role, f"{key}.{role}", str, "a 12-digit AWS account ID as a string")
        if not _ACCOUNT.match(account):
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
    return OrganizationConfig(
        organization_id=org_id,
        management_account=accounts["management_account"],
        log_archive_account=accounts["log_archive_account"],
        security_account=accounts["security_account"],
        organizational_units=tuple(sorted(ous.items())),
        environment_ous=tuple(sorted(members.items())),
    )
