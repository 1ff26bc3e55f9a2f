"""The optional delivery block: absent is no pipeline; every bad value named in one line."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from platform_config import CONTEXT_KEY, ConfigError, load_config
from tests.conftest import CDK_JSON_CONTEXT, SHIPPED_CONTEXT

DELIVERY = f"{CONTEXT_KEY}.delivery"


def _load(change: Callable[[dict[str, Any]], Any] | None = None) -> Any:
    context = copy.deepcopy(SHIPPED_CONTEXT)
    if change:
        change(context[CONTEXT_KEY]["delivery"])
    return load_config(context)


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda block: block.__setitem__(key, value)


def test_the_shipped_example_loads() -> None:
    delivery = _load().delivery
    assert delivery.tooling_account == "900000000010"
    assert delivery.order == ("dev", "prod") and delivery.approval_before == ("prod",)
    assert delivery.approval_emails == ("ml-platform-approvers@example.com",)


def test_without_the_block_there_is_no_pipeline() -> None:
    assert load_config(CDK_JSON_CONTEXT).delivery is None


CONNECTION = "arn:aws:codestar-connections:us-east-1:900000000010:connection/"


@pytest.mark.parametrize(
    ("change", "key", "allowed"),
    [
        (_set("tooling_account", "123"), f"{DELIVERY}.tooling_account", "12-digit"),
        (_set("tooling_account", "111111111111"), f"{DELIVERY}.tooling_account", "environment dev"),
        (
            _set("tooling_account", "900000000003"),
            f"{DELIVERY}.tooling_account",
            "security_account",
        ),
        (_set("region", "moon-1"), f"{DELIVERY}.region", "one of"),
        (_set("connection_arn", "arn:aws:s3:::x"), f"{DELIVERY}.connection_arn", "connection"),
        (
            _set(
                "connection_arn",
                "arn:aws:codeconnections:us-east-1:900000000010:connection/"
                "00000000-0000-4000-8000-000000000000",
            ),
            f"{DELIVERY}.connection_arn",
            "codestar-connections:UseConnection",
        ),
        (
            _set("connection_arn", CONNECTION.replace("us-east-1", "us-west-2") + "0" * 8),
            f"{DELIVERY}.connection_arn",
            "tooling account and region",
        ),
        (
            _set(
                "connection_arn",
                "arn:aws:codestar-connections:us-east-1:222222222222:connection/"
                "00000000-0000-4000-8000-000000000000",
            ),
            f"{DELIVERY}.connection_arn",
            "tooling account",
        ),
        (_set("repository", "no-slash"), f"{DELIVERY}.repository", "owner/name"),
        (_set("branch", "a..b"), f"{DELIVERY}.branch", "branch name"),
        (_set("order", ["dev"]), f"{DELIVERY}.order", "every environment once"),
        (_set("order", ["dev", "dev"]), f"{DELIVERY}.order", "at most once"),
        (_set("approval_before", ["staging"]), f"{DELIVERY}.approval_before", "one of"),
        (_set("approval_emails", []), f"{DELIVERY}.approval_emails", "at least one approver"),
        (_set("approval_emails", ["nobody"]), f"{DELIVERY}.approval_emails", "e-mail"),
        (
            _set("approval_topic_arn", "arn:aws:sns:us-east-1:111111111111:approvals"),
            f"{DELIVERY}.approval_topic_arn",
            "tooling account and region",
        ),
        (_set("extra", True), DELIVERY, "extra"),
    ],
)
def test_each_bad_value_is_one_line_naming_the_key(
    change: Callable[[dict[str, Any]], Any], key: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(change)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(key) and allowed in message, message


def test_a_topic_of_the_tooling_account_replaces_the_emails() -> None:
    def change(block: dict[str, Any]) -> None:
        block["approval_topic_arn"] = "arn:aws:sns:us-east-1:900000000010:approvals"
        block["approval_emails"] = []

    delivery = _load(change).delivery
    assert delivery.approval_topic_arn.endswith(":approvals") and delivery.approval_emails == ()
