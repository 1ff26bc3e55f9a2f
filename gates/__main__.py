"""``python -m gates cdk.out``: run cfn-lint, checkov, the policy-reference check; print a summary.

cdk-nag's results are read from the assembly (cdk-nag itself runs inside synthesis).

Exit status 0 when every gate reports zero unacknowledged findings, 1 when any does, 2 when the
assembly or a tool cannot be read. The summary is also written to ``cdk.out/gates-summary.json``
and, as printed, to ``cdk.out/gates-summary.txt``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ml_genai_checks.rules  # noqa: F401 - registers the rules (pure Python, no jsii)
from gates.assembly import AssemblyError, StackArtifact, stacks
from gates.cache import GateCache
from gates.cost import PRICE_SOURCE, estimate
from gates.nag_report import (
    PACK_SOURCES,
    REPORT_FILE,
    acknowledgement_counts,
    read_findings,
    rule_counts,
)
from gates.policy_refs import run_policy_refs
from gates.tools import GateResult, GateToolError, run_cfn_lint, run_checkov
from ml_genai_checks.model import REGISTRY
from ml_genai_checks.run_record import RUN_RECORD

SUMMARY_FILE = "gates-summary.json"
SUMMARY_TEXT_FILE = "gates-summary.txt"
"""The printed summary, verbatim, for the report (``python -m report``)."""
CDK_BUILTIN = "CloudFormation-Validate"


RULE_PACK = "MLGenAIChecks"
"""The ML/GenAI rule pack's plugin name (``ml_genai_checks``), a row beside cdk-nag's."""


def ran_plugins(outdir: Path) -> set[str]:
    """Names of the validation plugins that ran: their report, or the rule pack's run record.

    CDK leaves a plugin with nothing to report out of ``validation-report.json``; the rule pack
    therefore records its run beside the templates (``ml_genai_checks.run_record``).
    """
    path = outdir / REPORT_FILE
    report = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    found = {
        str(p.get("pluginName", "")).replace(" ", "-") for p in report.get("pluginReports", [])
    }
    if any(outdir.glob(f"**/{RUN_RECORD}")):
        found.add(RULE_PACK)
    return found


def nag_results(outdir: Path, expected: Sequence[str] | None = None) -> list[GateResult]:
    """One result per cdk-nag pack and the rule pack, plus CDK's built-in CloudFormation rules.

    A pack whose report is absent did not run: its row says so and, when the pack is
    ``expected`` (all of them unless the caller names which), fails the gate; a pack not
    expected and not run is shown as not run, never as passed.
    """
    findings = read_findings(outdir)
    acks = acknowledgement_counts(outdir)
    library_acks = acknowledgement_counts(outdir, ours=False)
    counts = {**rule_counts(), RULE_PACK: len(REGISTRY)}
    ran = ran_plugins(outdir)
    wanted = set(expected) if expected is not None else {*counts}
    results = []
    for name in [*(n for n, _ in PACK_SOURCES), RULE_PACK]:
        label = f"cdk-nag {name}" if name != RULE_PACK else "ml_genai_checks"
        result = GateResult(
            name=label,
            rules=counts[name],
            findings=[f.line() for f in findings if f.pack == name],
            acknowledged=acks.get(name, 0),
            library_acknowledged=library_acks.get(name, 0),
        )
        if name not in ran:
            result.name = f"{label} (no report)"
            result.rules = 0
            if name in wanted:
                result.findings.append(
                    f"{name}: no report in {outdir / REPORT_FILE}: the pack did not run during "
                    "synthesis, or ran and reported nothing at all (CDK then leaves it out); "
                    "register it, or name the packs you expect with --packs"
                )
        results.append(result)
    results.append(
        GateResult(
            name=f"CDK {CDK_BUILTIN}",
            rules=0,
            findings=[f.line() for f in findings if f.pack == CDK_BUILTIN],
            acknowledged=acks.get(CDK_BUILTIN, 0),
            library_acknowledged=library_acks.get(CDK_BUILTIN, 0),
        )
    )
    return results


def render(results: list[GateResult], all_stacks: list[StackArtifact]) -> str:
    """The human summary: gates table, stacks per environment, fixed monthly cost."""
    by_env: dict[str, list[StackArtifact]] = defaultdict(list)
    for stack in all_stacks:
        # Stacks outside any stage (the delivery pipeline and its cross-region support stack).
        by_env[stack.stage or "tooling (no stage)"].append(stack)
    lines = ["", "Synthesized environments:"]
    for env, env_stacks in by_env.items():
        resources = sum(sum(s.resource_types().values()) for s in env_stacks)
        names = ", ".join(s.stack_name for s in env_stacks)
        lines.append(f"  {env}: {len(env_stacks)} stacks, {resources} resources ({names})")
    width = max([32, *(len(r.name) for r in results)])
    header = f"{'rules':>6} {'findings':>9} {'acknowledged':>13} {'by aws-cdk-lib':>15}"
    lines += ["", f"  {'gate':{width}} {header}"]
    for result in results:
        rules = str(result.rules) if result.rules else "-"
        lines.append(
            f"  {result.name:{width}} {rules:>6} {len(result.findings):>9}"
            f" {result.acknowledged:>13} {result.library_acknowledged:>15}"
        )
    reused = [r for r in results if r.cached]
    if reused:
        said = ", ".join(f"{r.name} {r.cached} of {r.templates}" for r in reused)
        lines += ["", f"Templates unchanged since an earlier run, results from the cache: {said}."]
    lines += ["", f"Fixed monthly cost ({PRICE_SOURCE}; data and usage extra):"]
    lines += [f"  {estimate(env, env_stacks).line()}" for env, env_stacks in by_env.items()]
    failing = [f for r in results for f in r.findings]
    if failing:
        lines += ["", f"FAILED: {len(failing)} unacknowledged finding(s):"]
        lines += [f"  {finding}" for finding in failing]
    else:
        lines += ["", "All gates passed: zero unacknowledged findings."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m gates", description=__doc__)
    parser.add_argument("outdir", type=Path, help="the cloud assembly directory (cdk.out)")
    parser.add_argument("--checkov", default="checkov", help="checkov executable")
    parser.add_argument(
        "--packs",
        default=None,
        help="comma-separated packs the assembly must have run (default: every cdk-nag pack "
        f"and {RULE_PACK}); any other pack that did not run is shown as not run",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="keep cfn-lint and checkov results per template here (gates/cache.py); "
        "an unchanged template skips them",
    )
    args = parser.parse_args(argv)
    cache = GateCache(args.cache) if args.cache else None
    expected = [p.strip() for p in args.packs.split(",") if p.strip()] if args.packs else None
    try:
        all_stacks = stacks(args.outdir)
        # cfn-lint and checkov are separate processes of about 12 s each: run them at once
        # (2 cores) while cdk-nag's report and the policy-reference gate are read here.
        with ThreadPoolExecutor(max_workers=2) as pool:
            cfn_lint = pool.submit(run_cfn_lint, all_stacks, None, cache)
            checkov = pool.submit(run_checkov, args.outdir, args.checkov, cache)
            nag = nag_results(args.outdir, expected)
            policy_refs = run_policy_refs(all_stacks)
            results = [*nag, cfn_lint.result(), checkov.result(), policy_refs]
    except (AssemblyError, GateToolError) as err:
        print(f"gates: {err}", file=sys.stderr)
        return 2
    printed = render(results, all_stacks)
    print(printed)
    summary = {
        "gates": [
            {
                "name": r.name,
                "rules": r.rules,
                "findings": r.findings,
                "acknowledged": r.acknowledged,
                "acknowledged_by_aws_cdk_lib": r.library_acknowledged,
                "checks_evaluated": r.checks_evaluated,
                "templates": r.templates,
                "templates_from_cache": r.cached,
                "acknowledgement_notes": r.acknowledgement_notes,
            }
            for r in results
        ],
        "stacks": [
            {
                "environment": s.stage,
                "stack": s.stack_name,
                "resources": sum(s.resource_types().values()),
            }
            for s in all_stacks
        ],
    }
    (args.outdir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (args.outdir / SUMMARY_TEXT_FILE).write_text(printed.lstrip("\n") + "\n", encoding="utf-8")
    return 1 if any(r.findings for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
