"""Copy-paste proven for SecureBucket: the files, flag and acknowledgements the README lists.

The construct is copied with ``s3_rules.py`` alone into an empty folder, used from a fresh
``cdk.App`` with only the feature flag its docstring names, and synthesized with the five
cdk-nag packs in a separate Python process whose import path holds the copy and not this
repository. With exactly the acknowledgements the README's "Copying one construct" table lists
there are zero findings; without the flag, CDK refuses the access-log bucket as documented.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

APP = """
import sys
import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from cdk_nag import (AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks,
                     PCIDSS321Checks, ServerlessChecks)
import secure_constructs
from secure_constructs.secure_bucket import SecureBucket

print("imported from", secure_constructs.__file__)
mode = sys.argv[2]
flag = {"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True}
context = {} if mode == "no-flag" else flag
app = cdk.App(outdir=sys.argv[1], context=context)
stack = cdk.Stack(app, "Copy", env=cdk.Environment(account="123456789012", region="us-east-1"))
key = kms.Key(stack, "Key", enable_key_rotation=True)
logs = SecureBucket(stack, "Logs", access_logs_bucket=None)
data = SecureBucket(stack, "Data", access_logs_bucket=logs.bucket, access_logs_prefix="data/",
                    encryption_key=key)

def ack(scope, rules, reason):
    if mode == "no-acks":
        return
    for rule in rules:
        cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))

PACKS = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
for bucket in (logs, data):
    ack(bucket, [f"{p}::{p}-S3BucketReplicationEnabled" for p in PACKS],
        "Replication is a data-residency decision this test app does not make.")
ack(logs, [f"{p}::{p}-S3DefaultEncryptionKMS" for p in PACKS],
    "S3 server access log delivery supports only SSE-S3 on its target bucket.")
cdk.Validations.of(app).add_plugins(*(p(app) for p in (
    AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks,
    ServerlessChecks)))
app.synth()
print("synthesized")
"""


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    """An empty folder holding only the copied files and the app."""
    package = tmp_path / "secure_constructs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("secure_bucket.py", "s3_rules.py"):
        shutil.copy(ROOT / "secure_constructs" / name, package / name)
    (tmp_path / "copy_app.py").write_text(APP)
    return tmp_path


def _run(folder: Path, flag: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    return subprocess.run(
        [sys.executable, "copy_app.py", str(folder / "out"), flag],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_secure_bucket_copied_alone_passes_every_pack_with_the_documented_acks(
    copied: Path,
) -> None:
    result = _run(copied, "flag")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert f"imported from {copied / 'secure_constructs' / '__init__.py'}" in result.stdout
    assert "synthesized" in result.stdout
    report = json.loads((copied / "out" / "validation-report.json").read_text())
    assert all(r["violations"] == [] for r in report["pluginReports"]), report
    template = json.loads((copied / "out" / "Copy.template.json").read_text())
    buckets = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"]
    assert len(buckets) == 2  # the test synthesized the real thing


@pytest.mark.slow
def test_without_the_acknowledgements_exactly_the_documented_findings_appear(
    copied: Path,
) -> None:
    """The control: the packs do run on the copy, and these are all they ask for."""
    result = _run(copied, "no-acks")
    assert result.returncode != 0
    report = json.loads((copied / "out" / "validation-report.json").read_text())
    found = {
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    packs = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
    expected = {
        (f"{pack}-S3BucketReplicationEnabled", f"Copy/{name}/Bucket/Resource")
        for pack in packs
        for name in ("Logs", "Data")
    } | {(f"{pack}-S3DefaultEncryptionKMS", "Copy/Logs/Bucket/Resource") for pack in packs}
    assert found == expected


@pytest.mark.slow
def test_secure_bucket_without_the_documented_flag_is_refused_by_cdk(copied: Path) -> None:
    result = _run(copied, "no-flag")
    assert result.returncode != 0
    assert 'objectOwnership must be set to "ObjectWriter"' in result.stderr
