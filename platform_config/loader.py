"""Load and validate the platform's environments from ``cdk.json`` context, once.

``load_config`` turns the raw context (plain JSON) into the frozen dataclasses of
``platform_config.model`` or raises ``ConfigError`` whose message is one line: the key path, the
value found, and what is allowed. ``app.py`` prints that line and exits non-zero before any stack
exists. Each section has its parser module (``parse_environment``, ``parse_data``,
``parse_audit``, ``parse_ml``, ``parse_genai``) over the shared ``readers``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from platform_config.model import (
    CONTEXT_KEY,
    ORG_OWNED_SERVICES,
    SELECT_KEY,
    EnvironmentConfig,
    PlatformConfig,
)
from platform_config.parse_delivery import parse_delivery
from platform_config.parse_environment import parse_environment
from platform_config.parse_organization import parse_organization
from platform_config.readers import ConfigError, get, no_unknown

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,19}$")


def read_cdk_json(path: Path) -> dict[str, Any]:
    """The ``context`` object of a cdk.json file (feature flags and the platform config)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    context = data.get("context", {})
    if not isinstance(context, dict):
        raise ConfigError(f"{path.name}: context", context, "must be a JSON object")
    return context


def load_config(context: Mapping[str, Any], selected: str | None = None) -> PlatformConfig:
    """Validate the platform config found under ``context['ml-platform']``.

    ``selected`` names one environment to keep; ``None`` keeps them all. Raises ``ConfigError``
    on the first invalid value.
    """
    root = get(
        context, CONTEXT_KEY, CONTEXT_KEY, dict, "an object with 'project' and 'environments'"
    )
    no_unknown(root, CONTEXT_KEY, {"project", "environments", "organization", "delivery"})
    project = get(root, "project", f"{CONTEXT_KEY}.project", str, "a string")
    if not _NAME.match(project):
        raise ConfigError(
            f"{CONTEXT_KEY}.project",
            project,
            "2-20 characters: lowercase letters, digits and hyphens, starting with a letter",
        )
    envs_key = f"{CONTEXT_KEY}.environments"
    raw_envs = get(root, "environments", envs_key, dict, "an object of named environments")
    if not raw_envs:
        raise ConfigError(envs_key, raw_envs, "at least one environment")
    if selected is not None and selected not in raw_envs:
        raise ConfigError(SELECT_KEY, selected, f"one of {', '.join(sorted(raw_envs))}")
    # Every environment is validated, also when one is selected: singletons are checked
    # across all of them.
    environments = [
        parse_environment(name, raw_envs[name], f"{envs_key}.{name}") for name in raw_envs
    ]
    _check_singleton_owners(environments, envs_key)
    organization = None
    if "organization" in root:
        org_key = f"{CONTEXT_KEY}.organization"
        raw_org = get(root, "organization", org_key, dict, "an object (see the README)")
        organization = parse_organization(raw_org, org_key, environments)
        environments = [organization_mode(env) for env in environments]
    delivery = None
    if "delivery" in root:
        delivery_key = f"{CONTEXT_KEY}.delivery"
        raw_delivery = get(root, "delivery", delivery_key, dict, "an object (see the README)")
        delivery = parse_delivery(raw_delivery, delivery_key, environments, organization)
    return PlatformConfig(
        project=project,
        environments=tuple(e for e in environments if selected in (None, e.name)),
        organization=organization,
        selected=selected,
        delivery=delivery,
    )


def organization_mode(env: EnvironmentConfig) -> EnvironmentConfig:
    """``env`` as a member of the organization: the security account owns its detective services.

    GuardDuty, Security Hub (and so its standards), Macie, Inspector and Access Analyzer are
    enabled for every member by the security account (``ORG_OWNED_SERVICES``); the environment
    keeps its Config recorder, its own trail and invocation logging.
    """
    audit = dataclasses.replace(
        env.audit,
        account_services=tuple(
            s for s in env.audit.account_services if s not in ORG_OWNED_SERVICES
        ),
        securityhub_standards=(),
    )
    return dataclasses.replace(env, audit=audit)


def singletons_owned(env: EnvironmentConfig) -> tuple[str, ...]:
    """The one-per-account-and-region things ``env``'s stacks create."""
    enforced = ("enforced_guardrail",) if env.genai.enforce_guardrail_in_account else ()
    return (*env.audit.account_services, *enforced)


def _check_singleton_owners(environments: Sequence[EnvironmentConfig], envs_key: str) -> None:
    """Refuse two environments in one account and region owning the same singleton."""
    owners: dict[tuple[str, str, str], str] = {}
    for env in environments:
        for service in singletons_owned(env):
            first = owners.setdefault((env.account, env.region, service), env.name)
            if first == env.name:
                continue
            where = (
                "genai.enforce_guardrail_in_account"
                if service == "enforced_guardrail"
                else "audit.account_services"
            )
            raise ConfigError(
                f"{envs_key}.{env.name}.{where}",
                service,
                f"environments {first} and {env.name} share account {env.account} and region "
                f"{env.region}, and {service} exists once per account and region: let one of "
                "them own it",
            )
