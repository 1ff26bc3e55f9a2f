"""The building blocks the four SageMaker roles are made of: policy statements by role kind.

``SageMakerRoleBlocks`` is the base of ``SageMakerRoles``: it creates one role trusted by
SageMaker for this account (``_role``) and adds the statements every role shares (data key
through SageMaker, image pulls, ``_common``), those a job needs while it runs (logs, metrics, VPC
network interfaces, ``_job_runtime``) and those of a person's Studio execution role (jobs under
the platform's rules, following them, passing the job roles, reading logs, ``_persona``), with
the action lists they use. ``SageMakerRoles`` sets the attributes they read and decides which
role gets which block, and in what order.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..core.managed_policy_role import ManagedPolicyRole
from .sagemaker_rules import JOB_CONDITION_KEYS, JobRules, job_statements

# VPC jobs: SageMaker creates network interfaces with the job's role (developer guide,
# "Give SageMaker Training Jobs Access to Resources in Your Amazon VPC").
_VPC_JOB_MUTATING_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
)
_VPC_JOB_DESCRIBE_ACTIONS = (
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
_ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


# Job kind (its ARN resource type) -> the actions that follow one job of that kind.
_FOLLOW_ACTIONS: dict[str, tuple[str, ...]] = {
    "hyper-parameter-tuning-job": (
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:StopHyperParameterTuningJob",
    ),
    "processing-job": ("sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"),
    "training-job": ("sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"),
    "transform-job": ("sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob"),
}


class SageMakerRoleBlocks(Construct):
    """Statement groups shared by the SageMaker roles; ``SageMakerRoles`` sets the attributes."""

    _arn: str  # arn:<partition>:sagemaker:<region>:<account>
    _logs_arn: str  # arn:<partition>:logs:<region>:<account>:log-group:
    _stack: cdk.Stack
    _key: kms.IKey
    _ecr_prefix: str
    _rules: JobRules

    # ------------------------------------------------------------------ building blocks

    def _role(self, construct_id: str, description: str) -> iam.Role:
        return ManagedPolicyRole(
            self,
            construct_id,
            description=description,
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": self._stack.account}},
            ),
        )

    def _common(self, role: iam.Role) -> None:
        """Data key through S3 and SageMaker, image pulls from our repositories."""
        via_sagemaker = {
            "StringEquals": {"kms:ViaService": f"sagemaker.{self._stack.region}.amazonaws.com"}
        }
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DataKeyThroughSageMaker",
                actions=["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                resources=[self._key.key_arn],
                conditions=via_sagemaker,
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DataKeyGrantsForSageMakerVolumes",
                actions=["kms:CreateGrant"],
                resources=[self._key.key_arn],
                conditions={**via_sagemaker, "Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
        stack = self._stack
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PullPlatformImages",
                actions=list(_ECR_PULL),
                resources=[
                    f"arn:{stack.partition}:ecr:{stack.region}:{stack.account}:repository/"
                    f"{self._ecr_prefix}*"
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            )
        )

    def _job_runtime(self, role: iam.Role, log_kinds: Sequence[str]) -> None:
        """What a job needs while it runs: its logs, metrics, VPC interfaces."""
        self._common(role)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteJobLogs",
                actions=[
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                resources=[f"{self._logs_arn}/aws/sagemaker/{kind}:*" for kind in log_kinds],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="JobMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            )
        )
        ec2_arn = f"arn:{self._stack.partition}:ec2:{self._stack.region}:{self._stack.account}"
        role.add_to_policy(
            iam.PolicyStatement(
                sid="JobNetworkInterfacesInThePlatformSubnets",
                actions=list(_VPC_JOB_MUTATING_ACTIONS),
                resources=[
                    f"{ec2_arn}:network-interface/*",
                    *(f"{ec2_arn}:subnet/{s}" for s in self._rules.subnet_ids),
                    *(f"{ec2_arn}:security-group/{g}" for g in self._rules.security_group_ids),
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeTheNetwork", actions=list(_VPC_JOB_DESCRIBE_ACTIONS), resources=["*"]
            )
        )

    def _persona(
        self,
        role: iam.Role,
        jobs: Sequence[str],
        rules: JobRules,
        passable: Sequence[iam.IRole],
    ) -> None:
        """A person's Studio execution role: jobs under the rules, pass job roles, read logs."""
        self._common(role)
        stack = self._stack
        for statement in job_statements(
            jobs, rules, partition=stack.partition, region=stack.region, account=stack.account
        ):
            role.add_to_policy(statement)
        job_resources = sorted({JOB_CONDITION_KEYS[a][1] for a in jobs})
        role.add_to_policy(
            iam.PolicyStatement(
                sid="FollowOwnJobs",
                # Describe/Stop only for the job kinds this persona may create: an action whose
                # resource type is not among the statement's resources would never apply.
                actions=sorted(
                    {"sagemaker:AddTags"}
                    | {a for kind in job_resources for a in _FOLLOW_ACTIONS.get(kind, ())}
                ),
                resources=[f"{self._arn}:{kind}/*" for kind in job_resources],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ListWithoutResourceTypes",
                actions=[
                    "sagemaker:ListApps",
                    "sagemaker:ListEndpoints",
                    "sagemaker:ListHyperParameterTuningJobs",
                    "sagemaker:ListModelPackageGroups",
                    "sagemaker:ListModels",
                    "sagemaker:ListProcessingJobs",
                    "sagemaker:ListSpaces",
                    "sagemaker:ListTrainingJobs",
                    "sagemaker:ListTransformJobs",
                ],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PassJobRolesToSageMakerOnly",
                actions=["iam:PassRole"],
                resources=[r.role_arn for r in passable],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadSageMakerLogs",
                actions=["logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents"],
                resources=[f"{self._logs_arn}/aws/sagemaker/*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteStudioLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self._logs_arn}/aws/sagemaker/studio:*"],
            )
        )
