"""Each check against an emulated account: a clean one, then one conflict at a time."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from botocore.stub import Stubber

from platform_config import LAMBDA_UNRESERVED_MINIMUM as LAMBDA_MIN_UNRESERVED
from preflight.checks import platform_models
from preflight.results import CLIENT_CONFIG, Clients, Context, Result, Status
from preflight.runner import ORDER, exit_status, run, summary
from secure_constructs.ml.sagemaker_rules import SAGEMAKER_LOG_GROUPS
from tests.preflight.conftest import Account, bootstrap_template, with_env, without_resources

ALL_CHECKS = ["caller identity", *(c.name for c in ORDER)]
EMULATOR_GAPS = {"lambda concurrency", "access analyzer", "bedrock models"}


def _problems(results: dict[str, Result]) -> set[str]:
    return {name for name, r in results.items() if r.status is Status.PROBLEM}


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_clean_account_every_check_ok(account_of: Callable[..., Account], name: str) -> None:
    account = account_of(name)
    account.queue()
    results = account.run()
    assert list(results) == ALL_CHECKS
    assert {n: r.status for n, r in results.items()} == dict.fromkeys(ALL_CHECKS, Status.OK), [
        r.line() for r in results.values()
    ]
    assert exit_status(list(results.values())) == 0
    assert (
        summary(list(results.values()))
        == f"summary: {len(ALL_CHECKS)} ok, 0 problems, 0 could not check"
    )


def test_clean_account_moto_alone_names_what_it_cannot_answer(account: Account) -> None:
    context = Context(account.plan, Clients(account.session, account.plan.env.region))
    results = {r.name: r for r in run(context)}
    unknown = {n for n, r in results.items() if r.status is Status.UNKNOWN}
    assert unknown == EMULATOR_GAPS
    assert results["lambda concurrency"].reason.startswith("GetAccountSettings failed (HTTP 404")
    assert results["access analyzer"].reason.startswith("ListAnalyzers failed (HTTP 404")
    assert "not supported by this endpoint" in results["bedrock models"].reason
    assert _problems(results) == set()
    line = summary(list(results.values()))
    assert "3 could not check (lambda concurrency, access analyzer, bedrock models" in line
    assert exit_status(list(results.values())) == 0


def test_wrong_account_stops_after_identity(account_of: Callable[..., Account]) -> None:
    account = account_of("dev", caller="999999999999")
    results = account.run(verify=False)
    assert list(results) == ["caller identity"]
    identity = results["caller identity"]
    assert identity.status is Status.PROBLEM
    assert "credentials are for account 999999999999" in identity.reason
    assert "dev deploys to 111111111111" in identity.reason
    assert "wrong account" in summary(list(results.values()))
    assert exit_status(list(results.values())) == 1


def test_low_concurrency_limit_names_the_quota_needed(account: Account) -> None:
    reserved = sum(account.plan.reservations().values())
    assert reserved > 0
    account.queue(limits=(50, 50))
    result = account.run()["lambda concurrency"]
    assert result.status is Status.PROBLEM
    assert f"the templates reserve {reserved}" in result.reason
    assert f"= {reserved + LAMBDA_MIN_UNRESERVED}" in result.reason
    assert "Service Quotas" in result.fix and "Concurrent executions" in result.fix
    assert "null" in result.fix


def test_concurrency_counts_what_other_functions_reserve(account: Account) -> None:
    reserved = sum(account.plan.reservations().values())
    # 1000 in all, 850 unreserved: other functions reserve 150.
    account.queue(limits=(1000, reserved + LAMBDA_MIN_UNRESERVED - 1))
    result = account.run()["lambda concurrency"]
    assert result.status is Status.PROBLEM
    others = 1000 - (reserved + LAMBDA_MIN_UNRESERVED - 1)
    assert f"{reserved} + 100 + {others} other functions already reserve" in result.reason


def test_existing_functions_are_not_counted_twice(account: Account) -> None:
    per_stack = account.plan.reservations()
    findings = next(s for s in per_stack if s.endswith("-findings"))
    account.queue(
        limits=(100 + sum(per_stack.values()) - 1, 100 + sum(per_stack.values()) - 1),
        functions=(f"{findings}-FindingsRouterFunctionF20B-AbC123", "someone-elses-function"),
    )
    result = account.run()["lambda concurrency"]
    assert result.status is Status.OK, result.line()
    assert f"functions of {findings} (1) exist already" in result.reason
    assert f"the templates reserve {sum(per_stack.values()) - per_stack[findings]}" in result.reason


def test_denied_call_is_could_not_check(account: Account) -> None:
    account.queue(lambda_error="AccessDeniedException")
    results = account.run()
    result = results["lambda concurrency"]
    assert result.status is Status.UNKNOWN
    assert result.reason == "GetAccountSettings denied (AccessDeniedException)"
    assert result.line().startswith("could not check lambda concurrency")
    assert exit_status(list(results.values())) == 0


def test_missing_availability_zone(account: Account) -> None:
    plan = with_env(account.plan, availability_zones=("us-east-1a", "us-east-1b", "us-east-1z"))
    account.queue()
    result = account.run(plan)["availability zones"]
    assert result.status is Status.PROBLEM
    assert "us-east-1z not offered" in result.reason
    assert "availability_zones" in result.fix


def test_endpoint_service_not_offered_in_an_endpoint_az(account: Account) -> None:
    plan = with_env(account.plan, endpoint_availability_zones=("us-east-1a", "us-east-1b"))
    endpoints = plan.interface_endpoints()
    ec2 = account.session.client("ec2", region_name="us-east-1", config=CLIENT_CONFIG)
    account.stubbed["ec2"] = ec2
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_availability_zones",
            {
                "AvailabilityZones": [
                    {"ZoneName": z, "State": "available"} for z in ("us-east-1a", "us-east-1b")
                ]
            },
        )
        for name in sorted(endpoints):
            full = f"com.amazonaws.us-east-1.{name}"
            stub.add_response(
                "describe_vpc_endpoint_services",
                {
                    "ServiceDetails": [
                        {
                            "ServiceName": full,
                            "AvailabilityZones": ["us-east-1b"]
                            if name == "comprehendmedical"
                            else ["us-east-1a", "us-east-1b"],
                            "VpcEndpointPolicySupported": name != "sqs",
                        }
                    ]
                },
                {"ServiceNames": [full]},
            )
        account.queue()
        result = account.run(plan)["interface endpoints"]
        stub.assert_no_pending_responses()
    assert endpoints["sqs"] is True  # the template sets a policy on it
    assert result.status is Status.PROBLEM
    assert "comprehendmedical (not in us-east-1a)" in result.reason
    assert "takes none: ['sqs']" in result.reason
    assert "endpoint_availability_zones" in result.fix and "actions=None" in result.fix


def test_endpoint_service_unknown_to_the_region(account: Account) -> None:
    plan = dataclasses.replace(
        account.plan,
        resources=(
            *account.plan.resources,
            dataclasses.replace(
                account.plan.of_type(
                    "AWS::EC2::VPCEndpoint", lambda p: p.get("VpcEndpointType") == "Interface"
                )[0],
                properties={
                    "VpcEndpointType": "Interface",
                    "ServiceName": "com.amazonaws.us-east-1.no-such-service",
                },
            ),
        ),
    )
    account.queue()
    result = account.run(plan)["interface endpoints"]
    assert result.status is Status.PROBLEM
    assert "no-such-service (not offered in us-east-1)" in result.reason


def test_existing_sagemaker_log_group_is_a_problem(account: Account) -> None:
    account.client("logs").create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    account.queue()
    result = account.run()["sagemaker log groups"]
    assert result.status is Status.PROBLEM
    assert "/aws/sagemaker/TrainingJobs exists already" in result.reason
    assert '"adopt"' in result.fix and "cdk import" in result.fix


def test_adopted_log_groups_must_exist(account: Account) -> None:
    plan = without_resources(account.plan, "AWS::Logs::LogGroup")
    account.client("logs").create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    account.queue()
    result = account.run(plan)["sagemaker log groups"]
    assert result.status is Status.PROBLEM
    assert "/aws/sagemaker/ProcessingJobs" in result.reason
    assert "TrainingJobs" not in result.reason
    assert "unencrypted" in result.reason
    assert '"create"' in result.fix


def test_adopted_log_groups_that_exist_are_ok(account: Account) -> None:
    plan = without_resources(account.plan, "AWS::Logs::LogGroup")
    for name in SAGEMAKER_LOG_GROUPS:
        account.client("logs").create_log_group(logGroupName=f"/aws/sagemaker/{name}")
    account.queue()
    result = account.run(plan)["sagemaker log groups"]
    assert result.status is Status.OK
    assert f"{len(SAGEMAKER_LOG_GROUPS)} exist and are adopted" in result.reason


def test_missing_embedding_model_is_a_problem_naming_its_key(account: Account) -> None:
    knowledge = account.plan.env.genai.knowledge_base
    assert knowledge is not None
    account.queue(missing_models=(knowledge.embedding_model_id,))
    result = account.run()["bedrock models"]
    assert result.status is Status.PROBLEM
    assert result.reason == f"not found in us-east-1: {knowledge.embedding_model_id}"
    assert "in genai.knowledge_base.embedding_model_id of dev" in result.fix
    assert "allowed_model_ids" not in result.fix


def test_missing_model_is_a_problem(account: Account) -> None:
    missing = account.plan.env.genai.allowed_model_ids[-1]
    account.queue(missing_models=(missing,))
    result = account.run()["bedrock models"]
    assert result.status is Status.PROBLEM
    assert result.reason == f"not found in us-east-1: {missing}"
    assert "genai.allowed_model_ids" in result.fix


def test_inference_profile_is_looked_up_as_a_profile(account: Account) -> None:
    profile = "us.amazon.nova-lite-v1:0"
    plan = with_env(
        account.plan,
        genai=dataclasses.replace(
            account.plan.env.genai, allowed_model_ids=(profile,), knowledge_base=None
        ),
    )
    bedrock = account.stubs["bedrock"]
    bedrock.add_response("get_model_invocation_logging_configuration", {})
    bedrock.add_client_error(
        "get_inference_profile",
        "ResourceNotFoundException",
        "no such profile",
        expected_params={"inferenceProfileIdentifier": profile},
    )
    account.stubs["lambda"].add_response(
        "get_account_settings",
        {"AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000}},
    )
    account.stubs["lambda"].add_response("list_functions", {"Functions": []})
    account.stubs["accessanalyzer"].add_response("list_analyzers", {"analyzers": []})
    result = account.run(plan)["bedrock models"]
    assert result.status is Status.PROBLEM
    assert profile in result.reason


def test_no_bootstrap_is_a_problem(account_of: Callable[..., Account]) -> None:
    account = account_of("dev", clean=False)
    account.client("macie2").disable_macie()
    account.queue()
    results = account.run()
    assert _problems(results) == {"cdk bootstrap"}
    result = results["cdk bootstrap"]
    assert "/cdk-bootstrap/hnb659fds/version not found" in result.reason
    assert result.fix.startswith("npx cdk bootstrap aws://111111111111/us-east-1")


def test_old_bootstrap_version_is_a_problem(account_of: Callable[..., Account]) -> None:
    account = account_of("dev", clean=False)
    account.client("macie2").disable_macie()
    account.client("cloudformation").create_stack(
        StackName="CDKToolkit", TemplateBody=bootstrap_template("5")
    )
    account.queue()
    result = account.run()["cdk bootstrap"]
    assert account.plan.bootstrap_min_version == 6
    assert result.status is Status.PROBLEM
    assert "bootstrap version 5, the templates require 6 or newer" in result.reason


def test_unexpected_response_is_could_not_check_not_a_traceback(account: Account) -> None:
    account.stubs["lambda"].add_response("get_account_settings", {})  # no AccountLimit at all
    account.stubs["accessanalyzer"].add_response("list_analyzers", {"analyzers": []})
    bedrock = account.stubs["bedrock"]
    bedrock.add_response("get_model_invocation_logging_configuration", {})
    for model in platform_models(account.plan.env):
        bedrock.add_response(
            "get_foundation_model",
            {
                "modelDetails": {
                    "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model}",
                    "modelId": model,
                }
            },
        )
    result = account.run()["lambda concurrency"]
    assert result.status is Status.UNKNOWN
    assert result.reason == "unexpected KeyError: 'AccountLimit'"
