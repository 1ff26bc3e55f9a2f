"""SageMaker execution roles for people (personas) and for jobs, in the spirit of Role Manager.

Four roles, each trusted by ``sagemaker.amazonaws.com`` for this account only:

==================  =========================================================================
role                what it may do
==================  =========================================================================
data scientist      Studio (apps and spaces of its domain); training, processing and tuning
                    jobs under the platform's rules; register models as *pending approval*;
                    read ``training/`` (curated), read/write ``experiments/`` (artifacts)
MLOps engineer      Studio; every job the platform grants (models, endpoint configurations,
                    batch transform, monitoring) under the rules; endpoints; approve or reject
                    model packages; update the model card; read ``experiments/``, read/write
                    ``models/``, read ``monitoring/``
training job        run training/processing/tuning jobs: read ``training/``, read/write
                    ``experiments/``
inference           run models, batch transform and monitoring: read ``models/`` and
                    ``batch-input/`` (curated); write ``data-capture/``, ``monitoring/``,
                    ``batch-output/``
==================  =========================================================================

All four: the data key only through S3 and SageMaker (``kms:ViaService``; grants only for AWS
resources), image pulls only from this account's repositories under ``<ecr_prefix>``, and logs
only in SageMaker's own log groups (streams only: the ML stack creates the groups, encrypted).
Persona roles may pass only the two job roles, only to SageMaker. Job creation is conditioned
by ``sagemaker_rules`` (VPC, network isolation, inter-container encryption, volume and output
keys, instance types).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..core.bucket_grants import PrefixGrantable
from ..core.managed_policy_role import (
    ACTIONS_WITHOUT_RESOURCE_TYPES,
    NETWORK_INTERFACES,
    acknowledge_wildcards,
    arn_pattern,
)
from .sagemaker_role_blocks import SageMakerRoleBlocks
from .sagemaker_rules import JOB_CONDITION_KEYS, JobRules

TRAINING_DATA_PREFIX = "training/"
BATCH_INPUT_PREFIX = "batch-input/"
EXPERIMENTS_PREFIX = "experiments/"
MODELS_PREFIX = "models/"
DATA_CAPTURE_PREFIX = "data-capture/"
MONITORING_PREFIX = "monitoring/"
BATCH_OUTPUT_PREFIX = "batch-output/"

DATA_SCIENTIST_JOBS: tuple[str, ...] = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob",
)
MLOPS_JOBS: tuple[str, ...] = tuple(JOB_CONDITION_KEYS)

# SageMaker's log groups per job kind (SageMaker creates them on first use).
_JOB_LOG_GROUPS = ("TrainingJobs", "ProcessingJobs", "TransformJobs", "Endpoints")

WILDCARD_RULES: tuple[tuple[str, str], ...] = (
    ACTIONS_WITHOUT_RESOURCE_TYPES,
    NETWORK_INTERFACES,
    (
        rf"Resource::{arn_pattern('sagemaker')}(training-job|processing-job|"
        r"hyper-parameter-tuning-job|transform-job|model|endpoint-config|endpoint|"
        r"monitoring-schedule|data-quality-job-definition|model-quality-job-definition|"
        r"model-bias-job-definition|model-explainability-job-definition)/\*",
        "Jobs, models and endpoints are named when they are created; the wildcard covers one "
        "resource type in this account and region, and creating one is conditioned on the "
        "platform's subnets, security group, isolation, encryption and instance types.",
    ),
    (
        rf"Resource::{arn_pattern('sagemaker')}(app|space|user-profile)/"
        r"<[A-Za-z0-9]+\.DomainId>/\*",
        "Studio apps, spaces and user profiles are created at run time; the wildcard is limited "
        "to the platform's one Studio domain.",
    ),
    (
        rf"Resource::{arn_pattern('sagemaker')}model-package/[a-z0-9-]+/\*",
        "Model package versions are numbered by the registry as they are registered; the "
        "wildcard covers the versions of the platform's one model package group.",
    ),
    (
        rf"Resource::{arn_pattern('logs')}log-group:/aws/sagemaker/"
        r"(\*|[A-Za-z]+:\*)",
        "SageMaker writes each job's, endpoint's and Studio app's logs to streams it names at "
        "run time in its own /aws/sagemaker/ log groups; nothing outside them is reachable.",
    ),
    (
        rf"Resource::{arn_pattern('ecr')}repository/[a-z0-9-]+/\*",
        "Images come only from this account's repositories under the platform's prefix, so a "
        "team can publish a new image repository without a platform deployment.",
    ),
)
"""Why each kind of wildcard in the SageMaker roles is acceptable (``acknowledge_wildcards``)."""


class SageMakerRoles(SageMakerRoleBlocks):
    """The four SageMaker roles (module docstring) and how they are tied together.

    ``job_rules`` conditions every job a persona creates; ``data_key`` is the key of both
    buckets and of job volumes and outputs; ``curated`` and ``artifacts`` are ``SecureBucket``
    constructs (grants are per prefix). ``ecr_prefix`` (e.g. ``secure-ml/``) names the
    repositories images may come from. Call ``allow_studio`` once the domain exists and
    ``allow_governance`` once the model package group and card names are known.

    Attributes: ``data_scientist``, ``mlops_engineer``, ``training_job``, ``inference``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_rules: JobRules,
        data_key: kms.IKey,
        curated: PrefixGrantable,
        artifacts: PrefixGrantable,
        ecr_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if not ecr_prefix.endswith("/") or "*" in ecr_prefix:
            raise ValueError(f"SageMakerRoles ecr_prefix {ecr_prefix!r}: a prefix ending with '/'")
        stack = cdk.Stack.of(self)
        self._arn = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
        self._logs_arn = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:"
        self._stack = stack
        self._key = data_key
        self._ecr_prefix = ecr_prefix
        self._rules = job_rules

        self.training_job = self._role("TrainingJobRole", "SageMaker training, processing, tuning")
        curated.grant_read(self.training_job, TRAINING_DATA_PREFIX)
        artifacts.grant_read(self.training_job, EXPERIMENTS_PREFIX)
        artifacts.grant_write(self.training_job, EXPERIMENTS_PREFIX)
        self._job_runtime(self.training_job, ("TrainingJobs", "ProcessingJobs"))

        self.inference = self._role("InferenceRole", "SageMaker models, transform, monitoring")
        artifacts.grant_read(self.inference, MODELS_PREFIX)
        artifacts.grant_read(self.inference, DATA_CAPTURE_PREFIX)
        artifacts.grant_read(self.inference, MONITORING_PREFIX)
        for prefix in (DATA_CAPTURE_PREFIX, MONITORING_PREFIX, BATCH_OUTPUT_PREFIX):
            artifacts.grant_write(self.inference, prefix)
        curated.grant_read(self.inference, BATCH_INPUT_PREFIX)
        self._job_runtime(self.inference, ("Endpoints", "TransformJobs", "ProcessingJobs"))

        self.data_scientist = self._role("DataScientistRole", "Persona: data scientist (Studio)")
        curated.grant_read(self.data_scientist, TRAINING_DATA_PREFIX)
        artifacts.grant_read(self.data_scientist, EXPERIMENTS_PREFIX)
        artifacts.grant_write(self.data_scientist, EXPERIMENTS_PREFIX)
        self._persona(self.data_scientist, DATA_SCIENTIST_JOBS, job_rules, [self.training_job])

        self.mlops_engineer = self._role("MlopsEngineerRole", "Persona: MLOps engineer (Studio)")
        artifacts.grant_read(self.mlops_engineer, EXPERIMENTS_PREFIX)
        artifacts.grant_read(self.mlops_engineer, MODELS_PREFIX)
        artifacts.grant_write(self.mlops_engineer, MODELS_PREFIX)
        artifacts.grant_read(self.mlops_engineer, MONITORING_PREFIX)
        self._persona(
            self.mlops_engineer, MLOPS_JOBS, job_rules, [self.training_job, self.inference]
        )
        self.mlops_engineer.add_to_policy(
            iam.PolicyStatement(
                sid="Endpoints",
                actions=[
                    "sagemaker:CreateEndpoint",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:DeleteEndpointConfig",
                    "sagemaker:DeleteModel",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DescribeModel",
                    "sagemaker:InvokeEndpoint",
                    "sagemaker:UpdateEndpoint",
                ],
                resources=[
                    f"{self._arn}:endpoint/*",
                    f"{self._arn}:endpoint-config/*",
                    f"{self._arn}:model/*",
                ],
            )
        )
        self.mlops_engineer.add_to_policy(
            iam.PolicyStatement(
                sid="Monitoring",
                actions=[
                    "sagemaker:DeleteMonitoringSchedule",
                    "sagemaker:DescribeDataQualityJobDefinition",
                    "sagemaker:DescribeMonitoringSchedule",
                    "sagemaker:StartMonitoringSchedule",
                    "sagemaker:StopMonitoringSchedule",
                ],
                resources=[
                    f"{self._arn}:monitoring-schedule/*",
                    f"{self._arn}:data-quality-job-definition/*",
                ],
            )
        )
        acknowledge_wildcards(self, WILDCARD_RULES)

    @property
    def roles(self) -> list[iam.Role]:
        """All four roles."""
        return [self.data_scientist, self.mlops_engineer, self.training_job, self.inference]

    # ------------------------------------------------------------------ late wiring

    def allow_studio(self, domain_id: str) -> None:
        """Let both personas use the apps and spaces of one Studio domain (and nothing else)."""
        for role in (self.data_scientist, self.mlops_engineer):
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="StudioAppsAndSpacesOfThisDomain",
                    actions=[
                        "sagemaker:AddTags",
                        "sagemaker:CreateApp",
                        "sagemaker:CreateSpace",
                        "sagemaker:DeleteApp",
                        "sagemaker:DeleteSpace",
                        "sagemaker:DescribeApp",
                        "sagemaker:DescribeDomain",
                        "sagemaker:DescribeSpace",
                        "sagemaker:DescribeUserProfile",
                        "sagemaker:UpdateSpace",
                    ],
                    resources=[
                        f"{self._arn}:domain/{domain_id}",
                        f"{self._arn}:user-profile/{domain_id}/*",
                        f"{self._arn}:space/{domain_id}/*",
                        f"{self._arn}:app/{domain_id}/*",
                    ],
                )
            )

    def allow_governance(self, *, model_package_group: str, model_card: str) -> None:
        """Registry and model card: data scientists propose, MLOps engineers decide."""
        group_arn = f"{self._arn}:model-package-group/{model_package_group}"
        packages_arn = f"{self._arn}:model-package/{model_package_group}/*"
        read = [
            "sagemaker:DescribeModelPackage",
            "sagemaker:DescribeModelPackageGroup",
            "sagemaker:ListModelPackages",
        ]
        self.data_scientist.add_to_policy(
            iam.PolicyStatement(
                sid="ReadTheModelRegistry", actions=read, resources=[group_arn, packages_arn]
            )
        )
        self.data_scientist.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterModelsPendingApproval",
                actions=["sagemaker:CreateModelPackage"],
                resources=[group_arn, packages_arn],
                conditions={
                    "StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}
                },
            )
        )
        self.mlops_engineer.add_to_policy(
            iam.PolicyStatement(
                sid="ManageTheModelRegistry",
                actions=[*read, "sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"],
                resources=[group_arn, packages_arn],
            )
        )
        card_arn = f"{self._arn}:model-card/{model_card}"
        for role, actions in (
            (self.data_scientist, ["sagemaker:DescribeModelCard"]),
            (self.mlops_engineer, ["sagemaker:DescribeModelCard", "sagemaker:UpdateModelCard"]),
        ):
            role.add_to_policy(
                iam.PolicyStatement(sid="TheModelCard", actions=actions, resources=[card_arn])
            )
