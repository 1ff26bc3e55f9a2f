"""The KMS keys stack, and the reusable constructs used on their own (as a copying team would)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from secure_constructs.core.compliance import acknowledge, skip_checkov
from secure_constructs.core.sizing import DEFAULT_SUBNET_PLAN
from secure_constructs.data.encryption_key import KEY_ADMIN_ACTIONS, EncryptionKey
from secure_constructs.network.secure_vpc import SecureVpc, endpoint_construct_id
from tests.conftest import Synthesized, resources_of

ENV = cdk.Environment(account="123456789012", region="eu-west-1")
AZS = ["eu-west-1a", "eu-west-1b"]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


# --- Keys stack ---------------------------------------------------------------------------


def test_logs_key_rotates_is_retained_and_aliased(synthesized: Synthesized, env_name: str) -> None:
    template = synthesized.template(env_name, "keys")
    template.has_resource(
        "AWS::KMS::Key",
        {
            "Properties": {
                "EnableKeyRotation": True,
                "RotationPeriodInDays": 365,
                "PendingWindowInDays": 30,
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    template.has_resource_properties(
        "AWS::KMS::Alias", {"AliasName": f"alias/{synthesized.config.project}/{env_name}/logs"}
    )


def test_key_policy_admins_cannot_use_the_key_and_logs_is_conditioned(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "keys")
    (key,) = [
        k
        for k in resources_of(raw, "AWS::KMS::Key").values()
        if "CloudWatch Logs" in k["Properties"]["Description"]
    ]
    statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    # The audit stacks add the service statements (tests/unit/test_audit_stack.py checks them).
    assert set(statements) == {
        "KeyAdministration",
        "AllowCloudWatchLogsOfThisAccount",
        "AllowUseThroughNamedServicesOnly",
        "AllowCloudTrailToEncryptLogFiles",
        "AllowCloudTrailToDescribeTheKey",
        "AllowCloudTrailToDecryptWithTheBucketKey",
        "AllowEventsForNamedResources",
        "AllowSnsForNamedResources",
        "AllowCloudwatchForNamedResources",
    }  # Bedrock's invocation logs are under the data key now (test_deploy_readiness.py)
    assert statements["AllowUseThroughNamedServicesOnly"]["Condition"] == {
        "StringEquals": {
            "kms:CallerAccount": env.account,
            "kms:ViaService": [
                f"{service}.{env.region}.amazonaws.com" for service in ("s3", "sns", "sqs")
            ],
        }
    }
    for statement in statements.values():
        assert "kms:*" not in _actions(statement) and "*" not in _actions(statement)
    admin = statements["KeyAdministration"]
    assert sorted(_actions(admin)) == sorted(KEY_ADMIN_ACTIONS)
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:CreateGrant"} & set(_actions(admin))
    logs = statements["AllowCloudWatchLogsOfThisAccount"]
    assert logs["Principal"] == {"Service": f"logs.{env.region}.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{env.region}:{env.account}:log-group:*"
        }
    }


# --- constructs alone ---------------------------------------------------------------------


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Test", env=ENV)


def _vpc(stack: cdk.Stack, **overrides: Any) -> SecureVpc:
    props: dict[str, Any] = {
        "cidr": "10.0.0.0/16",
        "availability_zones": AZS,
        "nat_gateways": 1,
        "flow_log_key": kms.Key(stack, "K"),
        "interface_endpoints": {"sts": ["sts:*"], "ssmmessages": None},
    }
    props.update(overrides)
    return SecureVpc(stack, "Net", **props)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"availability_zones": ["eu-west-1a"]}, "at least 2 availability_zones"),
        ({"nat_gateways": 3}, "nat_gateways=3: allowed 1 to 2"),
        ({"nat_gateways": 0}, "nat_gateways=0: allowed 1 to 2"),
        ({"flow_log_retention_days": 100}, "flow_log_retention_days=100"),
        ({"endpoint_availability_zones": ["eu-west-1c"]}, "['eu-west-1c'] are not among"),
    ],
)
def test_secure_vpc_rejects_invalid_props(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _vpc(_stack(), **overrides)


def test_service_without_endpoint_policy_gets_none_and_ids_are_stable() -> None:
    stack = _stack()
    net = _vpc(stack)
    assert set(net.interface_endpoints) == {"sts", "ssmmessages"}
    assert endpoint_construct_id("bedrock-runtime") == "BedrockRuntimeEndpoint"
    assert endpoint_construct_id("sagemaker.api") == "SagemakerApiEndpoint"
    raw = Template.from_stack(stack).to_json()
    endpoints = {
        r["Properties"]["ServiceName"]: r["Properties"]
        for r in resources_of(raw, "AWS::EC2::VPCEndpoint").values()
        if r["Properties"]["VpcEndpointType"] == "Interface"
    }
    assert "PolicyDocument" not in endpoints["com.amazonaws.eu-west-1.ssmmessages"]
    assert (
        endpoints["com.amazonaws.eu-west-1.sts"]["PolicyDocument"]["Statement"][0]["Action"]
        == "sts:*"
    )


@pytest.mark.parametrize("az_count", [2, 3])
def test_subnet_plan_matches_cdk_allocation_at_the_smallest_accepted_cidr(az_count: int) -> None:
    needed = DEFAULT_SUBNET_PLAN.addresses_needed(az_count)
    prefix = 32 - (needed - 1).bit_length()  # smallest VPC the config loader accepts
    azs = [f"eu-west-1{letter}" for letter in "abc"[:az_count]]
    stack = _stack()
    _vpc(stack, cidr=f"10.0.0.0/{prefix}", availability_zones=azs)
    subnets = resources_of(Template.from_stack(stack).to_json(), "AWS::EC2::Subnet")
    assert len(subnets) == 3 * az_count
    # One prefix smaller really does not fit: CDK refuses it, so the loader's check is exact.
    with pytest.raises(RuntimeError, match=r"(?i)subnet|cidr|space"):
        _vpc(_stack(), cidr=f"10.0.0.0/{prefix + 1}", availability_zones=azs)


def test_encryption_key_custom_admins_and_pending_window() -> None:
    stack = _stack()
    from aws_cdk import aws_iam as iam

    admin = iam.ArnPrincipal("arn:aws:iam::123456789012:role/KeyAdmins")
    EncryptionKey(
        stack,
        "Key",
        alias="alias/t",
        description="t",
        administrators=[admin],
        pending_window=cdk.Duration.days(7),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "PendingWindowInDays": 7,
            "KeyPolicy": {
                "Statement": [
                    {
                        "Sid": "KeyAdministration",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:role/KeyAdmins"},
                        "Action": sorted(KEY_ADMIN_ACTIONS),
                        "Resource": "*",
                    }
                ],
                "Version": "2012-10-17",
            },
        },
    )


def test_acknowledge_and_skip_refuse_vague_reasons() -> None:
    stack = _stack()
    key = kms.Key(stack, "K")
    with pytest.raises(ValueError, match="specific reason"):
        acknowledge(key, "AwsSolutions-KMS5", "n/a")
    with pytest.raises(ValueError, match="specific reason"):
        skip_checkov(key.node.default_child, "CKV_AWS_7", "ok")  # type: ignore[arg-type]


def test_encrypted_log_group_is_retained_encrypted_and_refuses_an_unknown_retention() -> None:
    from aws_cdk import aws_kms as kms

    from secure_constructs.core.log_groups import encrypted_log_group

    stack = cdk.Stack(cdk.App(), "LogGroups")
    key = kms.Key(stack, "Key")
    encrypted_log_group(
        stack, "Logs", encryption_key=key, retention_days=90, log_group_name="/team/app"
    )
    template = Template.from_stack(stack)
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "LogGroupName": "/team/app",
                "RetentionInDays": 90,
                "KmsKeyId": {"Fn::GetAtt": [Match.any_value(), "Arn"]},
            },
        },
    )
    with pytest.raises(ValueError, match=r"log group Other: retention_days=10; allowed \(1, 3, 5"):
        encrypted_log_group(stack, "Other", encryption_key=key, retention_days=10)
