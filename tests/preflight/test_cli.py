"""``python -m preflight``: usage errors, no credentials, and a moto server on loopback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from preflight.cli import main
from tests.conftest import ROOT, Synthesized, raw_platform
from tests.preflight.conftest import FAKE_CREDENTIALS, bootstrap_template

EMULATOR_GAPS = ("lambda concurrency", "access analyzer", "bedrock models")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, "AWS_EC2_METADATA_DISABLED": "true", **extra}


def _preflight(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "preflight", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


# --------------------------------------------------------------------------- usage errors


def test_missing_assembly_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--env", "dev", "--outdir", str(tmp_path / "cdk.out")]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"preflight: no synthesized cloud assembly in {tmp_path / 'cdk.out'}: "
        "run make synth ENV=dev first"
    ]


def test_environment_not_in_the_assembly(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())
    manifest["artifacts"] = {
        k: v
        for k, v in manifest["artifacts"].items()
        if v.get("type") != "cdk:cloud-assembly"
        or v["properties"]["directoryName"] == "assembly-prod"
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    shutil.copytree(synthesized.outdir / "assembly-prod", tmp_path / "assembly-prod")
    assert main(["--env", "dev", "--outdir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"preflight: {tmp_path} holds no stacks of dev: run make synth ENV=dev first"
    ]


def test_config_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    platform = raw_platform()
    platform["environments"]["dev"]["nat_gateways"] = 3
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"context": {"ml-platform": platform}}))
    assert main(["--env", "dev", "--cdk-json", str(cdk_json)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "config error: ml-platform.environments.dev.nat_gateways = 3: an integer from 1 to the "
        "number of availability_zones (2)"
    ]


def test_unknown_or_empty_environment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--env", "qa"]) == 2
    assert capsys.readouterr().err.strip() == 'config error: environment = "qa": one of dev, prod'
    assert main(["--env", " "]) == 2
    assert "--env is empty" in capsys.readouterr().err


def test_stale_assembly_is_refused(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    platform = raw_platform()
    # the account, and every role ARN of it (admins, invokers, batch submitters), moves
    dev = json.dumps(platform["environments"]["dev"]).replace("111111111111", "333333333333")
    platform["environments"]["dev"] = json.loads(dev)
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"context": {"ml-platform": platform}}))
    args = ["--env", "dev", "--outdir", str(synthesized.outdir), "--cdk-json", str(cdk_json)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "has dev for 111111111111/us-east-1, cdk.json says 333333333333/us-east-1" in err
    assert err.strip().endswith("run make synth ENV=dev first")


@pytest.mark.slow
def test_no_credentials_is_one_line_and_exit_2(synthesized: Synthesized, tmp_path: Path) -> None:
    env = _clean_env(
        AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none")
    )
    result = _preflight("--env", "dev", "--outdir", str(synthesized.outdir), env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "preflight: no AWS credentials found for dev (account 111111111111): sign in "
        "(aws sso login, AWS_PROFILE or AWS_ACCESS_KEY_ID) and run again"
    ]


@pytest.mark.slow
def test_unreachable_endpoint_is_one_line(synthesized: Synthesized) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _clean_env(**FAKE_CREDENTIALS, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    result = _preflight("--env", "dev", "--outdir", str(synthesized.outdir), env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "EndpointConnectionError" in lines[0]
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- moto server


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port (its state is reset by each test)."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def server(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The server, reset, answering as dev's account (the server thread reads MOTO_ACCOUNT_ID)."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111111111111")
    reset = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()
    yield moto_server
    urllib.request.urlopen(reset, timeout=10).close()


def _seeder(url: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="seed", aws_secret_access_key="seed", region_name="us-east-1"
    )
    return lambda service: session.client(service, endpoint_url=url)


def _run_against(url: str, synthesized: Synthesized) -> subprocess.CompletedProcess[str]:
    env = _clean_env(**FAKE_CREDENTIALS, AWS_ENDPOINT_URL=url)
    return _preflight("--env", "dev", "--outdir", str(synthesized.outdir), env=env)


def _statuses(stdout: str) -> dict[str, str]:
    statuses = {}
    for line in stdout.splitlines():
        for status in ("could not check", "problem", "ok"):
            if line.startswith(f"{status} "):
                statuses[line[16:36].strip()] = status
                break
    return statuses


@pytest.mark.slow
def test_clean_server_passes_apart_from_what_moto_cannot_answer(
    server: str, synthesized: Synthesized
) -> None:
    client = _seeder(server)
    client("cloudformation").create_stack(
        StackName="CDKToolkit", TemplateBody=bootstrap_template("30")
    )
    client("macie2").disable_macie()  # moto starts with Macie enabled
    result = _run_against(server, synthesized)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    statuses = _statuses(result.stdout)
    assert len(statuses) == 15, result.stdout
    assert {n for n, s in statuses.items() if s != "ok"} == set(EMULATOR_GAPS)
    assert all(statuses[n] == "could not check" for n in EMULATOR_GAPS)
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("summary: 12 ok, 0 problems, 3 could not check (")
    assert ", ".join(EMULATOR_GAPS) in last


@pytest.mark.slow
def test_server_with_conflicts_reports_each_by_name(server: str, synthesized: Synthesized) -> None:
    client = _seeder(server)
    client("config").put_configuration_recorder(
        ConfigurationRecorder={"name": "default", "roleARN": "arn:aws:iam::111111111111:role/c"}
    )
    client("guardduty").create_detector(Enable=True)
    client("securityhub").enable_security_hub()
    # Macie: moto starts enabled, which is the conflict.
    client("inspector2").enable(accountIds=["111111111111"], resourceTypes=["EC2", "ECR"])
    client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={"s3Config": {"bucketName": "control-tower-logs"}}
    )
    client("logs").create_log_group(logGroupName="/aws/sagemaker/Endpoints")
    # No bootstrap at all.
    result = _run_against(server, synthesized)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    statuses = _statuses(result.stdout)
    problems = {n for n, s in statuses.items() if s == "problem"}
    assert problems == {
        "config recorder",
        "guardduty detector",
        "security hub",
        "macie",
        "inspector",
        "invocation logging",
        "sagemaker log groups",
        "cdk bootstrap",
    }, result.stdout
    assert "Inspector activation (EC2, ECR scans) exists already" in result.stdout
    assert "/aws/sagemaker/Endpoints exists already" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("summary: 4 ok, 8 problems, 3 could")


@pytest.mark.slow
def test_server_of_another_account(
    server: str, synthesized: Synthesized, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")
    result = _run_against(server, synthesized)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines[1].startswith("problem         caller identity      credentials are for account")
    assert len(lines) == 3 and "wrong account" in lines[2]
