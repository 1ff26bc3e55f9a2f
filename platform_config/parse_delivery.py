"""The optional ``delivery`` block: a CDK pipeline in a tooling account deploys everything.

Without the block nothing changes (``cdk deploy`` from a workstation, as the README says). With
it: the tooling account and region of the pipeline, the source (a CodeStar
connection ARN with the repository and branch), who approves prod (an SNS topic in the tooling
account, or e-mail addresses), and the order the environments deploy in (every environment
once; an approval waits before each environment listed in ``approval_before``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from platform_config.catalogue import REGION_AZ_LETTERS
from platform_config.model import DeliveryConfig, EnvironmentConfig, OrganizationConfig
from platform_config.readers import ACCOUNT_ID, EMAIL, ConfigError, get, no_unknown, str_list

_CONNECTION = re.compile(
    r"^arn:aws[a-z-]*:codestar-connections:(?P<region>[a-z0-9-]+):"
    r"(?P<account>[0-9]{12}):connection/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$"
)
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
_BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,255}$")
_TOPIC = re.compile(
    r"^arn:aws[a-z-]*:sns:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):[\w-]{1,256}$"
)
KEYS = frozenset(
    {
        "tooling_account",
        "region",
        "connection_arn",
        "repository",
        "branch",
        "approval_topic_arn",
        "approval_emails",
        "order",
        "approval_before",
    }
)


def _account(raw: Mapping[str, Any], key: str, taken: Mapping[str, str]) -> str:
    account: str = get(
        raw, "tooling_account", f"{key}.tooling_account", str, "a 12-digit account ID"
    )
    if not ACCOUNT_ID.match(account):
        raise ConfigError(
            f"{key}.tooling_account", account, "a 12-digit AWS account ID as a string"
        )
    if account in taken:
        raise ConfigError(
            f"{key}.tooling_account",
            account,
            f"an account of its own: it is already the {taken[account]}",
        )
    return account


def _source(raw: Mapping[str, Any], key: str, account: str, region: str) -> tuple[str, str, str]:
    arn: str = get(raw, "connection_arn", f"{key}.connection_arn", str, "a connection ARN")
    match = _CONNECTION.match(arn)
    allowed = (
        "arn:aws:codestar-connections:<region>:<tooling account>:connection/<uuid> of the "
        "tooling account and region (CDK Pipelines grants codestar-connections:UseConnection, "
        "which IAM matches on that form of the ARN)"
    )
    if not match or match["account"] != account or match["region"] != region:
        raise ConfigError(f"{key}.connection_arn", arn, allowed)
    repository: str = get(raw, "repository", f"{key}.repository", str, "owner/name")
    if not _REPOSITORY.match(repository):
        raise ConfigError(f"{key}.repository", repository, "owner/name of the repository")
    branch: str = get(raw, "branch", f"{key}.branch", str, "a branch name")
    if not _BRANCH.match(branch) or ".." in branch or branch.endswith("/"):
        raise ConfigError(f"{key}.branch", branch, "a git branch name such as main")
    return arn, repository, branch


def _approval(
    raw: Mapping[str, Any], key: str, account: str, region: str
) -> tuple[str | None, tuple[str, ...]]:
    topic = raw.get("approval_topic_arn")
    emails = str_list(raw, "approval_emails", key, min_items=0) if "approval_emails" in raw else []
    if topic is not None:
        match = _TOPIC.match(topic) if isinstance(topic, str) else None
        if not match or match["account"] != account or match["region"] != region:
            raise ConfigError(
                f"{key}.approval_topic_arn",
                topic,
                "an SNS topic ARN of the tooling account and region, or null",
            )
    for email in emails:
        if not EMAIL.match(email):
            raise ConfigError(f"{key}.approval_emails", email, "e-mail addresses")
    if topic is None and not emails:
        raise ConfigError(
            f"{key}.approval_emails",
            emails,
            "at least one approver e-mail, or an approval_topic_arn",
        )
    return topic, tuple(emails)


def parse_delivery(
    raw: Mapping[str, Any],
    key: str,
    environments: Sequence[EnvironmentConfig],
    organization: OrganizationConfig | None,
) -> DeliveryConfig:
    """Validate the block at ``key`` against the environments (and the organization)."""
    no_unknown(raw, key, KEYS)
    taken = {env.account: f"account of environment {env.name}" for env in environments}
    if organization is not None:
        taken.update(
            {
                organization.management_account: "management_account",
                organization.log_archive_account: "log_archive_account",
                organization.security_account: "security_account",
            }
        )
    account = _account(raw, key, taken)
    region: str = get(raw, "region", f"{key}.region", str, "an AWS region")
    if region not in REGION_AZ_LETTERS:
        raise ConfigError(f"{key}.region", region, f"one of {', '.join(sorted(REGION_AZ_LETTERS))}")
    arn, repository, branch = _source(raw, key, account, region)
    topic, emails = _approval(raw, key, account, region)
    names = [env.name for env in environments]
    order = str_list(raw, "order", key, min_items=1)
    if sorted(order) != sorted(names) or len(set(order)) != len(order):
        raise ConfigError(f"{key}.order", order, f"every environment once: {sorted(names)}")
    gated = str_list(raw, "approval_before", key, min_items=0)
    for name in gated:
        if name not in names:
            raise ConfigError(f"{key}.approval_before", name, f"one of {sorted(names)}")
    return DeliveryConfig(
        tooling_account=account,
        region=region,
        connection_arn=arn,
        repository=repository,
        branch=branch,
        approval_topic_arn=topic,
        approval_emails=emails,
        order=tuple(order),
        approval_before=tuple(gated),
    )
