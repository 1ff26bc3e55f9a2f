"""Rules: SageMaker Studio domains, notebook instances, models and endpoint configurations.

Monitoring jobs, Feature Store and Model Registry rules live in ``sagemaker_mlops``, which shares
the helpers here. They walk nested properties through intrinsics: a container that is itself
``Fn::If`` or ``Ref`` cannot be looked into, so a rule needing a value under it says
NOT_APPLICABLE rather than guessing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ml_genai_checks.model import (
    PASS,
    UNRESOLVED,
    Resource,
    Verdict,
    fail,
    is_true,
    not_applicable,
    present,
    resolve,
    rule,
)

AT_REST = {"HIPAA": ["164.312(a)(2)(iv)"], "NIST": ["SC-28", "SC-12"], "PCI": ["3.4"]}
BOUNDARY = {"HIPAA": ["164.312(e)(1)"], "NIST": ["SC-7", "AC-4"], "PCI": ["1.3", "1.3.4"]}
IN_TRANSIT = {"HIPAA": ["164.312(e)(2)(ii)"], "NIST": ["SC-8", "SC-8(1)"], "PCI": ["4.1"]}
LEAST_PRIVILEGE = {"HIPAA": ["164.308(a)(4)"], "NIST": ["AC-6", "AC-3"], "PCI": ["7.1.2"]}

VPC_TOPIC = "SageMaker in VPC (VPC endpoints / PrivateLink keep traffic inside AWS)"
ISOLATION_TOPIC = "SageMaker - Extra Features: Network Isolation mode"
ENCRYPTION_TOPIC = "Best Practices for Secure Data Engineering: Privacy technologies (Encryption)"
LEAST_PRIVILEGE_TOPIC = "IAM Permissions: Least privilege principle"

# --------------------------------------------------------------------------- shared helpers


def _is_intrinsic(node: Any) -> bool:
    if not (isinstance(node, Mapping) and len(node) == 1):
        return False
    (key,) = node
    return key in ("Ref", "Condition") or str(key).startswith("Fn::")


def raw_at(resource: Resource, *path: str) -> Any:
    """Raw value at ``path``: None when absent, ``UNRESOLVED`` when a container is unknowable."""
    node: Any = resource.properties
    for key in path:
        if _is_intrinsic(node):
            node = resolve(node, resource.template)
            if node is UNRESOLVED:
                return UNRESOLVED
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def value_at(resource: Resource, *path: str) -> Any:
    """The resolved value at ``path`` (None absent, ``UNRESOLVED`` unknowable)."""
    raw = raw_at(resource, *path)
    return raw if raw is None or raw is UNRESOLVED else resolve(raw, resource.template)


def presence(resource: Resource, *path: str) -> bool | None:
    """Whether ``path`` is set (a reference counts); None when that depends on a condition."""
    raw = raw_at(resource, *path)
    if raw is UNRESOLVED:
        return None
    if raw == {"Ref": "AWS::NoValue"}:
        return False
    if _is_intrinsic(raw) and "Fn::If" in raw:
        branches = raw["Fn::If"][1:] if isinstance(raw["Fn::If"], list) else []
        if any(b == {"Ref": "AWS::NoValue"} or not present(b) for b in branches):
            return None
        return True
    if not present(raw):
        return False
    resolved = resolve(raw, resource.template)
    return True if resolved is UNRESOLVED else present(resolved)


def _name(path: tuple[str, ...]) -> str:
    return ".".join(path)


def requires(resource: Resource, path: tuple[str, ...], why: str) -> Verdict:
    """PASS when ``path`` is set (literal or reference), FAIL naming it when not."""
    found = presence(resource, *path)
    if found is None:
        return not_applicable(f"{_name(path)} depends on an unresolvable condition or reference")
    return PASS if found else fail(f"{_name(path)} is not set; {why}")


def requires_true(resource: Resource, path: tuple[str, ...], why: str) -> Verdict:
    """PASS when ``path`` resolves to true, FAIL when false or absent, N/A when unknowable."""
    value = value_at(resource, *path)
    flag = is_true(value)
    if flag is None:
        return not_applicable(f"{_name(path)} cannot be resolved to a boolean from the template")
    if flag:
        return PASS
    shown = "not set (defaults to false)" if value is None else json.dumps(value, default=repr)
    return fail(f"{_name(path)} is {shown}; set it to true to {why}")


def requires_literal(
    resource: Resource, path: tuple[str, ...], wanted: str, default: str
) -> Verdict:
    """PASS when ``path`` resolves to ``wanted``; absent means the service ``default``."""
    value = value_at(resource, *path)
    if value is UNRESOLVED:
        return not_applicable(f"{_name(path)} is a reference that cannot be resolved")
    if value == wanted:
        return PASS
    shown = f"not set (defaults to {default})" if value is None else f"{value!r}"
    return fail(f"{_name(path)} is {shown}; set it to {wanted!r}")


def configured(resource: Resource, *path: str) -> Verdict | None:
    """None when the optional block at ``path`` is configured, else the N/A verdict to return."""
    found = presence(resource, *path)
    if found is None:
        return not_applicable(f"{_name(path)} is conditional or an unresolvable reference")
    return None if found else not_applicable(f"no {_name(path)}")


# --------------------------------------------------------------------------- Studio domain

DOMAIN = "AWS::SageMaker::Domain"


@rule(
    "MLGenAI-SageMakerDomainVpcOnly",
    title="SageMaker Studio domain sends all app traffic through the customer VPC",
    reason="PublicInternetOnly routes Studio app traffic through a SageMaker VPC with internet.",
    fix="Set AppNetworkAccessType to VpcOnly (with VPC endpoints or a NAT for AWS APIs).",
    seed_topic=VPC_TOPIC,
    controls=BOUNDARY,
    resource_types=[DOMAIN],
)
def domain_vpc_only(resource: Resource) -> Verdict:
    """AppNetworkAccessType must be VpcOnly (absent means PublicInternetOnly)."""
    return requires_literal(resource, ("AppNetworkAccessType",), "VpcOnly", "PublicInternetOnly")


@rule(
    "MLGenAI-SageMakerDomainEncrypted",
    title="SageMaker Studio domain EFS volume uses a customer managed KMS key",
    reason="Home directories hold notebooks and data; a key you control governs who can read them.",
    fix="Set KmsKeyId to a customer managed KMS key.",
    seed_topic=ENCRYPTION_TOPIC,
    controls=AT_REST,
    resource_types=[DOMAIN],
)
def domain_encrypted(resource: Resource) -> Verdict:
    """KmsKeyId must be set."""
    return requires(resource, ("KmsKeyId",), "set a customer managed KMS key for the EFS volume")


# --------------------------------------------------------------------------- notebook instances

NOTEBOOK = "AWS::SageMaker::NotebookInstance"


@rule(
    "MLGenAI-SageMakerNotebookNoDirectInternet",
    title="SageMaker notebook instance has no direct internet access",
    reason="A notebook with direct internet access can exfiltrate data around the VPC's controls.",
    fix="Set DirectInternetAccess to Disabled (needs SubnetId; reach AWS APIs via VPC endpoints).",
    seed_topic=VPC_TOPIC,
    controls=BOUNDARY,
    resource_types=[NOTEBOOK],
)
def notebook_no_direct_internet(resource: Resource) -> Verdict:
    """DirectInternetAccess must be Disabled (absent means Enabled)."""
    return requires_literal(resource, ("DirectInternetAccess",), "Disabled", "Enabled")


@rule(
    "MLGenAI-SageMakerNotebookNoRootAccess",
    title="SageMaker notebook instance users do not get root access",
    reason="Root on the notebook lets users change its software and bypass its controls.",
    fix="Set RootAccess to Disabled (lifecycle configurations still run as root).",
    seed_topic=LEAST_PRIVILEGE_TOPIC,
    controls={**LEAST_PRIVILEGE, "NIST": ["AC-6", "AC-6(2)", "CM-7"]},
    resource_types=[NOTEBOOK],
)
def notebook_no_root(resource: Resource) -> Verdict:
    """RootAccess must be Disabled (absent means Enabled)."""
    return requires_literal(resource, ("RootAccess",), "Disabled", "Enabled")


@rule(
    "MLGenAI-SageMakerNotebookEncrypted",
    title="SageMaker notebook instance storage volume uses a customer managed KMS key",
    reason="The ML storage volume holds notebooks and data copies, often sensitive.",
    fix="Set KmsKeyId to a customer managed KMS key.",
    seed_topic=ENCRYPTION_TOPIC,
    controls=AT_REST,
    resource_types=[NOTEBOOK],
)
def notebook_encrypted(resource: Resource) -> Verdict:
    """KmsKeyId must be set."""
    return requires(resource, ("KmsKeyId",), "set a customer managed KMS key for the volume")


@rule(
    "MLGenAI-SageMakerNotebookInVpc",
    title="SageMaker notebook instance is attached to a VPC subnet",
    reason="Without a subnet the notebook runs outside your VPC's security groups and flow logs.",
    fix="Set SubnetId (and SecurityGroupIds) to a private subnet of your VPC.",
    seed_topic=VPC_TOPIC,
    controls=BOUNDARY,
    resource_types=[NOTEBOOK],
)
def notebook_in_vpc(resource: Resource) -> Verdict:
    """SubnetId must be set."""
    return requires(resource, ("SubnetId",), "attach the notebook to a private subnet")


# --------------------------------------------------------------------------- models and endpoints

MODEL = "AWS::SageMaker::Model"
ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"


@rule(
    "MLGenAI-SageMakerModelNetworkIsolation",
    title="SageMaker model containers run with network isolation",
    reason="An isolated container can make no inbound or outbound network calls, even to S3.",
    fix="Set EnableNetworkIsolation to true.",
    seed_topic=ISOLATION_TOPIC,
    controls=BOUNDARY,
    resource_types=[MODEL],
)
def model_network_isolation(resource: Resource) -> Verdict:
    """EnableNetworkIsolation must be true (absent means false)."""
    return requires_true(resource, ("EnableNetworkIsolation",), "block container network calls")


@rule(
    "MLGenAI-SageMakerModelInVpc",
    title="SageMaker model containers are deployed in a VPC",
    reason="Without VpcConfig the hosting containers are outside your network controls.",
    fix="Set VpcConfig (Subnets and SecurityGroupIds) to private subnets of your VPC.",
    seed_topic=VPC_TOPIC,
    controls=BOUNDARY,
    resource_types=[MODEL],
)
def model_in_vpc(resource: Resource) -> Verdict:
    """VpcConfig must be set."""
    return requires(resource, ("VpcConfig",), "deploy the model containers in private subnets")


@rule(
    "MLGenAI-SageMakerEndpointConfigEncrypted",
    title="SageMaker endpoint configuration encrypts its ML storage volumes with a KMS key",
    reason="Endpoint instance volumes hold model artifacts and may cache inference data.",
    fix="Set KmsKeyId to a customer managed KMS key (instance types with local NVMe storage "
    "reject it: acknowledge the finding for those).",
    seed_topic=ENCRYPTION_TOPIC,
    controls=AT_REST,
    resource_types=[ENDPOINT_CONFIG],
)
def endpoint_config_encrypted(resource: Resource) -> Verdict:
    """KmsKeyId must be set."""
    return requires(resource, ("KmsKeyId",), "set a customer managed KMS key for the volumes")


@rule(
    "MLGenAI-SageMakerEndpointDataCaptureEncrypted",
    title="SageMaker endpoint data capture encrypts captured requests and responses",
    reason="Captured payloads are real inference inputs and outputs, often PHI or PII.",
    fix="Set DataCaptureConfig.KmsKeyId to a customer managed KMS key.",
    seed_topic="SageMaker Model Monitor (data capture) with encryption",
    controls=AT_REST,
    resource_types=[ENDPOINT_CONFIG],
)
def endpoint_data_capture_encrypted(resource: Resource) -> Verdict:
    """DataCaptureConfig.KmsKeyId must be set when capture is configured."""
    skip = configured(resource, "DataCaptureConfig")
    if skip:
        return skip
    capture = value_at(resource, "DataCaptureConfig", "EnableCapture")
    if capture is not None and is_true(capture) is False:
        return not_applicable("DataCaptureConfig.EnableCapture is false")
    return requires(resource, ("DataCaptureConfig", "KmsKeyId"), "captured data lands in S3")
