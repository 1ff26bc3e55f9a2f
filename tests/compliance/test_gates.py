"""The compliance gates: cdk-nag 3 (as wired here), cfn-lint, checkov, and the gates summary CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

import secure_constructs.core.compliance as compliance_module
from gates.assembly import AssemblyError, stacks
from gates.cost import (
    HOURS_PER_MONTH,
    INTERFACE_ENDPOINT_AZ_HOURLY,
    NAT_GATEWAY_HOURLY,
    CostEstimate,
    estimate,
)
from gates.nag import REPORT_FILE, acknowledgements, read_findings, register_packs, rule_counts
from gates.tools import run_cfn_lint, run_checkov
from platform_config import load_config
from secure_constructs.core.compliance import acknowledge
from stacks.stage import build_stages
from tests.conftest import CDK_JSON_CONTEXT, ROOT, Synthesized, new_app, pruned_copy

CHECKOV = os.environ.get("CHECKOV_BIN", str(ROOT / ".venv-checkov" / "bin" / "checkov"))


def _pack_rule(finding_pack: str, rule: str) -> str:
    return f"{finding_pack}::{rule}"


# --- cdk-nag --------------------------------------------------------------------------------


def test_every_pack_is_registered_and_has_rules() -> None:
    counts = rule_counts()
    assert set(counts) == {
        "AwsSolutions",
        "HIPAA.Security",
        "NIST.800.53.R5",
        "PCI.DSS.321",
        "Serverless",
    }
    assert all(count >= 10 for count in counts.values()), counts


def test_platform_has_no_unacknowledged_findings(synthesized: Synthesized) -> None:
    # The fixture's app.synth() would have raised ValidationFailed; the report, if CDK wrote
    # one, must list nothing.
    assert read_findings(synthesized.outdir) == []


def test_app_synthesizes_a_realistic_number_of_resources(
    synthesized: Synthesized, env_name: str
) -> None:
    keys = synthesized.artifact(env_name, "keys").resource_types()
    network = synthesized.artifact(env_name, "network").resource_types()
    data = synthesized.artifact(env_name, "data").resource_types()
    env = synthesized.env(env_name)
    assert keys["AWS::KMS::Key"] == 2 and keys["AWS::KMS::Alias"] == 2
    assert data["AWS::S3::Bucket"] == 7 and data["AWS::S3::BucketPolicy"] == 7
    assert network["AWS::EC2::Subnet"] == 3 * len(env.availability_zones)
    assert network["AWS::EC2::VPCEndpoint"] == len(env.interface_endpoints) + 1
    assert sum(network.values()) >= 40
    audit = synthesized.artifact(env_name, "audit").resource_types()
    findings = synthesized.artifact(env_name, "findings").resource_types()
    assert audit["AWS::CloudTrail::Trail"] == 1 and audit["AWS::Config::ConfigRule"] >= 40
    assert audit["AWS::Lambda::Function"] == 2  # the custom Config rule and the SDK-call provider
    assert findings["AWS::Events::Rule"] == 6 and findings["AWS::Lambda::Function"] == 2


@pytest.fixture(scope="module")
def without_acknowledgements(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same platform synthesized with this project's acknowledgements switched off."""
    outdir = tmp_path_factory.mktemp("no-acks")
    original = compliance_module.acknowledge
    users = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith(("stacks.", "secure_constructs."))
        and name != compliance_module.__name__
        and getattr(module, "acknowledge", None) is original
    ]
    assert len(users) >= 2, "expected stacks and constructs to import acknowledge()"
    for module in users:
        module.acknowledge = lambda *args, **kwargs: None  # type: ignore[attr-defined]
    try:
        app = new_app(outdir)
        build_stages(app, load_config(CDK_JSON_CONTEXT))
        register_packs(app)
        with pytest.raises(RuntimeError, match="ValidationFailed"):
            app.synth()
    finally:
        for module in users:
            module.acknowledge = original  # type: ignore[attr-defined]
    return outdir


def test_each_acknowledgement_is_live_and_covers_a_real_finding(
    synthesized: Synthesized, without_acknowledgements: Path
) -> None:
    ours = [a for a in acknowledgements(synthesized.outdir) if a.ours]
    assert ours, "the platform is expected to carry a few documented acknowledgements"
    findings = read_findings(without_acknowledgements)
    for ack in ours:
        covered = [
            f
            for f in findings
            if _pack_rule(f.pack, f.rule) == ack.rule and ("/" + f.path).startswith(ack.path + "/")
        ]
        assert covered, f"stale acknowledgement {ack.rule} at {ack.path}: nothing to acknowledge"
        assert len(ack.reason) >= 40, ack


def test_acknowledgements_cover_every_finding_and_nothing_else(
    synthesized: Synthesized, without_acknowledgements: Path
) -> None:
    ours = [a for a in acknowledgements(synthesized.outdir) if a.ours]
    findings = read_findings(without_acknowledgements)
    assert findings, "switching acknowledgements off must surface findings"
    for finding in findings:
        assert any(
            _pack_rule(finding.pack, finding.rule) == a.rule
            and ("/" + finding.path).startswith(a.path + "/")
            for a in ours
        ), f"finding not covered by an acknowledgement: {finding.line()}"


def test_cdk_nag_3_acknowledgement_forms_on_the_pinned_versions(tmp_path: Path) -> None:
    """Proves the API facts the platform relies on, with a deliberately non-compliant bucket."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe", env=cdk.Environment(account="123456789012", region="us-east-1"))
    bucket = s3.Bucket(stack, "Bucket")
    acknowledge(bucket, "AwsSolutions-S1", "Probe: the bare rule ID form is accepted by cdk-nag 3.")
    acknowledge(
        bucket,
        "HIPAA.Security::HIPAA.Security-S3BucketLoggingEnabled",
        "Probe: the Pack::Rule form is accepted by cdk-nag 3 as well.",
    )
    register_packs(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    rules = {_pack_rule(f.pack, f.rule) for f in read_findings(tmp_path)}
    assert "AwsSolutions::AwsSolutions-S10" in rules  # unacknowledged: still reported
    assert "HIPAA.Security::HIPAA.Security-S3BucketSSLRequestsOnly" in rules
    assert "AwsSolutions::AwsSolutions-S1" not in rules  # acknowledged: gone
    assert "HIPAA.Security::HIPAA.Security-S3BucketLoggingEnabled" not in rules
    recorded = {(a.rule, a.ours) for a in acknowledgements(tmp_path)}
    assert ("AwsSolutions::AwsSolutions-S1", True) in recorded


# --- cfn-lint and checkov --------------------------------------------------------------------


def _gates(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gates", *args, "--checkov", CHECKOV],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@dataclass
class GatesRun:
    """One run of ``python -m gates`` over an assembly: its process and its summary rows."""

    process: subprocess.CompletedProcess[str]
    rows: list[dict[str, Any]]

    def row(self, prefix: str) -> dict[str, Any]:
        """The one gate row whose name starts with ``prefix`` (``cfn-lint``, ``checkov``)."""
        (found,) = [r for r in self.rows if r["name"].startswith(prefix)]
        return found


def _run_gates(outdir: Path, cache: Path | None = None) -> GatesRun:
    process = _gates(str(outdir), *(["--cache", str(cache)] if cache else []))
    summary = outdir / "gates-summary.json"
    rows = json.loads(summary.read_text())["gates"] if process.returncode < 2 else []
    return GatesRun(process, rows)


@pytest.fixture(scope="module")
def gate_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty result cache (gates/cache.py), filled by the platform run below."""
    return tmp_path_factory.mktemp("gate-cache")


@pytest.fixture(scope="module")
def platform_gates(synthesized: Synthesized, gate_cache: Path) -> GatesRun:
    """The gates CLI run once over the platform (cfn-lint and checkov take ~10 s each), with a
    cold cache: every template is linted and scanned, and the results are kept for the tests of
    the cache below."""
    assert Path(CHECKOV).exists(), f"checkov not installed at {CHECKOV}; run 'make test'"
    run = _run_gates(synthesized.outdir, gate_cache)
    assert all(row["templates_from_cache"] == 0 for row in run.rows)
    return run


def test_cfn_lint_finds_nothing(platform_gates: GatesRun) -> None:
    row = platform_gates.row("cfn-lint ")
    assert row["rules"] > 100
    assert row["findings"] == []


def test_checkov_finds_nothing(synthesized: Synthesized, platform_gates: GatesRun) -> None:
    row = platform_gates.row("checkov ")
    assert row["checks_evaluated"] > 50
    assert row["findings"] == []
    # checkov honoured exactly the skips recorded next to their resources, no more, no fewer.
    recorded = sum(
        len(resource.get("Metadata", {}).get("checkov", {}).get("skip", []))
        for artifact in synthesized.artifacts
        for resource in artifact.template()["Resources"].values()
    )
    assert recorded > 0
    assert row["acknowledged"] == recorded


@pytest.fixture
def broken_assembly(synthesized: Synthesized, tmp_path: Path) -> Path:
    """A copy of the assembly with a public, unencrypted bucket slipped into one template."""
    outdir = tmp_path / "cdk.out"
    shutil.copytree(synthesized.outdir, outdir)
    template_path = stacks(outdir)[0].template_path
    template = json.loads(template_path.read_text())
    template["Resources"]["SlippedBucket"] = {
        "Type": "AWS::S3::Bucket",
        "Properties": {"AccessControl": "PublicReadWrite", "BogusProperty": 1},
    }
    template_path.write_text(json.dumps(template))
    return outdir


def test_a_cached_run_reports_exactly_what_the_run_did(
    synthesized: Synthesized, platform_gates: GatesRun, gate_cache: Path, tmp_path: Path
) -> None:
    """Every template unchanged: cfn-lint and checkov are not run, the rows are the same."""
    outdir = tmp_path / "cdk.out"
    shutil.copytree(synthesized.outdir, outdir)
    warm = _run_gates(outdir, gate_cache)
    assert warm.process.returncode == 0, warm.process.stdout + warm.process.stderr
    templates = len(stacks(outdir))
    for cold_row, warm_row in zip(platform_gates.rows, warm.rows, strict=True):
        cached = warm_row.pop("templates_from_cache")
        assert cached == (
            templates if warm_row["name"].split()[0] in ("cfn-lint", "checkov") else 0
        )
        assert {k: v for k, v in cold_row.items() if k != "templates_from_cache"} == warm_row
    assert "results from the cache: cfn-lint" in warm.process.stdout


# --- the gates CLI -----------------------------------------------------------------------------


def test_gates_cli_summary_on_the_platform(
    synthesized: Synthesized, platform_gates: GatesRun
) -> None:
    result = platform_gates.process
    assert result.returncode == 0, result.stdout + result.stderr
    for expected in (
        "cdk-nag AwsSolutions",
        "cdk-nag Serverless",
        "cfn-lint",
        "checkov",
        "policy-reference (policy_sentry ",
        "dev:",
        "prod:",
    ):
        assert expected in result.stdout
    assert "All gates passed" in result.stdout
    summary = json.loads((synthesized.outdir / "gates-summary.json").read_text())
    assert all(gate["findings"] == [] for gate in summary["gates"])
    (policy_row,) = [g for g in summary["gates"] if g["name"].startswith("policy-reference")]
    assert policy_row["rules"] == 3 and policy_row["checks_evaluated"] > 500
    # Each supplement the gate used is named with its AWS source page, for the report.
    notes = policy_row["acknowledgement_notes"]
    assert len(notes) == policy_row["acknowledged"] > 0
    assert all("https://docs.aws.amazon.com/" in note for note in notes)
    # The printed summary, verbatim, for the report (python -m report).
    printed = (synthesized.outdir / "gates-summary.txt").read_text()
    assert printed.strip() == result.stdout.strip()


def test_gates_fail_on_a_bad_template_and_the_cli_says_so(
    broken_assembly: Path, platform_gates: GatesRun, gate_cache: Path
) -> None:
    """cfn-lint and checkov each catch the slipped bucket, and the CLI exits 1 naming it.

    With the platform run's cache: the changed template misses it (only it is linted and
    scanned), every other template hits."""
    run = _run_gates(broken_assembly, gate_cache)
    assert run.process.returncode == 1
    assert "FAILED" in run.process.stdout and "SlippedBucket" in run.process.stdout
    lint = run.row("cfn-lint ")["findings"]
    assert any("BogusProperty" in f for f in lint), lint
    checkov = run.row("checkov ")["findings"]
    assert any("SlippedBucket" in f for f in checkov), checkov
    templates = len(stacks(broken_assembly))
    assert run.row("cfn-lint ")["templates_from_cache"] == templates - 1
    assert run.row("checkov ")["templates_from_cache"] == templates - 1


def test_gates_cli_without_an_assembly(tmp_path: Path) -> None:
    result = _gates(str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"gates: {tmp_path / 'nowhere'}: no manifest.json; run 'make synth' first"
    ]
    with pytest.raises(AssemblyError):
        stacks(tmp_path)


# --- app.py when cdk-nag fails -----------------------------------------------------------------

_FAILING_APP = """
import sys, app
from aws_cdk import aws_s3 as s3
import stacks.stage as stage_module
real = stage_module.build_stages
def with_a_bad_bucket(cdk_app, config):
    stages = real(cdk_app, config)
    s3.Bucket(stages[0].network, "UnencryptedBucket")
    return stages
app.build_stages = with_a_bad_bucket
sys.exit(app.main())
"""


@pytest.mark.slow
def test_app_reports_nag_findings_readably_and_discards_templates(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({**CDK_JSON_CONTEXT, "environment": "dev"}),
        "CDK_OUTDIR": str(tmp_path),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(
        [sys.executable, "-c", _FAILING_APP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "cdk-nag:" in result.stderr and "unacknowledged finding(s)" in result.stderr
    assert "AwsSolutions-S10 at dev/Network/UnencryptedBucket/Resource" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [REPORT_FILE]


# --- cost ------------------------------------------------------------------------------------------


def test_cost_estimate_counts_what_the_templates_declare(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    cost = estimate(env_name, [a for a in synthesized.artifacts if a.stage == env_name])
    assert cost.nat_gateways == env.nat_gateways
    assert cost.endpoint_azs == len(env.interface_endpoints) * len(env.endpoint_availability_zones)
    assert cost.kms_keys == 2  # logs and data
    # the knowledge base's vector store: S3 Vectors, no fixed charge, no OpenSearch collection
    assert cost.vector_indexes == (1 if env.genai.knowledge_base else 0)
    assert cost.opensearch_collections == 0
    expected = (
        env.nat_gateways * NAT_GATEWAY_HOURLY * HOURS_PER_MONTH
        + cost.endpoint_azs * INTERFACE_ENDPOINT_AZ_HOURLY * HOURS_PER_MONTH
        + 2.0
    )
    assert cost.monthly == pytest.approx(expected)
    assert "S3 Vectors indexes 1 x $0.00 (knowledge base; storage and queries extra)" in (
        cost.line()
    )


def test_an_opensearch_collection_would_be_priced_at_its_minimum() -> None:
    cost = CostEstimate("x", 0, 0, 0, ("us-east-1",), 0, 1)
    assert cost.monthly == pytest.approx(2 * 0.24 * 730)  # $350.40
    assert "OpenSearch Serverless collections 1 x $350.40 (2 OCUs minimum)" in cost.line()


# --- a broken tool is an error, never a pass ---------------------------------------------------


def _fake_tool(tmp_path: Path, name: str, script: str) -> str:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return str(path)


def test_cfn_lint_that_crashes_is_an_error(synthesized: Synthesized, tmp_path: Path) -> None:
    from gates.tools import GateToolError

    listing = 'if [ "$1" = "--list-rules" ]; then echo "E0000: x"; exit 0; fi'
    crashing = _fake_tool(tmp_path, "cfn-lint", f"{listing}\necho boom >&2; exit 1")
    with pytest.raises(GateToolError, match=r"cfn-lint failed \(exit 1\): boom"):
        run_cfn_lint(synthesized.artifacts, crashing)
    silent = _fake_tool(tmp_path, "silent-lint", f"{listing}\nexit 0")
    with pytest.raises(GateToolError, match="cfn-lint failed"):
        run_cfn_lint(synthesized.artifacts, silent)
    no_rules = _fake_tool(tmp_path, "empty-lint", "exit 0")
    with pytest.raises(GateToolError, match="lists no rules"):
        run_cfn_lint(synthesized.artifacts, no_rules)


def test_checkov_that_scans_nothing_is_an_error(synthesized: Synthesized, tmp_path: Path) -> None:
    from gates.tools import GateToolError

    empty = '{"check_type": "cloudformation", "results": {}, "summary": {"passed": 0, "failed": 0}}'
    fake = _fake_tool(tmp_path, "checkov", f"echo '{empty}'")
    pruned_copy(synthesized.outdir, tmp_path / "cdk.out", keep=1)
    with pytest.raises(GateToolError, match="evaluated no check"):
        run_checkov(tmp_path / "cdk.out", fake)


def test_gates_cli_reads_reports_without_the_cdk_libraries() -> None:
    """The gates CLI starts no jsii runtime: pack names, rule counts and reports come from files."""
    from gates import nag, nag_report

    probe = subprocess.run(
        [sys.executable, "-c", "import sys, gates.__main__; print('aws_cdk' in sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "False"
    assert [cls().read_pack_name for cls, _ in nag.PACKS] == [n for n, _ in nag_report.PACK_SOURCES]
    assert [s for _, s in nag.PACKS] == [s for _, s in nag_report.PACK_SOURCES]
    assert nag_report.PROJECT_ACK_METADATA_TYPE == compliance_module.PROJECT_ACK_METADATA_TYPE
