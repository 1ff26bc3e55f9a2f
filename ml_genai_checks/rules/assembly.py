"""Rules: assembly-wide checks (all templates of one cloud assembly, or all templates given).

Each rule returns the logical ID of the resource that triggers it in the FIRST template where it
shows (its template's name is in the message), or nothing when no template triggers it.

Recognising invocation logging (``MLGenAI-BedrockInvocationLogging``) is a heuristic, generous
on purpose since CloudFormation has no resource for it. A template configures it when it has:

* a resource whose type contains ``InvocationLogging`` (e.g. ``Custom::BedrockInvocationLogging``
  or a future native type), or
* a ``Custom::*`` / ``AWS::CloudFormation::CustomResource`` whose raw properties mention
  ``PutModelInvocationLoggingConfiguration`` anywhere (a CDK ``AwsCustomResource`` puts the call
  in its ``Create`` / ``Update`` JSON strings, often inside ``Fn::Join``; the raw text is searched,
  not the resolved value), or
* a custom resource whose ``ServiceToken`` references a Lambda function of the same template whose
  inline ``Code.ZipFile`` calls ``PutModelInvocationLoggingConfiguration`` /
  ``put_model_invocation_logging_configuration``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ml_genai_checks.model import (
    PASS,
    Resource,
    Template,
    Verdict,
    fail,
    not_applicable,
    present,
    rule,
)
from ml_genai_checks.rules.iam_policies import (
    INVOKE_ACTIONS,
    POLICY_TYPES,
    Statement,
    allows_invocation,
    documents,
    policy_documents,
    references,
    resource_text,
    statements_of,
)

LOGGING_CALL = "putmodelinvocationloggingconfiguration"
RUNTIME_ACTIONS = (*INVOKE_ACTIONS, "bedrock:ApplyGuardrail")
"""Bedrock actions served by the bedrock-runtime endpoint (Converse* authorised by InvokeModel*)."""
ENDPOINT_SUFFIXES = {
    "SageMaker": ("sagemaker.api", "sagemaker.runtime"),
    "Bedrock": ("bedrock-runtime",),
}
_VPC_KEYS = ("VpcConfig", "SubnetIds", "SubnetId", "Subnets", "VpcId")


def _mentions_invocation(statement: Statement) -> bool:
    """An Allow of InvokeModel* (or a literal bedrock:Converse*, which some policies list)."""
    if allows_invocation(statement):
        return True
    found = statement.actions()
    return (
        statement.effect == "Allow"
        and found is not None
        and not found[0]
        and any(p.startswith("bedrock:converse") for p in found[1])
    )


def _invoking_policies(template: Template) -> Iterator[str]:
    for resource, _, statements in documents(template):
        if statements and any(_mentions_invocation(s) for s in statements):
            yield resource.logical_id


def _flat(raw: Any) -> str:
    return json.dumps(raw, default=str).lower().replace("_", "")


def _configures_logging(template: Template) -> bool:
    functions = [
        f.logical_id
        for f in template.resources("AWS::Lambda::Function")
        if LOGGING_CALL in _flat(f.prop("Code", "ZipFile"))
    ]
    for resource in template.resources():
        if "invocationlogging" in resource.type.lower():
            return True
        if resource.type.startswith("Custom::") or (
            resource.type == "AWS::CloudFormation::CustomResource"
        ):
            if LOGGING_CALL in _flat(resource.properties):
                return True
            token = resource.prop("ServiceToken")
            if any(references(token, f) for f in functions):
                return True
    return False


@rule(
    "MLGenAI-BedrockInvocationLogging",
    title="Bedrock model invocation logging is configured where models are invoked",
    reason="Without invocation logs, prompts and answers (possibly PHI) leave no audit trail.",
    fix="Configure PutModelInvocationLoggingConfiguration (CloudWatch Logs and/or S3, encrypted) "
    "in the account and region, e.g. with a CDK AwsCustomResource.",
    seed_topic="CloudTrail with Bedrock: analyze API calls; Data Logging: track inputs, outputs",
    controls={"HIPAA": ["164.312(b)"], "NIST": ["AU-2", "AU-12"], "PCI": ["10.2"]},
    resource_types=POLICY_TYPES,
    scope="assembly",
)
def bedrock_invocation_logging(templates: Sequence[Template]) -> list[tuple[str, Verdict]]:
    """(e) If any template allows Bedrock invocation, some template configures its logging."""
    for template in templates:
        first = next(_invoking_policies(template), None)
        if first is None:
            continue
        if any(_configures_logging(t) for t in templates):
            return [(first, PASS)]
        return [
            (
                first,
                fail(
                    f"{template.name}: {first} allows Bedrock model invocation but no template "
                    "configures model invocation logging: add "
                    "PutModelInvocationLoggingConfiguration (e.g. a CDK AwsCustomResource) to one "
                    "stack of the environment"
                ),
            )
        ]
    return []


# --------------------------------------------------------------------------- VPC endpoints


def _in_vpc(raw: Any) -> bool:
    """Whether a properties tree sets a VPC config or subnets anywhere."""
    if isinstance(raw, list):
        return any(_in_vpc(v) for v in raw)
    if not isinstance(raw, Mapping):
        return False
    return any(present(raw.get(k)) for k in _VPC_KEYS) or any(_in_vpc(v) for v in raw.values())


def _role_statements(template: Template, role_id: str) -> Iterator[Statement]:
    role = template.resource(role_id)
    if role is None:
        return
    attached = role.prop("ManagedPolicyArns")
    attached = attached if isinstance(attached, list) else []
    holders = [role] + [
        r
        for r in template.resources(*POLICY_TYPES[:5])
        if references(r.prop("Roles"), role_id)
        or any(references(a, r.logical_id) for a in attached)
    ]
    for holder in holders:
        for where, document in policy_documents(holder):
            yield from statements_of(holder, where, document) or []


def _calls_bedrock(function: Resource) -> bool | None:
    """Whether a function's role may call the Bedrock runtime; None when the role is unknown."""
    raw = function.prop("Role")
    get_att = raw.get("Fn::GetAtt") if isinstance(raw, Mapping) else None
    role_id = get_att[0] if isinstance(get_att, list) and get_att else None
    role_id = get_att.split(".")[0] if isinstance(get_att, str) else role_id
    template = function.template
    role = template.resource(role_id) if isinstance(role_id, str) else None
    if role is None or role.type != "AWS::IAM::Role":
        return None
    attached = role.prop("ManagedPolicyArns")
    if isinstance(attached, list) and any(
        isinstance(a, str) and "bedrock" in a.lower() for a in attached
    ):
        return True
    return any(
        s.effect == "Allow" and any(s.covers(a) for a in RUNTIME_ACTIONS)
        for s in _role_statements(template, role.logical_id)
    )


def _endpoints(templates: Sequence[Template]) -> tuple[list[str], list[str]]:
    """(known ServiceName endings, logical IDs of endpoints whose ServiceName is unknown)."""
    known: list[str] = []
    unknown: list[str] = []
    for template in templates:
        for endpoint in template.resources("AWS::EC2::VPCEndpoint"):
            text = resource_text(endpoint.prop("ServiceName"), template)
            name = text.full if text.full is not None else text.tail
            (known.append(name.lower()) if name else unknown.append(endpoint.logical_id))
    return known, unknown


def _missing(known: Sequence[str], family: str) -> list[str]:
    return [
        s for s in ENDPOINT_SUFFIXES[family] if not any(n.endswith((s, f"{s}-fips")) for n in known)
    ]


def _verdict(
    family: str, template: Template, trigger: str, known: list[str], unknown: list[str]
) -> Verdict:
    missing = _missing(known, family)
    if not missing:
        return PASS
    if unknown:
        return not_applicable(f"the ServiceName of {', '.join(unknown)} cannot be resolved")
    names = " and ".join(f"com.amazonaws.<region>.{s}" for s in missing)
    return fail(
        f"{template.name}: {trigger} puts {family} in a VPC but no template has an "
        f"AWS::EC2::VPCEndpoint for {names}: add Interface VPC endpoints with ServiceName {names}"
    )


@rule(
    "MLGenAI-VpcEndpointsForMLServices",
    title="SageMaker and Bedrock used from a VPC have PrivateLink endpoints",
    reason="Without interface endpoints, VPC workloads reach SageMaker and Bedrock over the "
    "internet (or not at all from isolated subnets).",
    fix="Add AWS::EC2::VPCEndpoint resources with ServiceName com.amazonaws.<region>.sagemaker.api "
    "and .sagemaker.runtime (SageMaker) and .bedrock-runtime (Bedrock).",
    seed_topic="PrivateLink with Bedrock; VPC Endpoints; Bedrock in VPC / SageMaker in VPC",
    controls={"HIPAA": ["164.312(e)(1)"], "NIST": ["SC-7", "SC-7(4)"], "PCI": ["1.3"]},
    resource_types=("AWS::EC2::VPCEndpoint", "AWS::Lambda::Function"),
    scope="assembly",
)
def vpc_endpoints_for_ml(templates: Sequence[Template]) -> list[tuple[str, Verdict]]:
    """(f) SageMaker/Bedrock in a VPC need sagemaker.api/runtime and bedrock-runtime endpoints."""
    known, unknown = _endpoints(templates)
    results: list[tuple[str, Verdict]] = []
    sagemaker = next(
        (
            (t, r.logical_id)
            for t in templates
            for r in t.resources()
            if r.type.startswith("AWS::SageMaker::") and _in_vpc(r.properties)
        ),
        None,
    )
    if sagemaker:
        results.append((sagemaker[1], _verdict("SageMaker", *sagemaker, known, unknown)))
    functions = [
        (t, f, _calls_bedrock(f))
        for t in templates
        for f in t.resources("AWS::Lambda::Function")
        if present(f.prop("VpcConfig", "SubnetIds"))
    ]
    calling = next(((t, f.logical_id) for t, f, calls in functions if calls), None)
    if calling:
        results.append((calling[1], _verdict("Bedrock", *calling, known, unknown)))
    elif _missing(known, "Bedrock"):
        maybe = next((f.logical_id for _, f, calls in functions if calls is None), None)
        if maybe:
            results.append(
                (
                    maybe,
                    not_applicable(
                        f"{maybe} runs in a VPC and its role cannot be resolved: whether it "
                        "calls Bedrock (and needs a bedrock-runtime endpoint) is unknown"
                    ),
                )
            )
    return results
