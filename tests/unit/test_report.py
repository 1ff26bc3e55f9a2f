"""The evidence report (``python -m report``): content, control matrix, OSCAL, self-containment.

The report is built once per module over the assembly ``make synth`` builds (cdk.json as
shipped: the organization's stages, the workloads, the delivery pipeline).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
from trestle.oscal.component import ComponentDefinition

import secure_constructs.core.compliance as compliance
from gates.__main__ import SUMMARY_FILE, SUMMARY_TEXT_FILE
from gates.cost import estimate
from gates.nag_report import acknowledgements, rule_counts
from gates.tools import cfn_lint_ignores
from ml_genai_checks.model import REGISTRY
from offline.matrix import MATRIX
from report import ReportError
from report.__main__ import OSCAL_FILE, build, write
from report.controls import (
    ACKNOWLEDGED,
    CONFIG_EQUIVALENTS,
    DEPLOYED,
    FAILS,
    PASSES,
    ControlRow,
    Verification,
    control_sort_key,
)
from report.evidence import CFN_LINT_REASONS_METADATA, NO_REASON, TOOLING, Environment
from report.nag_controls import FRAMEWORKS, nag_rules, parse_pack
from report.oscal import component_definition, oscal_control
from report.render import NO_GATES, Report
from report.sections import permission_rows, seed_rows
from tests.conftest import ROOT, Synthesized

README = ROOT / "README.md"


@pytest.fixture(scope="module")
def built(org_synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report written over the shipped assembly, with a gates summary beside it."""
    gates_dir = tmp_path_factory.mktemp("gates")
    (gates_dir / SUMMARY_TEXT_FILE).write_text("gate summary marker: All gates passed.\n")
    note = "arn-format logs:log-group: supplement marker (https://docs.aws.amazon.com/x)"
    gates = [{"name": "policy-reference (policy_sentry x)", "acknowledgement_notes": [note]}]
    (gates_dir / SUMMARY_FILE).write_text(json.dumps({"gates": gates, "stacks": []}))
    report, oscal = build(org_synthesized.outdir, README, gates_dir=gates_dir)
    out = tmp_path_factory.mktemp("report") / "report"
    write(report, oscal, out)
    return out


@pytest.fixture(scope="module")
def report(
    built: Path, org_synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Report:
    """The same report in memory, built where no gates summary is (the gates did not run)."""
    found, _ = build(org_synthesized.outdir, README, gates_dir=tmp_path_factory.mktemp("none"))
    return found


def _env(report: Report, name: str) -> Any:
    return next(e for e in report.environments if e.env.name == name)


# --- coverage ---------------------------------------------------------------------------------


def test_every_environment_has_its_files_and_section(
    built: Path, org_synthesized: Synthesized
) -> None:
    names = {a.stage or TOOLING for a in org_synthesized.artifacts}
    assert {"dev", "prod", "management", "log-archive", "security", TOOLING} <= names
    index = (built / "index.html").read_text()
    for name in names:
        for suffix in (".md", ".svg", ".dot"):
            assert (built / f"{name}{suffix}").stat().st_size > 100, (name, suffix)
        assert f'id="env-{name}"' in index
        assert f"[{name}]({name}.md)" in (built / "index.md").read_text()
    assert (built / OSCAL_FILE).is_file()


def test_every_resource_of_every_stack_is_in_the_picture_source(
    built: Path, org_synthesized: Synthesized
) -> None:
    for artifact in org_synthesized.artifacts:
        dot = (built / f"{artifact.stage or TOOLING}.dot").read_text()
        # Each resource is its own node (id <stack>/<logical ID>) or listed in a node's tooltip
        # (test_report_architecture.py proves it is listed once, under its own stack).
        missing = [
            logical_id
            for logical_id in artifact.template()["Resources"]
            if f"/{logical_id}" not in dot and f"{logical_id} (" not in dot
        ]
        assert missing == [], (artifact.stack_name, missing)


def test_the_pictures_are_inline_svg_in_the_html(built: Path, report: Report) -> None:
    index = (built / "index.html").read_text()
    assert index.count("<svg") >= len(report.environments)
    assert "<?xml" not in index and "<!DOCTYPE svg" not in index


def test_the_gate_summary_is_shown_verbatim_or_said_missing(built: Path, report: Report) -> None:
    assert "gate summary marker: All gates passed." in (built / "index.html").read_text()
    assert "gate summary marker" in (built / "index.md").read_text()
    # The gates' acknowledgements that sit in no template are listed too.
    for name in ("index.html", "index.md"):
        assert "supplement marker (https://docs.aws.amazon.com/x)" in (built / name).read_text()
    # Built without a summary beside the assembly: the report says the gates did not run.
    assert report.gates_text is None
    assert "have not run" in NO_GATES


def test_every_acknowledgement_is_listed_with_rule_resource_and_reason(
    built: Path, report: Report, org_synthesized: Synthesized
) -> None:
    listed = [a for e in report.environments for a in e.env.acknowledgements]
    # cdk-nag's, the rule pack's and CDK's: as many as the gates count, each with its reason.
    nag = acknowledgements(org_synthesized.outdir)
    assert len([a for a in listed if a.tool not in ("cfn-lint", "checkov")]) == len(nag)
    assert Counter((a.rule.split("::", 1)[-1], a.reason) for a in nag) == Counter(
        (a.rule, a.reason) for a in listed if a.tool not in ("cfn-lint", "checkov")
    )
    templates = [a.template() for a in org_synthesized.artifacts]
    assert len([a for a in listed if a.tool == "cfn-lint"]) == sum(
        cfn_lint_ignores(t) for t in templates
    )
    skips = [
        skip
        for t in templates
        for r in t["Resources"].values()
        for skip in r.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert len([a for a in listed if a.tool == "checkov"]) == len(skips) > 0
    for env in report.environments:
        markdown = (built / f"{env.env.name}.md").read_text()
        for ack in env.env.acknowledgements:
            assert ack.reason and ack.reason != NO_REASON, ack
            assert ack.rule in markdown and ack.reason.replace("|", "\\|") in markdown, ack
            assert all(key in env.env.by_key for key in ack.resources), ack
            assert ack.resources or ack.where.count("/") <= 2, ack  # a stack-level ack


def test_every_cfn_lint_ignore_carries_its_reason_in_the_template(
    org_synthesized: Synthesized,
) -> None:
    for artifact in org_synthesized.artifacts:
        for logical_id, resource in artifact.template()["Resources"].items():
            metadata = resource.get("Metadata", {})
            ignored = metadata.get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
            reasons = metadata.get(CFN_LINT_REASONS_METADATA, {})
            assert set(ignored) == set(reasons), (artifact.stack_name, logical_id)


def test_ignore_cfn_lint_records_the_check_and_refuses_a_vague_reason() -> None:
    import aws_cdk as cdk

    stack = cdk.Stack(cdk.App())
    resource = cdk.CfnResource(stack, "Thing", type="AWS::SQS::Queue")
    compliance.ignore_cfn_lint(resource, "W3005", "a specific reason of some length")
    compliance.ignore_cfn_lint(resource, "W3010", "another specific reason, long enough")
    body = cdk.assertions.Template.from_stack(stack).to_json()["Resources"]["Thing"]
    assert body["Metadata"]["cfn-lint"] == {"config": {"ignore_checks": ["W3005", "W3010"]}}
    assert set(body["Metadata"][CFN_LINT_REASONS_METADATA]) == {"W3005", "W3010"}
    assert CFN_LINT_REASONS_METADATA == compliance.CFN_LINT_REASONS_METADATA
    with pytest.raises(ValueError, match="W3005 needs a specific reason"):
        compliance.ignore_cfn_lint(resource, "W3005", "harmless")


def test_the_cost_table_is_the_gates_estimate(built: Path, report: Report) -> None:
    for env in report.environments:
        expected = estimate(env.env.name, list(env.env.stacks))
        markdown = (built / f"{env.env.name}.md").read_text()
        assert f"| Total |  |  | ${expected.monthly:.2f} |" in markdown
    assert _env(report, "prod").cost.nat_gateways >= _env(report, "dev").cost.nat_gateways


# --- control matrix ---------------------------------------------------------------------------


def test_cdk_nag_mapping_is_read_for_every_rule_of_the_three_packs() -> None:
    rules = nag_rules()
    counts = rule_counts()
    for key, (pack, _) in FRAMEWORKS.items():
        mine = [r for r in rules if r.framework == key]
        assert len(mine) == counts[pack]
        assert all(r.controls and r.inspects for r in mine)
    hipaa = {c for r in rules if r.framework == "HIPAA" for c in r.controls}
    assert all(c.startswith("164.3") for c in hipaa), hipaa
    assert {"164.312(b)", "164.312(e)(1)"} <= hipaa and any(c.startswith("164.308") for c in hipaa)
    nist = {c for r in rules if r.framework == "NIST" for c in r.controls}
    assert all(re.match(r"^[A-Z]{2}-\d+", c) for c in nist)
    ssl = next(r for r in rules if r.rule_id == "HIPAA.Security-S3BucketSSLRequestsOnly")
    assert ssl.applies_to("AWS::S3::Bucket") and not ssl.applies_to("AWS::SQS::Queue")


def test_a_pack_rule_without_control_ids_is_an_error_not_a_lost_row() -> None:
    pack = (
        'const s3_1 = require("../rules/s3");\n'
        "this.applyRule({ info: 'No controls here.', level: x, rule: s3_1.S3Thing, node: n });"
    )
    with pytest.raises(ReportError, match="no control IDs"):
        parse_pack("HIPAA", pack, {"s3/S3Thing": "node instanceof aws_s3_1.CfnBucket"})
    good = pack.replace("No controls here.", "Bad - (Control ID: 164.312(b)).")
    with pytest.raises(ReportError, match="cannot tell which resource types"):
        parse_pack("HIPAA", good, {"s3/S3Thing": "no instanceof at all"})
    (rule,) = parse_pack("HIPAA", good, {"s3/S3Thing": "node instanceof aws_s3_1.CfnBucket"})
    assert rule.controls == ("164.312(b)",) and rule.rule_id == "HIPAA.Security-S3Thing"


def test_every_matrix_row_resolves_to_real_resources_and_rules(report: Report) -> None:
    by_id = {r.rule_id: r for r in nag_rules()}
    for env in report.environments:
        matrix = env.matrix
        assert {"HIPAA", "NIST", "PCI"} == {r.framework for r in matrix.rows}, env.env.name
        config_ids = {c.identifier for c in matrix.config_rules}
        for row in matrix.rows:
            assert row.resources and row.verifications, row.control
            for verification in row.verifications:
                assert verification.checked, (row.control, verification.rule_id)
                for key in verification.checked:
                    resource = env.env.by_key[key]  # KeyError: not a real resource
                    if verification.kind == "cdk-nag":
                        assert by_id[verification.rule_id].applies_to(resource.type)
                        assert row.control in by_id[verification.rule_id].controls
                    elif verification.kind == "AWS Config":
                        assert resource.type.startswith("AWS::Config::")
                        assert verification.rule_id in config_ids
                    else:
                        rule = REGISTRY[verification.rule_id]
                        assert row.control in rule.controls[row.framework]
                assert set(verification.acknowledged) <= set(verification.checked)


def test_the_matrix_covers_hipaa_security_safeguards_nist_and_pci(report: Report) -> None:
    dev = _env(report, "dev").matrix
    hipaa = {r.control for r in dev.framework("HIPAA")}
    assert any(c.startswith("164.308") for c in hipaa) and any(
        c.startswith("164.312") for c in hipaa
    )
    nist = {r.control for r in dev.framework("NIST")}
    assert {"AU-2", "SC-7"} <= nist  # the rule pack's logging and endpoint controls
    assert len(dev.framework("PCI")) >= 10
    kinds = {v.kind for r in dev.rows for v in r.verifications}
    assert kinds == {"cdk-nag", "ml_genai_checks", "AWS Config"}
    controls = [r.control for r in dev.framework("NIST")]
    assert controls == sorted(controls, key=control_sort_key)


def test_an_acknowledged_rule_shows_its_reason_in_the_matrix(report: Report) -> None:
    dev = _env(report, "dev")
    acked = [
        a
        for a in dev.env.acknowledgements
        if a.tool == "cdk-nag HIPAA.Security" and a.resources and "[" not in a.rule
    ]
    assert acked
    for ack in acked:
        found = [
            v
            for row in dev.matrix.framework("HIPAA")
            for v in row.verifications
            if v.rule_id == ack.rule
        ]
        assert found, ack.rule
        for verification in found:
            covered = set(ack.resources) & set(verification.checked)
            assert covered and verification.status == ACKNOWLEDGED
            assert all(verification.acknowledged[k] for k in covered)


def test_row_status_takes_the_worst_of_its_rules() -> None:
    def verification(status: str, failed: tuple[str, ...] = ()) -> Verification:
        return Verification("ml_genai_checks", "R", "", ("s/a", "s/b"), {}, failed, status)

    row = ControlRow("NIST", "AU-2", (verification(PASSES), verification(ACKNOWLEDGED)))
    assert row.status == ACKNOWLEDGED
    failing = replace(row, verifications=(*row.verifications, verification(FAILS, ("s/b",))))
    assert failing.status == FAILS and failing.verifications[-1].passed == ("s/a",)
    assert ControlRow("NIST", "AU-2", (verification(DEPLOYED),)).status == DEPLOYED


def test_config_rules_are_listed_and_mapped_only_through_a_real_cdk_nag_twin(
    report: Report, org_synthesized: Synthesized
) -> None:
    names = {r.name for r in nag_rules()}
    assert set(CONFIG_EQUIVALENTS.values()) <= names
    audit = org_synthesized.artifact("dev", "audit").template()["Resources"].values()
    managed = {
        r["Properties"]["Source"]["SourceIdentifier"]
        for r in audit
        if r["Type"] == "AWS::Config::ConfigRule" and r["Properties"]["Source"]["Owner"] == "AWS"
    }
    entries = _env(report, "dev").matrix.config_rules
    assert managed <= {e.identifier for e in entries}
    assert all(e.equivalent in names for e in entries if e.equivalent)
    assert any(e.equivalent is None for e in entries)  # no control claimed without a twin
    security = _env(report, "security")
    packed = [
        e
        for e in security.matrix.config_rules
        if security.env.by_key[e.resource].type == "AWS::Config::OrganizationConformancePack"
    ]
    assert len(packed) > 10 and any(e.equivalent for e in packed)


# --- permission matrix and seed map -----------------------------------------------------------


def test_the_permission_matrix_resolves_every_role_in_each_workload(report: Report) -> None:
    for name in ("dev", "prod"):
        env = _env(report, name)
        assert len(env.permissions) == len(MATRIX)
        for row in env.permissions:
            if row.role != "probe":
                assert env.env.by_key[row.resource].type == "AWS::IAM::Role"
    assert _env(report, "management").permissions == []


def test_a_workload_without_a_matrix_role_is_an_error(report: Report) -> None:
    dev = _env(report, "dev").env
    templates = json.loads(json.dumps(dev.templates))
    genai = next(s.stack_name for s in dev.stacks if s.stack_name.endswith("-genai"))
    resources = templates[genai]["Resources"]
    for logical_id in [k for k in resources if k.startswith("GuardedInvokeRole")]:
        del resources[logical_id]
    with pytest.raises(ReportError, match="role 'guarded-invoke' is not in dev"):
        permission_rows(Environment(dev.name, dev.stacks, templates))


def test_the_seed_map_is_the_readmes(report: Report, tmp_path: Path) -> None:
    section = README.read_text().split("## Seed topics → code", 1)[1].split("\n## ", 1)[0]
    table_rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert len(report.seed) == len(table_rows) - 1 > 20
    broken = tmp_path / "README.md"
    broken.write_text("# nothing\n")
    with pytest.raises(ReportError, match="no '## Seed topics → code' section"):
        seed_rows(broken)


# --- OSCAL ------------------------------------------------------------------------------------


def test_the_oscal_component_definition_validates_with_trestle(built: Path, report: Report) -> None:
    definition = ComponentDefinition.oscal_read(built / OSCAL_FILE)
    assert isinstance(definition, ComponentDefinition)
    components = {c.title: c for c in definition.components or []}
    for env in report.environments:
        component = components[f"Secure ML/GenAI platform: {env.env.name} environment"]
        declared = {p.value for p in component.props or [] if p.name == "Rule_Id"}
        (implementation,) = component.control_implementations or []
        requirements = {r.control_id: r for r in implementation.implemented_requirements}
        assert set(requirements) == {
            oscal_control(r.control)[0] for r in env.matrix.framework("NIST")
        }
        for requirement in requirements.values():
            used = {p.value for p in requirement.props or []}
            assert used and used <= declared
            for statement in requirement.statements or []:
                assert statement.statement_id.startswith(f"{requirement.control_id}_smt")
                keys = re.findall(r"(secure-ml-[\w-]+): ", statement.description)
                assert keys and all(any(s.stack_name == k for s in env.env.stacks) for k in keys)


def test_oscal_is_deterministic_and_names_controls_as_the_catalog_does(
    report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    when = datetime(2026, 12, 1, tzinfo=UTC)
    matrices = [e.matrix for e in report.environments]
    first = component_definition(matrices, when).oscal_serialize_json()
    assert component_definition(matrices, when).oscal_serialize_json() == first
    assert oscal_control("AC-4(21)") == ("ac-4.21", "")
    assert oscal_control("AU-3a") == ("au-3", "a")
    assert oscal_control("CM-5(1)(b)") == ("cm-5.1", "b")
    assert oscal_control("PM-14a.1") == ("pm-14", "a.1")
    with pytest.raises(ReportError, match="not of the form"):
        oscal_control("164.312(b)")


# --- self-contained HTML ----------------------------------------------------------------------


class _References(HTMLParser):
    """Every URL-bearing attribute and every tag of the document."""

    ATTRIBUTES: ClassVar[set[str]] = {
        "href",
        "src",
        "xlink:href",
        "action",
        "poster",
        "data",
        "srcset",
        "formaction",
    }

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.urls += [v or "" for k, v in attrs if k in self.ATTRIBUTES]

    handle_startendtag = handle_starttag


def test_the_html_has_no_external_reference(built: Path) -> None:
    text = (built / "index.html").read_text()
    parser = _References()
    parser.feed(text)
    assert parser.tags["svg"] >= 5 and parser.tags["table"] > 20
    assert parser.tags["script"] == parser.tags["link"] == parser.tags["img"] == 0
    for url in parser.urls:
        if url.startswith("#"):
            continue
        assert "://" not in url and not url.startswith("//"), url
        assert (built / url).is_file(), url  # a file beside it, in the report folder
    assert "@import" not in text and not re.search(r"url\(\s*['\"]?(https?:)?//", text)


def test_the_cli_writes_the_report_and_replaces_the_old_one(
    org_synthesized: Synthesized, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "stale.md").write_text("from an earlier run")
    done = subprocess.run(
        [sys.executable, "-m", "report", str(org_synthesized.outdir), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "environments" in done.stdout and "control rows" in done.stdout
    assert not (out / "stale.md").exists() and (out / "index.html").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no staging folder left


def test_the_cli_fails_in_one_line_without_an_assembly(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "report", str(tmp_path / "missing")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("report: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and "make synth" in done.stderr
    assert not (tmp_path / "missing").exists()


# --- every error message ----------------------------------------------------------------------


def test_a_pack_that_cdk_nag_changed_shape_is_an_error(tmp_path: Path) -> None:
    import io
    import tarfile

    pack = (
        'const s3_1 = require("../rules/s3");\n'
        "this.applyRule({ info: 'Bad - (Control ID: 164.312(b)).', rule: s3_1.Gone, node: n });"
    )
    with pytest.raises(ReportError, match="rule Gone: its rule file is not in cdk-nag"):
        parse_pack("HIPAA", pack, {})
    with pytest.raises(ReportError, match="no rules found in its compiled pack"):
        parse_pack("NIST", "module.exports = {};", {})
    tarball = tmp_path / "cdk-nag@0.0.0.jsii.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        data = pack.encode()
        member = tarfile.TarInfo("package/lib/packs/hipaa-security.js")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    with pytest.raises(ReportError, match="no compiled pack for NIST, PCI"):
        nag_rules(tarball)


def test_an_assembly_without_stacks_is_an_error(tmp_path: Path) -> None:
    from report.evidence import environments

    (tmp_path / "manifest.json").write_text(json.dumps({"version": "41.0.0", "artifacts": {}}))
    with pytest.raises(ReportError, match="holds no stacks"):
        environments(tmp_path)


def test_oscal_refusals_name_the_control_or_the_field(report: Report) -> None:
    from datetime import UTC, datetime

    from report.controls import Matrix

    with pytest.raises(ReportError, match="cannot read its part"):
        oscal_control("AU-3 (x y)")
    bad = Verification("ml_genai_checks", " leading space", "", ("s/a",), {})
    matrix = Matrix("dev", (ControlRow("NIST", "AU-2", (bad,)),), ())
    with pytest.raises(ReportError, match="OSCAL component definition: components"):
        component_definition([matrix], datetime(2026, 12, 1, tzinfo=UTC))


def test_an_unreadable_or_empty_seed_map_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="cannot read the seed-topic map"):
        seed_rows(tmp_path / "absent.md")
    empty = tmp_path / "README.md"
    empty.write_text("## Seed topics → code\n\nno table yet\n\n## Next\n")
    with pytest.raises(ReportError, match="holds no table rows"):
        seed_rows(empty)
