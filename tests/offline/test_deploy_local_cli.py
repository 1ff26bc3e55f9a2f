"""``python -m offline deploy`` (``make deploy-local``): the moto server on loopback, end to end."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gates.assembly import stacks
from offline.permissions import MATRIX
from offline.state import BUCKET_IDS
from tests.conftest import ROOT, Synthesized

EXPECTED = json.loads((ROOT / "offline" / "expected_coverage.json").read_text())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _offline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offline", "deploy", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.slow
def test_deploy_local_on_a_moto_server_every_environment(synthesized: Synthesized) -> None:
    result = _offline("--outdir", str(synthesized.outdir), "--port", str(_free_port()))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for env in synthesized.config.environments:
        section = out.split(f"== {env.name} (account {env.account}")[1].split("\n== ")[0]
        for stack in ("keys", "network", "data"):
            assert f"secure-ml-{env.name}-{stack}: CREATE_COMPLETE" in section
        assert "stood in: Custom::VpcRestrictDefaultSG x1" in section
        policies = EXPECTED["data"]["skipped"]["AWS::S3::BucketPolicy"]
        assert f"skipped by moto: AWS::S3::BucketPolicy x{policies}" in section
        subnets = 3 * len(env.availability_zones)
        assert f"Subnets: {subnets}, auto-assigning public IPs: 0" in section
        assert f"permission matrix: {len(MATRIX)}/{len(MATRIX)} rows as expected" in section
        families = ", ".join(sorted(BUCKET_IDS.values()))
        assert f"retained after deletion: buckets {families}" in section
    assert "All environments held." in out


def test_port_in_use_is_a_clear_error(synthesized: Synthesized) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = _offline("--outdir", str(synthesized.outdir), "--env", "dev", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"offline: port {port} on 127.0.0.1 is not available (Address already in use); "
        "choose another: make deploy-local PORT=<free port>"
    ]


def test_missing_assembly_is_a_clear_error(tmp_path: Path) -> None:
    result = _offline("--outdir", str(tmp_path / "cdk.out"), "--port", str(_free_port()))
    assert result.returncode == 2
    assert "no manifest.json; run 'make synth' first" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_environment_is_a_clear_error(synthesized: Synthesized) -> None:
    result = _offline(
        "--outdir", str(synthesized.outdir), "--env", "qa", "--port", str(_free_port())
    )
    assert result.returncode == 2
    assert "no stacks for environment 'qa'; synthesized: dev, prod" in result.stderr


@pytest.mark.slow
def test_a_template_that_fails_names_the_stack_and_resource(
    synthesized: Synthesized, tmp_path: Path
) -> None:
    outdir = tmp_path / "cdk.out"
    shutil.copytree(synthesized.outdir, outdir)
    keys = next(s for s in stacks(outdir) if s.stage == "dev" and s.stack_name.endswith("-keys"))
    template = json.loads(keys.template_path.read_text())
    template["Resources"]["BrokenParameter"] = {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Type": "String", "Value": {"Ref": "NoSuchResource"}},
    }
    keys.template_path.write_text(json.dumps(template))
    result = _offline("--outdir", str(outdir), "--env", "dev", "--port", str(_free_port()))
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        "offline: secure-ml-dev-keys: resource BrokenParameter (AWS::SSM::Parameter) references "
        "NoSuchResource, which the template does not declare"
    )
