"""The optional organization block: absent is single-account; every bad value named in one line."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from platform_config import CONTEXT_KEY, ConfigError, load_config
from tests.conftest import CDK_JSON_CONTEXT, raw_platform

ORG = f"{CONTEXT_KEY}.organization"


def _example() -> dict[str, Any]:
    return {
        "id": "o-exampleorg1",
        "management_account": "900000000001",
        "log_archive_account": "900000000002",
        "security_account": "900000000003",
        "organizational_units": {
            "workloads-dev": "ou-ab12-devdevde",
            "workloads-prod": "ou-ab12-prodprod",
        },
        "environment_ous": {"dev": "workloads-dev", "prod": "workloads-prod"},
    }


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
