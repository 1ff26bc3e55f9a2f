"""The pack's two ways in (command and CDK plugin), its reports and its acknowledgements."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sagemaker as sagemaker

from gates.__main__ import RULE_PACK, nag_results
from ml_genai_checks.__main__ import main
from ml_genai_checks.plugin import MLGenAIChecks
from ml_genai_checks.run_record import RUN_RECORD
from tests.conftest import ROOT

RULE = "MLGenAI-SageMakerDomainVpcOnly"

PUBLIC_DOMAIN_YAML = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Subnet:
    Type: String
Resources:
  Studio:
    Type: AWS::SageMaker::Domain
    Properties:
      AuthMode: IAM
      DomainName: team
      AppNetworkAccessType: PublicInternetOnly
      KmsKeyId: !GetAtt Key.Arn
      SubnetIds: [!Ref Subnet]
      VpcId: vpc-12345678
      DefaultUserSettings:
        ExecutionRole: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/studio"
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _domain(app_network: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "Resources": {
            "Studio": {
                "Type": "AWS::SageMaker::Domain",
                "Properties": {"AppNetworkAccessType": app_network, "KmsKeyId": "k"},
                **({"Metadata": metadata} if metadata else {}),
            }
        }
    }


def test_yaml_template_with_short_forms_fails_and_names_rule_and_resource(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "team.yaml", PUBLIC_DOMAIN_YAML)
    assert main([str(path), "--rule", RULE]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {RULE} {path} Studio:" in out and "AppNetworkAccessType" in out


def test_clean_template_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "ok.json", json.dumps(_domain("VpcOnly")))
    assert main([str(path), "--rule", RULE]) == 0
    assert "0 failed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.json"], "missing.json: no such file or folder"),
        (["not-a-template.json"], "not a CloudFormation template"),
        (["broken.json"], "not valid JSON"),
        (["folder"], "a folder without manifest.json is not a cloud assembly"),
        (["ok.json", "--format", "xml"], "invalid choice: 'xml'"),
        (["ok.json", "--rule", "MLGenAI-Nope"], "unknown rule 'MLGenAI-Nope'"),
    ],
)
def test_bad_usage_or_unreadable_input_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    _write(tmp_path, "not-a-template.json", '{"Parameters": {}}')
    _write(tmp_path, "broken.json", "{")
    _write(tmp_path, "ok.json", json.dumps(_domain("VpcOnly")))
    (tmp_path / "folder").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "ml_genai_checks", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr


def test_template_metadata_acknowledgement_is_honoured_and_a_short_reason_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = "Labs domain without data, internet needed for public package mirrors."
    acked = _domain(
        "PublicInternetOnly", {"ml-genai-checks": {"acknowledge": [{"id": RULE, "reason": reason}]}}
    )
    path = _write(tmp_path, "acked.json", json.dumps(acked))
    assert main([str(path), "--rule", RULE, "--format", "json"]) == 0
    (decision,) = json.loads(capsys.readouterr().out)
    assert decision["outcome"] == "fail" and decision["acknowledged"] == reason
    short = _domain(
        "PublicInternetOnly", {"ml-genai-checks": {"acknowledge": [{"id": RULE, "reason": "ok"}]}}
    )
    path = _write(tmp_path, "short.json", json.dumps(short))
    assert main([str(path), "--rule", RULE]) == 1
    assert "acknowledgement refused: reason too short" in capsys.readouterr().out


def test_sarif_is_2_1_0_with_every_rule_and_located_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "team.json", json.dumps(_domain("PublicInternetOnly")))
    out = tmp_path / "report.sarif"
    assert main([str(path), "--format", "sarif", "--output", str(out)]) == 1
    document = json.loads(out.read_text())
    assert document["version"] == "2.1.0" and document["$schema"].endswith("sarif-2.1.0.json")
    (run,) = document["runs"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert RULE in rules and all(r["help"]["text"] for r in rules.values())
    results = [r for r in run["results"] if r["ruleId"] == RULE]
    (result,) = results
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == RULE
    location = result["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == path.as_posix()
    assert location["logicalLocations"][0]["name"] == "Studio"
    assert "failed" in capsys.readouterr().out  # the text summary still goes to stdout


def _cdk_app(outdir: Path, *, acknowledge: bool) -> cdk.App:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Team", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    domain = sagemaker.CfnDomain(
        stack,
        "Studio",
        auth_mode="IAM",
        domain_name="team",
        app_network_access_type="PublicInternetOnly",
        kms_key_id="arn:aws:kms:eu-west-1:123456789012:key/k",
        subnet_ids=["subnet-1"],
        vpc_id="vpc-1",
        default_user_settings=sagemaker.CfnDomain.UserSettingsProperty(
            execution_role="arn:aws:iam::123456789012:role/studio"
        ),
    )
    if acknowledge:
        cdk.Validations.of(domain).acknowledge(
            cdk.Acknowledgment(
                id=f"{RULE_PACK}::{RULE}",
                reason="Sandbox domain with public data only; reviewed by the platform team.",
            )
        )
    cdk.Validations.of(app).add_plugins(MLGenAIChecks([RULE]))
    return app


def test_the_plugin_fails_synthesis_naming_the_rule_and_resource(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        _cdk_app(tmp_path, acknowledge=False).synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == RULE_PACK]
    (violation,) = plugin["violations"]
    assert violation["ruleName"] == RULE and "AppNetworkAccessType" in violation["suggestedFix"]
    assert violation["violatingConstructs"][0]["constructPath"].endswith("Studio")


def test_cdk_acknowledgements_are_honoured_in_synthesis_and_by_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cdk_app(tmp_path, acknowledge=True).synth()
    assert (tmp_path / RUN_RECORD).is_file()  # a clean run leaves its record
    assert main([str(tmp_path), "--rule", RULE, "--format", "json"]) == 0
    (decision,) = json.loads(capsys.readouterr().out)
    assert (
        decision["outcome"] == "fail"
        and "reviewed by the platform team" in decision["acknowledged"]
    )


def test_gates_show_a_pack_that_did_not_run_as_not_run_and_fail_only_if_expected(
    tmp_path: Path,
) -> None:
    app = cdk.App(outdir=str(tmp_path))
    queue = cdk.CfnResource(cdk.Stack(app, "Plain"), "Q", type="AWS::SQS::Queue")  # no plugin
    assert queue.logical_id
    app.synth()
    rows = {r.name: r for r in nag_results(tmp_path)}
    assert all(name.endswith("(no report)") for name in rows if not name.startswith("CDK"))
    assert all(rows[n].findings for n in rows if n.endswith("(no report)"))
    relaxed = {r.name: r for r in nag_results(tmp_path, expected=["AwsSolutions"])}
    failing = [n for n, r in relaxed.items() if r.findings]
    assert failing == ["cdk-nag AwsSolutions (no report)"]
    assert rows["CDK CloudFormation-Validate"].findings == []


def test_gates_count_another_teams_acknowledgements_as_theirs(tmp_path: Path) -> None:
    from gates.nag_report import acknowledgement_counts

    _cdk_app(tmp_path, acknowledge=True).synth()
    assert acknowledgement_counts(tmp_path)[RULE_PACK] == 1  # no project marker: theirs
    assert acknowledgement_counts(tmp_path, ours=False)[RULE_PACK] == 0
    rows = {r.name: r for r in nag_results(tmp_path, expected=[RULE_PACK])}
    assert rows["ml_genai_checks"].acknowledged == 1 and rows["ml_genai_checks"].findings == []


def test_the_guardrail_strength_minimum_is_configurable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    filters = [
        {"Type": t, "InputStrength": "MEDIUM", "OutputStrength": "HIGH"}
        for t in ("HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT")
    ] + [{"Type": "PROMPT_ATTACK", "InputStrength": "MEDIUM", "OutputStrength": "NONE"}]
    body = {
        "Resources": {
            "Guard": {
                "Type": "AWS::Bedrock::Guardrail",
                "Properties": {"ContentPolicyConfig": {"FiltersConfig": filters}},
            }
        }
    }
    path = _write(tmp_path, "guard.json", json.dumps(body))
    rule = "MLGenAI-BedrockGuardrailContentFilters"
    assert main([str(path), "--rule", rule]) == 1
    assert main([str(path), "--rule", rule, "--min-guardrail-input-strength", "MEDIUM"]) == 0
    assert main([str(path), "--rule", rule]) == 1  # each run starts from its own setting
    capsys.readouterr()
    with pytest.raises(ValueError, match="min_input_strength 'STRONG'"):
        MLGenAIChecks(min_guardrail_input_strength="STRONG")
