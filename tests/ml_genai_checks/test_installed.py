"""The pack and the gates installed outside this repository, on a team's own template and app."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compliance.test_gates import CHECKOV
from tests.conftest import ROOT

TEAM_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Studio:
    Type: AWS::SageMaker::Domain
    Properties:
      AuthMode: IAM
      DomainName: team
      DefaultUserSettings: {ExecutionRole: arn:aws:iam::123456789012:role/studio}
      SubnetIds: [subnet-1]
      VpcId: vpc-1
  Notebook:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      InstanceType: ml.t3.medium
      RoleArn: arn:aws:iam::123456789012:role/nb
  Everything:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: "sagemaker:*", Resource: "*"}
"""

TEAM_APP = """
import sys
import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from ml_genai_checks.plugin import MLGenAIChecks

app = cdk.App(outdir=sys.argv[1])
stack = cdk.Stack(app, "Team", env=cdk.Environment(account="123456789012", region="eu-west-1"))
sagemaker.CfnDomain(
    stack, "Studio", auth_mode="IAM", domain_name="team", app_network_access_type="VpcOnly",
    kms_key_id="arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    subnet_ids=["subnet-0123456789abcdef0"], vpc_id="vpc-0123456789abcdef0",
    default_user_settings=sagemaker.CfnDomain.UserSettingsProperty(
        execution_role="arn:aws:iam::123456789012:role/studio"),
)
for name in ("sagemaker.api", "sagemaker.runtime"):
    ec2.CfnVPCEndpoint(
        stack, name.replace(".", ""), vpc_id="vpc-0123456789abcdef0",
        service_name=f"com.amazonaws.eu-west-1.{name}", vpc_endpoint_type="Interface",
        subnet_ids=["subnet-0123456789abcdef0"], private_dns_enabled=True,
    )
iam.CfnManagedPolicy(
    stack, "ReadTrainingData",
    policy_document={"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::team-training-data/training/*"}]},
)
cdk.Validations.of(app).add_plugins(MLGenAIChecks())
app.synth()
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install`` of this repository's package (rule pack and gates) into a folder."""
    root = tmp_path_factory.mktemp("installed")
    source = root / "source"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    for package in ("ml_genai_checks", "gates"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    site = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--no-index", "--target", str(site), str(source)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert not (site / "stacks").exists() and not (site / "secure_constructs").exists()
    return site


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_installed_pack_checks_a_team_template_from_outside_the_repository(
    installed: Path, tmp_path: Path
) -> None:
    (tmp_path / "team.yaml").write_text(TEAM_TEMPLATE)
    alone = _run(installed, tmp_path, "-c", "import secure_constructs")
    assert alone.returncode != 0  # the repository is not on the path, only the package
    result = _run(
        installed, tmp_path, "-m", "ml_genai_checks", "team.yaml", "--format", "sarif",
        "--output", "team.sarif",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    (run,) = json.loads((tmp_path / "team.sarif").read_text())["runs"]
    failed = {
        (r["ruleId"], r["locations"][0]["logicalLocations"][0]["name"]) for r in run["results"]
    }
    assert {
        ("MLGenAI-SageMakerDomainVpcOnly", "Studio"),
        ("MLGenAI-SageMakerDomainEncrypted", "Studio"),
        ("MLGenAI-SageMakerNotebookNoDirectInternet", "Notebook"),
        ("MLGenAI-SageMakerNotebookNoRootAccess", "Notebook"),
        ("MLGenAI-SageMakerNotebookEncrypted", "Notebook"),
        ("MLGenAI-SageMakerNotebookInVpc", "Notebook"),
        ("MLGenAI-IAMNoServiceWildcard", "Everything"),
    } <= failed


@pytest.mark.slow
def test_installed_gates_check_a_team_app_without_a_false_pass(
    installed: Path, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text(TEAM_APP)
    synth = _run(installed, tmp_path, "app.py", str(tmp_path / "cdk.out"))
    assert synth.returncode == 0, synth.stderr[-3000:]
    strict = _run(installed, tmp_path, "-m", "gates", "cdk.out", "--checkov", CHECKOV)
    assert strict.returncode == 1  # the cdk-nag packs never ran: never shown as passed
    assert "cdk-nag AwsSolutions (no report)" in strict.stdout
    assert (
        "ml_genai_checks " in strict.stdout and "ml_genai_checks (no report)" not in strict.stdout
    )
    relaxed = _run(
        installed, tmp_path, "-m", "gates", "cdk.out", "--checkov", CHECKOV,
        "--packs", "MLGenAIChecks",
    )  # fmt: skip
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    assert "not priced" in relaxed.stdout  # eu-west-1: no list prices in the gates
