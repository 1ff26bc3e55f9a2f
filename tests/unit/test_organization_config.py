"""The optional organization block: absent is single-account; every bad value named in one line."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from platform_config import CONTEXT_KEY, ConfigError, load_config
from tests.conftest import CDK_JSON_CONTEXT, SHIPPED_CONTEXT, raw_platform

ORG = f"{CONTEXT_KEY}.organization"


def _example() -> dict[str, Any]:
    """The example block cdk.json ships."""
    return copy.deepcopy(SHIPPED_CONTEXT[CONTEXT_KEY]["organization"])


def _load(change: Callable[[dict[str, Any]], Any] | None = None) -> Any:
    platform = raw_platform()
    platform["organization"] = _example()
    if change:
        change(platform["organization"])
    context = {**copy.deepcopy(CDK_JSON_CONTEXT), CONTEXT_KEY: platform}
    return load_config(context)


def test_without_the_block_the_platform_is_single_account() -> None:
    assert load_config(CDK_JSON_CONTEXT).organization is None


def test_the_example_organization_loads() -> None:
    org = _load().organization
    assert org.organization_id == "o-exampleorg1"
    assert org.ou_of("dev") == "ou-ab12-devdevde" and org.ou_of("prod") == "ou-ab12-prodprod"


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda org: org.__setitem__(key, value)


@pytest.mark.parametrize(
    ("change", "key", "allowed"),
    [
        (_set("id", "org-1"), f"{ORG}.id", "an organization ID"),
        (_set("security_account", "12345"), f"{ORG}.security_account", "a 12-digit AWS account"),
        (
            _set("security_account", "900000000001"),
            f"{ORG}.security_account",
            "a different account than management_account",
        ),
        (lambda org: org.pop("log_archive_account"), f"{ORG}.log_archive_account", "required"),
        (
            _set("organizational_units", {}),
            f"{ORG}.organizational_units",
            "at least one organizational unit",
        ),
        (
            lambda org: org["organizational_units"].__setitem__("workloads-dev", "ou-x"),
            f"{ORG}.organizational_units.workloads-dev",
            "an OU ID",
        ),
        (
            lambda org: org["organizational_units"].__setitem__("Bad Name", "ou-ab12-devdevde"),
            f"{ORG}.organizational_units",
            "OU names",
        ),
        (
            lambda org: org["environment_ous"].pop("prod"),
            f"{ORG}.environment_ous",
            "an OU for every environment; missing ['prod']",
        ),
        (
            lambda org: org["environment_ous"].__setitem__("dev", "nowhere"),
            f"{ORG}.environment_ous.dev",
            "one of ['workloads-dev', 'workloads-prod']",
        ),
        (
            lambda org: org["environment_ous"].__setitem__("unknown-env-xyz", "workloads-dev"),
            f"{ORG}.environment_ous.unknown-env-xyz",
            "one of the environments",
        ),
        (_set("extra", 1), ORG, "extra"),
        (_set("home_region", "mars-1"), f"{ORG}.home_region", "one of"),
        (_set("break_glass_role", "bad role!"), f"{ORG}.break_glass_role", "an IAM role name"),
        (
            _set("deployment_role_patterns", ["*"]),
            f"{ORG}.deployment_role_patterns",
            "not only *",
        ),
        (_set("deployment_role_patterns", []), f"{ORG}.deployment_role_patterns", "at least 1"),
        (_set("security_alert_email", "nobody"), f"{ORG}.security_alert_email", "an email"),
        (
            _set("findings_severity_threshold", "SEVERE"),
            f"{ORG}.findings_severity_threshold",
            "HIGH",
        ),
        (
            lambda org: org["log_archive"].__setitem__("object_lock_mode", "LOOSE"),
            f"{ORG}.log_archive.object_lock_mode",
            "GOVERNANCE",
        ),
        (
            lambda org: org["log_archive"].__setitem__("trail_retention_days", 30),
            f"{ORG}.log_archive.trail_retention_days",
            "at least object_lock_days",
        ),
        (
            lambda org: org["log_archive"].__setitem__("spare", 1),
            f"{ORG}.log_archive",
            "spare",
        ),
        (
            lambda org: org["security_network"].__setitem__(
                "availability_zones", ["us-west-2a", "us-west-2b"]
            ),
            f"{ORG}.security_network.availability_zones",
            "an AZ of home_region us-east-1",
        ),
        (
            lambda org: org["security_network"].__setitem__("vpc_cidr", "8.8.8.0/24"),
            f"{ORG}.security_network.vpc_cidr",
            "a private IPv4 range",
        ),
    ],
)
def test_each_bad_value_is_one_line_naming_the_key(
    change: Callable[[dict[str, Any]], Any], key: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(change)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(key) and allowed in message


def test_an_environment_account_may_not_be_an_organization_account() -> None:
    dev_account = raw_platform()["environments"]["dev"]["account"]
    with pytest.raises(ConfigError) as raised:
        _load(_set("log_archive_account", dev_account))
    assert str(raised.value).startswith(f'{ORG}.environment_ous.dev = "{dev_account}"')
    assert "environment dev's account is the log_archive_account" in str(raised.value)
