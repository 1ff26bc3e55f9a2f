"""The CloudFormation execution policy: derived from the templates, committed, covering, checked."""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from delivery import execution_policy as ep
from delivery import policy_check
from gates.policy_refs import StackTemplate
from tests.conftest import ROOT, Synthesized, pruned_copy

COMMITTED = ROOT / "delivery" / "execution-policy"
ACCOUNT, REGION = "111111111111", "us-east-1"


def _templates(synth: Synthesized) -> list[StackTemplate]:
    return [StackTemplate(a.stack_name, a.account, a.region, a.template()) for a in synth.artifacts]


def _committed() -> list[dict[str, Any]]:
    return [doc for _, doc in ep.load_documents(COMMITTED)]


def _statements() -> list[dict[str, Any]]:
    return [s for doc in _committed() for s in doc["Statement"]]


def _one_stack(resources: dict[str, Any], **template: Any) -> list[StackTemplate]:
    return [StackTemplate("probe", ACCOUNT, REGION, {"Resources": resources, **template})]


def _role(logical_id: str, service: str) -> dict[str, Any]:
    trust = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    document = {"Version": "2012-10-17", "Statement": [trust]}
    return {
        logical_id: {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": document}}
    }


# --- (a) the committed documents cover the templates -------------------------------------------


def test_committed_documents_exist() -> None:
    paths = [p.name for p, _ in ep.load_documents(COMMITTED)]
    assert paths == [ep.document_name(i) for i in range(1, len(paths) + 1)]
    assert paths, (
        "run python -m delivery.execution_policy cdk.out --output delivery/execution-policy/"
    )


def test_committed_documents_cover_the_shipped_templates(org_synthesized: Synthesized) -> None:
    derivation = ep.derive(_templates(org_synthesized))
    assert derivation.unknown == {}
    assert derivation.notes == []
    # a realistic app, not an empty one that any policy covers
    assert len(derivation.resource_types) >= 60 and len(derivation.actions()) >= 400
    assert {
        "AWS::SageMaker::Domain",
        "AWS::Bedrock::Guardrail",
        "AWS::Organizations::Policy",
        "AWS::CodePipeline::Pipeline",
        "Custom::VpcRestrictDefaultSG",
    } <= derivation.resource_types
    assert ep.uncovered(_committed(), derivation) == []


def test_committed_documents_are_what_both_configurations_generate(
    org_synthesized: Synthesized, synthesized: Synthesized
) -> None:
    """Up to date and deterministic: no grant that neither configuration needs any more."""
    templates = _templates(org_synthesized) + _templates(synthesized)
    fresh = [ep.dumps(d) for d in ep.documents(ep.derive(templates))]
    committed = [p.read_text(encoding="utf-8") for p, _ in ep.load_documents(COMMITTED)]
    assert fresh == committed, (
        "regenerate: python -m delivery.execution_policy cdk.out --with-single-account"
        " --output delivery/execution-policy/"
    )


def test_committed_documents_cover_the_single_account_templates(synthesized: Synthesized) -> None:
    derivation = ep.derive(_templates(synthesized))
    assert derivation.unknown == {}
    assert len(derivation.resource_types) >= 40
    assert ep.uncovered(_committed(), derivation) == []


def test_check_cli_passes_on_the_shipped_assembly(
    org_synthesized: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ep.main([str(org_synthesized.outdir), "--output", str(COMMITTED), "--check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("covered: ") and f"by {len(_committed())} documents" in out


# --- (b) a resource type the documents do not cover fails --check -------------------------------


def _assembly_with(synthesized: Synthesized, tmp_path: Path, **resources: Any) -> Path:
    """A one-stack copy of the single-account assembly, with ``resources`` added to its template."""
    outdir = tmp_path / "cdk.out"
    (kept,) = pruned_copy(synthesized.outdir, outdir, keep=1)
    template = kept.template()
    template["Resources"].update(resources)
    kept.template_path.write_text(json.dumps(template), encoding="utf-8")
    return outdir


def test_check_names_an_uncovered_resource_type(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    }
    outdir = _assembly_with(synthesized, tmp_path, ProbeTable=table)
    assert ep.main([str(outdir), "--output", str(COMMITTED), "--check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "AWS::DynamoDB::Table: dynamodb:CreateTable" in lines
    assert "AWS::DynamoDB::Table: dynamodb:DeleteTable" in lines
    assert "AWS::DynamoDB::Table: kinesis:DescribeStream" in lines  # what a table's handlers call
    assert lines and all(line.startswith("AWS::DynamoDB::Table: ") for line in lines)
    assert "AWS::DynamoDB::Table: s3:GetObject" not in lines  # no S3 import: no object read

    # regenerating for that assembly covers it again
    regenerated = tmp_path / "policy"
    assert ep.main([str(outdir), "--output", str(regenerated)]) == 0
    assert ep.main([str(outdir), "--output", str(regenerated), "--check"]) == 0


def test_check_names_a_new_passed_to_service(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = {
        "Arn": "arn:aws:sqs:us-east-1:111111111111:q",
        "Id": "Q",
        "RoleArn": {"Fn::GetAtt": ["ProbeRole", "Arn"]},
    }
    rule = {
        "Type": "AWS::Events::Rule",
        "Properties": {"ScheduleExpression": "rate(1 day)", "Targets": [target]},
    }
    outdir = _assembly_with(
        synthesized, tmp_path, ProbeRule=rule, **_role("ProbeRole", "events.amazonaws.com")
    )
    assert ep.main([str(outdir), "--output", str(COMMITTED), "--check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "AWS::Events::Rule: iam:PassRole on arn:aws:iam::${aws:PrincipalAccount}:role/*"
        " with iam:PassedToService=events.amazonaws.com"
    ]


def test_a_type_without_permissions_is_reported_never_guessed() -> None:
    derivation = ep.derive(_one_stack({"X": {"Type": "AWS::Made::Up"}}))
    assert set(derivation.unknown) == {"AWS::Made::Up"}
    assert "SUPPLEMENTS" in derivation.unknown["AWS::Made::Up"]
    assert ep.uncovered(_committed(), derivation) == [
        f"AWS::Made::Up: {derivation.unknown['AWS::Made::Up']}"
    ]


def test_generation_refuses_unknown_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = tmp_path / "cdk.out"
    outdir.mkdir()
    (outdir / "probe.template.json").write_text(
        json.dumps({"Resources": {"X": {"Type": "AWS::Made::Up"}}})
    )
    manifest = {
        "artifacts": {
            "probe": {
                "type": "aws:cloudformation:stack",
                "environment": f"aws://{ACCOUNT}/{REGION}",
                "properties": {"templateFile": "probe.template.json"},
            }
        }
    }
    (outdir / "manifest.json").write_text(json.dumps(manifest))
    assert ep.main([str(outdir), "--output", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().out.startswith("AWS::Made::Up: no handler permissions")
    assert not (tmp_path / "out").exists()


def test_missing_assembly_is_exit_2(tmp_path: Path) -> None:
    assert ep.main([str(tmp_path), "--check"]) == 2


# --- (c) every document fits IAM's managed-policy limit ----------------------------------------


def test_each_document_is_under_the_managed_policy_size_limit() -> None:
    loaded = ep.load_documents(COMMITTED)
    assert 1 <= len(loaded) <= ep.MAX_ATTACHED_POLICIES
    for path, document in loaded:
        without_whitespace = re.sub(r"\s", "", path.read_text(encoding="utf-8"))
        assert len(without_whitespace) == ep.compact_size(document) <= ep.MANAGED_POLICY_LIMIT
    assert ep.size_problems(loaded) == []
    assert ep.MANAGED_POLICY_LIMIT == 6144


def test_packing_uses_few_documents_and_splits_what_does_not_fit(
    org_synthesized: Synthesized,
) -> None:
    derivation = ep.derive(_templates(org_synthesized))
    statements = ep.statements(derivation)
    overhead = ep.compact_size({"Version": ep.VERSION, "Statement": []})
    total = sum(ep.compact_size(s) + 1 for s in statements)
    assert len(_committed()) <= math.ceil(total / (ep.MANAGED_POLICY_LIMIT - overhead)) + 1
    small = ep.documents(derivation, limit=1500)  # smaller than the S3 statement: it must split
    assert all(ep.compact_size(d) <= 1500 for d in small)
    assert any(s["Sid"].startswith("S3Part") for d in small for s in d["Statement"])
    assert ep.uncovered(small, derivation) == []
    sids = [s["Sid"] for d in small for s in d["Statement"]]
    assert len(sids) == len(set(sids))


def test_size_problems_are_reported(tmp_path: Path) -> None:
    big = {
        "Version": ep.VERSION,
        "Statement": [
            {"Sid": "X", "Effect": "Allow", "Action": ["s3:GetObject"] * 500, "Resource": "*"}
        ],
    }
    problems = ep.size_problems([(tmp_path / ep.document_name(1), big)])
    assert len(problems) == 1 and "over IAM's 6144" in problems[0]


# --- (d) the policy-reference checks find nothing in the committed documents -------------------


def test_policy_reference_check_finds_nothing_in_the_committed_documents() -> None:
    paths = policy_check.document_paths([COMMITTED])
    checker = policy_check.check_documents(paths)
    assert checker.findings == []
    assert checker.policies == len(paths) == len(_committed())
    assert checker.evaluations >= len(_statements())  # every statement's actions were looked up


def test_policy_reference_check_finds_a_wrong_action(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scratch = copy.deepcopy(_committed()[0])
    scratch["Statement"].append(
        {"Sid": "Probe", "Effect": "Allow", "Action": ["s3:GetObjekt"], "Resource": "*"}
    )
    scratch["Statement"].append(
        {
            "Sid": "ProbeKey",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        }
    )
    path = tmp_path / "scratch.json"
    path.write_text(json.dumps(scratch))
    findings = policy_check.check_documents([path]).findings
    assert len(findings) == 2, findings
    assert findings[0].startswith("scratch.json Probe: s3:GetObjekt matches no s3 action")
    assert findings[1].startswith("scratch.json ProbeKey: condition key iam:PassedToService")
    assert policy_check.main([str(path)]) == 1
    assert "s3:GetObjekt" in capsys.readouterr().out
    assert policy_check.main([str(tmp_path / "empty-dir-does-not-exist")]) == 2


# --- (e) no wildcard actions --------------------------------------------------------------------


def test_no_wildcard_actions_and_only_allows() -> None:
    for statement in _statements():
        assert statement["Effect"] == "Allow" and "NotAction" not in statement
        assert "NotResource" not in statement
        for action in statement["Action"]:
            assert "*" not in action and "?" not in action, (statement["Sid"], action)
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), action
    actions = {a.lower() for s in _statements() for a in s["Action"]}
    assert not {"*", "iam:*", "organizations:*"} & actions


# --- what is narrowed, and how it is derived -----------------------------------------------------


def _by_sid(sid: str) -> dict[str, Any]:
    (found,) = [s for s in _statements() if s["Sid"] == sid]
    return found


def test_pass_role_is_narrowed_to_the_account_and_the_services_the_templates_pass_roles_to(
    org_synthesized: Synthesized,
) -> None:
    statement = _by_sid(ep.SID_PASS_ROLE)
    assert statement["Action"] == ["iam:PassRole"]
    assert statement["Resource"] == "arn:aws:iam::${aws:PrincipalAccount}:role/*"
    services = statement["Condition"]["StringEquals"]["iam:PassedToService"]
    trusted = {
        service
        for stack in _templates(org_synthesized)
        for logical_id, resource in stack.template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
        for service in ep.trust_services(stack, logical_id)
    }
    assert set(services) <= trusted
    assert {
        "lambda.amazonaws.com",
        "sagemaker.amazonaws.com",
        "config.amazonaws.com",
        "codebuild.amazonaws.com",
        "vpc-flow-logs.amazonaws.com",
    } <= set(services)
    assert "cloudformation.amazonaws.com" not in services  # nothing in the app passes a role to it
    assert sum("iam:PassRole" in s["Action"] for s in _statements()) == 1


def test_other_narrowed_grants() -> None:
    assert _by_sid(ep.SID_INVOKE) == {
        "Sid": ep.SID_INVOKE,
        "Effect": "Allow",
        "Action": ["lambda:InvokeFunction"],
        "Resource": "arn:aws:lambda:*:${aws:PrincipalAccount}:function:*",
    }
    assert (
        _by_sid(ep.SID_SERVICE_LINKED)["Resource"]
        == "arn:aws:iam::${aws:PrincipalAccount}:role/aws-service-role/*"
    )
    assert _by_sid(ep.SID_PARAMETERS)["Resource"] == (
        "arn:aws:ssm:*:${aws:PrincipalAccount}:parameter/cdk-bootstrap/hnb659fds/version"
    )
    assets = _by_sid(ep.SID_ASSETS)
    assert assets["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert assets["Resource"] == "arn:aws:s3:::cdk-hnb659fds-assets-${aws:PrincipalAccount}-*/*"
    wide = {a for s in _statements() if s["Resource"] == "*" for a in s["Action"]}
    assert (
        not {
            "s3:GetObject",
            "iam:CreateServiceLinkedRole",
            "lambda:InvokeFunction",
            "ssm:GetParameters",
        }
        & wide
    )


def test_schema_quirks_are_corrected() -> None:
    actions = {a for s in _statements() for a in s["Action"]}
    assert not any(a.startswith("efs:") or "REST." in a for a in actions)
    assert {
        "elasticfilesystem:CreateFileSystem",
        "s3:PutBucketCORS",
        "s3:PutReplicationConfiguration",
    } <= actions
    assert "cloudtrail:CreateTrail" in actions  # the schema writes "CloudTrail:"
    assert "lambda:AssociateRuntimeAlias" not in actions


def test_a_left_out_action_returns_when_the_feature_is_used() -> None:
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Runtime": "custom", "Role": "r", "Code": {"ZipFile": "x"}},
    }
    derivation = ep.derive(_one_stack({"F": function}))
    assert "lambda:associateruntimealias" in derivation.actions()
    function["Properties"]["Runtime"] = "python3.12"
    assert "lambda:associateruntimealias" not in ep.derive(_one_stack({"F": function})).actions()


def test_codebuild_comes_from_the_documented_supplement() -> None:
    assert ep.type_actions("AWS::CodeBuild::Project") == tuple(sorted(ep.SUPPLEMENTS[0].actions))
    assert {"codebuild:CreateProject", "codebuild:BatchGetProjects"} <= set(
        _by_sid("Codebuild")["Action"]
    )


def test_custom_resource_tokens_and_roles_by_arn() -> None:
    topic = {
        "T": {"Type": "AWS::SNS::Topic"},
        "C": {"Type": "Custom::Probe", "Properties": {"ServiceToken": {"Ref": "T"}}},
    }
    (requirement,) = [
        r for r in ep.derive(_one_stack(topic)).requirements if r.sid == ep.SID_PUBLISH
    ]
    assert requirement.action == "sns:Publish" and "${aws:PrincipalAccount}" in requirement.resource
    elsewhere = "arn:aws:lambda:us-east-1:999999999999:function:provider"
    custom = {
        "C": {
            "Type": "AWS::CloudFormation::CustomResource",
            "Properties": {"ServiceToken": elsewhere},
        }
    }
    (requirement,) = ep.derive(_one_stack(custom)).requirements
    assert (requirement.action, requirement.resource) == ("lambda:InvokeFunction", elsewhere)

    linked = (
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    )
    recorder = {
        "R": {"Type": "AWS::Config::ConfigurationRecorder", "Properties": {"RoleARN": linked}}
    }
    passed = {
        r.condition_value for r in ep.derive(_one_stack(recorder)).requirements if r.condition_key
    }
    assert passed == {"config.amazonaws.com"}
    by_arn = {
        "R": {
            "Type": "AWS::Config::ConfigurationRecorder",
            "Properties": {"RoleARN": f"arn:aws:iam::{ACCOUNT}:role/mine"},
        }
    }
    assert "whose trust policy is not in the templates" in ep.derive(_one_stack(by_arn)).notes[0]


def test_generation_is_deterministic_and_removes_stale_documents(
    org_synthesized: Synthesized, tmp_path: Path
) -> None:
    out = tmp_path / "policy"
    out.mkdir()
    (out / ep.document_name(9)).write_text("{}")
    assert ep.main([str(org_synthesized.outdir), "--output", str(out)]) == 0
    first = {p.name: p.read_text() for p in out.iterdir()}
    assert ep.main([str(org_synthesized.outdir), "--output", str(out)]) == 0
    assert first == {p.name: p.read_text() for p in out.iterdir()}
    assert ep.document_name(9) not in first


def test_user_and_group_policy_actions_only_when_a_template_attaches_to_users_or_groups() -> None:
    actions = {a for st in _statements() for a in st["Action"]}
    assert "iam:PutRolePolicy" in actions and "iam:AttachRolePolicy" in actions
    assert not {a for a in actions if re.fullmatch(r"iam:\w+(User|Group)Policy", a)}
    document = {"Version": "2012-10-17", "Statement": []}
    policy = {
        "Type": "AWS::IAM::Policy",
        "Properties": {"PolicyName": "p", "PolicyDocument": document, "Users": ["alice"]},
    }
    lines = ep.uncovered(_committed(), ep.derive(_one_stack({"P": policy})))
    assert lines == [f"AWS::IAM::Policy: iam:{verb}UserPolicy" for verb in ("Delete", "Get", "Put")]
