"""The one hardened function construct, alone: every guarantee and every error message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from gates.nag import read_findings
from gates.nag_report import Acknowledgement, acknowledgements
from secure_constructs.core.secure_function import SecureFunction
from tests.conftest import ROOT, resources_of

ENV = cdk.Environment(account="123456789012", region="eu-west-1")
CODE = ROOT / "lambda" / "findings_router"


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "T", env=ENV)


def _kwargs(stack: cdk.Stack, **changes: Any) -> dict[str, Any]:
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=["eu-west-1a", "eu-west-1b"], nat_gateways=1)
    key = kms.Key(stack, "Key")
    props: dict[str, Any] = {
        "code_dir": CODE,
        "description": "test function",
        "statements": [iam.PolicyStatement(actions=["sns:Publish"], resources=["*"])],
        "vpc": vpc,
        "subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        "endpoint_security_group": ec2.SecurityGroup(stack, "Endpoints", vpc=vpc),
        "logs_key": key,
        "queue_key": key,
    }
    props.update(changes)
    return props


def _template(**changes: Any) -> tuple[SecureFunction, dict[str, Any]]:
    stack = _stack()
    function = SecureFunction(stack, "F", **_kwargs(stack, **changes))
    return function, Template.from_stack(stack).to_json()


def _role_statements(raw: dict[str, Any], function: SecureFunction) -> list[dict[str, Any]]:
    role_id = cdk.Stack.of(function).resolve(function.role.node.default_child.logical_id)  # type: ignore[union-attr]
    statements: list[dict[str, Any]] = []
    for policy in resources_of(raw, "AWS::IAM::ManagedPolicy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _only(raw: dict[str, Any], kind: str) -> dict[str, Any]:
    (resource,) = resources_of(raw, kind).values()
    return resource["Properties"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"code_dir": ROOT / "lambda" / "nothing_here"}, "nothing_here.py not found"),
        ({"log_retention_days": 10}, "retention_days=10"),
        ({"reserved_concurrency": 0}, "reserved concurrency must be >= 1 or None, got 0"),
        ({"retry_attempts": 3}, "retry_attempts must be 0-2"),
        ({"environment": {"DLQ_URL": "x"}}, r"environment may not set \['DLQ_URL'\]"),
        ({"endpoint_security_group": None}, "either security_group or endpoint_security_group"),
        (
            {"subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)},
            "subnet selection is empty|There are no 'Isolated' subnet groups",
        ),
    ],
)
def test_rejects_invalid_props(changes: dict[str, Any], message: str) -> None:
    stack = _stack()
    with pytest.raises((ValueError, RuntimeError), match=message):
        SecureFunction(stack, "F", **_kwargs(stack, **changes))


def test_rejects_both_security_group_choices() -> None:
    stack = _stack()
    props = _kwargs(stack)
    props["security_group"] = ec2.SecurityGroup(stack, "Given", vpc=props["vpc"])
    with pytest.raises(ValueError, match="either security_group or endpoint_security_group"):
        SecureFunction(stack, "F", **props)


def test_function_properties() -> None:
    function, raw = _template(environment={"TOPIC_ARN": "arn:aws:sns:eu-west-1:1:t"})
    props = _only(raw, "AWS::Lambda::Function")
    assert props["Runtime"] == "python3.14"
    assert props["Handler"] == "findings_router.handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["ReservedConcurrentExecutions"] == 1
    assert props["MemorySize"] == 256 and props["Timeout"] == 60
    assert set(props["Environment"]["Variables"]) == {"TOPIC_ARN", "DLQ_URL"}
    assert "KmsKeyArn" not in props  # Lambda's key: recorded as a checkov skip
    skips = {
        s["id"] for s in raw["Resources"][_id(function.function)]["Metadata"]["checkov"]["skip"]
    }
    assert "CKV_AWS_173" in skips
    assert props["VpcConfig"]["SubnetIds"] and len(props["VpcConfig"]["SecurityGroupIds"]) == 1
    invoke = _only(raw, "AWS::Lambda::EventInvokeConfig")
    assert invoke["MaximumRetryAttempts"] == 2 and invoke["MaximumEventAgeInSeconds"] == 21600
    assert "OnFailure" in invoke["DestinationConfig"]
    assert "TargetArn" in props["DeadLetterConfig"]


def test_own_security_group_reaches_only_the_endpoints_and_s3() -> None:
    _, raw = _template(s3_prefix_list_id="pl-12345678")
    groups = [
        g["Properties"]
        for g in resources_of(raw, "AWS::EC2::SecurityGroup").values()
        if "HTTPS to the VPC endpoints only" in g["Properties"]["GroupDescription"]
    ]
    (own,) = groups
    egress = [
        *own["SecurityGroupEgress"],
        *(e["Properties"] for e in resources_of(raw, "AWS::EC2::SecurityGroupEgress").values()),
    ]
    assert {e.get("DestinationPrefixListId") for e in egress} == {None, "pl-12345678"}
    assert all(e["FromPort"] == 443 and e["ToPort"] == 443 for e in egress)
    assert not any("CidrIp" in e for e in egress)


def test_given_security_group_is_used_and_none_is_created() -> None:
    stack = _stack()
    props = _kwargs(stack, endpoint_security_group=None)
    props["security_group"] = ec2.SecurityGroup(stack, "Given", vpc=props["vpc"])
    SecureFunction(stack, "F", **props)
    raw = Template.from_stack(stack).to_json()
    descriptions = [
        g["Properties"]["GroupDescription"]
        for g in resources_of(raw, "AWS::EC2::SecurityGroup").values()
    ]
    assert not any("HTTPS to the VPC endpoints only" in d for d in descriptions)


def test_role_has_managed_policies_only_and_exactly_its_statements() -> None:
    function, raw = _template()
    assert not resources_of(raw, "AWS::IAM::Policy")  # CDK's automatic grants are off
    role = raw["Resources"][_id(function.role)]["Properties"]
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    statements = _role_statements(raw, function)
    sids = {s.get("Sid") for s in statements}
    assert {"WriteOwnLogGroup", "DescribeForVpcAttachment", "Tracing"} <= sids
    assert "NetworkInterfacesInTheFunctionsSubnets" in sids
    actions = [a for s in statements for a in _list(s["Action"])]
    assert actions.count("sns:Publish") == 1
    assert len(actions) == len(set(actions)) or actions.count("sqs:SendMessage") == 1
    assert not any(a.endswith(":*") or a == "*" for a in actions)
    function_resource = raw["Resources"][_id(function.function)]
    depends = set(function_resource["DependsOn"])
    policy_ids = {_id(p) for p in function.role.managed_policies}
    assert policy_ids <= depends  # Lambda checks the VPC permissions at creation


def test_environment_key_encrypts_and_is_decryptable_only_through_lambda() -> None:
    stack = _stack()
    env_key = kms.Key(stack, "EnvKey")
    function = SecureFunction(stack, "F", **_kwargs(stack, environment_key=env_key))
    raw = Template.from_stack(stack).to_json()
    props = _only(raw, "AWS::Lambda::Function")
    assert props["KmsKeyArn"] == {"Fn::GetAtt": [_id(env_key), "Arn"]}
    (decrypt,) = [
        s for s in _role_statements(raw, function) if s.get("Sid") == "DecryptOwnEnvironment"
    ]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "lambda.eu-west-1.amazonaws.com"}
    }


def test_queue_id_keeps_an_existing_queues_construct_id() -> None:
    function, _ = _template(queue_id="Queue")
    assert function.dead_letter_queue.queue.node.id == "Queue"


def test_unreserved_concurrency_is_acknowledged_and_reported() -> None:
    function, raw = _template(reserved_concurrency=None)
    assert "ReservedConcurrentExecutions" not in _only(raw, "AWS::Lambda::Function")
    assert [k.managed_rule for k in function.known_noncompliance] == ["LAMBDA_CONCURRENCY_CHECK"]


def _nag(app: cdk.App, tmp_path: Path) -> tuple[list[str], list[Acknowledgement]]:
    """IAM5 findings and acknowledgements under the function ``F`` after an AwsSolutions run."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        app.synth()
    except RuntimeError as error:  # the test VPC has findings of its own: not our concern
        assert "ValidationFailed" in str(error)
    findings = [f.rule for f in read_findings(tmp_path) if "IAM5" in f.rule and "/F/" in f.path]
    acks = [a for a in acknowledgements(tmp_path) if "IAM5" in a.rule and "/F/" in a.path]
    return findings, acks


def test_wildcards_are_acknowledged_once_with_both_reasons(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "T", env=ENV)
    function = SecureFunction(stack, "F", **_kwargs(stack))
    function.acknowledge_wildcards(
        {"Resource::*": "sns:Publish is published to a topic named at run time in this test."}
    )
    findings, acks = _nag(app, tmp_path)
    assert findings == []
    star = [a for a in acks if a.rule.endswith("IAM5[Resource::*]")]
    assert len(star) == 1 and "X-Ray" in star[0].reason and "sns:Publish" in star[0].reason
    assert any("network-interface" in a.rule for a in acks)


def test_an_unexplained_wildcard_stays_a_finding(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "T", env=ENV)
    statement = iam.PolicyStatement(actions=["sns:Publish"], resources=["arn:aws:sns:*"])
    SecureFunction(stack, "F", **_kwargs(stack, statements=[statement]))
    findings, _ = _nag(app, tmp_path)
    assert findings == ["IAM5[Resource::arn:aws:sns:*]"] or findings == [
        "AwsSolutions-IAM5[Resource::arn:aws:sns:*]"
    ]


def _id(construct: Any) -> str:
    resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    assert isinstance(resource, cdk.CfnResource)
    return str(cdk.Stack.of(resource).resolve(resource.logical_id))


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
