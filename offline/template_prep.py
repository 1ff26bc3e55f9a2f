"""Adapting a synthesized template so moto's CloudFormation can create it, and checking it first.

``prepare_template`` returns a copy with ``Custom::`` resources (and unsupported resources that
others reference) stood in by placeholders and with the moto-specific shims of ``MOTO_SHIMS``
applied, and says which it applied; ``check_references`` rejects a template whose ``Ref``,
``Fn::GetAtt`` or ``DependsOn`` points at nothing, naming the resource. ``offline.deploy`` runs
both on every stack before creating it.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from typing import Any

from offline.reports import DeploymentError

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
