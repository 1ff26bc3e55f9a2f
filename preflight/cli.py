"""``python -m preflight --env <env> [--outdir cdk.out]``: check the account before a deploy.

``--post-deploy`` checks the deployed environment instead (``preflight.postdeploy``), and
``--role-arn`` assumes a role first (the pipeline's CDK lookup role).

Exit status: 0 no problem found; 1 at least one problem; 2 a usage error (bad config, no
``cdk.out`` for the environment, no credentials or AWS unreachable), printed as one line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError

from gates.assembly import AssemblyError, StackArtifact, stacks
from platform_config import ConfigError, EnvironmentConfig, load_config, read_cdk_json
from preflight import postdeploy
from preflight.plan import build_plan
from preflight.results import Clients, Context, NoAccess
from preflight.runner import exit_status, run, summary

ROOT = Path(__file__).resolve().parent.parent


class UsageError(RuntimeError):
    """Bad input: one line for the user, exit status 2."""


def _environment(cdk_json: Path, name: str) -> EnvironmentConfig:
    try:
        context = read_cdk_json(cdk_json)
        return load_config(context, name).environments[0]
    except ConfigError as err:
        raise UsageError(f"config error: {err}") from None
    except (OSError, ValueError) as err:
        raise UsageError(f"config error: {cdk_json}: {err}") from None


def _artifacts(outdir: Path, env: EnvironmentConfig) -> list[StackArtifact]:
    again = f"run make synth ENV={env.name} first"
    try:
        found = [a for a in stacks(outdir) if a.stage == env.name]
    except (AssemblyError, OSError, ValueError):
        raise UsageError(f"preflight: no synthesized cloud assembly in {outdir}: {again}") from None
    if not found:
        raise UsageError(f"preflight: {outdir} holds no stacks of {env.name}: {again}")
    stale = {(a.account, a.region) for a in found} - {(env.account, env.region)}
    if stale:
        account, region = sorted(stale)[0]
        raise UsageError(
            f"preflight: {outdir} has {env.name} for {account}/{region}, cdk.json says "
            f"{env.account}/{env.region}: {again}"
        )
    return found


def main(argv: Sequence[str] | None = None, session: boto3.session.Session | None = None) -> int:
    """Entry point; returns the exit status. ``session`` replaces the default boto3 session."""
    parser = argparse.ArgumentParser(prog="python -m preflight", description=__doc__)
    parser.add_argument("--env", required=True, help="the environment to check (cdk.json)")
    parser.add_argument("--outdir", type=Path, default=Path("cdk.out"), help="the cloud assembly")
    parser.add_argument("--cdk-json", type=Path, default=ROOT / "cdk.json", help=argparse.SUPPRESS)
    parser.add_argument(
        "--post-deploy", action="store_true", help="check the deployed environment instead"
    )
    parser.add_argument("--role-arn", help="assume this role first (read-only is enough)")
    args = parser.parse_args(argv)
    try:
        if not args.env.strip():
            raise UsageError("preflight: --env is empty: name an environment of cdk.json")
        env = _environment(args.cdk_json, args.env)
        artifacts = _artifacts(args.outdir, env)
        plan = build_plan(env, artifacts)
        try:
            session = session or boto3.session.Session(region_name=env.region)
        except BotoCoreError as err:
            raise NoAccess(f"no usable AWS session ({type(err).__name__}: {err})") from None
        if args.role_arn:
            session = postdeploy.assume_role(session, args.role_arn, env.region)
        clients = Clients(session, env.region)
        if args.post_deploy:
            context = postdeploy.build_context(plan, clients, artifacts, args.cdk_json)
            checks = postdeploy.run(context)
        else:
            checks = run(Context(plan, clients))
        results = [next(checks)]  # caller identity: NoAccess before anything is printed
    except UsageError as err:
        print(err, file=sys.stderr)
        return 2
    except NoAccess as err:
        print(f"preflight: {err}", file=sys.stderr)
        return 2
    title = "post-deploy" if args.post_deploy else "preflight"
    print(
        f"{title} {env.name}: account {env.account}, region {env.region}, "
        f"{len(plan.stack_names)} stacks from {args.outdir} (read-only calls)"
    )
    print(results[0].line(), flush=True)
    for result in checks:
        print(result.line(), flush=True)
        results.append(result)
    print(summary(results))
    return exit_status(results)
