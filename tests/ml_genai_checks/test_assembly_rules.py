"""Assembly rules: invocation logging and VPC endpoints; metadata of every rule of the modules."""

from __future__ import annotations

from typing import Any

import pytest

from ml_genai_checks.model import REGISTRY, Outcome
from ml_genai_checks.rules import assembly, bedrock, iam
from ml_genai_checks.testing import outcomes, run_rule, template

LOGGING = "MLGenAI-BedrockInvocationLogging"
ENDPOINTS = "MLGenAI-VpcEndpointsForMLServices"

MODEL = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"


def invoke_policy(action: Any = "bedrock:InvokeModel", roles: Any = None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": action, "Resource": MODEL}]}
    }
    if roles is not None:
        props["Roles"] = roles
    return {"Type": "AWS::IAM::ManagedPolicy", "Properties": props}


def aws_custom_resource(call: str = "PutModelInvocationLoggingConfiguration") -> dict[str, Any]:
    create = {
        "Fn::Join": [
            "",
            [
                '{"action":"',
                call,
                '","service":"bedrock","parameters":{"bucketName":"',
                {"Ref": "Bucket"},
                '"}}',
            ],
        ]
    }
    return {
        "Type": "Custom::AWS",
        "Properties": {"ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]}, "Create": create},
    }


def endpoint(service: Any) -> dict[str, Any]:
    return {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"ServiceName": service, "VpcId": "v"}}


def join_endpoint(suffix: str) -> dict[str, Any]:
    return endpoint({"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, suffix]]})


# --------------------------------------------------------------------------- (e) logging


def test_invocation_with_logging_in_another_template_pass() -> None:
    app = template({"Invoke": invoke_policy()}, name="app")
    audit = template({"Logging": aws_custom_resource()}, name="audit")
    assert outcomes(run_rule(LOGGING, app, audit)) == {"Invoke": Outcome.PASS}


@pytest.mark.parametrize(
    "resource",
    [
        {"Type": "Custom::BedrockInvocationLogging", "Properties": {"ServiceToken": "arn"}},
        {"Type": "AWS::Bedrock::ModelInvocationLoggingConfiguration", "Properties": {}},
        {
            "Type": "AWS::CloudFormation::CustomResource",
            "Properties": {
                "ServiceToken": "arn",
                "Update": "PutModelInvocationLoggingConfiguration",
            },
        },
    ],
)
def test_logging_recognised_generously(resource: dict[str, Any]) -> None:
    t = template({"Invoke": invoke_policy(), "Logging": resource})
    assert outcomes(run_rule(LOGGING, t)) == {"Invoke": Outcome.PASS}


def test_logging_by_lambda_backed_custom_resource_pass() -> None:
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": {"ZipFile": "bedrock.put_model_invocation_logging_configuration(...)"}
        },
    }
    custom = {
        "Type": "Custom::Setting",
        "Properties": {"ServiceToken": {"Fn::GetAtt": ["Fn", "Arn"]}},
    }
    t = template({"Invoke": invoke_policy(), "Fn": function, "Setting": custom})
    assert outcomes(run_rule(LOGGING, t)) == {"Invoke": Outcome.PASS}


def test_invocation_without_logging_fail() -> None:
    first = template({"Other": invoke_policy("s3:GetObject")}, name="first")
    app = template({"Invoke": invoke_policy("bedrock:Invoke*")}, name="app")
    other = template({"Delete": aws_custom_resource("DeleteModelInvocationLoggingConfiguration")})
    results = run_rule(LOGGING, first, app, other)
    assert outcomes(results) == {"Invoke": Outcome.FAIL}
    message = dict(results)["Invoke"].message
    assert message.startswith("app: Invoke") and "PutModelInvocationLoggingConfiguration" in message


def test_no_invocation_nothing_to_report() -> None:
    assert run_rule(LOGGING, template({"Other": invoke_policy("s3:GetObject")})) == []


# --------------------------------------------------------------------------- (f) VPC endpoints

SUBNETS = ["subnet-1", "subnet-2"]
DOMAIN = {
    "Type": "AWS::SageMaker::Domain",
    "Properties": {"DomainName": "d", "AuthMode": "IAM", "VpcId": "vpc-1", "SubnetIds": SUBNETS},
}
ROLE = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}


def function(role: Any = None) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Role": role or {"Fn::GetAtt": ["FnRole", "Arn"]},
            "VpcConfig": {"SubnetIds": SUBNETS, "SecurityGroupIds": ["sg-1"]},
        },
    }


BEDROCK_APP = {"FnRole": ROLE, "Fn": function(), "Invoke": invoke_policy(roles=[{"Ref": "FnRole"}])}


def test_endpoints_present_pass() -> None:
    network = template(
        {
            "Api": endpoint("com.amazonaws.us-east-1.sagemaker.api"),
            "Runtime": join_endpoint(".sagemaker.runtime"),
            "Bedrock": join_endpoint(".bedrock-runtime"),
        },
        name="network",
        region=None,
    )
    ml = template({"Domain": DOMAIN, **BEDROCK_APP}, name="ml")
    assert outcomes(run_rule(ENDPOINTS, network, ml)) == {
        "Domain": Outcome.PASS,
        "Fn": Outcome.PASS,
    }


def test_missing_endpoints_fail() -> None:
    network = template({"S3": endpoint("com.amazonaws.us-east-1.s3")}, name="network")
    ml = template({"Domain": DOMAIN}, name="ml")
    app = template(BEDROCK_APP, name="app")
    results = dict(run_rule(ENDPOINTS, network, ml, app))
    assert {k: v.outcome for k, v in results.items()} == {
        "Domain": Outcome.FAIL,
        "Fn": Outcome.FAIL,
    }
    assert "sagemaker.api and com.amazonaws.<region>.sagemaker.runtime" in results["Domain"].message
    assert (
        results["Fn"].message.startswith("app: Fn") and "bedrock-runtime" in results["Fn"].message
    )


def test_unresolvable_service_name_not_applicable() -> None:
    network = template({"E": endpoint({"Fn::ImportValue": "service"})})
    ml = template(
        {
            "Model": {
                "Type": "AWS::SageMaker::Model",
                "Properties": {"VpcConfig": {"Subnets": SUBNETS}},
            }
        }
    )
    assert outcomes(run_rule(ENDPOINTS, network, ml)) == {"Model": Outcome.NOT_APPLICABLE}


def test_lambda_with_unknown_role_not_applicable() -> None:
    t = template({"Fn": function({"Fn::ImportValue": "role-arn"})})
    assert outcomes(run_rule(ENDPOINTS, t)) == {"Fn": Outcome.NOT_APPLICABLE}


def test_nothing_in_a_vpc_nothing_to_report() -> None:
    public = {"Type": "AWS::SageMaker::Domain", "Properties": {"DomainName": "d"}}
    no_bedrock = {"FnRole": ROLE, "Fn": function()}
    assert run_rule(ENDPOINTS, template({"Domain": public, **no_bedrock})) == []


# --------------------------------------------------------------------------- metadata of all

MODULES = {assembly.__name__, bedrock.__name__, iam.__name__}
RULES = [r for r in REGISTRY.values() if r.check.__module__ in MODULES]


def test_assembly_rules_registered() -> None:
    assert {r.rule_id for r in RULES if r.check.__module__ == assembly.__name__} == {
        LOGGING,
        ENDPOINTS,
    }


@pytest.mark.parametrize("found", RULES, ids=lambda r: r.rule_id)
def test_every_rule_documents_itself(found: Any) -> None:
    assert found.rule_id.startswith("MLGenAI-")
    for text in (found.title, found.reason, found.fix, found.seed_topic):
        assert isinstance(text, str) and text.strip()
    assert set(found.controls) == {"HIPAA", "NIST", "PCI"}
    assert all(found.controls[framework] for framework in ("HIPAA", "NIST", "PCI"))
    assert found.resource_types
