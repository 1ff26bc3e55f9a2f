"""Run cfn-lint and checkov over a cloud assembly and count what they found and what is skipped."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gates.assembly import StackArtifact
from gates.assembly import stacks as assembly_stacks
from gates.cache import GateCache

CFN_LINT_OPTIONS = ("--format", "json")
CHECKOV_OPTIONS = ("--framework", "cloudformation", "-o", "json", "--skip-download")


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
    templates: int = 0
    cached: int = 0
    """Of ``templates``, how many results came from the cache (the same tool version, options
    and template bytes; ``gates.cache``)."""
    acknowledgement_notes: list[str] = field(default_factory=list)
    """What was acknowledged, one line each, where the acknowledgement sits in no template
    (the policy-reference gate's reference supplements); the report lists them."""


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


def run_cfn_lint(
    stacks: list[StackArtifact], executable: str | None = None, cache: GateCache | None = None
) -> GateResult:
    """cfn-lint on every template; any error, warning or informational match is a finding.

    A cfn-lint that lists no rules, crashes (odd exit status: cfn-lint reports findings with the
    bits 2, 4 and 8) or prints nothing is an error, never "no findings". With ``cache``, only
    templates whose result is not cached are linted.
    """
    executable = executable or _sibling("cfn-lint")
    version = (_run([executable, "--version"]).stdout.split() or ["?"])[-1]
    rules_key = GateCache.key("cfn-lint", version, ["--list-rules"], "", b"")
    rules = cache.get("cfn-lint", rules_key) if cache else None
    if not isinstance(rules, int):
        listed = _run([executable, "--list-rules"])
        rules = len(re.findall(r"^[EWI]\d{4}:", listed.stdout, flags=re.MULTILINE))
        if rules == 0:
            raise GateToolError(
                f"cfn-lint ({executable}) lists no rules; run 'make synth' to set up"
            )
        if cache:
            cache.put("cfn-lint", rules_key, rules)
    keys = {
        s.template_path: GateCache.key(
            "cfn-lint",
            version,
            CFN_LINT_OPTIONS,
            s.template_path.name,
            s.template_path.read_bytes(),
        )
        for s in stacks
    }
    matches: dict[Path, list[list[str]]] = {}
    for path, key in keys.items():
        found = cache.get("cfn-lint", key) if cache else None
        if isinstance(found, list):
            matches[path] = found
    cached = len(matches)
    missing = [path for path in keys if path not in matches]
    if missing:
        for path, found in _lint(executable, missing).items():
            matches[path] = found
            if cache:
                cache.put("cfn-lint", keys[path], found)
    gate = GateResult(name=f"cfn-lint {version}", rules=rules, templates=len(stacks), cached=cached)
    for s in stacks:
        gate.findings += [
            f"{rule} {s.template_path.name}: {message}"
            for rule, message in matches[s.template_path]
        ]
    gate.acknowledged = sum(cfn_lint_ignores(s.template()) for s in stacks)
    return gate


def _lint(executable: str, paths: list[Path]) -> dict[Path, list[list[str]]]:
    """cfn-lint's matches per template: ``[rule ID, message]``."""
    result = _run([executable, *CFN_LINT_OPTIONS, *(str(p) for p in paths)])
    if result.returncode % 2 == 1 or not result.stdout.strip():
        raise GateToolError(
            f"cfn-lint failed (exit {result.returncode}): {result.stderr.strip()[-300:]}"
        )
    try:
        reported: list[dict[str, Any]] = json.loads(result.stdout)
    except json.JSONDecodeError as err:
        raise GateToolError(f"cfn-lint output is not JSON: {result.stderr.strip()[:300]}") from err
    found: dict[Path, list[list[str]]] = {path: [] for path in paths}
    by_name = {str(path): path for path in paths}
    for match in reported:
        path = by_name.get(match.get("Filename", ""))
        if path is None:
            raise GateToolError(f"cfn-lint reported a file it was not given: {match}")
        found[path].append([match["Rule"]["Id"], match.get("Message", "").strip()])
    return found


def run_checkov(outdir: Path, executable: str, cache: GateCache | None = None) -> GateResult:
    """Checkov (CloudFormation framework) over the templates of the assembly's stacks, offline.

    With ``cache`` (and checkov's version readable from its interpreter), only templates whose
    result is not cached are scanned, from a copy at the same relative paths.
    """
    templates = sorted(s.template_path for s in assembly_stacks(outdir))
    version = _checkov_version(executable) if cache else None
    names = {path: "/" + path.relative_to(outdir).as_posix() for path in templates}
    keys = {
        path: GateCache.key("checkov", version, CHECKOV_OPTIONS, names[path], path.read_bytes())
        for path in templates
        if version
    }
    results: dict[str, dict[str, Any]] = {}
    for path, key in keys.items():
        found = cache.get("checkov", key) if cache else None
        if isinstance(found, dict):
            results[names[path]] = found
    cached = len(results)
    missing = [path for path in templates if names[path] not in results]
    if missing:
        scanned, version = _scan(executable, outdir, missing, names)
        for path in missing:
            results[names[path]] = scanned.get(names[path], {"checks": {}, "failed": []})
            if cache and path in keys:
                cache.put("checkov", keys[path], results[names[path]])
    gate = GateResult(
        name=f"checkov {version or '?'}", rules=0, templates=len(templates), cached=cached
    )
    check_ids: set[str] = set()
    for name in sorted(results):
        for kind, ids in results[name]["checks"].items():
            check_ids.update(ids)
            gate.checks_evaluated += len(ids)
            if kind == "skipped_checks":
                gate.acknowledged += len(ids)
        gate.findings += results[name]["failed"]
    if gate.checks_evaluated == 0:
        raise GateToolError(f"checkov evaluated no check over {outdir}: nothing was scanned")
    gate.rules = len(check_ids)
    return gate


def _checkov_version(executable: str) -> str | None:
    """Checkov's version from the interpreter it runs on (no checkov start-up), or None."""
    resolved = shutil.which(executable) or executable
    python = Path(resolved).parent / "python"
    if not python.exists():
        return None
    found = _run([str(python), "-c", "import importlib.metadata as m; print(m.version('checkov'))"])
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else None


def _scan(
    executable: str, outdir: Path, paths: list[Path], names: dict[Path, str]
) -> tuple[dict[str, dict[str, Any]], str]:
    """Checkov over copies of ``paths`` at their relative paths: results per template name."""
    with tempfile.TemporaryDirectory(prefix="checkov-") as scratch:
        root = Path(scratch)
        for path in paths:
            target = root / path.relative_to(outdir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        result = _run([executable, "-d", str(root), *CHECKOV_OPTIONS])
    try:
        report: Any = json.loads(result.stdout)
    except json.JSONDecodeError as err:
        raise GateToolError(f"checkov output is not JSON: {result.stderr.strip()[-300:]}") from err
    reports = report if isinstance(report, list) else [report]
    version = "?"
    per_file: dict[str, dict[str, Any]] = {}
    for part in reports:
        version = part.get("summary", {}).get("checkov_version", version)
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in part.get("results", {}).get(kind, []):
                entry = per_file.setdefault(check["file_path"], {"checks": {}, "failed": []})
                entry["checks"].setdefault(kind, []).append(check["check_id"])
                if kind == "failed_checks":
                    entry["failed"].append(
                        f"{check['check_id']} {check.get('resource', '?')} "
                        f"({check['file_path']}): {check.get('check_name', '')}"
                    )
    unknown = set(per_file) - set(names.values())
    if unknown:
        raise GateToolError(f"checkov reported files it was not given: {sorted(unknown)}")
    return per_file, version
