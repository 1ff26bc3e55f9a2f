"""What preflight reads from the synthesized templates: the deployment it checks the account for."""

from __future__ import annotations

import pytest

from platform_config import ENDPOINT_SERVICES
from preflight.plan import DEFAULT_BOOTSTRAP_PARAMETER, Plan, minimum_bootstrap_version, resolve
from secure_constructs.ml.sagemaker_rules import SAGEMAKER_LOG_GROUPS


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_plan_matches_the_config(plans: dict[str, Plan], name: str) -> None:
    plan = plans[name]
    env = plan.env
    assert len(plan.stack_names) == 7
    assert all(s.startswith(f"secure-ml-{name}-") for s in plan.stack_names)
    endpoints = plan.interface_endpoints()
    assert set(endpoints) == set(env.interface_endpoints)
    for service, has_policy in endpoints.items():
        assert has_policy is (ENDPOINT_SERVICES[service].actions is not None)
    assert plan.bootstrap_parameter == DEFAULT_BOOTSTRAP_PARAMETER
    assert plan.bootstrap_min_version == 6
    assert plan.inspector_scan_types() == ("EC2", "ECR", "LAMBDA", "LAMBDA_CODE")


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_reservations_come_from_the_templates(plans: dict[str, Plan], name: str) -> None:
    plan = plans[name]
    per_stack = plan.reservations()
    expected: dict[str, int] = {}
    for function in plan.of_type("AWS::Lambda::Function"):
        value = function.properties.get("ReservedConcurrentExecutions")
        if value is not None:
            expected[function.stack] = expected.get(function.stack, 0) + int(value)
    assert per_stack == expected
    assert sum(per_stack.values()) > 0  # the audit, findings and genai functions reserve some


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_singletons_and_fixed_names_the_templates_create(plans: dict[str, Plan], name: str) -> None:
    plan = plans[name]
    for kind in (
        "AWS::Config::ConfigurationRecorder",
        "AWS::GuardDuty::Detector",
        "AWS::SecurityHub::Hub",
        "AWS::Macie::Session",
        "Custom::InspectorActivation",
        "Custom::BedrockInvocationLogging",
    ):
        assert len(plan.of_type(kind)) == 1, kind
    assert len(plan.of_type("AWS::AccessAnalyzer::Analyzer", lambda p: p["Type"] == "ACCOUNT")) == 1
    enforced = plan.of_type("AWS::Bedrock::EnforcedGuardrailConfiguration")
    assert bool(enforced) is plan.env.genai.enforce_guardrail_in_account
    if getattr(plan.env.ml, "sagemaker_log_groups", "create") == "create":
        names = plan.log_group_names()
        assert {f"/aws/sagemaker/{n}" for n in SAGEMAKER_LOG_GROUPS} <= set(names)


def test_resolve_pseudo_parameters() -> None:
    joined = {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]}
    assert resolve(joined, "111111111111", "eu-west-1") == "com.amazonaws.eu-west-1.s3"
    assert resolve({"Fn::GetAtt": ["X", "Arn"]}, "111111111111", "eu-west-1") is None
    assert resolve({"Fn::Join": ["", [{"Ref": "Vpc"}]]}, "111111111111", "eu-west-1") is None


def test_bootstrap_rule_is_read_not_assumed() -> None:
    rule = {
        "Rules": {
            "CheckBootstrapVersion": {
                "Assertions": [
                    {
                        "Assert": {
                            "Fn::Not": [
                                {"Fn::Contains": [["1", "2", "3"], {"Ref": "BootstrapVersion"}]}
                            ]
                        }
                    }
                ]
            }
        }
    }
    assert minimum_bootstrap_version(rule) == 4
    assert minimum_bootstrap_version({}) is None
