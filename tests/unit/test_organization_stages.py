"""Organization mode: the example organization's stages, and the workloads as members.

The shipped cdk.json carries an example ``organization`` block; ``org_synthesized`` builds it
exactly as ``make synth`` does (every cdk-nag pack registered, so a finding fails synthesis).
``synthesized`` is the same config without the block: the single-account default.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from platform_config import CONTEXT_KEY, load_config
from platform_config.model import ORG_OWNED_SERVICES
from secure_constructs.organization import names
from secure_constructs.organization.guardrail_policies import guardrail_policies
from secure_constructs.organization.management_policies import ai_opt_out_policy
from secure_constructs.organization.policy_document import (
    MAX_ATTACHED_PER_TARGET,
    MAX_CHARACTERS,
)
from stacks.organization_stage import guardrail_inputs
from stacks.stage import build_stages
from tests.conftest import SHIPPED_CONTEXT, Synthesized, new_app, resources_of

ORG_STAGES = ("log-archive", "management", "security")
SINGLETON_TYPES = {
    "guardduty": "AWS::GuardDuty::Detector",
    "securityhub": "AWS::SecurityHub::Hub",
    "macie": "AWS::Macie::Session",
    "access_analyzer": "AWS::AccessAnalyzer::Analyzer",
    "inspector": "Custom::InspectorActivation",
}


def _org() -> Any:
    config = load_config(SHIPPED_CONTEXT)
    assert config.organization is not None
    return config.organization


def _stack(synth: Synthesized, stage: str, name: str) -> dict[str, Any]:
    (artifact,) = [a for a in synth.artifacts if a.stage == stage and a.stack_name == name]
    return artifact.template()


def test_the_shipped_config_synthesizes_the_organization_stages_first(
    org_synthesized: Synthesized,
) -> None:
    order = [a.stage for a in org_synthesized.artifacts]
    stages = list(dict.fromkeys(order))
    assert stages[:3] == list(ORG_STAGES)
    names_by_stage = {
        s: [a.stack_name for a in org_synthesized.artifacts if a.stage == s] for s in ORG_STAGES
    }
    assert names_by_stage == {
        "management": [
            "secure-ml-org-policies",
            "secure-ml-org-delegation-us-east-2",
            "secure-ml-org-trail",
        ],
        "log-archive": ["secure-ml-org-log-archive"],
        "security": ["secure-ml-org-security", "secure-ml-org-security-us-east-2"],
    }
    org = _org()
    accounts = {a.stage: a.account for a in org_synthesized.artifacts if a.stage in ORG_STAGES}
    assert accounts == {
        "management": org.management_account,
        "log-archive": org.log_archive_account,
        "security": org.security_account,
    }


def test_without_the_block_no_organization_stage_exists(synthesized: Synthesized) -> None:
    assert not {a.stage for a in synthesized.artifacts} & set(ORG_STAGES)
    assert synthesized.config.organization is None


def test_selecting_one_environment_builds_no_organization_stage(tmp_path: Path) -> None:
    config = load_config(SHIPPED_CONTEXT, "dev")
    assert config.organization is not None and config.selected == "dev"
    app = new_app(tmp_path)
    build_stages(app, config)
    assert [c.node.id for c in app.node.children if isinstance(c, cdk.Stage)] == ["dev"]


def test_every_ou_gets_its_policies_within_the_documented_limits(
    org_synthesized: Synthesized,
) -> None:
    org = _org()
    template = _stack(org_synthesized, "management", "secure-ml-org-policies")
    policies = resources_of(template, "AWS::Organizations::Policy").values()
    by_target: dict[str, list[dict[str, Any]]] = {}
    for policy in policies:
        props = policy["Properties"]
        for target in props["TargetIds"]:
            by_target.setdefault(target, []).append(props)
        size = len(json.dumps(props["Content"], separators=(",", ":")))
        assert size <= MAX_CHARACTERS[props["Type"]], props["Name"]
        assert policy.get("DeletionPolicy") == "Retain"
    assert set(by_target) == {ou for _, ou in org.organizational_units}
    for target, attached in by_target.items():
        kinds = [p["Type"] for p in attached]
        for kind in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
            assert 1 <= kinds.count(kind) <= MAX_ATTACHED_PER_TARGET - 1, (target, kind)
        assert {p["Name"].rsplit("-", 1)[-1] for p in attached} >= {
            "baseline",
            "residency",
            "genai",
            "perimeter",
        }


def test_the_organization_trail_delivers_to_the_log_archive(
    org_synthesized: Synthesized,
) -> None:
    org = _org()
    template = Template.from_json(_stack(org_synthesized, "management", "secure-ml-org-trail"))
    template.has_resource_properties(
        "AWS::CloudTrail::Trail",
        {
            "TrailName": names.trail_name("secure-ml"),
            "IsOrganizationTrail": True,
            "IsMultiRegionTrail": True,
            "EnableLogFileValidation": True,
            "IsLogging": True,
            "S3BucketName": names.trail_bucket_name(
                "secure-ml", log_archive_account=org.log_archive_account, region=org.home_region
            ),
            "KMSKeyId": Match.string_like_regexp(
                f":kms:{org.home_region}:{org.log_archive_account}:alias/secure-ml-org-trail$"
            ),
        },
    )
    # The bucket is the log archive's: nothing here writes a bucket policy for it.
    template.resource_count_is("AWS::S3::BucketPolicy", 0)
    archive = Template.from_json(
        _stack(org_synthesized, "log-archive", "secure-ml-org-log-archive")
    )
    archive.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": names.trail_bucket_name(
                "secure-ml", log_archive_account=org.log_archive_account, region=org.home_region
            ),
            "ObjectLockEnabled": True,
        },
    )
    archive.has_resource_properties(
        "AWS::KMS::Alias", {"AliasName": names.trail_key_alias("secure-ml")}
    )


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_members_leave_the_detective_services_to_the_security_account(
    org_synthesized: Synthesized, synthesized: Synthesized, env: str
) -> None:
    member = org_synthesized.env(env).audit
    single = synthesized.env(env).audit
    assert not set(member.account_services) & set(ORG_OWNED_SERVICES)
    assert member.securityhub_standards == ()
    assert set(single.account_services) - set(member.account_services) == (
        set(single.account_services) & set(ORG_OWNED_SERVICES)
    )
    audit_org = org_synthesized.raw(env, "audit")
    audit_single = synthesized.raw(env, "audit")
    for service, kind in SINGLETON_TYPES.items():
        if single.manages(service):
            assert resources_of(audit_single, kind), (service, "single-account owns it")
        assert not resources_of(audit_org, kind), (service, "org mode must not")
    Template.from_json(audit_org).has_resource_properties(
        "AWS::IAM::Role", {"RoleName": "secure-ml-org-config-member"}
    )
    assert not [
        r
        for r in resources_of(audit_single, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == "secure-ml-org-config-member"
    ]


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("suffix", ["keys", "network", "data", "ml", "genai", "findings"])
def test_org_mode_changes_only_the_audit_stack_of_a_workload(
    org_synthesized: Synthesized, synthesized: Synthesized, env: str, suffix: str
) -> None:
    assert org_synthesized.raw(env, suffix) == synthesized.raw(env, suffix)


def test_security_hub_standards_move_to_the_security_account(
    org_synthesized: Synthesized, synthesized: Synthesized
) -> None:
    wanted = sorted(
        {s for e in synthesized.config.environments for s in e.audit.securityhub_standards}
    )
    template = _stack(org_synthesized, "security", "secure-ml-org-security")
    (policy,) = resources_of(template, "AWS::SecurityHub::ConfigurationPolicy").values()
    text = json.dumps(policy["Properties"])
    for standard in wanted:
        assert standard in text


def test_the_block_can_be_removed_and_the_platform_is_single_account_again() -> None:
    context = copy.deepcopy(SHIPPED_CONTEXT)
    del context[CONTEXT_KEY]["organization"]
    config = load_config(context)
    assert config.organization is None
    shipped = load_config(SHIPPED_CONTEXT)
    # Single-account environments keep what cdk.json configures; org mode derives the rest.
    for env in config.environments:
        assert "guardduty" in env.audit.account_services
    assert all("guardduty" not in e.audit.account_services for e in shipped.environments)


def test_the_readme_states_the_purpose_of_every_policy_statement() -> None:
    """The README's policy table names every statement the organization policies hold."""
    org = _org()
    config = load_config(SHIPPED_CONTEXT)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Organization mode", 1)[1].split("\n## ", 1)[0]
    policies = [
        *guardrail_policies(
            guardrail_inputs("secure-ml", org, org.ou_names()[0], config.environments)
        ),
        ai_opt_out_policy(name="secure-ml-ai-services-opt-out"),
    ]
    for policy in policies:
        generic = policy.name.replace(org.ou_names()[0], "<ou>").replace("secure-ml", "<project>")
        assert f"`{generic}`" in section, generic
        for sid, purpose in policy.purposes:
            if sid == "services":
                continue  # the lock on the whole document: stated in the opt-out row
            assert f"`{sid}`" in section, (policy.name, sid)
            assert purpose


def test_the_organization_evaluator_runs_the_single_account_rule_code(
    org_synthesized: Synthesized,
) -> None:
    """Same code asset as each environment's isolation rule; only the entry point is added."""

    def code_of(template: dict[str, Any], handler: str) -> str:
        (key,) = [
            r["Properties"]["Code"]["S3Key"]
            for r in resources_of(template, "AWS::Lambda::Function").values()
            if r["Properties"].get("Handler") == handler
        ]
        return str(key)

    security = _stack(org_synthesized, "security", "secure-ml-org-security")
    evaluator = code_of(security, "org_isolation_rule.handler")
    for env in ("dev", "prod"):
        audit = org_synthesized.raw(env, "audit")
        assert code_of(audit, "sagemaker_isolation_rule.handler") == evaluator
