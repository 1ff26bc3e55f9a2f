"""Benchmark synthesis against a minimal one-stack CDK Python app, measured in the same run.

Usage: ``make bench`` (or ``.venv/bin/python tools/benchmark.py --runs 3``).

For each command it records wall time (median of ``--runs`` runs without memory sampling, which
would take CPU from the command) and, in one more run, peak memory two ways: the peak
summed resident memory of the whole process tree (python, the jsii node runtime and the CDK CLI
run at once; sampled from /proc every 20 ms) and the largest single process (rusage). Figures
are reported as ratios to the baseline, with the machine noted. Results also go to
``bench-results/benchmark.json``.

``make synth`` is measured with the gates' result cache emptied before each run (cold: every
template linted and scanned, the figure to compare) and with it warm (templates unchanged since
the run before, as in an edit-synth loop that touches nothing: cfn-lint and checkov skipped).

Node: the baseline runs on the machine's own Node (``node`` on PATH without the project's
``node_modules/.bin``), the platform's commands on the Node the project installs
(``node_modules/.bin/node``, Node 24 LTS on linux-x64, as the Makefile puts it first on PATH);
both versions are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"
CDK_FLAGS = ["--quiet", "--no-notices", "--no-version-reporting", "--ci"]
CACHE = ".gate-cache"
"""The gates' result cache (``make synth --cache``): emptied before each cold run."""


@dataclass
class Measurement:
    """Median wall time and peak memory of one command over several runs."""

    name: str
    command: str
    wall_seconds: float
    tree_peak_mib: float
    largest_process_mib: float


def _tree_rss_kib(root_pid: int) -> int:
    """Summed VmRSS of ``root_pid`` and all its descendants, in KiB."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry)] = int(fields.get("PPid", "0").strip())
        rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    tree = {root_pid}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return sum(rss.get(pid, 0) for pid in tree)


def run_once(
    command: list[str], cwd: Path, env: dict[str, str], *, sample_memory: bool = True
) -> tuple[float, float, float]:
    """Run ``command``; return wall seconds, tree peak MiB (0 unless sampled), largest MiB.

    Sampling reads every process's /proc status 50 times a second, which takes CPU from the
    command on a 2-core machine: timed runs do not sample.
    """
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kib(process.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_memory:
        sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    if sample_memory:
        sampler.join()
    stderr = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark: {' '.join(command)} failed:\n{stderr[-2000:]}")
    return wall, peak / 1024, usage.ru_maxrss / 1024


def measure(
    name: str,
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    runs: int,
    *,
    sample_memory: bool = True,
) -> Measurement:
    """Median wall time over ``runs`` unsampled runs; memory from one more, sampled, run.

    Without ``sample_memory`` there is no extra run and the tree peak is reported as 0.
    """
    timed = [run_once(command, cwd, env, sample_memory=False) for _ in range(runs)]
    _, tree_peak, largest = run_once(command, cwd, env) if sample_memory else (0.0, 0.0, 0.0)
    return Measurement(
        name=name,
        command=" ".join(command),
        wall_seconds=statistics.median(r[0] for r in timed),
        tree_peak_mib=tree_peak,
        largest_process_mib=max(largest, *(r[2] for r in timed)),
    )


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory_gib": f"{mem_kib / 1024 / 1024:.1f}",
        "python": platform.python_version(),
        "node_system": _node_version(_system_path()),
        "node_project": _node_version(_project_path()),
        "os": platform.platform(),
    }


def _system_path() -> str:
    """PATH without the project's node_modules/.bin: the machine's own Node."""
    own = str(ROOT / "node_modules" / ".bin")
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != own)


def _project_path() -> str:
    """PATH with the project's node_modules/.bin first, as the Makefile sets it."""
    return os.pathsep.join([str(ROOT / "node_modules" / ".bin"), _system_path()])


def _node_version(path: str) -> str:
    found = subprocess.run(
        ["node", "--version"], capture_output=True, text=True, check=False, env={"PATH": path}
    )
    return found.stdout.strip() or "none"


def main() -> int:
    """Run the benchmark and print a table of figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--test-runs", type=int, default=1, help="runs of make test, unsampled (0: skip it)"
    )
    args = parser.parse_args()
    if not CDK.exists():
        print("benchmark: run 'make setup' first (the pinned CDK CLI is missing)", file=sys.stderr)
        return 2
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        synth = [str(CDK), "synth", *CDK_FLAGS]
        plan = [
            (
                "baseline: minimal one-stack app, cdk synth",
                [*synth, "--app", f"{sys.executable} app.py", "--output", str(out / "b")],
                ROOT / "tools" / "baseline_app",
            ),
            (
                "platform, one environment (dev), cdk synth",
                [*synth, "-c", "environment=dev", "--output", str(out / "one")],
                ROOT,
            ),
            ("platform, all environments, cdk synth", [*synth, "--output", str(out / "all")], ROOT),
            (
                "make synth ENV=dev (every gate, cold cache)",
                ["sh", "-c", f"rm -rf {CACHE} && make -s synth ENV=dev"],
                ROOT,
            ),
            (
                "make synth (all envs, every gate, cold cache)",
                ["sh", "-c", f"rm -rf {CACHE} && make -s synth"],
                ROOT,
            ),
            ("make synth (all envs, templates unchanged)", ["make", "-s", "synth"], ROOT),
            # The evidence report alone, over the cdk.out the runs above left (make synth's last
            # step): its share of make synth is printed below the table.
            ("make report (evidence report, all envs)", ["make", "-s", "report"], ROOT),
        ]
        measurements = [
            measure(
                name,
                cmd,
                cwd,
                {**env, "PATH": _system_path() if index == 0 else _project_path()},
                args.runs,
            )
            for index, (name, cmd, cwd) in enumerate(plan)
        ]
        if args.test_runs > 0:
            measurements.append(
                measure(
                    "make test (ruff, mypy, whole suite)",
                    ["make", "-s", "test"],
                    ROOT,
                    {**env, "PATH": _project_path()},
                    args.test_runs,
                    sample_memory=False,
                )
            )
    baseline = measurements[0]
    facts = machine()
    print(
        f"Machine: {facts['cpu']}, {facts['cores']} cores, {facts['memory_gib']} GiB; "
        f"Python {facts['python']}; Node {facts['node_system']} (baseline, the machine's) and "
        f"{facts['node_project']} (platform, the project's); {args.runs} runs, median wall time"
    )
    print()
    print(f"| {'command':45} | wall s | x base | tree peak MiB | x base | largest proc MiB |")
    print(f"|{'-' * 47}|--------|--------|---------------|--------|------------------|")
    for m in measurements:
        memory = (
            f" | {m.tree_peak_mib:13.0f} | {m.tree_peak_mib / baseline.tree_peak_mib:6.2f}"
            f" | {m.largest_process_mib:16.0f} |"
            if m.tree_peak_mib
            else f" | {'-':>13} | {'-':>6} | {'-':>16} |"
        )
        print(
            f"| {m.name:45} | {m.wall_seconds:6.2f} | {m.wall_seconds / baseline.wall_seconds:6.2f}"
            + memory
        )
    by_name = {m.name: m for m in measurements}
    report = by_name["make report (evidence report, all envs)"]
    cold = by_name["make synth (all envs, every gate, cold cache)"]
    warm = by_name["make synth (all envs, templates unchanged)"]
    print()
    share_cold = 100 * report.wall_seconds / cold.wall_seconds
    share_warm = 100 * report.wall_seconds / warm.wall_seconds
    print(
        f"make report: {report.wall_seconds:.2f} s, {share_cold:.1f} % of make synth with a cold "
        f"cache, {share_warm:.1f} % with templates unchanged (make synth includes it)"
    )
    results = ROOT / "bench-results"
    results.mkdir(exist_ok=True)
    (results / "benchmark.json").write_text(
        json.dumps(
            {
                "machine": facts,
                "runs": args.runs,
                "measurements": [asdict(m) for m in measurements],
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
