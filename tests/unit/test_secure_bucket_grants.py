"""SecureBucket's prefix grants acknowledge their own IAM5 wildcard, and nothing else."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from cdk_nag import AwsSolutionsChecks

from gates.nag import read_findings
from gates.nag_report import acknowledgements
from secure_constructs.data.secure_bucket import SecureBucket

ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def _iam5(app: cdk.App, outdir: Path) -> tuple[list[str], list[str]]:
    """IAM5 findings and acknowledgements on roles, after an AwsSolutions run."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        app.synth()
    except RuntimeError as error:  # the bare buckets' own findings (access logs): not our concern
        assert "ValidationFailed" in str(error)
    findings = [f.rule for f in read_findings(outdir) if "IAM5" in f.rule and "Role" in f.path]
    acks = [a.rule for a in acknowledgements(outdir) if "IAM5" in a.rule]
    return findings, acks


def _bucket(stack: cdk.Stack, name: str) -> SecureBucket:
    key = kms.Key(stack, f"{name}Key", enable_key_rotation=True)
    return SecureBucket(stack, name, access_logs_bucket=None, encryption_key=key)


def _role(stack: cdk.Stack) -> iam.Role:
    return iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))


@pytest.mark.parametrize("same_stack", [True, False])
def test_grants_acknowledge_their_prefix_in_the_same_or_another_stack(
    tmp_path: Path, same_stack: bool
) -> None:
    app = cdk.App(outdir=str(tmp_path))
    storage = cdk.Stack(app, "TeamStorage", env=ENV)  # capitals: not a lowercase export name
    consumer = storage if same_stack else cdk.Stack(app, "TeamConsumer", env=ENV)
    bucket = _bucket(storage, "Reports")
    role = _role(consumer)
    bucket.grant_read(role, "reports/")
    bucket.grant_write(role, "reports/")  # the same prefix twice: one acknowledgement
    bucket.grant_write(role, "uploads/")
    findings, acks = _iam5(app, tmp_path)
    assert findings == []
    assert len([a for a in acks if a.endswith("/reports/*]")]) == 1
    assert len([a for a in acks if a.endswith("/uploads/*]")]) == 1


def test_the_evidence_covers_only_its_own_bucket(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Team", env=ENV)
    granted = _bucket(stack, "Granted")
    other = _bucket(stack, "Other")
    role = _role(stack)
    granted.grant_read(role, "reports/")
    # A hand-written grant on another bucket under the same prefix stays a finding.
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:GetObject"], resources=[other.bucket.arn_for_objects("reports/*")]
        )
    )
    findings, _ = _iam5(app, tmp_path)
    assert len(findings) == 1 and "Other" in findings[0] and "/reports/*" in findings[0]


def test_a_grant_to_a_principal_that_is_not_a_construct_records_nothing(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Team", env=ENV)
    bucket = _bucket(stack, "Reports")
    grant = bucket.grant_read(iam.AccountPrincipal("123456789012"), "reports/")
    assert grant.success is False  # nothing to attach to: no policy, no acknowledgement
    _, acks = _iam5(app, tmp_path)
    assert acks == []
