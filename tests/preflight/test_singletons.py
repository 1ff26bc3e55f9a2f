"""Account singletons against an emulated account: each one existing, or missing when owned elsewhere."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from botocore.stub import Stubber

from preflight.plan import Plan
from preflight.results import CLIENT_CONFIG, Result, Status
from tests.preflight.conftest import Account, bootstrap_template, with_env, without_resources


def _problems(results: dict[str, Result]) -> set[str]:
    return {name for name, r in results.items() if r.status is Status.PROBLEM}


SINGLETON_SEEDS: dict[str, Callable[[Account], None]] = {
    "config recorder": lambda a: a.client("config").put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": "arn:aws:iam::111111111111:role/config",
        }
    ),
    "guardduty detector": lambda a: a.client("guardduty").create_detector(Enable=True),
    "security hub": lambda a: a.client("securityhub").enable_security_hub(),
    "macie": lambda a: a.client("macie2").enable_macie(),
    "inspector": lambda a: a.client("inspector2").enable(
        accountIds=["111111111111"], resourceTypes=["ECR"]
    ),
}


@pytest.mark.parametrize("name", sorted(SINGLETON_SEEDS))
def test_existing_singleton_is_a_problem(account: Account, name: str) -> None:
    SINGLETON_SEEDS[name](account)
    account.queue()
    results = account.run()
    assert _problems(results) == {name}, [r.line() for r in results.values()]
    result = results[name]
    assert "exists already" in result.reason
    assert "audit.account_services" in result.fix


def test_existing_access_analyzer_is_a_problem(account: Account) -> None:
    account.queue(analyzers=("ControlTowerAnalyzer",))
    result = account.run()["access analyzer"]
    assert result.status is Status.PROBLEM
    assert "account analyzer ControlTowerAnalyzer exists already" in result.reason
    assert 'remove "access_analyzer" from audit.account_services' in result.fix


def test_existing_invocation_logging_is_a_problem(account: Account) -> None:
    account.queue(
        logging={"s3Config": {"bucketName": "someone-elses-logs"}, "textDataDeliveryEnabled": True}
    )
    result = account.run()["invocation logging"]
    assert result.status is Status.PROBLEM
    assert "Bedrock invocation logging (to s3) exists already" in result.reason
    assert "overwrite" in result.reason
    assert "delete-model-invocation-logging-configuration" in result.fix


def test_existing_enforced_guardrail_is_a_problem_in_prod(
    account_of: Callable[..., Account],
) -> None:
    account = account_of("prod")
    account.queue(enforced=("gr-org-baseline",))
    result = account.run()["enforced guardrail"]
    assert result.status is Status.PROBLEM
    assert "gr-org-baseline:1 exists already" in result.reason
    assert "enforce_guardrail_in_account" in result.fix


def test_enforced_guardrail_is_not_checked_where_not_created(account: Account) -> None:
    assert account.plan.env.genai.enforce_guardrail_in_account is False
    account.queue(enforced=("gr-org-baseline",))  # not asked: nothing queued for dev
    result = account.run()["enforced guardrail"]
    assert result.status is Status.OK
    assert "not created by dev's stacks" in result.reason


def _owned_elsewhere(plan: Plan) -> Plan:
    services = tuple(s for s in plan.env.audit.account_services if s != "guardduty")
    plan = with_env(plan, audit=dataclasses.replace(plan.env.audit, account_services=services))
    return without_resources(plan, "AWS::GuardDuty::Detector")


def test_singleton_owned_elsewhere_must_exist(account: Account) -> None:
    account.queue()
    result = account.run(_owned_elsewhere(account.plan))["guardduty detector"]
    assert result.status is Status.PROBLEM
    assert "leaves guardduty to someone else, but it is not enabled" in result.reason
    assert 'add "guardduty" to audit.account_services' in result.fix


def test_singleton_owned_elsewhere_that_exists_is_ok(account: Account) -> None:
    account.client("guardduty").create_detector(Enable=True)
    account.queue()
    result = account.run(_owned_elsewhere(account.plan))["guardduty detector"]
    assert result.status is Status.OK
    assert "owned elsewhere" in result.reason


def test_singleton_of_an_already_deployed_stack_is_its_own(account: Account) -> None:
    audit = next(s for s in account.plan.stack_names if s.endswith("-audit"))
    account.client("cloudformation").create_stack(
        StackName=audit,
        TemplateBody=bootstrap_template("0").replace(
            "/cdk-bootstrap/hnb659fds/version", "/stand-in/audit"
        ),
    )
    account.client("guardduty").create_detector(Enable=True)
    account.queue()
    result = account.run()["guardduty detector"]
    assert result.status is Status.OK
    assert f"{audit} is deployed already" in result.reason


def test_inspector_failed_account_is_could_not_check(account: Account) -> None:
    inspector = account.session.client("inspector2", region_name="us-east-1", config=CLIENT_CONFIG)
    account.stubbed["inspector2"] = inspector
    with Stubber(inspector) as stub:
        stub.add_response(
            "batch_get_account_status",
            {
                "accounts": [],
                "failedAccounts": [
                    {
                        "accountId": "111111111111",
                        "errorCode": "ACCESS_DENIED",
                        "errorMessage": "no",
                    }
                ],
            },
            {"accountIds": ["111111111111"]},
        )
        account.queue()
        result = account.run()["inspector"]
    assert result.status is Status.UNKNOWN
    assert result.reason == "BatchGetAccountStatus failed for the account (ACCESS_DENIED)"


@pytest.mark.parametrize(
    ("message", "status", "reason"),
    [
        ("Macie is not enabled.", Status.OK, "none yet; secure-ml-dev-audit creates it"),
        (
            "User is not authorized",
            Status.UNKNOWN,
            "GetMacieSession denied (AccessDeniedException)",
        ),
    ],
)
def test_macie_access_denied_means_not_enabled_only_when_it_says_so(
    account: Account, message: str, status: Status, reason: str
) -> None:
    macie = account.session.client("macie2", region_name="us-east-1", config=CLIENT_CONFIG)
    account.stubbed["macie2"] = macie
    with Stubber(macie) as stub:
        stub.add_client_error("get_macie_session", "AccessDeniedException", message, 403)
        account.queue()
        result = account.run()["macie"]
    assert (result.status, result.reason) == (status, reason)


def test_invocation_logging_owned_elsewhere_must_be_configured(account: Account) -> None:
    """The genai stack acknowledges MLGenAI-BedrockInvocationLogging then: this is the check."""
    account.queue()  # the account has no invocation logging configuration
    plan = account.plan
    services = tuple(
        s for s in plan.env.audit.account_services if s != "bedrock_invocation_logging"
    )
    plan = with_env(plan, audit=dataclasses.replace(plan.env.audit, account_services=services))
    result = account.run(without_resources(plan, "Custom::BedrockInvocationLogging"))[
        "invocation logging"
    ]
    assert result.status is Status.PROBLEM
    assert (
        "leaves bedrock_invocation_logging to someone else, but it is not enabled" in result.reason
    )
