"""Deploy a synthesized environment into moto, the way ``cdk deploy`` would, and delete it again.

The harness reads ``cdk.out`` (so it checks exactly what ``cdk deploy`` receives), then for each
stack of one environment, in dependency order:

1. bootstraps what ``cdk deploy`` expects (the ``/cdk-bootstrap/hnb659fds/version`` parameter and
   the file-asset bucket) and publishes the stack's file assets (zipped folders, files) there;
2. adapts the template for the emulator (``offline.template_prep``), and *reports every
   adaptation*: ``Custom::`` resources are stood in (moto runs their Lambda handlers only through
   Docker, so the stack would hang), references to them replaced by placeholders; moto-specific
   shims are listed in ``MOTO_SHIMS``;
3. creates the stack with moto's CloudFormation and records, per resource type, what moto
   created and what it skipped (types it cannot emulate, e.g. bucket policies).

Deletion runs in reverse order and reports, per stack, whether moto could delete it.

The harness takes a boto3 ``Session`` so the same code runs against in-process ``mock_aws`` and
against a moto server on loopback (``endpoint_url``). The environment's account must be the
emulator's account (``MOTO_ACCOUNT_ID``), so ARNs in templates and emulator agree.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gates.assembly import AssemblyError, StackArtifact, stacks
from offline.completion import Resolver, complete_s3
from offline.reports import DeletionReport as DeletionReport
from offline.reports import DeploymentError as DeploymentError
from offline.reports import StackReport as StackReport
from offline.template_prep import MOTO_SHIMS as MOTO_SHIMS
from offline.template_prep import check_references as check_references
from offline.template_prep import prepare_template as prepare_template

BOOTSTRAP_QUALIFIER = "hnb659fds"
BOOTSTRAP_VERSION = "30"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


def environment_stacks(outdir: Path, environment: str) -> list[StackArtifact]:
    """The stacks of one environment, dependencies first."""
    try:
        found = [s for s in stacks(outdir) if s.stage == environment]
    except AssemblyError as err:
        raise DeploymentError(str(err)) from None
    if not found:
        available = sorted({s.stage for s in stacks(outdir)})
        raise DeploymentError(
            f"{outdir}: no stacks for environment {environment!r}; "
            f"synthesized: {', '.join(available)}"
        )
    ordered: list[StackArtifact] = []
    by_id = {s.artifact_id: s for s in found}

    def visit(stack: StackArtifact, trail: tuple[str, ...]) -> None:
        if stack in ordered:
            return
        if stack.artifact_id in trail:
            raise DeploymentError(f"dependency cycle through {' -> '.join(trail)}")
        for dependency in stack.dependencies:
            if dependency in by_id:
                visit(by_id[dependency], (*trail, stack.artifact_id))
        ordered.append(stack)

    for stack in found:
        visit(stack, ())
    return ordered


# Types moto applies although it records no physical ID for them (see OfflineDeployment.deploy).
APPLIED_WITHOUT_PHYSICAL_ID = frozenset({"AWS::Lambda::Permission"})


class OfflineDeployment:
    """Deploy and delete one environment's stacks with a boto3 session pointed at moto."""

    def __init__(
        self,
        outdir: Path,
        environment: str,
        client: Callable[[str], Any],
    ) -> None:
        """``client(service)`` returns a boto3 client for the emulator (region of the env)."""
        self.outdir = outdir
        self.environment = environment
        self.stacks = environment_stacks(outdir, environment)
        self._client = client
        self.account = self.stacks[0].account
        self.region = self.stacks[0].region

    def bootstrap(self) -> None:
        """What ``cdk bootstrap`` leaves that deployments rely on."""
        ssm = self._client("ssm")
        ssm.put_parameter(
            Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version",
            Value=BOOTSTRAP_VERSION,
            Type="String",
            Overwrite=True,
        )

    def publish_assets(self, stack: StackArtifact) -> int:
        """Upload the stack's file assets where its template expects them; returns the count."""
        manifest = stack.template_path.parent / f"{stack.artifact_id}.assets.json"
        if not manifest.exists():
            return 0
        s3 = self._client("s3")
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        count = 0
        for asset in json.loads(manifest.read_text(encoding="utf-8")).get("files", {}).values():
            source = stack.template_path.parent / asset["source"]["path"]
            body = (
                _zip(source) if asset["source"].get("packaging") == "zip" else source.read_bytes()
            )
            for destination in asset["destinations"].values():
                bucket = destination["bucketName"]
                if bucket not in existing:
                    s3.create_bucket(Bucket=bucket)
                    existing.add(bucket)
                s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=body)
                count += 1
        return count

    def deploy(self, stack: StackArtifact) -> StackReport:
        """Create one stack; raise ``DeploymentError`` unless it ends ``CREATE_COMPLETE``."""
        self.publish_assets(stack)
        template = stack.template()
        check_references(template, stack.stack_name)
        prepared, stood_in, shims = prepare_template(template)
        cfn = self._client("cloudformation")
        try:
            cfn.create_stack(
                StackName=stack.stack_name,
                TemplateBody=json.dumps(prepared),
                Capabilities=CAPABILITIES,
            )
        except Exception as err:  # the emulator's error names the resource when it can
            text = _short(err)
            if "Internal Server Error" in text:
                text = "the emulator failed internally on this template (HTTP 500)"
            raise DeploymentError(f"{stack.stack_name}: create_stack failed: {text}") from None
        described = cfn.describe_stacks(StackName=stack.stack_name)["Stacks"][0]
        status = described["StackStatus"]
        if status != "CREATE_COMPLETE":
            raise DeploymentError(
                f"{stack.stack_name}: {status}: "
                f"{described.get('StackStatusReason', 'no reason given')}"
            )
        report = StackReport(
            stack_name=stack.stack_name, status=status, stood_in=stood_in, shims=shims
        )
        report.outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        described_resources = cfn.describe_stack_resources(StackName=stack.stack_name)[
            "StackResources"
        ]
        report.physical_ids = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in described_resources
            if r.get("PhysicalResourceId") and r.get("ResourceStatus") == "CREATE_COMPLETE"
        }
        # moto records a few types without a physical ID yet really applies them
        # (AWS::Lambda::Permission: the statement lands in the function's policy); they count as
        # created. Others it reports complete without applying (e.g. a security group's
        # self-referencing ingress rule): those stay skipped.
        modelled = set(report.physical_ids) | {
            r["LogicalResourceId"]
            for r in described_resources
            if r.get("LogicalResourceId")
            and r.get("ResourceStatus") == "CREATE_COMPLETE"
            and r.get("ResourceType") in APPLIED_WITHOUT_PHYSICAL_ID
        }
        resources = prepared.get("Resources", {})
        report.resource_types = {lid: r["Type"] for lid, r in resources.items()}
        # Tally what the synthesized template declares; shim-added helpers are not counted.
        for logical_id, resource in template.get("Resources", {}).items():
            if logical_id not in resources:
                continue  # stood in
            tally = report.created if logical_id in modelled else report.skipped
            tally[resource["Type"]] += 1
        resolver = Resolver(
            physical_ids=report.physical_ids,
            resource_types=report.resource_types,
            exports={e["Name"]: e["Value"] for e in cfn.list_exports().get("Exports", [])},
            account=self.account,
            region=self.region,
        )
        completion = complete_s3(self._client("s3"), resources, resolver)
        if completion.failures:
            raise DeploymentError(
                f"{stack.stack_name}: could not complete {len(completion.failures)} S3 "
                "setting(s): " + "; ".join(completion.failures)
            )
        report.completed = completion.completed
        report.not_emulated = completion.not_emulated
        report.bucket_policies = completion.bucket_policies
        return report

    def deploy_all(self) -> list[StackReport]:
        """Bootstrap, then every stack in dependency order."""
        self.bootstrap()
        return [self.deploy(stack) for stack in self.stacks]

    def delete_all(self) -> list[DeletionReport]:
        """Delete every stack, dependents first, and report each outcome."""
        cfn = self._client("cloudformation")
        reports = []
        for stack in reversed(self.stacks):
            try:
                cfn.delete_stack(StackName=stack.stack_name)
                remaining = cfn.describe_stacks(StackName=stack.stack_name)["Stacks"]
                status = remaining[0]["StackStatus"] if remaining else "DELETE_COMPLETE"
                reason = remaining[0].get("StackStatusReason", "") if remaining else ""
            except Exception as err:
                text = _short(err)
                if "does not exist" in text:
                    status, reason = "DELETE_COMPLETE", ""
                else:
                    status, reason = "DELETE_FAILED", text
            reports.append(DeletionReport(stack.stack_name, status, reason))
        return reports


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _short(err: BaseException) -> str:
    return " ".join(str(err).split())[:500]
