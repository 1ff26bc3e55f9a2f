"""``python -m offline``: deploy synthesized environments into a moto server on loopback.

For each environment: start a moto server on 127.0.0.1, deploy every stack from ``cdk.out``,
print the coverage report, the deployed state read back through the APIs and the permission
matrix, delete the stacks, show what survived, and stop the server. No AWS account is used.

Exit status: 0 all good; 1 a deployment, a matrix row or the retention check failed (one line
naming the stack, resource or row); 2 bad input (no cdk.out, unknown environment, port in use,
server cannot start).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import warnings
from pathlib import Path

from gates.assembly import AssemblyError, stacks
from offline.deploy import DeploymentError, OfflineDeployment, environment_stacks
from offline.permissions import run_matrix
from offline.state import Emulator, bucket_names, summary, targets

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "offline",
    "AWS_SECRET_ACCESS_KEY": "offline",
    "AWS_SESSION_TOKEN": "offline",
}


class UsageError(RuntimeError):
    """Bad input: one line for the user, exit status 2."""


def check_port_free(port: int) -> None:
    """Raise ``UsageError`` when ``127.0.0.1:port`` cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server does: connections in TIME_WAIT do not block, a listener does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as err:
            raise UsageError(
                f"port {port} on 127.0.0.1 is not available ({err.strerror}); "
                "choose another: make deploy-local PORT=<free port>"
            ) from None


def deploy_environment(outdir: Path, environment: str, port: int) -> bool:
    """Deploy, report, delete one environment on a fresh server; True when everything held."""
    from moto.server import ThreadedMotoServer

    stacks = environment_stacks(outdir, environment)
    account, region = stacks[0].account, stacks[0].region
    os.environ.update(FAKE_CREDENTIALS, MOTO_ACCOUNT_ID=account, AWS_DEFAULT_REGION=region)
    check_port_free(port)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    try:
        server.start()
    except Exception as err:
        raise UsageError(f"the moto server could not start on 127.0.0.1:{port}: {err}") from None
    ok = True
    try:
        emulator = Emulator(region=region, endpoint_url=f"http://127.0.0.1:{port}")
        deployment = OfflineDeployment(outdir, environment, emulator.client)
        print(
            f"\n== {environment} (account {account}, {region}) on moto at {emulator.endpoint_url}"
        )
        reports = {}
        for report in deployment.deploy_all():
            kind = report.stack_name.rsplit("-", 1)[1]
            reports[kind] = report
            print(
                f"  {report.stack_name}: {report.status}; created {sum(report.created.values())}"
                f" of {report.declared}"
            )
            for label, tally in (
                ("skipped by moto", report.skipped),
                ("stood in", report.stood_in),
                ("completed via API", report.completed),
                ("not emulated", report.not_emulated),
            ):
                for kind_name, count in sorted(tally.items()):
                    print(f"      {label}: {kind_name} x{count}")
            for shim in report.shims:
                print(f"      moto shim: {shim}")
        print("  deployed state:")
        for line in summary(reports, emulator.client):
            print(f"    {line}")
        outcomes = run_matrix(reports, targets(reports, emulator, account), emulator.client)
        passed = sum(o.passed for o in outcomes)
        print(f"  permission matrix: {passed}/{len(outcomes)} rows as expected")
        for outcome in outcomes:
            mark = "ok  " if outcome.passed else "FAIL"
            print(
                f"    {mark} {outcome.check.role:10} {outcome.actual:5} (expect "
                f"{outcome.check.expect}) {outcome.check.call}: {outcome.check.why}"
            )
        ok = passed == len(outcomes)
        s3 = emulator.client("s3")
        buckets = bucket_names(reports["data"])
        deletions = deployment.delete_all()
        for deletion in deletions:
            print(f"  delete {deletion.stack_name}: {deletion.status} {deletion.reason}".rstrip())
        left = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        kept = sorted(family for family, name in buckets.items() if name in left)
        print(f"  retained after deletion: buckets {', '.join(kept)}")
        if len(kept) != len(buckets):
            print(f"  FAIL: buckets lost on deletion: {sorted(set(buckets) - set(kept))}")
            ok = False
    finally:
        server.stop()
    return ok


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m offline", description=__doc__)
    parser.add_argument("command", choices=["deploy"])
    parser.add_argument("--outdir", type=Path, default=Path("cdk.out"))
    parser.add_argument("--env", action="append", help="environment (repeatable; default: all)")
    parser.add_argument("--port", type=int, default=5125)
    args = parser.parse_args(argv)
    # The coverage report lists what moto skips; its per-resource warnings and the server's
    # request log would only bury it.
    warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto")
    logging.getLogger("moto").setLevel(logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    try:
        names = args.env or sorted({s.stage for s in stacks(args.outdir)})
        results = [deploy_environment(args.outdir, name, args.port) for name in names]
    except (UsageError, AssemblyError) as err:
        print(f"offline: {err}", file=sys.stderr)
        return 2
    except DeploymentError as err:
        message = str(err)
        print(f"offline: {message}", file=sys.stderr)
        return 2 if "run 'make synth'" in message or "no stacks for" in message else 1
    print("\nAll environments held." if all(results) else "\nFAILED: see the lines marked FAIL.")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
