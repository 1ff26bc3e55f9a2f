"""Organization AWS Config from the security account: aggregator, conformance pack, custom rule.

One small app (the security account's stack, plus one member account's stack for the role the
evaluator assumes there) synthesized once per module with every gate plugin registered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from gates.assembly import stacks
from gates.nag import acknowledgements, read_findings, register_packs
from gates.policy_refs import run_policy_refs
from gates.tools import run_cfn_lint
from secure_constructs.audit.config_recorder import ManagedRuleSpec
from secure_constructs.audit.managed_rule_table import baseline_rules
from secure_constructs.audit.sagemaker_isolation import RULE_ACTIONS
from secure_constructs.organization.org_config import (
    CONFORMANCE_PACK_MAX_BYTES,
    CONFORMANCE_PACK_MAX_RULES,
    MEMBER_ROLE_ACTIONS,
    ConformancePackLimitError,
    IsolationRuleEvaluator,
    OrganizationConfigRules,
    OrganizationRuleMemberRole,
    check_conformance_pack,
    conformance_pack_template,
    evaluator_role_arn,
    member_role_name,
    template_body,
)
from stacks.base import LAMBDA_DIR, handler_layer
from stacks.organization_stage import org_isolation_layer
from tests.conftest import new_app, resources_of

PROJECT = "secure-ml"
ORG_ID = "o-exampleorg1"
SECURITY = "333333333333"
MEMBERS = ("111111111111", "222222222222")
MANAGEMENT = "900000000001"
REGION = "us-east-1"
SUBNETS = ("subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002")
TABLE = baseline_rules(max_key_age_days=90, max_unused_days=45)


def _evaluator(stack: cdk.Stack, **changes: Any) -> IsolationRuleEvaluator:
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0a1b2c3d4e5f60718",
        availability_zones=[f"{REGION}a", f"{REGION}b"],
        private_subnet_ids=list(SUBNETS),
        private_subnet_route_table_ids=["rtb-0a1b2c3d4e5f60001", "rtb-0a1b2c3d4e5f60002"],
    )
    evaluator = IsolationRuleEvaluator(
        member_accounts=MEMBERS,
        code_dir=LAMBDA_DIR / "sagemaker_isolation_rule",
        vpc=vpc,
        subnets=ec2.SubnetSelection(subnets=vpc.private_subnets),
        encryption_key=kms.Key.from_key_arn(
            stack,
            "Key",
            f"arn:aws:kms:{REGION}:{SECURITY}:key/11111111-2222-3333-4444-555555555555",
        ),
        endpoint_security_group=ec2.SecurityGroup.from_security_group_id(
            stack, "Endpoints", "sg-0a1b2c3d4e5f60718"
        ),
        layers=[handler_layer(stack)],
        entry_layer=org_isolation_layer(stack),
        allowed_subnet_ids=SUBNETS,
    )
    return replace(evaluator, **changes)


def _security_stack(app: cdk.App) -> cdk.Stack:
    return cdk.Stack(app, "Security", env=cdk.Environment(account=SECURITY, region=REGION))


@dataclass
class Built:
    outdir: Path
    org: OrganizationConfigRules
    security: Template
    member: Template
    raw: dict[str, Any]
    member_raw: dict[str, Any]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    outdir = tmp_path_factory.mktemp("org-config")
    app = new_app(outdir)
    security = _security_stack(app)
    org = OrganizationConfigRules(
        security,
        "OrgConfig",
        project=PROJECT,
        organization_id=ORG_ID,
        managed_rules=TABLE,
        include_account_level=True,
        excluded_accounts=[MANAGEMENT],
        isolation=_evaluator(security),
    )
    member = cdk.Stack(app, "Member", env=cdk.Environment(account=MEMBERS[0], region=REGION))
    OrganizationRuleMemberRole(
        member, "OrgConfigMember", project=PROJECT, security_account=SECURITY
    )
    register_packs(app)
    assembly = app.synth()  # raises ValidationFailed on any unacknowledged finding
    raw = assembly.get_stack_by_name("Security").template
    member_raw = assembly.get_stack_by_name("Member").template
    return Built(
        outdir, org, Template.from_json(raw), Template.from_json(member_raw), raw, member_raw
    )


def _one(raw: dict[str, Any], kind: str, fragment: str = "") -> tuple[str, dict[str, Any]]:
    found = [
        (lid, r)
        for lid, r in resources_of(raw, kind).items()
        if fragment in r["Metadata"]["aws:cdk:path"]
    ]
    assert len(found) == 1, (kind, fragment, [lid for lid, _ in found])
    return found[0]


def _pack(raw: dict[str, Any]) -> dict[str, Any]:
    _, pack = _one(raw, "AWS::Config::OrganizationConformancePack")
    return json.loads(pack["Properties"]["TemplateBody"])  # type: ignore[no-any-return]


def _statements(raw: dict[str, Any], role_id: str) -> Iterator[dict[str, Any]]:
    for policy in resources_of(raw, "AWS::IAM::ManagedPolicy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            yield from policy["Properties"]["PolicyDocument"]["Statement"]


# --- aggregator --------------------------------------------------------------------------------


def test_aggregator_reads_the_whole_organization_in_every_region(built: Built) -> None:
    role_id, _ = _one(built.raw, "AWS::IAM::Role", "/AggregatorRole/")
    built.security.has_resource_properties(
        "AWS::Config::ConfigurationAggregator",
        {
            "ConfigurationAggregatorName": "secure-ml-organization",
            "OrganizationAggregationSource": {
                "AllAwsRegions": True,
                "RoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
                "AwsRegions": Match.absent(),
            },
            "AccountAggregationSources": Match.absent(),
        },
    )
    built.security.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "config.amazonaws.com"},
                        "Condition": {"StringEquals": {"aws:SourceAccount": SECURITY}},
                    }
                ]
            },
            "ManagedPolicyArns": [
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":iam::aws:policy/service-role/AWSConfigRoleForOrganizations",
                        ],
                    ]
                }
            ],
            "Policies": Match.absent(),
        },
    )


def test_aggregator_can_be_limited_to_listed_regions() -> None:
    stack = _security_stack(cdk.App())
    OrganizationConfigRules(
        stack,
        "OrgConfig",
        project=PROJECT,
        organization_id=ORG_ID,
        managed_rules=TABLE,
        include_account_level=False,
        aggregator_regions=["us-east-1", "eu-west-1"],
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Config::ConfigurationAggregator",
        {
            "OrganizationAggregationSource": {
                "AwsRegions": ["us-east-1", "eu-west-1"],
                "AllAwsRegions": Match.absent(),
            }
        },
    )
    template.resource_count_is("AWS::Config::OrganizationConfigRule", 0)
    template.resource_count_is("AWS::Lambda::Function", 0)


# --- conformance pack --------------------------------------------------------------------------


def test_pack_holds_every_managed_rule_of_the_table_with_its_parameters(built: Built) -> None:
    built.security.has_resource_properties(
        "AWS::Config::OrganizationConformancePack",
        {
            "OrganizationConformancePackName": "secure-ml-org-baseline",
            "ExcludedAccounts": [MANAGEMENT],
            "TemplateS3Uri": Match.absent(),
        },
    )
    pack = _pack(built.raw)
    resources = pack["Resources"]
    assert len(resources) == len(TABLE)
    by_identifier = {r["Properties"]["Source"]["SourceIdentifier"]: r for r in resources.values()}
    assert set(by_identifier) == {spec.identifier for spec in TABLE}
    assert built.org.pack_rules == [spec.identifier for spec in TABLE]
    for spec in TABLE:
        resource = by_identifier[spec.identifier]
        assert resource["Type"] == "AWS::Config::ConfigRule"
        properties = resource["Properties"]
        assert properties["Source"] == {"Owner": "AWS", "SourceIdentifier": spec.identifier}
        assert properties["Description"] == spec.control
        assert properties["ConfigRuleName"] == "secure-ml-" + spec.identifier.lower().replace(
            "_", "-"
        )
        assert "MaximumExecutionFrequency" not in properties  # AWS's own trigger, as single-account
        inputs = properties.get("InputParameters", {})
        assert set(inputs) == set(spec.parameters), spec.identifier
        for key, value in spec.parameters.items():
            parameter = inputs[key]["Ref"]
            assert pack["Parameters"][parameter] == {"Default": value, "Type": "String"}
    access_keys = by_identifier["ACCESS_KEYS_ROTATED"]["Properties"]["InputParameters"]
    assert access_keys == {"maxAccessKeyAge": {"Ref": "AccessKeysRotatedParamMaxAccessKeyAge"}}


def test_account_level_rules_only_where_global_resources_are_recorded() -> None:
    template = conformance_pack_template(TABLE, project=PROJECT, include_account_level=False)
    deployed = {
        r["Properties"]["Source"]["SourceIdentifier"] for r in template["Resources"].values()
    }
    assert deployed == {spec.identifier for spec in TABLE if not spec.account_level}
    assert "ACCESS_KEYS_ROTATED" not in deployed and "Parameters" not in template


def _oversized(count: int) -> list[ManagedRuleSpec]:
    return [
        ManagedRuleSpec(f"RULE_NUMBER_{i:03d}_WITH_A_LONG_IDENTIFIER", "d" * 256)
        for i in range(count)
    ]


def test_size_check_passes_for_the_table_and_fails_when_oversized(built: Built) -> None:
    size = check_conformance_pack(_pack(built.raw))
    assert size == built.org.pack_size < CONFORMANCE_PACK_MAX_BYTES
    assert size == len(template_body(_pack(built.raw)).encode())

    too_big = conformance_pack_template(
        _oversized(CONFORMANCE_PACK_MAX_RULES), project=PROJECT, include_account_level=True
    )
    with pytest.raises(ConformancePackLimitError, match=r"template body is \d+ bytes.*51200"):
        check_conformance_pack(too_big)
    too_many = conformance_pack_template(
        [ManagedRuleSpec(f"R_{i}", "x") for i in range(CONFORMANCE_PACK_MAX_RULES + 1)],
        project=PROJECT,
        include_account_level=True,
    )
    with pytest.raises(ConformancePackLimitError, match=r"131 rules.*at most 130"):
        check_conformance_pack(too_many)
    with pytest.raises(ConformancePackLimitError, match="template body"):
        OrganizationConfigRules(
            _security_stack(cdk.App()),
            "OrgConfig",
            project=PROJECT,
            organization_id=ORG_ID,
            managed_rules=_oversized(CONFORMANCE_PACK_MAX_RULES),
            include_account_level=True,
        )


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([ManagedRuleSpec("A", "x"), ManagedRuleSpec("A", "y")], r"listed twice: \['A'\]"),
        ([ManagedRuleSpec("A", "x" * 257)], "description is 257 characters, at most 256"),
        ([ManagedRuleSpec("A", "x", account_level=True)], "no rule left"),
    ],
)
def test_pack_template_rules(rules: list[ManagedRuleSpec], message: str) -> None:
    with pytest.raises(ConformancePackLimitError, match=message):
        check_conformance_pack(
            conformance_pack_template(rules, project=PROJECT, include_account_level=False)
        )


# --- custom rule -------------------------------------------------------------------------------


def test_custom_rule_is_an_organization_lambda_rule_invoked_from_member_accounts_only(
    built: Built,
) -> None:
    function_id, _ = _one(built.raw, "AWS::Lambda::Function", "/IsolationEvaluator/")
    rule_id, rule = _one(built.raw, "AWS::Config::OrganizationConfigRule")
    built.security.has_resource_properties(
        "AWS::Config::OrganizationConfigRule",
        {
            "OrganizationConfigRuleName": "secure-ml-org-sagemaker-job-isolation",
            "ExcludedAccounts": [MANAGEMENT],
            "OrganizationCustomRuleMetadata": {
                "LambdaFunctionArn": {"Fn::GetAtt": [function_id, "Arn"]},
                "OrganizationConfigRuleTriggerTypes": ["ScheduledNotification"],
                "MaximumExecutionFrequency": "TwentyFour_Hours",
                "InputParameters": json.dumps({"allowedSubnetIds": ",".join(SUBNETS)}).replace(
                    " ", ""
                ),
            },
        },
    )
    permissions = resources_of(built.raw, "AWS::Lambda::Permission")
    assert sorted(p["Properties"]["SourceAccount"] for p in permissions.values()) == list(MEMBERS)
    for permission in permissions.values():
        assert permission["Properties"] == {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [function_id, "Arn"]},
            "Principal": "config.amazonaws.com",
            "SourceAccount": permission["Properties"]["SourceAccount"],
        }
    # Config validates its invoke permission when it creates the rule.
    assert set(permissions) <= set(rule["DependsOn"]), rule_id
    built.security.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "MEMBER_ROLE_NAME": member_role_name(PROJECT),
                        "EVALUATION_SCOPE": "account",
                        "LOOKBACK_HOURS": "24",
                    }
                )
            },
            "VpcConfig": Match.object_like({"SubnetIds": list(SUBNETS)}),
            # The entry point is the organization layer's; the code is the single-account folder.
            "Handler": "org_isolation_rule.handler",
        },
    )


def test_the_evaluator_runs_the_single_account_code_with_the_entry_layer(built: Built) -> None:
    (function,) = [
        r
        for r in built.raw["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Handler") == "org_isolation_rule.handler"
    ]
    layers = function["Properties"]["Layers"]
    assert len(layers) == 2  # handler_kit and the organization entry point


def test_evaluator_can_only_assume_the_member_roles(built: Built) -> None:
    role_id, role = _one(built.raw, "AWS::IAM::Role", "/IsolationEvaluator/")
    assert role["Properties"]["RoleName"] == "secure-ml-org-config-evaluator"
    assert evaluator_role_arn(PROJECT, partition="aws", security_account=SECURITY).endswith(
        role["Properties"]["RoleName"]
    )
    statements = list(_statements(built.raw, role_id))
    assume = [s for s in statements if s["Sid"].startswith("AssumeMemberRoles")]
    assert assume == [
        {
            "Sid": "AssumeMemberRoles1",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": [f"arn:aws:iam::{a}:role/secure-ml-org-config-member" for a in MEMBERS],
        }
    ]
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not {a for a in actions if a.startswith(("sagemaker:", "config:"))}


def test_member_role_trusts_only_the_evaluator_and_does_only_the_rules_calls(built: Built) -> None:
    role_id, role = _one(built.member_raw, "AWS::IAM::Role")
    assert role["Properties"]["RoleName"] == member_role_name(PROJECT)
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{SECURITY}:root"},
            "Condition": {
                "ArnEquals": {
                    "aws:PrincipalArn": evaluator_role_arn(
                        PROJECT, partition="aws", security_account=SECURITY
                    )
                }
            },
        }
    ]
    assert "Policies" not in role["Properties"]
    statements = {s["Sid"]: s for s in _statements(built.member_raw, role_id)}
    assert statements["DescribeJobs"]["Resource"] == (
        f"arn:aws:sagemaker:{REGION}:{MEMBERS[0]}:training-job/*"
    )
    assert statements["DescribeProcessingJobs"]["Resource"] == (
        f"arn:aws:sagemaker:{REGION}:{MEMBERS[0]}:processing-job/*"
    )
    granted = set()
    for statement in statements.values():
        action = statement["Action"]
        granted |= {action} if isinstance(action, str) else set(action)
    # The same calls as the single-account rule's function, and only those.
    assert granted == set(MEMBER_ROLE_ACTIONS) == set(RULE_ACTIONS)


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"organization_id": "org-1"}, "is not an organization ID"),
        ({"project": "1bad"}, "must be a literal starting with a letter"),
        ({"project": "p" * 40}, "is 68 characters, at most 64"),
        ({"excluded_accounts": ["12345"]}, r"excluded_accounts \['12345'\] must be 12-digit"),
        ({"excluded_accounts": [MANAGEMENT, MANAGEMENT]}, "lists .* twice"),
        ({"aggregator_regions": []}, "must be region names"),
        ({"aggregator_regions": ["US-EAST-1"]}, "must be region names"),
        ({"excluded_accounts": [MEMBERS[0]]}, "both member_accounts and excluded_accounts"),
        ({"isolation": {"member_accounts": ()}}, "member_accounts is empty"),
        (
            {"isolation": {"member_accounts": [str(100000000000 + i) for i in range(52)]}},
            "has 52 accounts, at most 51",
        ),
        (
            {"isolation": {"allowed_subnet_ids": [f"subnet-{i:017x}" for i in range(50)]}},
            "rule parameters are .* at most 1024",
        ),
    ],
)
def test_invalid_configuration_is_refused_with_the_rule(
    changes: dict[str, Any], message: str
) -> None:
    stack = _security_stack(cdk.App())
    isolation = _evaluator(stack, **changes.pop("isolation", {}))
    props: dict[str, Any] = {
        "project": PROJECT,
        "organization_id": ORG_ID,
        "managed_rules": TABLE,
        "include_account_level": True,
        "isolation": isolation,
        **changes,
    }
    with pytest.raises(ValueError, match=message):
        OrganizationConfigRules(stack, "OrgConfig", **props)


def test_member_role_refuses_a_bad_security_account() -> None:
    stack = cdk.Stack(cdk.App(), "Member", env=cdk.Environment(account=MEMBERS[0], region=REGION))
    with pytest.raises(ValueError, match=r"security_account \['3333'\] must be 12-digit"):
        OrganizationRuleMemberRole(stack, "Role", project=PROJECT, security_account="3333")


# --- gates -------------------------------------------------------------------------------------


def test_no_unacknowledged_findings_and_only_specific_acknowledgements(built: Built) -> None:
    assert read_findings(built.outdir) == []
    ours = {(a.path.split("/", 2)[2], a.rule) for a in acknowledgements(built.outdir) if a.ours}
    assert (
        "OrgConfig/AggregatorRole",
        "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
        "service-role/AWSConfigRoleForOrganizations]",
    ) in ours
    member = {rule for path, rule in ours if path.startswith("OrgConfigMember/")}
    assert member == {
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
        f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:sagemaker:{REGION}:{MEMBERS[0]}:"
        "training-job/*]",
        f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:sagemaker:{REGION}:{MEMBERS[0]}:"
        "processing-job/*]",
    }
    # Not an empty app: every part was synthesized.
    counts = {
        kind: len(resources_of(built.raw, kind))
        for kind in (
            "AWS::Config::ConfigurationAggregator",
            "AWS::Config::OrganizationConformancePack",
            "AWS::Config::OrganizationConfigRule",
            "AWS::Lambda::Function",
            "AWS::Lambda::Permission",
        )
    }
    assert counts == {
        "AWS::Config::ConfigurationAggregator": 1,
        "AWS::Config::OrganizationConformancePack": 1,
        "AWS::Config::OrganizationConfigRule": 1,
        "AWS::Lambda::Function": 1,
        "AWS::Lambda::Permission": len(MEMBERS),
    }


def test_templates_pass_cfn_lint(built: Built) -> None:
    result = run_cfn_lint(stacks(built.outdir))
    assert result.templates == 2 and result.findings == []


def test_policy_reference_gate_finds_nothing_but_its_sts_role_false_positive(built: Built) -> None:
    # gates/policy_refs.py files an ARN format under its action's prefix (sts) and compares that
    # with the ARN's service (iam), so sts:AssumeRole on a role ARN (the Service Authorization
    # Reference's own format, arn:${Partition}:iam::${Account}:role/...) is reported. Anything
    # else the gate reports here is real.
    findings = run_policy_refs(stacks(built.outdir)).findings
    assert all(
        "AssumeMemberRoles1" in f and ":role/secure-ml-org-config-member" in f for f in findings
    ), findings
