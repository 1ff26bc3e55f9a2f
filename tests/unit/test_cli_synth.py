"""Synthesis through the real CDK CLI: offline, deterministic, and equal to the in-process build."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gates.assembly import stacks
from tests.conftest import ROOT, Synthesized

CDK = ROOT / "node_modules" / ".bin" / "cdk"


def _no_network_prefix() -> list[str]:
    """``unshare -n`` runs a command with no network at all (root in a sandbox allows it)."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], check=False).returncode == 0:
        return [unshare, "-n"]
    pytest.skip("unshare -n is not permitted here, so 'no network' cannot be enforced")


@pytest.mark.slow
def test_cli_synth_without_network_matches_in_process_templates(
    org_synthesized: Synthesized, tmp_path: Path
) -> None:
    """The CLI synthesizes cdk.json as shipped (the example organization included)."""
    assert CDK.exists(), "the pinned CDK CLI is missing; run 'make test'"
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(name, None)
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        [
            *_no_network_prefix(),
            str(CDK),
            "synth",
            "--quiet",
            "--no-notices",
            "--no-version-reporting",
            "--ci",
            "--output",
            str(outdir),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (ROOT / "cdk.context.json").exists(), "synth must not record context lookups"
    cli = {s.stack_name: s.template() for s in stacks(outdir)}
    in_process = {s.stack_name: s.template() for s in org_synthesized.artifacts}
    assert sorted(cli) == sorted(in_process)
    for name, template in cli.items():
        assert template == in_process[name], f"{name} differs between two syntheses"


def test_make_synth_runs_the_app_with_the_context_the_cli_gives_it(tmp_path: Path) -> None:
    from tools.synth import CLI_CONTEXT, cached_context_problem, context

    one = context("dev")
    assert one["environment"] == "dev" and "ml-platform" in one
    assert {k: one[k] for k in CLI_CONTEXT} == CLI_CONTEXT
    assert "environment" not in context(None)
    assert cached_context_problem(tmp_path) is None
    (tmp_path / "cdk.context.json").write_text("{}")
    problem = cached_context_problem(tmp_path)
    assert problem is not None and "no context lookups" in problem and "remove it" in problem
