"""Shared part of the copy apps: read the group README, synthesize with the five packs, report.

Copied next to ``<group>_app.py`` into a folder that holds nothing else but the copied package,
and run there in a process whose import path holds only that folder (no PYTHONPATH). Usage, from
an app: ``main(build, readme)``; command line: ``python <group>_app.py <outdir>``.

Runs, in this one process:

* ``acked``: a fresh ``cdk.App`` whose context is only the README's ``## Feature flags``, the
  README's ``## Acknowledgements you add`` applied to every construct whose path (relative to
  its stack) matches the row's pattern, and the five cdk-nag packs;
* ``bare``: the same app without the README's acknowledgements (the control);
* ``no-flags``: the same as ``acked`` with an empty context (only when the README lists flags).

Writes ``<outdir>/summary.json``: per run, the error (or None), the findings as
``[pack::rule, stack, path relative to the stack]``, the acknowledged findings as
``[acknowledged id, stack, path it was acknowledged at]``, the resource types synthesized, and
how many constructs each acknowledgement row was applied to.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)
from constructs import IConstruct

PACKS = (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)
ENV = cdk.Environment(account="123456789012", region="us-east-1")
AZS = ["us-east-1a", "us-east-1b"]
FLAGS_HEADING = "## Feature flags"
ACKS_HEADING = "## Acknowledgements you add"
_FLAG = re.compile(r"- `(@aws-cdk/[^`]+)`: (true|false)")
_ROW = re.compile(r"\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|(.+)\|")

Build = Callable[[cdk.App], None]


def imported_vpc(stack: cdk.Stack) -> ec2.IVpc:
    """A team's existing VPC (two private subnets), imported: no resources, no findings."""
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0a1b2c3d4e5f60718",
        availability_zones=AZS,
        private_subnet_ids=["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
    )


class PrefixBucket:
    """A bucket of another stack, granting object access under one prefix only (a stub).

    What ``data.secure_bucket.SecureBucket`` offers to the ml and genai groups
    (``core.bucket_grants.PrefixGrantable`` / ``BucketWithPrefixGrants``).
    """

    def __init__(self, bucket: s3.IBucket) -> None:
        self.bucket = bucket

    def grant_read(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[self.bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        )
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject", "s3:GetObjectVersion"],
            resource_arns=[self.bucket.arn_for_objects(f"{prefix}*")],
        )

    def grant_write(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:AbortMultipartUpload", "s3:PutObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{prefix}*")],
        )


def imported_endpoint_group(stack: cdk.Stack) -> ec2.ISecurityGroup:
    """The security group of the team's interface endpoints, imported."""
    return ec2.SecurityGroup.from_security_group_id(
        stack, "EndpointSecurityGroup", "sg-0a1b2c3d4e5f60718"
    )


def section(text: str, heading: str) -> list[str]:
    """The lines under ``heading`` (exactly), up to the next ``## `` heading."""
    lines = text.splitlines()
    if heading not in lines:
        raise ValueError(f"README has no {heading!r} heading")
    body = []
    for line in lines[lines.index(heading) + 1 :]:
        if line.startswith("## "):
            break
        body.append(line)
    return body


def feature_flags(text: str) -> dict[str, bool]:
    """The ``- `@aws-cdk/...`: true`` lines of the flags section; ``{}`` if it says ``None.``.

    Other prose in the section is ignored; a list item that is not a flag line is an error.
    """
    lines = [line.strip() for line in section(text, FLAGS_HEADING)]
    flags = {}
    for line in lines:
        if not line.startswith("- "):
            continue
        match = _FLAG.fullmatch(line)
        if not match:
            raise ValueError(f"feature flag line not understood: {line!r}")
        flags[match.group(1)] = match.group(2) == "true"
    if not flags and "None." not in lines:
        raise ValueError(f"{FLAGS_HEADING}: list the flags, or say None.")
    return flags


def acknowledgement_rows(text: str) -> list[tuple[str, str, str]]:
    """``(rule, pattern, reason)`` of each table row whose first two cells are code."""
    rows = []
    for line in section(text, ACKS_HEADING):
        match = _ROW.fullmatch(line.strip())
        if match:
            rule, pattern, reason = (group.strip() for group in match.groups())
            if len(reason) < 40:
                raise ValueError(f"{rule} at {pattern}: the reason is too short ({reason!r})")
            rows.append((rule, pattern, reason))
    return rows


def relative_path(construct: IConstruct) -> str | None:
    """The construct's path below its stack, or None for a stack (or the app) itself."""
    if isinstance(construct, cdk.Stage) or cdk.Stack.is_stack(construct):
        return None
    stack_path = cdk.Stack.of(construct).node.path
    return construct.node.path[len(stack_path) + 1 :]


def apply_acknowledgements(app: cdk.App, rows: list[tuple[str, str, str]]) -> list[int]:
    """Acknowledge each row on every construct whose relative path matches its pattern."""
    applied = []
    constructs = [c for c in app.node.find_all() if relative_path(c) is not None]
    for rule, pattern, reason in rows:
        matched = [c for c in constructs if fnmatch.fnmatchcase(relative_path(c) or "", pattern)]
        for construct in matched:
            cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
        applied.append(len(matched))
    return applied


def _report(outdir: Path) -> tuple[list[list[str]], list[list[str]]]:
    """Findings ``[pack::rule, stack, path]`` and acknowledged ones ``[id, stack, at]``."""
    report_file = outdir / "validation-report.json"
    if not report_file.exists():
        return [], []
    report = json.loads(report_file.read_text(encoding="utf-8"))
    found, suppressed = set(), set()
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                stack, _, path = construct["constructPath"].partition("/")
                found.add((f"{plugin['pluginName']}::{violation['ruleName']}", stack, path))
        for violation in plugin.get("suppressedViolations", []):
            stack, _, path = violation["acknowledgedAt"].partition("/")
            suppressed.add((violation["acknowledgedId"], stack, path))
    return [list(f) for f in sorted(found)], [list(s) for s in sorted(suppressed)]


def _resource_types(outdir: Path) -> dict[str, int]:
    types: Counter[str] = Counter()
    for template in outdir.glob("*.template.json"):
        resources = json.loads(template.read_text(encoding="utf-8")).get("Resources", {})
        types.update(r["Type"] for r in resources.values())
    return dict(sorted(types.items()))


def synth(
    build: Build, context: dict[str, Any], rows: list[tuple[str, str, str]], outdir: Path
) -> dict[str, Any]:
    """One fresh app: build, acknowledge ``rows``, the five packs, synthesize; what happened."""
    started = time.monotonic()
    app = cdk.App(outdir=str(outdir), context=context)
    error = None
    applied: list[int] = []
    try:
        build(app)
        applied = apply_acknowledgements(app, rows)
        cdk.Validations.of(app).add_plugins(*(pack(app) for pack in PACKS))
        app.synth()
    except Exception as err:  # jsii reports CDK's errors as RuntimeError / JSIIError
        error = f"{type(err).__name__}: {err}"
    findings, suppressed = _report(outdir)
    return {
        "error": error,
        "findings": findings,
        "suppressed": suppressed,
        "resource_types": _resource_types(outdir),
        "applied": applied,
        "seconds": round(time.monotonic() - started, 2),
    }


def main(build: Build, readme: Path) -> None:
    """Run the three apps (see the module docstring) and write ``summary.json``."""
    started = time.monotonic()
    outdir = Path(sys.argv[1])
    text = readme.read_text(encoding="utf-8")
    flags = feature_flags(text)
    rows = acknowledgement_rows(text)
    runs = {
        "acked": synth(build, dict(flags), rows, outdir / "acked"),
        "bare": synth(build, dict(flags), [], outdir / "bare"),
    }
    if flags:
        runs["no-flags"] = synth(build, {}, rows, outdir / "no-flags")
    package = readme.parent.parent
    summary = {
        "package_init": importlib.util.find_spec(package.name).origin,  # type: ignore[union-attr]
        "repository_importable": importlib.util.find_spec("secure_constructs") is not None,
        "flags": flags,
        "rows": [[rule, pattern] for rule, pattern, _ in rows],
        "runs": runs,
        "seconds": round(time.monotonic() - started, 2),
    }
    (outdir / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print("summary written", outdir / "summary.json")
