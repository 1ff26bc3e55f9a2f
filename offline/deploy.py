"""Deploy a synthesized environment into moto, the way ``cdk deploy`` would, and delete it again.

The harness reads ``cdk.out`` (so it checks exactly what ``cdk deploy`` receives), then for each
stack of one environment, in dependency order:

1. bootstraps what ``cdk deploy`` expects (the ``/cdk-bootstrap/hnb659fds/version`` parameter and
   the file-asset bucket) and publishes the stack's file assets (zipped folders, files) there;
2. adapts the template for the emulator, and *reports every adaptation*: ``Custom::`` resources
   are stood in (moto runs their Lambda handlers only through Docker, so the stack would hang),
   references to them replaced by placeholders; moto-specific shims are listed in
   ``MOTO_SHIMS``;
3. creates the stack with moto's CloudFormation and records, per resource type, what moto
   created and what it skipped (types it cannot emulate, e.g. bucket policies).

Deletion runs in reverse order and reports, per stack, whether moto could delete it.

The harness takes a boto3 ``Session`` so the same code runs against in-process ``mock_aws`` and
against a moto server on loopback (``endpoint_url``). The environment's account must be the
emulator's account (``MOTO_ACCOUNT_ID``), so ARNs in templates and emulator agree.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gates.assembly import AssemblyError, StackArtifact, stacks
from offline.completion import Resolver, complete_s3

BOOTSTRAP_QUALIFIER = "hnb659fds"
BOOTSTRAP_VERSION = "30"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]

MOTO_SHIMS: dict[str, str] = {
    "AWS::KMS::Key Tags": (
        "moto 5.2 passes CloudFormation's {Key, Value} tags to KMS CreateKey, which expects "
        "{TagKey, TagValue}, and fails; the harness renames the fields."
    ),
    "AWS::IAM::Role Policies": (
        "moto 5.2 stores a CloudFormation role's inline Policies in a shape its own IAM "
        "authorizer cannot read (KeyError 'policy_document' on any call with the role); the "
        "harness declares each as an AWS::IAM::Policy attached to the role: the same inline "
        "policy in IAM."
    ),
    "AWS::Logs::LogGroup KmsKeyId": (
        "moto 5.2 reads a CloudFormation log group's key as 'kmsKeyId' and ignores 'KmsKeyId'; "
        "the harness passes the same value under both names."
    ),
    "AWS::Logs::LogGroup Arn in policies": (
        "moto 5.2 answers Fn::GetAtt <LogGroup>.Arn without the ':*' suffix CloudFormation "
        "documents (arn:...:log-group:NAME:*); inside IAM policy documents the harness appends "
        "it, so policies are evaluated with the ARN a real deployment gets (a grant on "
        "'<Arn>:log-stream:*' then matches nothing, as in AWS)."
    ),
    "Referenced unsupported resource": (
        "moto 5.2 skips a resource type it cannot emulate (e.g. AWS::SageMaker::Domain, "
        "AWS::Bedrock::Guardrail) with a warning, but then fails the whole stack when another "
        "resource reads its Ref or Fn::GetAtt ('references undefined resource'). The harness "
        "stands such resources in like Custom:: resources (counted under stood_in): references "
        "become placeholders, ARN-shaped for attributes named *Arn so IAM policies stay valid."
    ),
}


class DeploymentError(RuntimeError):
    """A stack could not be deployed; the message names the stack and, if known, the resource."""


@dataclass
class StackReport:
    """What happened to one stack in the emulator."""

    stack_name: str
    status: str
    reason: str = ""
    created: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    stood_in: Counter[str] = field(default_factory=Counter)
    completed: Counter[str] = field(default_factory=Counter)
    not_emulated: Counter[str] = field(default_factory=Counter)
    shims: list[str] = field(default_factory=list)
    physical_ids: dict[str, str] = field(default_factory=dict)
    resource_types: dict[str, str] = field(default_factory=dict)
    bucket_policies: dict[str, dict[str, Any]] = field(default_factory=dict)

    def ids_of_type(self, resource_type: str) -> list[str]:
        """Physical IDs of the created resources of one type, in template order."""
        return [
            self.physical_ids[lid]
            for lid, kind in self.resource_types.items()
            if kind == resource_type and lid in self.physical_ids
        ]

    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def declared(self) -> int:
        """Resources the synthesized template declares."""
        return sum(self.created.values()) + sum(self.skipped.values()) + sum(self.stood_in.values())


@dataclass
class DeletionReport:
    """Outcome of deleting one stack."""

    stack_name: str
    status: str
    reason: str = ""


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


def prepare_template(template: dict[str, Any]) -> tuple[dict[str, Any], Counter[str], list[str]]:
    """A copy of ``template`` the emulator can create, what was stood in, and the shims applied."""
    prepared = copy.deepcopy(template)
    resources: dict[str, Any] = prepared.get("Resources", {})
    removed = {lid for lid, r in resources.items() if _is_custom(r["Type"])}
    referenced = _referenced_ids(prepared)
    unsupported = {
        lid
        for lid, r in resources.items()
        if lid not in removed and lid in referenced and not _moto_creates(r["Type"])
    }
    stood_in = Counter(resources[lid]["Type"] for lid in removed | unsupported)
    for lid in removed | unsupported:
        del resources[lid]
    shims: list[str] = ["Referenced unsupported resource"] if unsupported else []
    for logical_id, resource in list(resources.items()):
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role" and props.get("Policies"):
            for index, policy in enumerate(props.pop("Policies")):
                resources[f"{logical_id}ShimInlinePolicy{index}"] = {
                    "Type": "AWS::IAM::Policy",
                    "Properties": {
                        "PolicyName": policy["PolicyName"],
                        "PolicyDocument": policy["PolicyDocument"],
                        "Roles": [{"Ref": logical_id}],
                    },
                }
            shims.append("AWS::IAM::Role Policies")
        if resource["Type"] == "AWS::KMS::Key" and "Tags" in props:
            props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props["Tags"]]
            shims.append("AWS::KMS::Key Tags")
        if resource["Type"] == "AWS::Logs::LogGroup" and "KmsKeyId" in props:
            props["kmsKeyId"] = props["KmsKeyId"]
            shims.append("AWS::Logs::LogGroup KmsKeyId")
    if _real_log_group_arns(resources):
        shims.append("AWS::Logs::LogGroup Arn in policies")
    shims = sorted(set(shims))
    if removed or unsupported:
        prepared = _replace_references(prepared, removed | unsupported, arn_like=unsupported)
    return prepared, stood_in, shims


def _real_log_group_arns(resources: dict[str, Any]) -> bool:
    """Give log-group ``Arn`` attributes in policy documents their documented ``:*`` suffix."""
    groups = {lid for lid, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    changed = False

    def fix(node: Any) -> Any:
        nonlocal changed
        if isinstance(node, list):
            return [fix(item) for item in node]
        if not isinstance(node, dict):
            return node
        attribute = node.get("Fn::GetAtt")
        if len(node) == 1 and isinstance(attribute, list) and attribute[1:] == ["Arn"]:
            if attribute[0] in groups:
                changed = True
                return {"Fn::Join": ["", [node, ":*"]]}
            return node
        return {key: fix(value) for key, value in node.items()}

    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            props["PolicyDocument"] = fix(props["PolicyDocument"])
    return changed


# Types moto applies although it records no physical ID for them (see OfflineDeployment.deploy).
APPLIED_WITHOUT_PHYSICAL_ID = frozenset({"AWS::Lambda::Permission"})

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)


def check_references(template: dict[str, Any], stack_name: str) -> None:
    """Raise ``DeploymentError`` for a Ref, GetAtt or DependsOn that points at nothing.

    CloudFormation refuses such a template too; the moto server answers it with an internal
    error, so the harness checks first and names the resource.
    """
    resources: dict[str, Any] = template.get("Resources", {})
    known = set(resources) | set(template.get("Parameters", {})) | PSEUDO_PARAMETERS

    def targets(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if set(node) == {"Ref"} and isinstance(node["Ref"], str):
                yield node["Ref"]
            elif set(node) == {"Fn::GetAtt"}:
                attribute = node["Fn::GetAtt"]
                yield attribute[0] if isinstance(attribute, list) else str(attribute).split(".")[0]
            for value in node.values():
                yield from targets(value)
        elif isinstance(node, list):
            for item in node:
                yield from targets(item)

    for logical_id, resource in resources.items():
        depends = resource.get("DependsOn", [])
        for target in [
            *targets(resource.get("Properties", {})),
            *([depends] if isinstance(depends, str) else depends),
        ]:
            if target not in known:
                raise DeploymentError(
                    f"{stack_name}: resource {logical_id} ({resource.get('Type')}) references "
                    f"{target}, which the template does not declare"
                )


def _moto_creates(resource_type: str) -> bool:
    """Whether moto's CloudFormation has a model for ``resource_type``."""
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map

    return resource_type in get_model_map() or resource_type in NULL_MODELS


def _referenced_ids(node: Any) -> set[str]:
    """Logical IDs named by a Ref or Fn::GetAtt anywhere in ``node``."""
    found: set[str] = set()
    if isinstance(node, dict):
        if set(node) == {"Ref"} and isinstance(node["Ref"], str):
            found.add(node["Ref"])
        if set(node) == {"Fn::GetAtt"}:
            found.add(node["Fn::GetAtt"][0])
        for value in node.values():
            found |= _referenced_ids(value)
    elif isinstance(node, list):
        for item in node:
            found |= _referenced_ids(item)
    return found


def _is_custom(resource_type: str) -> bool:
    return (
        resource_type.startswith("Custom::")
        or resource_type == "AWS::CloudFormation::CustomResource"
    )


def _replace_references(
    node: Any, removed: set[str], arn_like: frozenset[str] | set[str] = frozenset()
) -> Any:
    """Replace Ref/GetAtt to stood-in resources with placeholders; drop them from DependsOn.

    For resources in ``arn_like``, attributes named ``*Arn`` become ARN-shaped placeholders.
    """
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in removed:
            return f"stood-in:{node['Ref']}"
        if set(node) == {"Fn::GetAtt"} and node["Fn::GetAtt"][0] in removed:
            logical_id, attribute = node["Fn::GetAtt"][0], node["Fn::GetAtt"][1]
            if logical_id in arn_like and str(attribute).endswith("Arn"):
                return f"arn:aws:stood-in:::{logical_id}/{attribute}"
            return f"stood-in:{logical_id}.{attribute}"
        result = {k: _replace_references(v, removed, arn_like) for k, v in node.items()}
        if "DependsOn" in result:
            depends = result["DependsOn"]
            depends = [depends] if isinstance(depends, str) else depends
            kept = [d for d in depends if d not in removed]
            if kept:
                result["DependsOn"] = kept
            else:
                del result["DependsOn"]
        return result
    if isinstance(node, list):
        return [_replace_references(item, removed, arn_like) for item in node]
    return node


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
