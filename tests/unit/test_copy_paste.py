"""Copy-paste proven for every group: the folder and ``core/`` alone, as the group README says.

For each group, ``secure_constructs/<group>/`` and ``secure_constructs/core/`` (plus the groups
``NEEDS`` declares for it, e.g. ``data/`` and ``audit/`` for ``organization/``) are copied into
``lifted_kit/`` (an empty ``__init__.py``) in a folder of its own, with that group's app
(``copy_apps/<group>_app.py``) and the shared ``copy_apps/harness.py``. One Python process
(``copy_apps/run_all.py``) runs the groups one after the other, the import path holding only
the group's copy and not this repository (no PYTHONPATH; the copy of the group before is
dropped from ``sys.modules``), and each group's app builds the group's main constructs in fresh ``cdk.App``s whose context is only the flags of the
copied README's ``## Feature flags``, registers the five cdk-nag packs and synthesizes:

* ``acked``: with exactly the rows of the README's ``## Acknowledgements you add`` applied to the
  constructs their patterns match: zero findings;
* ``bare``: without them (the control): exactly the README's rows are reported, each at least
  once, so every documented acknowledgement is needed and the packs did run;
* ``no-flags`` (when the README lists flags): without them the app does not pass, e.g. CDK
  refuses the access-log bucket without ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy``.

The README is parsed here independently of the harness, and what the constructs acknowledge
themselves must be named in its "Recorded by the constructs" section.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

GROUPS = ("core", "network", "data", "audit", "ml", "genai", "organization")
NEEDS: dict[str, tuple[str, ...]] = {"organization": ("data", "audit")}
"""Groups a group imports besides ``core`` (its README's copy recipe names them); none else."""
PACKAGE = "lifted_kit"
"""Deliberately not ``secure_constructs``: the copy must not depend on the package's name."""
APPS = Path(__file__).resolve().parent / "copy_apps"
CONSTRUCTS = ROOT / "secure_constructs"
PACKS = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321", "Serverless")

FLAG_LINE = re.compile(r"- `(@aws-cdk/[^`]+)`: (true|false)")
ROW = re.compile(r"\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|(.+)\|")

# Resource types each app must have synthesized (type -> at least): the real thing was built.
SYNTHESIZED: dict[str, dict[str, int]] = {
    "core": {"AWS::Lambda::Function": 2, "Custom::AwsApiCall": 1, "AWS::SQS::Queue": 3},
    "network": {"AWS::EC2::VPC": 1, "AWS::EC2::VPCEndpoint": 5, "AWS::EC2::FlowLog": 1},
    "data": {
        "AWS::KMS::Key": 2,
        "AWS::S3::Bucket": 3,
        "AWS::Events::Rule": 1,
        "AWS::Lambda::Function": 1,
    },
    "audit": {
        "AWS::CloudTrail::Trail": 1,
        "AWS::Config::ConfigurationRecorder": 1,
        "AWS::Config::ConfigRule": 42,
        "AWS::Macie::Session": 1,
        "Custom::MacieClassificationJob": 1,
        "AWS::SNS::Topic": 1,
    },
    "ml": {
        "AWS::IAM::Role": 4,
        "AWS::SageMaker::Domain": 1,
        "AWS::SageMaker::UserProfile": 2,
        "AWS::SageMaker::ModelCard": 1,
        "AWS::SageMaker::MonitoringSchedule": 1,
    },
    "genai": {
        "AWS::Bedrock::Guardrail": 1,
        "AWS::Bedrock::GuardrailVersion": 1,
        "AWS::Bedrock::EnforcedGuardrailConfiguration": 1,
        "Custom::BedrockInvocationLogging": 1,
        "AWS::S3Vectors::VectorBucket": 1,
        "AWS::S3Vectors::Index": 1,
        "AWS::Bedrock::KnowledgeBase": 1,
        "AWS::Bedrock::DataSource": 1,
        "AWS::Lambda::EventSourceMapping": 1,
        "AWS::Config::ConfigRule": 5,
    },
    "organization": {
        "AWS::Organizations::Policy": 9,
        "Custom::DelegatedAdministrator": 10,
        "AWS::SecurityHub::DelegatedAdmin": 1,
        "AWS::S3::Bucket": 3,
        "AWS::CloudTrail::Trail": 1,
        "AWS::GuardDuty::Detector": 2,
        "AWS::SecurityHub::ConfigurationPolicy": 1,
        "AWS::Config::OrganizationConformancePack": 2,
        "AWS::Config::OrganizationConfigRule": 1,
        "AWS::Lambda::Permission": 2,
        "AWS::Events::Rule": 9,
    },
}


@dataclass(frozen=True)
class Readme:
    """What a group README promises: flags, acknowledgement rows, the recorded section."""

    flags: dict[str, bool]
    rows: tuple[tuple[str, str, str], ...]
    recorded: str


def _section(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    assert heading in lines, f"README has no {heading!r} heading"
    body = []
    for line in lines[lines.index(heading) + 1 :]:
        if line.startswith("## "):
            break
        body.append(line.strip())
    return body


def read_readme(group: str) -> Readme:
    text = (CONSTRUCTS / group / "README.md").read_text(encoding="utf-8")
    flag_lines = [line for line in _section(text, "## Feature flags") if line.startswith("- ")]
    flags = {}
    for line in flag_lines:
        match = FLAG_LINE.fullmatch(line)
        assert match, f"{group}: not a feature flag line: {line!r}"
        flags[match.group(1)] = match.group(2) == "true"
    if not flags:
        assert "None." in _section(text, "## Feature flags"), f"{group}: say None."
    rows = []
    for line in _section(text, "## Acknowledgements you add"):
        match = ROW.fullmatch(line)
        if match:
            rule, pattern, reason = (part.strip() for part in match.groups())
            assert len(reason) >= 40, f"{group}: {rule}: reason too short: {reason!r}"
            assert rule.split("::", 1)[0] in PACKS, f"{group}: {rule} is not Pack::Rule-ID"
            rows.append((rule, pattern, reason))
    recorded = "\n".join(_section(text, "## Recorded by the constructs"))
    return Readme(flags, tuple(rows), recorded)


@dataclass(frozen=True)
class Lifted:
    """One group copied and run: where, how long, and the app's summary."""

    folder: Path
    seconds: float
    result: subprocess.CompletedProcess[str]
    summary: dict[str, Any]

    def run(self, name: str) -> dict[str, Any]:
        runs: dict[str, dict[str, Any]] = self.summary["runs"]
        return runs[name]


def _copy(group: str, folder: Path) -> None:
    package = folder / PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for name in {"core", group, *NEEDS.get(group, ())}:
        shutil.copytree(
            CONSTRUCTS / name, package / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    for app in ("harness.py", f"{group}_app.py"):
        shutil.copy(APPS / app, folder / app)


@cache
def _run_all(root: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Copy every group and run all their apps in one process (``copy_apps/run_all.py``)."""
    for group in GROUPS:
        _copy(group, root / group)
    shutil.copy(APPS / "run_all.py", root / "run_all.py")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "run_all.py", *GROUPS],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return time.monotonic() - started, result


def lifted(group: str, root: Path) -> Lifted:
    """``group`` copied with ``core/`` into ``root/<group>`` and its app's summary."""
    _, result = _run_all(root)
    folder = root / group
    error = folder / "out" / "error.txt"
    assert not error.exists(), error.read_text(encoding="utf-8")
    summary = json.loads((folder / "out" / "summary.json").read_text(encoding="utf-8"))
    return Lifted(folder, float(summary["seconds"]), result, summary)


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("copies")


def _covers(row: tuple[str, str, str], finding: list[str]) -> bool:
    """A row covers a finding on its rule at, or under, a construct its pattern matches."""
    rule, pattern, _ = row
    found_rule, _, path = finding
    parts = path.split("/")
    prefixes = ("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return rule == found_rule and any(fnmatch.fnmatchcase(p, pattern) for p in prefixes)


def _rule_name(acknowledged_id: str) -> str:
    """``HIPAA.Security::HIPAA.Security-LambdaDLQ`` -> ``LambdaDLQ``; IAM5[...] -> ``IAM5``."""
    rule = acknowledged_id.split("::", 1)[1].split("[", 1)[0]
    return rule.split("-", 1)[1] if "-" in rule else rule


@pytest.mark.slow
@pytest.mark.parametrize("group", GROUPS)
def test_group_copied_with_core_alone_passes_every_pack_with_its_documented_acks(
    group: str, copies: Path
) -> None:
    readme = read_readme(group)
    copy = lifted(group, copies)
    print(f"{group}: {copy.seconds:.1f} s in the shared process")  # shown with -s / -rP
    summary = copy.summary
    assert summary["package_init"] == str(copy.folder / PACKAGE / "__init__.py")
    assert summary["repository_importable"] is False
    assert summary["flags"] == readme.flags
    assert summary["rows"] == [[rule, pattern] for rule, pattern, _ in readme.rows]
    acked = copy.run("acked")
    assert acked["error"] is None, acked["error"]
    assert acked["findings"] == []
    for (rule, pattern, _), applied in zip(readme.rows, acked["applied"], strict=True):
        assert applied >= 1, f"{rule} at {pattern}: no construct of the app matches"
    types = acked["resource_types"]
    short = {
        t: types.get(t, 0) for t, least in SYNTHESIZED[group].items() if types.get(t, 0) < least
    }
    assert short == {}, f"synthesized fewer than {SYNTHESIZED[group]}"
    report = json.loads((copy.folder / "out" / "acked" / "validation-report.json").read_text())
    assert {p["pluginName"] for p in report["pluginReports"]} & set(PACKS), "no pack reported"
    assert all(p["violations"] == [] for p in report["pluginReports"])


@pytest.mark.slow
@pytest.mark.parametrize("group", GROUPS)
def test_without_the_documented_acks_exactly_the_documented_findings_appear(
    group: str, copies: Path
) -> None:
    """The control: each finding is a README row, and each row is needed."""
    readme = read_readme(group)
    bare = lifted(group, copies).run("bare")
    findings = bare["findings"]
    unexplained = [f for f in findings if not any(_covers(r, f) for r in readme.rows)]
    assert unexplained == [], "findings the README does not list"
    unneeded = [r[:2] for r in readme.rows if not any(_covers(r, f) for f in findings)]
    assert unneeded == [], "README rows no finding needs"
    assert (bare["error"] is None) == (findings == [])


@pytest.mark.slow
@pytest.mark.parametrize("group", GROUPS)
def test_what_the_constructs_acknowledge_themselves_is_in_the_readme(
    group: str, copies: Path
) -> None:
    """The packs ran and found what the constructs record; the README names each rule."""
    readme = read_readme(group)
    acked = lifted(group, copies).run("acked")
    documented = {rule for rule, _, _ in readme.rows}
    recorded = {
        acknowledged_id
        for acknowledged_id, _, _ in acked["suppressed"]
        if acknowledged_id.split("::", 1)[0] in PACKS and acknowledged_id not in documented
    }
    assert recorded, "no pack reported anything the constructs acknowledge: did the packs run?"
    missing = sorted(r for r in recorded if _rule_name(r) not in readme.recorded)
    assert missing == [], "recorded by the constructs but not in 'Recorded by the constructs'"


@pytest.mark.slow
@pytest.mark.parametrize("group", GROUPS)
def test_the_documented_flags_are_needed(group: str, copies: Path) -> None:
    readme = read_readme(group)
    copy = lifted(group, copies)
    if not readme.flags:
        assert "no-flags" not in copy.summary["runs"]  # the passing app had an empty context
        return
    without = copy.run("no-flags")
    assert without["error"] is not None, "the app passes without the README's flags"


@pytest.mark.slow
def test_secure_bucket_without_the_documented_flag_is_refused_by_cdk(copies: Path) -> None:
    without = lifted("data", copies).run("no-flags")
    assert 'objectOwnership must be set to "ObjectWriter"' in without["error"]


def test_groups_import_only_themselves_and_core() -> None:
    """Relative imports only, from ``..core`` and the groups ``NEEDS`` declares: complete copies."""
    assert set(NEEDS) <= set(GROUPS) and all(set(n) <= set(GROUPS) for n in NEEDS.values())
    for group in GROUPS:
        allowed = {"core", *NEEDS.get(group, ())}
        used: set[str] = set()
        for module in sorted((CONSTRUCTS / group).glob("*.py")):
            text = module.read_text(encoding="utf-8")
            assert not re.search(r"^\s*(from|import) secure_constructs\b", text, re.M), module
            for parent in re.findall(r"^\s*from \.\.(\w*)", text, re.M):
                assert group != "core" and parent in allowed, f"{module}: from ..{parent}"
                used.add(parent)
        assert set(NEEDS.get(group, ())) <= used, (
            f"{group}: NEEDS declares a group it never imports"
        )


def test_every_group_has_a_readme_and_the_index_lists_it() -> None:
    index = (CONSTRUCTS / "README.md").read_text(encoding="utf-8")
    for group in GROUPS:
        assert (CONSTRUCTS / group / "README.md").is_file()
        assert f"[`{group}/`]({group}/README.md)" in index
    assert {p.name for p in CONSTRUCTS.iterdir() if (p / "__init__.py").is_file()} == set(GROUPS)
