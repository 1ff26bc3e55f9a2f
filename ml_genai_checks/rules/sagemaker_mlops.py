"""Rules: SageMaker MLOps — Model Monitor / Clarify jobs, Feature Store, Model Registry.

The four monitoring job definition types share one shape: ``NetworkConfig``,
``JobResources.ClusterConfig`` and a type-named output config (``DataQualityJobOutputConfig``...).
A ``MonitoringSchedule`` carries the same blocks under
``MonitoringScheduleConfig.MonitoringJobDefinition`` (resources as ``MonitoringResources``, output
as ``MonitoringOutputConfig``) unless it names a separate job definition, checked on its own.
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
    resolve,
    rule,
)
from ml_genai_checks.rules.sagemaker import (
    AT_REST,
    BOUNDARY,
    ENCRYPTION_TOPIC,
    IN_TRANSIT,
    ISOLATION_TOPIC,
    LEAST_PRIVILEGE,
    VPC_TOPIC,
    configured,
    presence,
    raw_at,
    requires,
    requires_true,
    value_at,
)

# --------------------------------------------------------------------------- Model Monitor jobs

SCHEDULE = "AWS::SageMaker::MonitoringSchedule"
_INLINE = ("MonitoringScheduleConfig", "MonitoringJobDefinition")

_OUTPUT = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQualityJobOutputConfig",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQualityJobOutputConfig",
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBiasJobOutputConfig",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "ModelExplainabilityJobOutputConfig",
}
JOB_TYPES = [*_OUTPUT, SCHEDULE]
MONITOR_TOPIC = "SageMaker Model Monitor"


def _base(resource: Resource) -> tuple[str, ...] | Verdict:
    """Where the job blocks sit, or the N/A verdict for a schedule without an inline job."""
    if resource.type != SCHEDULE:
        return ()
    inline = presence(resource, *_INLINE)
    if inline is None:
        return not_applicable(f"{'.'.join(_INLINE)} is conditional or an unresolvable reference")
    if not inline:
        return not_applicable("the schedule names a separate job definition (checked there)")
    return _INLINE


def _check(resource: Resource, kind: str, leaf: tuple[str, ...], why: str) -> Verdict:
    base = _base(resource)
    if isinstance(base, Verdict):
        return base
    if kind == "network":
        block: tuple[str, ...] = ("NetworkConfig",)
    elif kind == "resources":
        block = ("MonitoringResources" if base else "JobResources", "ClusterConfig")
    else:
        block = ("MonitoringOutputConfig" if base else _OUTPUT[resource.type],)
    path = (*base, *block, *leaf)
    if kind == "network" and leaf != ("VpcConfig",):
        return requires_true(resource, path, why)
    return requires(resource, path, why)


@rule(
    "MLGenAI-SageMakerMonitoringJobNetworkIsolation",
    title="SageMaker monitoring job containers run with network isolation",
    reason="Monitoring jobs read captured inference data; isolated containers cannot send it out.",
    fix="Set NetworkConfig.EnableNetworkIsolation to true (in the schedule: "
    "MonitoringScheduleConfig.MonitoringJobDefinition.NetworkConfig).",
    seed_topic=ISOLATION_TOPIC,
    controls=BOUNDARY,
    resource_types=JOB_TYPES,
)
def job_network_isolation(resource: Resource) -> Verdict:
    """NetworkConfig.EnableNetworkIsolation must be true."""
    return _check(resource, "network", ("EnableNetworkIsolation",), "block container network calls")


@rule(
    "MLGenAI-SageMakerMonitoringJobInterContainerEncryption",
    title="SageMaker monitoring job encrypts traffic between its instances",
    reason="Distributed monitoring jobs exchange the analysed data between instances.",
    fix="Set NetworkConfig.EnableInterContainerTrafficEncryption to true.",
    seed_topic=MONITOR_TOPIC + "; Security and Privacy: encryption",
    controls=IN_TRANSIT,
    resource_types=JOB_TYPES,
)
def job_inter_container_encryption(resource: Resource) -> Verdict:
    """NetworkConfig.EnableInterContainerTrafficEncryption must be true."""
    leaf = ("EnableInterContainerTrafficEncryption",)
    return _check(resource, "network", leaf, "encrypt traffic between job instances")


@rule(
    "MLGenAI-SageMakerMonitoringJobInVpc",
    title="SageMaker monitoring job runs in a VPC",
    reason="Without a VPC the job's instances are outside your network controls.",
    fix="Set NetworkConfig.VpcConfig (Subnets and SecurityGroupIds) to private subnets.",
    seed_topic=VPC_TOPIC,
    controls=BOUNDARY,
    resource_types=JOB_TYPES,
)
def job_in_vpc(resource: Resource) -> Verdict:
    """NetworkConfig.VpcConfig must be set."""
    return _check(resource, "network", ("VpcConfig",), "run the job in private subnets")


@rule(
    "MLGenAI-SageMakerMonitoringJobVolumeEncrypted",
    title="SageMaker monitoring job storage volumes use a customer managed KMS key",
    reason="The job's volumes hold copies of captured inference data while it is analysed.",
    fix="Set JobResources.ClusterConfig.VolumeKmsKeyId (in the schedule: "
    "MonitoringResources.ClusterConfig.VolumeKmsKeyId) to a customer managed KMS key.",
    seed_topic=MONITOR_TOPIC + "; Privacy technologies: Encryption",
    controls=AT_REST,
    resource_types=JOB_TYPES,
)
def job_volume_encrypted(resource: Resource) -> Verdict:
    """ClusterConfig.VolumeKmsKeyId must be set."""
    return _check(resource, "resources", ("VolumeKmsKeyId",), "set a KMS key for the volumes")


@rule(
    "MLGenAI-SageMakerMonitoringJobOutputEncrypted",
    title="SageMaker monitoring job output is encrypted with a customer managed KMS key",
    reason="Monitoring reports in S3 describe the data and model, including bias and drift.",
    fix="Set KmsKeyId in the output config (DataQualityJobOutputConfig, "
    "ModelQualityJobOutputConfig, ModelBiasJobOutputConfig, ModelExplainabilityJobOutputConfig, "
    "or the schedule's MonitoringOutputConfig).",
    seed_topic=MONITOR_TOPIC + "; Privacy technologies: Encryption",
    controls=AT_REST,
    resource_types=JOB_TYPES,
)
def job_output_encrypted(resource: Resource) -> Verdict:
    """The output config KmsKeyId must be set."""
    return _check(resource, "output", ("KmsKeyId",), "set a KMS key for the S3 output")


# --------------------------------------------------------------------------- feature store

FEATURE_GROUP = "AWS::SageMaker::FeatureGroup"


@rule(
    "MLGenAI-SageMakerFeatureGroupOfflineStoreEncrypted",
    title="SageMaker feature group offline store is encrypted with a customer managed KMS key",
    reason="The offline store keeps the full feature history in S3, the training data itself.",
    fix="Set OfflineStoreConfig.S3StorageConfig.KmsKeyId to a customer managed KMS key.",
    seed_topic=ENCRYPTION_TOPIC,
    controls=AT_REST,
    resource_types=[FEATURE_GROUP],
)
def feature_group_offline_encrypted(resource: Resource) -> Verdict:
    """S3StorageConfig.KmsKeyId must be set when an offline store is."""
    skip = configured(resource, "OfflineStoreConfig")
    if skip:
        return skip
    path = ("OfflineStoreConfig", "S3StorageConfig", "KmsKeyId")
    return requires(resource, path, "objects written to the offline store use an AWS key")


@rule(
    "MLGenAI-SageMakerFeatureGroupOnlineStoreEncrypted",
    title="SageMaker feature group online store is encrypted with a customer managed KMS key",
    reason="The online store serves current feature values, often identifying data, at inference.",
    fix="Set OnlineStoreConfig.SecurityConfig.KmsKeyId to a customer managed KMS key.",
    seed_topic=ENCRYPTION_TOPIC,
    controls=AT_REST,
    resource_types=[FEATURE_GROUP],
)
def feature_group_online_encrypted(resource: Resource) -> Verdict:
    """SecurityConfig.KmsKeyId must be set when the online store is on."""
    skip = configured(resource, "OnlineStoreConfig")
    if skip:
        return skip
    enabled = is_true(value_at(resource, "OnlineStoreConfig", "EnableOnlineStore"))
    if enabled is None:
        return not_applicable("OnlineStoreConfig.EnableOnlineStore cannot be resolved")
    if not enabled:
        return not_applicable("the online store is not enabled")
    path = ("OnlineStoreConfig", "SecurityConfig", "KmsKeyId")
    return requires(resource, path, "the online store uses an AWS owned key")


# --------------------------------------------------------------------------- model registry

_SENTINEL = "__MLGENAI_UNRESOLVED__"
_NARROWING_KEYS = {
    k.lower()
    for k in (
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
    )
}


def _text(value: Any, resource: Resource) -> Any:
    """A JSON policy string with unresolvable ``Fn::Join`` parts replaced by a sentinel."""
    if isinstance(value, Mapping) and list(value) == ["Fn::Join"]:
        arg = value["Fn::Join"]
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            parts = [_text(p, resource) for p in arg[1]]
            if isinstance(arg[0], str) and all(isinstance(p, str | int) for p in parts):
                return arg[0].join(str(p) for p in parts)
    resolved = resolve(value, resource.template)
    return _SENTINEL if resolved is UNRESOLVED else resolved


def _unknown(value: Any) -> bool:
    return value is UNRESOLVED or _SENTINEL in json.dumps(value, default=lambda _: _SENTINEL)


def _is_wildcard(principal: Any) -> bool | None:
    if _unknown(principal):
        return None
    if principal == "*":
        return True
    aws = principal.get("AWS") if isinstance(principal, Mapping) else None
    return aws == "*" or (isinstance(aws, list) and "*" in aws)


def _narrowed(condition: Any) -> bool | None:
    """Whether a condition pins the caller to an org/account/ARN (None: cannot tell)."""
    if condition is None:
        return False
    if not isinstance(condition, Mapping):
        return None
    for operator, clauses in condition.items():
        op = str(operator).removeprefix("ForAnyValue:")
        positive = op.startswith(("String", "Arn")) and "Not" not in op
        if not positive or op.endswith("IfExists") or op.startswith("ForAllValues:"):
            continue
        if not isinstance(clauses, Mapping):
            return None
        for key, wanted in clauses.items():
            wildcard = wanted == "*" or (isinstance(wanted, list) and "*" in wanted)
            if str(key).lower() in _NARROWING_KEYS and not wildcard:
                return True
    return None if _unknown(condition) else False


@rule(
    "MLGenAI-SageMakerModelPackageGroupNotPublic",
    title="SageMaker model package group policy does not grant access to any principal",
    reason="A Principal '*' Allow without an org/account condition shares models with everyone.",
    fix="In ModelPackageGroupPolicy name account principals, or add a Condition on "
    "aws:PrincipalOrgID / aws:PrincipalAccount to each Allow with Principal '*'.",
    seed_topic="SageMaker Model Registry; IAM Permissions: Least privilege principle",
    controls=LEAST_PRIVILEGE,
    resource_types=["AWS::SageMaker::ModelPackageGroup"],
)
def model_package_group_not_public(resource: Resource) -> Verdict:
    """No Allow to Principal * without an org/account condition."""
    raw = raw_at(resource, "ModelPackageGroupPolicy")
    if raw is None:
        return PASS
    policy = _text(raw, resource)
    if isinstance(policy, str) and policy != _SENTINEL:
        try:
            policy = json.loads(policy)
        except ValueError:
            return not_applicable("ModelPackageGroupPolicy is not JSON (or has unresolvable parts)")
    statements = policy.get("Statement") if isinstance(policy, Mapping) else UNRESOLVED
    statements = [statements] if isinstance(statements, Mapping) else statements
    if not isinstance(statements, list):
        return not_applicable("ModelPackageGroupPolicy statements cannot be resolved")
    public: list[str] = []
    unsure = False
    for index, statement in enumerate(statements):
        effect = statement.get("Effect") if isinstance(statement, Mapping) else UNRESOLVED
        if _unknown(effect):
            unsure = True
            continue
        if effect != "Allow":
            continue
        wildcard = True if "NotPrincipal" in statement else _is_wildcard(statement.get("Principal"))
        narrowed = _narrowed(statement.get("Condition")) if wildcard else True
        if wildcard is None or narrowed is None:
            unsure = True
        elif not narrowed:
            public.append(str(statement.get("Sid") or f"Statement[{index}]"))
    if public:
        return fail(
            f"ModelPackageGroupPolicy allows any principal without an org/account condition "
            f"({', '.join(public)}); name principals or add aws:PrincipalOrgID"
        )
    if unsure:
        return not_applicable("a ModelPackageGroupPolicy principal or condition is unresolvable")
    return PASS
