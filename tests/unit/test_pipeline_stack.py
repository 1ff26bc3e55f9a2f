"""The delivery pipeline synthesized from the shipped example ``delivery`` block.

Stages in the configured order (the organization's first), the approval before prod, a
post-deployment check after each environment, the synth step running the README's two
commands, CodeBuild unprivileged with encrypted, retained logs, cross-account keys.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template

from platform_config import load_config
from stacks.pipeline_stack import SYNTH_COMMANDS, lookup_role_arn
from tests.conftest import SHIPPED_CONTEXT, Synthesized, resources_of


def _pipeline(synth: Synthesized) -> dict[str, Any]:
    (artifact,) = [a for a in synth.artifacts if a.stack_name == "secure-ml-pipeline"]
    assert artifact.account == "900000000010" and artifact.region == "us-east-1"
    return artifact.template()


def _stages(template: dict[str, Any]) -> list[dict[str, Any]]:
    (pipeline,) = resources_of(template, "AWS::CodePipeline::Pipeline").values()
    return list(pipeline["Properties"]["Stages"])


def test_stages_run_in_the_configured_order(org_synthesized: Synthesized) -> None:
    names = [s["Name"] for s in _stages(_pipeline(org_synthesized))]
    assert names[:3] == ["Source", "Build", "UpdatePipeline"]
    deployed = [n for n in names if n not in ("Source", "Build", "UpdatePipeline", "Assets")]
    assert deployed == ["log-archive", "management", "security", "dev", "prod"]


def test_prod_waits_for_an_approval_that_notifies_and_each_env_is_checked(
    org_synthesized: Synthesized,
) -> None:
    template = _pipeline(org_synthesized)
    stages = {s["Name"]: s["Actions"] for s in _stages(template)}
    config = load_config(SHIPPED_CONTEXT)
    assert config.delivery is not None
    for name in ("dev", "prod"):
        actions = sorted(stages[name], key=lambda a: a["RunOrder"])
        kinds = [a["ActionTypeId"]["Provider"] for a in actions]
        assert kinds[-1] == "CodeBuild" and actions[-1]["Name"] == f"PostDeployCheck-{name}"
        approvals = [a for a in actions if a["ActionTypeId"]["Provider"] == "Manual"]
        if name in config.delivery.approval_before:
            (approval,) = approvals
            assert approval["RunOrder"] == 1  # before any of the environment's stacks
            assert "NotificationArn" in approval["Configuration"]
            assert all(a["RunOrder"] > 1 for a in actions if a is not approval)
        else:
            assert approvals == []
    topic = Template.from_json(template)
    topic.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": "secure-ml-pipeline-approvals", "KmsMasterKeyId": Match.any_value()},
    )
    topic.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": "ml-platform-approvers@example.com"},
    )


def _project_with(template: dict[str, Any], text: str) -> dict[str, Any]:
    (project,) = [
        p
        for p in resources_of(template, "AWS::CodeBuild::Project").values()
        if text in json.dumps(p["Properties"]["Source"])
    ]
    return project


def test_the_synth_step_runs_exactly_what_ci_runs(org_synthesized: Synthesized) -> None:
    template = _pipeline(org_synthesized)
    project = _project_with(template, "make synth")
    spec = json.loads(project["Properties"]["Source"]["BuildSpec"])
    assert spec["phases"]["build"]["commands"] == list(SYNTH_COMMANDS)
    assert spec["artifacts"]["base-directory"] == "cdk.out"


def test_post_deploy_checks_assume_only_their_accounts_lookup_role(
    org_synthesized: Synthesized,
) -> None:
    template = _pipeline(org_synthesized)
    for env in load_config(SHIPPED_CONTEXT).environments:
        project = _project_with(template, f"--env {env.name} ")
        spec = project["Properties"]["Source"]["BuildSpec"]
        assert "preflight --post-deploy" in spec
        role = lookup_role_arn(env.account, env.region)
        assert role in spec
        policies = [
            p
            for p in resources_of(template, "AWS::IAM::Policy").values()
            if f"PostDeployCheck{env.name}" in json.dumps(p["Properties"]["Roles"])
        ]
        assumes = [
            s
            for p in policies
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if s.get("Action") == "sts:AssumeRole"
        ]
        assert [s["Resource"] for s in assumes] == [role]


def test_codebuild_is_unprivileged_and_logs_to_an_encrypted_retained_group(
    org_synthesized: Synthesized,
) -> None:
    template = _pipeline(org_synthesized)
    projects = resources_of(template, "AWS::CodeBuild::Project").values()
    assert projects
    for project in projects:
        environment = project["Properties"]["Environment"]
        assert environment.get("PrivilegedMode", False) is False
        assert "EncryptionKey" in project["Properties"]
    groups = resources_of(template, "AWS::Logs::LogGroup")
    (group,) = groups.values()
    assert group["Properties"]["RetentionInDays"] == 365
    assert "KmsKeyId" in group["Properties"] and group["DeletionPolicy"] == "Retain"
    (group_id,) = groups
    logged = [
        p
        for p in projects
        if p["Properties"].get("LogsConfig", {}).get("CloudWatchLogs", {}).get("GroupName")
        == {"Ref": group_id}
    ]
    assert len(logged) == len(list(projects))


def test_artifacts_are_encrypted_with_a_rotated_key_for_cross_account_deploys(
    org_synthesized: Synthesized,
) -> None:
    template = Template.from_json(_pipeline(org_synthesized))
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like(
                        {
                            "ServerSideEncryptionByDefault": Match.object_like(
                                {"SSEAlgorithm": "aws:kms"}
                            )
                        }
                    )
                ]
            }
        },
    )


def test_no_pipeline_without_the_block(synthesized: Synthesized) -> None:
    assert not [a for a in synthesized.artifacts if a.stack_name.endswith("-pipeline")]


def test_delivered_environments_flag_drift_to_the_alerts_route(
    org_synthesized: Synthesized, synthesized: Synthesized
) -> None:
    """With a pipeline, a change made outside it is drift: a Config rule the router routes."""
    for env in ("dev", "prod"):
        audit = org_synthesized.raw(env, "audit")
        (rule,) = [
            r
            for r in resources_of(audit, "AWS::Config::ConfigRule").values()
            if r["Properties"]["Source"]["SourceIdentifier"]
            == "CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK"
        ]
        props = rule["Properties"]
        assert props["ConfigRuleName"] == f"secure-ml-{env}-cloudformation-stack-drift"
        assert props["MaximumExecutionFrequency"] == "TwentyFour_Hours"
        assert "cloudformationRoleArn" in props["InputParameters"]
        roles = [
            r
            for r in resources_of(audit, "AWS::IAM::Role").values()
            if "ReadOnlyAccess" in json.dumps(r["Properties"].get("ManagedPolicyArns", []))
        ]
        (role,) = roles
        (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "config.amazonaws.com"}
        assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
        # Without a pipeline the platform has no drift rule (single-account stays as it was).
        single = synthesized.raw(env, "audit")
        assert "CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK" not in json.dumps(single)


def test_the_synth_commands_are_the_readmes_two_commands() -> None:
    """The pipeline runs what the README's first screen promises (and what CI runs)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    first_screen = (root / "README.md").read_text(encoding="utf-8").split("---", 1)[0]
    for command in SYNTH_COMMANDS:
        assert f"\n{command}" in first_screen, command
    assert "make test" in (root / ".ci" / "run").read_text(encoding="utf-8")
