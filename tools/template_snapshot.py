"""The resource types and logical IDs of every synthesized stack, kept as a committed snapshot.

A changed logical ID makes CloudFormation replace the resource; for a key, bucket, log group or
queue that means new, empty storage (or a failed update on a retained one). The snapshot
(``tests/template_snapshot.json``) records, per stack, ``{logical ID: resource type}``;
``tests/unit/test_template_snapshot.py`` compares a fresh synthesis with it and names every
difference, stateful ones first.

The snapshot holds the single-account platform (cdk.json without its ``organization`` block:
every environment's stacks as a single-account user deploys them) plus the organization's own
stages from the shipped example (management, log archive, security). Regenerate after an
intended change with ``make snapshot`` (``python -m tools.template_snapshot``: both syntheses
in-process, without the gates), and say in the commit and the README's upgrade note which IDs
changed and why.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from gates.assembly import AssemblyError, StackArtifact, stacks

ORGANIZATION_STAGES = frozenset({"management", "log-archive", "security"})

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "tests" / "template_snapshot.json"

STATEFUL_TYPES = frozenset(
    {
        "AWS::KMS::Key",
        "AWS::S3::Bucket",
        "AWS::Logs::LogGroup",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::SageMaker::ModelPackageGroup",
        "AWS::SageMaker::ModelCard",
        "AWS::SageMaker::Domain",
        "AWS::Bedrock::Guardrail",
        "AWS::Bedrock::GuardrailVersion",
        "AWS::CloudTrail::Trail",
        "AWS::Macie::CustomDataIdentifier",
        "AWS::Organizations::Policy",
        "AWS::CodePipeline::Pipeline",
    }
)
"""Types whose replacement loses data, evidence or identity (keys, buckets, logs, queues...)."""

Snapshot = dict[str, dict[str, str]]


def take(artifacts: Iterable[StackArtifact]) -> Snapshot:
    """``{stack name: {logical ID: type}}`` of ``artifacts``, sorted for a stable file."""
    return {
        artifact.stack_name: dict(
            sorted(
                (logical_id, str(resource["Type"]))
                for logical_id, resource in artifact.template().get("Resources", {}).items()
            )
        )
        for artifact in sorted(artifacts, key=lambda a: a.stack_name)
    }


def guarded(single_account: Iterable[StackArtifact], shipped: Iterable[StackArtifact]) -> Snapshot:
    """What the snapshot guards: single-account stacks, organization and tooling stacks.

    Every single-account stack, the organization stages' and the stacks outside any stage (the
    delivery pipeline and its cross-region support stack).
    """
    outside = [a for a in shipped if a.stage in ORGANIZATION_STAGES or not a.stage]
    return take([*single_account, *outside])


def synthesize(outdir: Path, *, organization: bool) -> list[StackArtifact]:
    """Synthesize cdk.json into ``outdir``, as shipped or as the single-account platform.

    ``organization=False`` drops the ``organization`` and ``delivery`` blocks, as
    ``tests/conftest.py`` builds the single-account platform.
    """
    import copy

    import aws_cdk as cdk

    from platform_config import CONTEXT_KEY, load_config, read_cdk_json
    from stacks.stage import build_stages
    from tools.synth import CLI_CONTEXT

    context = read_cdk_json(ROOT / "cdk.json")
    if not organization:
        context = copy.deepcopy(context)
        context[CONTEXT_KEY].pop("organization", None)
        context[CONTEXT_KEY].pop("delivery", None)
    app = cdk.App(outdir=str(outdir), context={**context, **CLI_CONTEXT})
    build_stages(app, load_config(context))
    app.synth()
    return stacks(outdir)


def differences(expected: Mapping[str, Mapping[str, str]], actual: Snapshot) -> list[str]:
    """One line per difference; stateful resources that would be replaced or lost come first."""
    stateful: list[str] = []
    other: list[str] = []
    for stack in sorted(set(expected) | set(actual)):
        if stack not in actual:
            stateful.append(f"{stack}: stack gone (it held {len(expected[stack])} resources)")
            continue
        if stack not in expected:
            other.append(f"{stack}: new stack ({len(actual[stack])} resources)")
            continue
        before, after = expected[stack], actual[stack]
        for logical_id in sorted(set(before) | set(after)):
            old, new = before.get(logical_id), after.get(logical_id)
            if old == new:
                continue
            if old is None:
                line = f"{stack}: added {logical_id} ({new})"
            elif new is None:
                line = f"{stack}: removed {logical_id} ({old})"
            else:
                line = f"{stack}: {logical_id} changed type {old} -> {new}"
            critical = old in STATEFUL_TYPES and new != old
            (stateful if critical else other).append(
                f"{line}{' -- STATEFUL: replaced or deleted' if critical else ''}"
            )
    return stateful + other


def main(argv: list[str] | None = None) -> int:
    """Write the snapshot (both syntheses in-process); exit 2 when an assembly cannot be read."""
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m tools.template_snapshot")
    parser.add_argument("--output", type=Path, default=SNAPSHOT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            single = synthesize(Path(scratch) / "single", organization=False)
            shipped = synthesize(Path(scratch) / "shipped", organization=True)
            snapshot = guarded(single, shipped)
        except AssemblyError as err:
            print(f"template_snapshot: {err}", file=sys.stderr)
            return 2
    args.output.write_text(json.dumps(snapshot, indent=1) + "\n", encoding="utf-8")
    count = sum(len(r) for r in snapshot.values())
    print(f"wrote {args.output}: {len(snapshot)} stacks, {count} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
