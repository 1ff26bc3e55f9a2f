"""Run cfn-lint and checkov over a cloud assembly and count what they found and what is skipped."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gates.assembly import StackArtifact


class GateToolError(RuntimeError):
    """A gate tool could not run or its output could not be read."""


@dataclass
class GateResult:
    """What one tool reported over the whole assembly."""

    name: str
    rules: int
    findings: list[str] = field(default_factory=list)
    acknowledged: int = 0
    library_acknowledged: int = 0
    checks_evaluated: int = 0


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError as err:
        raise GateToolError(f"{command[0]} is not installed; run 'make synth' to set up") from err


def _sibling(tool: str) -> str:
    """A console script installed next to the running interpreter (the project's .venv)."""
    candidate = Path(sys.executable).parent / tool
    return str(candidate) if candidate.exists() else (shutil.which(tool) or tool)


def cfn_lint_ignores(template: dict[str, Any]) -> int:
    """Checks switched off in template or resource ``Metadata.cfn-lint.config.ignore_checks``."""
    count = len(
        template.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
    )
    for resource in template.get("Resources", {}).values():
        config = resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {})
        count += len(config.get("ignore_checks", []))
    return count


def run_cfn_lint(stacks: list[StackArtifact], executable: str | None = None) -> GateResult:
    """cfn-lint on every template; any error, warning or informational match is a finding.

    A cfn-lint that lists no rules, crashes (odd exit status: cfn-lint reports findings with the
    bits 2, 4 and 8) or prints nothing is an error, never "no findings".
    """
    executable = executable or _sibling("cfn-lint")
    listed = _run([executable, "--list-rules"])
    rules = len(re.findall(r"^[EWI]\d{4}:", listed.stdout, flags=re.MULTILINE))
    if rules == 0:
        raise GateToolError(f"cfn-lint ({executable}) lists no rules; run 'make synth' to set up")
    version = (_run([executable, "--version"]).stdout.split() or ["?"])[-1]
    result = _run([executable, "--format", "json", *(str(s.template_path) for s in stacks)])
    if result.returncode % 2 == 1 or not result.stdout.strip():
        raise GateToolError(
            f"cfn-lint failed (exit {result.returncode}): {result.stderr.strip()[-300:]}"
        )
    try:
        matches: list[dict[str, Any]] = json.loads(result.stdout)
    except json.JSONDecodeError as err:
        raise GateToolError(f"cfn-lint output is not JSON: {result.stderr.strip()[:300]}") from err
    gate = GateResult(name=f"cfn-lint {version}", rules=rules)
    for match in matches:
        where = Path(match.get("Filename", "?")).name
        gate.findings.append(f"{match['Rule']['Id']} {where}: {match.get('Message', '').strip()}")
    gate.acknowledged = sum(cfn_lint_ignores(s.template()) for s in stacks)
    return gate


def run_checkov(outdir: Path, executable: str) -> GateResult:
    """Checkov (CloudFormation framework) over the assembly, offline (``--skip-download``)."""
    result = _run(
        [
            executable,
            "-d",
            str(outdir),
            "--framework",
            "cloudformation",
            "-o",
            "json",
            "--skip-download",
        ]
    )
    try:
        report: Any = json.loads(result.stdout)
    except json.JSONDecodeError as err:
        raise GateToolError(f"checkov output is not JSON: {result.stderr.strip()[-300:]}") from err
    reports = report if isinstance(report, list) else [report]
    gate = GateResult(name="checkov", rules=0)
    check_ids: set[str] = set()
    for part in reports:
        gate.name = f"checkov {part.get('summary', {}).get('checkov_version', '?')}"
        results = part.get("results", {})
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in results.get(kind, []):
                check_ids.add(check["check_id"])
                gate.checks_evaluated += 1
        for check in results.get("failed_checks", []):
            gate.findings.append(
                f"{check['check_id']} {check.get('resource', '?')} "
                f"({check.get('file_path', '?')}): "
                f"{check.get('check_name', '')}"
            )
        gate.acknowledged += len(results.get("skipped_checks", []))
    if gate.checks_evaluated == 0:
        raise GateToolError(f"checkov evaluated no check over {outdir}: nothing was scanned")
    gate.rules = len(check_ids)
    return gate
