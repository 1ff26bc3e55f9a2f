"""Management policies (AI opt-out, Bedrock, Security Hub, Inspector) and DelegatedAdministration.

One app, one stack (the management account 111111111111, us-east-1): the delegated
administration of every service plus one ``AWS::Organizations::Policy`` per management policy,
synthesized once per module with every gate plugin. The policy builders are pure data and are
also checked directly; construct variants that need no gates synthesize a bare app of their own.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cfnlint.api  # type: ignore[import-untyped]
import pytest
from aws_cdk import aws_organizations as organizations
from aws_cdk.assertions import Match, Template

from gates.nag import acknowledgements, read_findings, register_packs
from secure_constructs.data.encryption_key import EncryptionKey
from secure_constructs.organization.delegated_admin import (
    NO_RESOURCE_TYPES_REASON,
    ORGANIZATIONAL_UNITS_REASON,
    SERVICES,
    DelegatedAdministration,
)
from secure_constructs.organization.management_policies import (
    ai_opt_out_policy,
    bedrock_policy,
    inspector_policy,
    securityhub_policy,
)
from secure_constructs.organization.policy_document import (
    AISERVICES_OPT_OUT_POLICY,
    BEDROCK_POLICY,
    INSPECTOR_POLICY,
    MAX_CHARACTERS,
    SECURITYHUB_POLICY,
    OrganizationPolicy,
    PolicySizeError,
    check_size,
)
from tests.conftest import new_app, resources_of

MANAGEMENT = "111111111111"
LOG_ARCHIVE = "222222222222"
SECURITY = "333333333333"
REGION = "us-east-1"
ORG = "o-a1b2c3d4e5"
ROOT_ID = "r-ab12"
GUARDRAIL = f"arn:aws:bedrock:{REGION}:{MANAGEMENT}:guardrail/hu1dlsv9wy1d"
NONE = ["@@none"]
ACCOUNT_ARN = f"arn:aws:organizations::{MANAGEMENT}:account/{ORG}/{SECURITY}"
SLR = (
    f"arn:aws:iam::{MANAGEMENT}:role/aws-service-role/cloudtrail.amazonaws.com/"
    "AWSServiceRoleForCloudTrail"
)
POLICIES = {
    "ai": ai_opt_out_policy(),
    "bedrock": bedrock_policy(GUARDRAIL, "1", management_account=MANAGEMENT),
    "securityhub": securityhub_policy([REGION, "us-west-2"]),
    "inspector": inspector_policy([REGION, "us-west-2"]),
}


@dataclass
class Synth:
    admin: DelegatedAdministration
    template: Template
    raw: dict[str, Any]
    outdir: Path


def _management_stack(app: cdk.App) -> tuple[cdk.Stack, EncryptionKey]:
    stack = cdk.Stack(app, "OrgManagement", env=cdk.Environment(account=MANAGEMENT, region=REGION))
    key = EncryptionKey(stack, "Key", alias="alias/org-management", description="Deploy logs")
    key.allow_cloudwatch_logs()
    key.allow_use_via_services(["sqs"])
    return stack, key


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("org-management")
    app = new_app(outdir)
    stack, key = _management_stack(app)
    admin = DelegatedAdministration(
        stack,
        "Admins",
        organization_id=ORG,
        security_account=SECURITY,
        log_archive_account=LOG_ARCHIVE,
        logs_key=key.key,
    )
    for name, policy in POLICIES.items():
        if policy.policy_type in MAX_CHARACTERS:
            check_size(policy)
        organizations.CfnPolicy(
            stack,
            f"Policy{name.title()}",
            name=policy.name,
            type=policy.policy_type,
            description=policy.description,
            content=policy.content,
            target_ids=[ROOT_ID],
        )
    register_packs(app)
    app.synth()  # raises ValidationFailed on any unacknowledged cdk-nag finding
    raw = json.loads((outdir / "OrgManagement.template.json").read_text())
    return Synth(admin, Template.from_json(raw), raw, outdir)


def _calls(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each custom resource's Create and Delete calls, by the Create call's physical ID."""
    found = {}
    for logical_id, resource in raw["Resources"].items():
        if not resource["Type"].startswith("Custom::"):
            continue
        props = resource["Properties"]
        create = json.loads(props["Create"])
        found[create["physicalResourceId"]["id"]] = {
            "type": resource["Type"],
            "logical_id": logical_id,
            "depends_on": resource.get("DependsOn", []),
            "create": create,
            "update": props.get("Update"),
            "delete": json.loads(props["Delete"]) if "Delete" in props else None,
        }
    return found


def _calls_policy(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    policies = [
        p
        for p in resources_of(raw, "AWS::IAM::ManagedPolicy").values()
        if "the API calls this stack makes" in p["Properties"]["Description"]
    ]
    assert len(policies) == 1
    return {s["Sid"]: s for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]}


# --- AI services opt-out ----------------------------------------------------------------------


def test_ai_opt_out_is_the_documented_syntax_locked_at_every_level() -> None:
    policy = POLICIES["ai"]
    assert policy.policy_type == AISERVICES_OPT_OUT_POLICY
    assert policy.content == {
        "services": {
            "@@operators_allowed_for_child_policies": NONE,
            "default": {
                "@@operators_allowed_for_child_policies": NONE,
                "opt_out_policy": {
                    "@@operators_allowed_for_child_policies": NONE,
                    "@@assign": "optOut",
                },
            },
        }
    }
    assert [key for key, _ in policy.purposes] == ["services", "services.default.opt_out_policy"]
    assert check_size(policy) == len(policy.minified()) <= 2500


def test_too_large_or_undocumented_policies_fail_check_size() -> None:
    big = OrganizationPolicy(
        name="too-big",
        policy_type=AISERVICES_OPT_OUT_POLICY,
        description="x",
        content={"services": {f"service{i:04d}": {"opt_out_policy": {}} for i in range(200)}},
    )
    assert len(big.minified()) > 2500
    with pytest.raises(PolicySizeError, match=r"too-big \(AISERVICES_OPT_OUT_POLICY\) is \d+"):
        check_size(big)
    long_description = OrganizationPolicy(
        name="wordy", policy_type=SECURITYHUB_POLICY, description="x" * 513, content={}
    )
    with pytest.raises(PolicySizeError, match="description is 513 characters"):
        check_size(long_description)
    # AWS documents no size for these two types in the quota page: refused until recorded.
    for name in ("bedrock", "inspector"):
        with pytest.raises(PolicySizeError, match="no documented size limit recorded"):
            check_size(POLICIES[name])


def test_recorded_limits() -> None:
    assert MAX_CHARACTERS[AISERVICES_OPT_OUT_POLICY] == 2500
    assert MAX_CHARACTERS[SECURITYHUB_POLICY] == 10000
    assert BEDROCK_POLICY not in MAX_CHARACTERS
    assert INSPECTOR_POLICY not in MAX_CHARACTERS


# --- Bedrock ----------------------------------------------------------------------------------


def test_bedrock_policy_is_the_documented_syntax() -> None:
    policy = POLICIES["bedrock"]
    assert policy.policy_type == BEDROCK_POLICY
    assert policy.content == {
        "bedrock": {
            "guardrail_inference": {
                REGION: {
                    "config_1": {
                        "@@operators_allowed_for_child_policies": NONE,
                        "identifier": {"@@assign": f"{GUARDRAIL}:1"},
                        "selective_content_guarding": {
                            "system": {"@@assign": "comprehensive"},
                            "messages": {"@@assign": "comprehensive"},
                        },
                        "model_enforcement": {
                            "included_models": {"@@assign": ["ALL"]},
                            "excluded_models": {"@@assign": []},
                        },
                    }
                }
            }
        }
    }
    path = f"bedrock.guardrail_inference.{REGION}.config_1"
    assert [key for key, _ in policy.purposes] == [
        f"{path}.identifier",
        f"{path}.selective_content_guarding",
        f"{path}.model_enforcement",
    ]


def test_bedrock_policy_options() -> None:
    policy = bedrock_policy(
        GUARDRAIL,
        "12",
        messages="selective",
        excluded_models=["amazon.titan-embed-text-v2:0"],
        lock=False,
    )
    config = policy.content["bedrock"]["guardrail_inference"][REGION]["config_1"]
    assert "@@operators_allowed_for_child_policies" not in config
    assert config["selective_content_guarding"]["messages"] == {"@@assign": "selective"}
    assert config["model_enforcement"]["excluded_models"] == {
        "@@assign": ["amazon.titan-embed-text-v2:0"]
    }
    tokened = bedrock_policy(cdk.Fn.import_value("guardrail-arn"), "1", region=REGION)
    assert list(tokened.content["bedrock"]["guardrail_inference"]) == [REGION]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((f"{GUARDRAIL}:1", "1"), {}, "without a version"),
        ((GUARDRAIL, "DRAFT"), {}, "DRAFT cannot be enforced"),
        ((GUARDRAIL, "1"), {"region": "eu-west-1"}, "must be created and used in the Region"),
        ((GUARDRAIL, "1"), {"management_account": "999999999999"}, "only a guardrail of the"),
        ((GUARDRAIL, "1"), {"messages": "none"}, "one of"),
        ((GUARDRAIL, "1"), {"included_models": ["ALL", "amazon.nova-pro-v1:0"]}, "already"),
        ((GUARDRAIL, "1"), {"excluded_models": ["ALL"]}, "only in included_models"),
        ((GUARDRAIL, "1"), {"excluded_models": ["Nova Pro"]}, "Bedrock model IDs"),
    ],
)
def test_bedrock_policy_refuses(
    args: tuple[str, str], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        bedrock_policy(*args, **kwargs)


def test_bedrock_policy_with_a_token_arn_needs_the_region() -> None:
    with pytest.raises(ValueError, match="region is required"):
        bedrock_policy(cdk.Fn.import_value("guardrail-arn"), "1")


# --- Security Hub and Inspector ---------------------------------------------------------------


def test_securityhub_policy_is_the_documented_syntax() -> None:
    policy = POLICIES["securityhub"]
    assert policy.policy_type == SECURITYHUB_POLICY
    assert policy.content == {
        "securityhub": {
            "enable_in_regions": {
                "@@append": [REGION, "us-west-2"],
                "@@operators_allowed_for_child_policies": ["@@append"],
            },
            "disable_in_regions": {
                "@@append": [],
                "@@operators_allowed_for_child_policies": NONE,
            },
        }
    }
    assert [key for key, _ in policy.purposes] == [
        "securityhub.enable_in_regions",
        "securityhub.disable_in_regions",
    ]
    assert check_size(policy) <= 10000
    unlocked = securityhub_policy(["ALL_SUPPORTED"], lock=False)
    assert unlocked.content == {
        "securityhub": {
            "enable_in_regions": {"@@append": ["ALL_SUPPORTED"]},
            "disable_in_regions": {"@@append": []},
        }
    }


def test_inspector_policy_is_the_documented_syntax() -> None:
    policy = POLICIES["inspector"]
    assert policy.policy_type == INSPECTOR_POLICY
    regions = {
        "enable_in_regions": {
            "@@assign": [REGION, "us-west-2"],
            "@@operators_allowed_for_child_policies": ["@@append"],
        },
        "disable_in_regions": {"@@assign": [], "@@operators_allowed_for_child_policies": NONE},
    }
    assert policy.content == {
        "inspector": {
            "enablement": {
                "ec2_scanning": regions,
                "ecr_scanning": regions,
                # Lambda code scanning nests under standard scanning, as the syntax page writes it
                "lambda_standard_scanning": {**regions, "lambda_code_scanning": regions},
            }
        }
    }
    assert [key for key, _ in policy.purposes] == [
        "inspector.enablement.ec2_scanning",
        "inspector.enablement.ecr_scanning",
        "inspector.enablement.lambda_standard_scanning",
        "inspector.enablement.lambda_standard_scanning.lambda_code_scanning",
    ]
    repos = inspector_policy(["ALL_SUPPORTED"], scan_types=["code_repository"], lock=False)
    assert repos.content == {
        "inspector": {
            "enablement": {
                "code_repository_scanning": {
                    "enable_in_regions": {"@@assign": ["ALL_SUPPORTED"]},
                    "disable_in_regions": {"@@assign": []},
                }
            }
        }
    }


@pytest.mark.parametrize(
    ("regions", "scan_types", "message"),
    [
        ([], ("ec2",), "at least one Region"),
        (["us-east-1", "us-east-1"], ("ec2",), "duplicate"),
        (["ALL_SUPPORTED", "us-east-1"], ("ec2",), "pass it alone"),
        (["US East"], ("ec2",), "not Region names"),
        (["us-east-1"], ("lambda_code",), "needs 'lambda'"),
        (["us-east-1"], ("ec2", "ec2"), "each at most once"),
        (["us-east-1"], ("eks",), "choose from"),
    ],
)
def test_enablement_policies_refuse(
    regions: list[str], scan_types: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        inspector_policy(regions, scan_types=scan_types)
    if "Region" in message or "duplicate" in message or "alone" in message:
        with pytest.raises(ValueError, match=message):
            securityhub_policy(regions)


def test_policies_deploy_as_organizations_policies(synth: Synth) -> None:
    for policy in POLICIES.values():
        synth.template.has_resource_properties(
            "AWS::Organizations::Policy",
            {
                "Name": policy.name,
                "Type": policy.policy_type,
                "Content": policy.content,
                "TargetIds": [ROOT_ID],
            },
        )


# --- DelegatedAdministration ------------------------------------------------------------------


def test_no_unacknowledged_findings_cfn_lint_clean_and_a_realistic_stack(synth: Synth) -> None:
    assert read_findings(synth.outdir) == []
    counts: dict[str, int] = {}
    for resource in synth.raw["Resources"].values():
        counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1
    assert counts["Custom::DelegatedAdministrator"] == 7  # 2 Config, AA, GD, Macie, Insp., CT
    assert counts["Custom::OrganizationsTrustedAccess"] == 3
    assert counts["AWS::SecurityHub::DelegatedAdmin"] == 1
    assert counts["AWS::Organizations::Policy"] == 4
    assert counts["AWS::Lambda::Function"] == 1
    assert sum(counts.values()) >= 20
    template = (synth.outdir / "OrgManagement.template.json").read_text()
    matches = cfnlint.api.lint(template, config=cfnlint.api.ManualArgs(regions=[REGION]))
    assert [str(m) for m in matches] == []


def test_the_wildcards_are_acknowledged_with_their_reasons(synth: Synth) -> None:
    acks = {
        a.rule: a.reason
        for a in acknowledgements(synth.outdir)
        if a.path.endswith("/Admins/SdkCalls/CallsPolicy") and a.ours
    }
    ou = f"arn:aws:organizations::{MANAGEMENT}:ou/{ORG}/ou-*"
    assert acks == {
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]": NO_RESOURCE_TYPES_REASON,
        f"AwsSolutions::AwsSolutions-IAM5[Resource::{ou}]": ORGANIZATIONAL_UNITS_REASON,
    }


def test_config_and_access_analyzer_get_trusted_access_then_registration(synth: Synth) -> None:
    calls = _calls(synth.raw)
    for principal in (
        "config.amazonaws.com",
        "config-multiaccountsetup.amazonaws.com",
        "access-analyzer.amazonaws.com",
    ):
        trusted = calls[f"trusted-access/{principal}"]
        assert trusted["type"] == "Custom::OrganizationsTrustedAccess"
        assert trusted["create"] == {
            "service": "Organizations",
            "action": "enableAWSServiceAccess",
            "parameters": {"ServicePrincipal": principal},
            "physicalResourceId": {"id": f"trusted-access/{principal}"},
        }
        assert trusted["delete"] is None  # trusted access is left enabled
        register = calls[f"{principal}/{SECURITY}"]
        assert register["type"] == "Custom::DelegatedAdministrator"
        assert register["create"] == {
            "service": "Organizations",
            "action": "registerDelegatedAdministrator",
            "parameters": {"AccountId": SECURITY, "ServicePrincipal": principal},
            "physicalResourceId": {"id": f"{principal}/{SECURITY}"},
            "ignoreErrorCodesMatching": "^AccountAlreadyRegisteredException$",
        }
        assert register["delete"] == {
            "service": "Organizations",
            "action": "deregisterDelegatedAdministrator",
            "parameters": {"AccountId": SECURITY, "ServicePrincipal": principal},
            "ignoreErrorCodesMatching": "^AccountNotRegisteredException$",
        }
        assert register["update"] is None  # updates make no call


@pytest.mark.parametrize(
    ("principal", "service", "create", "delete", "create_ignore", "delete_ignore"),
    [
        (
            "guardduty.amazonaws.com",
            "GuardDuty",
            ("enableOrganizationAdminAccount", {"AdminAccountId": SECURITY}),
            ("disableOrganizationAdminAccount", {"AdminAccountId": SECURITY}),
            None,
            None,
        ),
        (
            "macie.amazonaws.com",
            "Macie2",
            (
                "enableOrganizationAdminAccount",
                {"adminAccountId": SECURITY, "clientToken": f"delegated-admin-{SECURITY}"},
            ),
            ("disableOrganizationAdminAccount", {"adminAccountId": SECURITY}),
            None,
            "^ResourceNotFoundException$",
        ),
        (
            "inspector2.amazonaws.com",
            "Inspector2",
            (
                "enableDelegatedAdminAccount",
                {"delegatedAdminAccountId": SECURITY, "clientToken": f"delegated-admin-{SECURITY}"},
            ),
            ("disableDelegatedAdminAccount", {"delegatedAdminAccountId": SECURITY}),
            None,
            "^ResourceNotFoundException$",
        ),
        (
            "cloudtrail.amazonaws.com",
            "CloudTrail",
            ("registerOrganizationDelegatedAdmin", {"MemberAccountId": SECURITY}),
            ("deregisterOrganizationDelegatedAdmin", {"DelegatedAdminAccountId": SECURITY}),
            "^AccountRegisteredException$",
            "^AccountNotRegisteredException$",
        ),
    ],
)
def test_service_designation_calls(
    synth: Synth,
    principal: str,
    service: str,
    create: tuple[str, dict[str, str]],
    delete: tuple[str, dict[str, str]],
    create_ignore: str | None,
    delete_ignore: str | None,
) -> None:
    call = _calls(synth.raw)[f"{principal}/{SECURITY}"]
    assert call["type"] == "Custom::DelegatedAdministrator"
    assert call["create"]["service"] == service
    assert (call["create"]["action"], call["create"]["parameters"]) == create
    assert call["create"].get("ignoreErrorCodesMatching") == create_ignore
    assert call["delete"]["service"] == service
    assert (call["delete"]["action"], call["delete"]["parameters"]) == delete
    assert call["delete"].get("ignoreErrorCodesMatching") == delete_ignore
    assert call["update"] is None


def test_calls_run_one_after_another_and_after_their_permissions(synth: Synth) -> None:
    calls = _calls(synth.raw)
    order = [
        "trusted-access/config.amazonaws.com",
        "trusted-access/config-multiaccountsetup.amazonaws.com",
        "trusted-access/access-analyzer.amazonaws.com",
        f"config.amazonaws.com/{SECURITY}",
        f"config-multiaccountsetup.amazonaws.com/{SECURITY}",
        f"access-analyzer.amazonaws.com/{SECURITY}",
        f"guardduty.amazonaws.com/{SECURITY}",
        f"macie.amazonaws.com/{SECURITY}",
        f"inspector2.amazonaws.com/{SECURITY}",
        f"cloudtrail.amazonaws.com/{SECURITY}",
    ]
    assert sorted(calls) == sorted(order)
    policy_ids = set(resources_of(synth.raw, "AWS::IAM::ManagedPolicy"))
    for before, after in itertools.pairwise(order):
        assert calls[before]["logical_id"] in calls[after]["depends_on"]
    for call in calls.values():
        assert policy_ids <= set(call["depends_on"])  # baseline and calls policies
    hub = resources_of(synth.raw, "AWS::SecurityHub::DelegatedAdmin")
    assert [r["Properties"] for r in hub.values()] == [{"AdminAccountId": SECURITY}]
    assert [r["DependsOn"] for r in hub.values()] == [[calls[order[-1]]["logical_id"]]]


def test_the_role_may_make_exactly_these_calls(synth: Synth) -> None:
    statements = _calls_policy(synth.raw)
    assert set(statements) == {
        "DesignateDelegatedAdministrators",
        "ReadTheOrganization",
        "TrustedAccessForTheseServicesOnly",
        "RegisterTheSecurityAccountOnly",
        "DescribeTheSecurityAccount",
        "DescribeTheOrganizationsUnits",
        "CloudTrailServiceLinkedRole",
        "ReadCloudTrailServiceLinkedRole",
    }
    assert statements["DesignateDelegatedAdministrators"] == {
        "Sid": "DesignateDelegatedAdministrators",
        "Effect": "Allow",
        "Action": [
            "cloudtrail:DeregisterOrganizationDelegatedAdmin",
            "cloudtrail:RegisterOrganizationDelegatedAdmin",
            "guardduty:DisableOrganizationAdminAccount",
            "guardduty:EnableOrganizationAdminAccount",
            "inspector2:DisableDelegatedAdminAccount",
            "inspector2:EnableDelegatedAdminAccount",
            "macie2:DisableOrganizationAdminAccount",
            "macie2:EnableOrganizationAdminAccount",
        ],
        "Resource": "*",
    }
    assert statements["ReadTheOrganization"]["Action"] == [
        "organizations:DescribeOrganization",
        "organizations:ListAWSServiceAccessForOrganization",
        "organizations:ListAccounts",
        "organizations:ListDelegatedAdministrators",
    ]
    trusted = statements["TrustedAccessForTheseServicesOnly"]
    assert (trusted["Action"], trusted["Resource"]) == ("organizations:EnableAWSServiceAccess", "*")
    assert trusted["Condition"] == {
        "StringEquals": {
            "organizations:ServicePrincipal": [
                "access-analyzer.amazonaws.com",
                "config-multiaccountsetup.amazonaws.com",
                "config.amazonaws.com",
                "guardduty.amazonaws.com",
                "inspector2.amazonaws.com",
                "macie.amazonaws.com",
                "malware-protection.guardduty.amazonaws.com",
            ]
        }
    }
    register = statements["RegisterTheSecurityAccountOnly"]
    assert register["Action"] == [
        "organizations:DeregisterDelegatedAdministrator",
        "organizations:RegisterDelegatedAdministrator",
    ]
    assert register["Resource"] == ACCOUNT_ARN
    principals = register["Condition"]["StringEquals"]["organizations:ServicePrincipal"]
    assert "cloudtrail.amazonaws.com" in principals
    assert "securityhub.amazonaws.com" not in principals  # CloudFormation's handler does it
    assert statements["DescribeTheSecurityAccount"]["Resource"] == ACCOUNT_ARN
    assert statements["DescribeTheOrganizationsUnits"]["Resource"] == (
        f"arn:aws:organizations::{MANAGEMENT}:ou/{ORG}/ou-*"
    )
    assert statements["CloudTrailServiceLinkedRole"] == {
        "Sid": "CloudTrailServiceLinkedRole",
        "Effect": "Allow",
        "Action": "iam:CreateServiceLinkedRole",
        "Resource": SLR,
        "Condition": {"StringEquals": {"iam:AWSServiceName": "cloudtrail.amazonaws.com"}},
    }
    assert statements["ReadCloudTrailServiceLinkedRole"]["Resource"] == SLR
    actions = [
        action
        for s in statements.values()
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert actions and not [a for a in actions if "*" in a]


def test_provider_log_group_is_encrypted_and_the_function_outside_the_vpc_is_known(
    synth: Synth,
) -> None:
    synth.template.has_resource_properties(
        "AWS::Logs::LogGroup", {"KmsKeyId": Match.any_value(), "RetentionInDays": 365}
    )
    assert [k.managed_rule for k in synth.admin.known_noncompliance] == ["LAMBDA_INSIDE_VPC"]
    assert synth.admin.provider is not None
    assert set(synth.admin.designations) == {
        "config.amazonaws.com",
        "config-multiaccountsetup.amazonaws.com",
        "access-analyzer.amazonaws.com",
        "guardduty",
        "macie",
        "inspector",
        "cloudtrail",
    }


# --- variants (a bare app each, no gates) -------------------------------------------------------


def _variant(**kwargs: Any) -> tuple[DelegatedAdministration, dict[str, Any]]:
    app = cdk.App()
    stack, key = _management_stack(app)
    admin = DelegatedAdministration(
        stack, "Admins", organization_id=ORG, security_account=SECURITY, logs_key=key.key, **kwargs
    )
    return admin, dict(Template.from_stack(stack).to_json())


def test_adopt_existing_also_ignores_the_generic_already_designated_codes() -> None:
    _, raw = _variant(services=["guardduty", "macie", "inspector"], adopt_existing=True)
    calls = _calls(raw)
    assert {p: c["create"]["ignoreErrorCodesMatching"] for p, c in calls.items()} == {
        f"guardduty.amazonaws.com/{SECURITY}": "^BadRequestException$",
        f"macie.amazonaws.com/{SECURITY}": "^ConflictException$",
        f"inspector2.amazonaws.com/{SECURITY}": "^ConflictException$",
    }
    statements = _calls_policy(raw)
    assert "CloudTrailServiceLinkedRole" not in statements
    assert "cloudtrail.amazonaws.com" not in json.dumps(statements)


def test_security_hub_alone_needs_no_provider() -> None:
    admin, raw = _variant(services=["securityhub"])
    assert admin.provider is None and admin.securityhub_admin is not None
    assert set(resources_of(raw, "AWS::SecurityHub::DelegatedAdmin")) != set()
    assert resources_of(raw, "AWS::Lambda::Function") == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"security_account": MANAGEMENT}, "must be another member account"),
        ({"log_archive_account": SECURITY}, "also the log-archive account"),
        ({"organization_id": "org-1"}, "o- and 10-32"),
        ({"security_account": "3333"}, "12-digit"),
        ({"services": ["guardduty", "detective"]}, "choose from"),
        ({"services": []}, "choose from"),
        ({"services": ["macie", "macie"]}, "each at most once"),
    ],
)
def test_delegated_administration_refuses(kwargs: dict[str, Any], message: str) -> None:
    app = cdk.App()
    stack, key = _management_stack(app)
    args: dict[str, Any] = {
        "organization_id": ORG,
        "security_account": SECURITY,
        "logs_key": key.key,
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        DelegatedAdministration(stack, "Admins", **args)


def test_services_default_to_all() -> None:
    assert SERVICES == (
        "guardduty",
        "securityhub",
        "macie",
        "inspector",
        "config",
        "access-analyzer",
        "cloudtrail",
    )
