#!/usr/bin/env python3
"""CDK entry point: validate config, build one Stage per environment, synthesize with the gates.

Exit status: 0 on success; 2 on invalid configuration (one line on stderr, nothing synthesized);
1 when cdk-nag finds unacknowledged violations (a readable list on stderr, templates discarded so
nothing half-valid is left in cdk.out).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import aws_cdk as cdk

from gates.nag import REPORT_FILE, read_findings, register_packs
from platform_config import CONTEXT_KEY, SELECT_KEY, ConfigError, load_config
from stacks.stage import build_stages


def discard_assembly(outdir: Path, *, keep: tuple[str, ...] = ()) -> None:
    """Remove what synthesis wrote to ``outdir`` so no stale or partial templates look valid.

    Lock files the CDK CLI holds in the directory, and names in ``keep``, are left in place.
    """
    if not outdir.is_dir():
        return
    for entry in outdir.iterdir():
        if entry.name in keep or entry.name.endswith(".lock"):
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def main() -> int:
    """Build and synthesize the app; return the process exit status."""
    app = cdk.App()
    outdir = Path(app.outdir)
    try:
        platform = app.node.try_get_context(CONTEXT_KEY)
        config = load_config(
            {} if platform is None else {CONTEXT_KEY: platform},
            app.node.try_get_context(SELECT_KEY),
        )
    except ConfigError as err:
        discard_assembly(outdir)
        print(f"config error: {err}", file=sys.stderr)
        return 2

    build_stages(app, config)
    register_packs(app)
    try:
        app.synth()
    except RuntimeError as err:
        if "ValidationFailed" not in str(err):
            raise
        findings = read_findings(outdir)
        discard_assembly(outdir, keep=(REPORT_FILE,))
        print(
            f"cdk-nag: {len(findings)} unacknowledged finding(s); fix them or acknowledge each "
            f"next to its resource with a specific reason (full report: {outdir / REPORT_FILE}):",
            file=sys.stderr,
        )
        for finding in findings:
            print(f"  {finding.line()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
