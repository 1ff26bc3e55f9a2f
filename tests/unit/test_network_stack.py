"""Every network requirement, asserted on the synthesized templates of every environment."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from platform_config import ENDPOINT_SERVICES
from tests.conftest import Synthesized, dumps, resources_of


def _subnets(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources_of(raw, "AWS::EC2::Subnet").values()]


def _tier(subnet: dict[str, Any]) -> str:
    return next(t["Value"] for t in subnet["Tags"] if t["Key"] == "aws-cdk:subnet-name")


def test_vpc_cidr_dns_and_tags(synthesized: Synthesized, env_name: str) -> None:
    env = synthesized.env(env_name)
    template = synthesized.template(env_name, "network")
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.has_resource_properties(
        "AWS::EC2::VPC",
        {
            "CidrBlock": env.vpc_cidr,
            "EnableDnsHostnames": True,
            "EnableDnsSupport": True,
            "Tags": Match.array_with(
                [{"Key": key, "Value": value} for key, value in sorted(env.tag_map.items())]
            ),
        },
    )


def test_three_tiers_over_exactly_the_configured_azs(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    subnets = _subnets(synthesized.raw(env_name, "network"))
    assert len(subnets) == 3 * len(env.availability_zones)
    for tier in ("public", "private", "isolated"):
        azs = sorted(s["AvailabilityZone"] for s in subnets if _tier(s) == tier)
        assert azs == sorted(env.availability_zones), tier
    assert all(s["MapPublicIpOnLaunch"] is False for s in subnets)


def test_nat_gateways_follow_the_profile(synthesized: Synthesized, env_name: str) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "network")
    nats = resources_of(raw, "AWS::EC2::NatGateway")
    assert len(nats) == env.nat_gateways
    public_subnet_ids = {
        logical_id
        for logical_id, r in resources_of(raw, "AWS::EC2::Subnet").items()
        if _tier(r["Properties"]) == "public"
    }
    for nat in nats.values():
        assert nat["Properties"]["SubnetId"]["Ref"] in public_subnet_ids
    # Only public route tables route to the internet gateway; private ones go through NAT.
    for route in resources_of(raw, "AWS::EC2::Route").values():
        props = route["Properties"]
        assert props["DestinationCidrBlock"] == "0.0.0.0/0"
        assert ("GatewayId" in props) != ("NatGatewayId" in props)


def test_isolated_subnets_have_no_route_out(synthesized: Synthesized, env_name: str) -> None:
    raw = synthesized.raw(env_name, "network")
    isolated_tables = set()
    for assoc in resources_of(raw, "AWS::EC2::SubnetRouteTableAssociation").values():
        subnet = raw["Resources"][assoc["Properties"]["SubnetId"]["Ref"]]["Properties"]
        if _tier(subnet) == "isolated":
            isolated_tables.add(assoc["Properties"]["RouteTableId"]["Ref"])
    assert isolated_tables
    for route in resources_of(raw, "AWS::EC2::Route").values():
        assert route["Properties"]["RouteTableId"]["Ref"] not in isolated_tables


def test_s3_gateway_endpoint_with_a_restrictive_policy(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "network")
    gateways = [
        r["Properties"]
        for r in resources_of(raw, "AWS::EC2::VPCEndpoint").values()
        if r["Properties"].get("VpcEndpointType") == "Gateway"
    ]
    assert len(gateways) == 1
    gateway = gateways[0]
    assert "s3" in dumps(gateway["ServiceName"])
    # Private and isolated route tables, one each per AZ; never the public ones.
    assert len(gateway["RouteTableIds"]) == 2 * len(env.availability_zones)
    statements = gateway["PolicyDocument"]["Statement"]
    assert statements, "the default full-access policy must be replaced"
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert statement["Condition"]["StringEquals"]["aws:PrincipalAccount"] == env.account
        assert statement["Action"] != "*"
    main = next(s for s in statements if s["Sid"] == "ThisAccountPrincipalsToThisAccountBuckets")
    assert main["Condition"]["StringEquals"]["aws:ResourceAccount"] == env.account


def test_interface_endpoints_private_dns_policies_and_azs(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "network")
    interface = {
        dumps(r["Properties"]["ServiceName"]): r["Properties"]
        for r in resources_of(raw, "AWS::EC2::VPCEndpoint").values()
        if r["Properties"].get("VpcEndpointType") == "Interface"
    }
    assert len(interface) == len(env.interface_endpoints)
    isolated_in_endpoint_azs = {
        logical_id
        for logical_id, r in resources_of(raw, "AWS::EC2::Subnet").items()
        if _tier(r["Properties"]) == "isolated"
        and r["Properties"]["AvailabilityZone"] in env.endpoint_availability_zones
    }
    for service in env.interface_endpoints:
        props = next(p for name, p in interface.items() if f'.{service}"' in name)
        assert props["PrivateDnsEnabled"] is True
        assert {s["Ref"] for s in props["SubnetIds"]} == isolated_in_endpoint_azs
        assert len(props["SecurityGroupIds"]) == 1
        expected_actions = ENDPOINT_SERVICES[service].actions
        if expected_actions is None:
            assert "PolicyDocument" not in props
            continue
        (statement,) = props["PolicyDocument"]["Statement"]
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert sorted(actions) == sorted(expected_actions)
        assert "*" not in actions
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": env.account}}


def test_required_endpoints_are_in_every_environment(
    synthesized: Synthesized, env_name: str
) -> None:
    required = {
        "bedrock", "bedrock-runtime", "bedrock-agent-runtime", "sagemaker.api", "sagemaker.runtime",
        "sts", "kms", "logs", "ecr.api", "ecr.dkr", "ssm",
    }  # fmt: skip
    assert required <= set(synthesized.env(env_name).interface_endpoints)


def test_bedrock_runtime_endpoint_allows_invocation_only(
    synthesized: Synthesized, env_name: str
) -> None:
    synthesized.template(env_name, "network").has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "ServiceName": "com.amazonaws.us-east-1.bedrock-runtime",
            "PolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Action": Match.array_with(
                                ["bedrock:ApplyGuardrail", "bedrock:InvokeModel"]
                            ),
                            "Effect": "Allow",
                        }
                    )
                ]
            },
        },
    )


def test_endpoint_security_group_admits_only_https_from_the_vpc(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "network")
    groups = [
        r["Properties"]
        for r in resources_of(raw, "AWS::EC2::SecurityGroup").values()
        if "Interface endpoints" in r["Properties"]["GroupDescription"]
    ]
    assert len(groups) == 1
    group = groups[0]
    assert group["SecurityGroupIngress"] == [
        {
            "CidrIp": env.vpc_cidr,
            "Description": "HTTPS from the VPC CIDR",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    # allow_all_outbound=False: CDK's placeholder rule that matches no traffic.
    assert group["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]
    assert not resources_of(raw, "AWS::EC2::SecurityGroupIngress")


def test_flow_logs_all_traffic_to_encrypted_retained_log_group(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    template = synthesized.template(env_name, "network")
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "RetentionInDays": env.flow_log_retention_days,
                "KmsKeyId": {
                    "Fn::ImportValue": Match.string_like_regexp(r"^secure-ml-\w+-keys:.*LogsKey")
                },
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_flow_log_role_is_confused_deputy_safe_and_narrow(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "network")
    (role,) = [
        r["Properties"]
        for r in resources_of(raw, "AWS::IAM::Role").values()
        if "vpc-flow-logs" in dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": env.account}
    assert "Policies" not in role  # no inline policy
    (policy,) = [r["Properties"] for r in resources_of(raw, "AWS::IAM::ManagedPolicy").values()]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == [
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
    ]
    assert "*" not in [r if isinstance(r, str) else "" for r in statement["Resource"]]
    assert not resources_of(raw, "AWS::IAM::Policy")  # CDK's inline default policy is not used


def test_default_security_group_is_stripped(synthesized: Synthesized, env_name: str) -> None:
    template = synthesized.template(env_name, "network")
    template.has_resource_properties(
        "Custom::VpcRestrictDefaultSG",
        {"DefaultSecurityGroupId": {"Fn::GetAtt": [Match.any_value(), "DefaultSecurityGroup"]}},
    )


def test_stack_names_termination_protection_and_tags(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    stage = synthesized.stages[env_name]
    for stack, suffix in ((stage.keys, "keys"), (stage.network, "network")):
        assert stack.stack_name == f"{synthesized.config.project}-{env_name}-{suffix}"
        assert stack.termination_protection is env.termination_protection
        assert stack.account == env.account and stack.region == env.region
        assert stack.availability_zones == list(env.availability_zones)
    assert synthesized.artifact(env_name, "network").dependencies == (
        synthesized.artifact(env_name, "keys").artifact_id,
    )
