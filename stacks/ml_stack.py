"""SageMaker for an environment: Studio in VPC-only mode, personas, job rules, governance.

Seed pages: SageMaker (Studio, jobs, Model Registry, Model Cards, Model Monitor), Network
Isolation mode, SageMaker in VPC, SM Role Manager, Governance and Compliance.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from platform_config import EnvironmentConfig
from secure_constructs.core.log_groups import encrypted_log_group
from secure_constructs.data.secure_bucket import SecureBucket
from secure_constructs.ml.data_quality_monitor import DataQualityMonitor
from secure_constructs.ml.model_governance import ModelGovernance
from secure_constructs.ml.sagemaker_roles import MONITORING_PREFIX, SageMakerRoles
from secure_constructs.ml.sagemaker_rules import SAGEMAKER_LOG_GROUPS, JobRules
from secure_constructs.ml.studio_domain import SecureStudioDomain, endpoint_only_security_group
from secure_constructs.network.secure_vpc import SecureVpc
from stacks.base import PlatformStack


class MlStack(PlatformStack):
    """Studio domain, SageMaker roles, job security group, registry, model card, monitoring.

    * ``JobSecurityGroup``: the one security group jobs may use (``sagemaker:VpcSecurityGroupIds``):
      HTTPS to the endpoints and S3 only, and any TCP within itself (distributed training);
    * ``Roles``: data scientist and MLOps engineer personas, training-job and inference roles
      (``secure_constructs.ml.sagemaker_roles``), every job conditioned on the private subnets,
      the job security group, network isolation, inter-container encryption, the data key and
      the configured instance types;
    * ``Studio``: the domain (VPC-only, private subnets, data key) and the configured user
      profiles, each with its persona's role;
    * ``Governance``: model package group and model card (from ``ml.model_card_file``);
    * ``DataQuality``: only when ``ml.monitoring`` names an endpoint;
    * ``LogGroups``: SageMaker's own log groups (``SAGEMAKER_LOG_GROUPS``). With
      ``ml.sagemaker_log_groups = "create"`` they are created here encrypted with the logs key
      and kept ``ml.log_retention_days`` (retained), instead of being created by SageMaker on
      first use unencrypted and never expiring; they must not exist yet in the account and
      region (``make preflight`` checks). An account that ever ran SageMaker has them: choose
      ``"adopt"`` (only referenced by name; their encryption and retention stay as they are,
      set them by hand with ``aws logs associate-kms-key`` / ``put-retention-policy``), or
      ``cdk import`` them into this stack in create mode.

    Attributes: ``roles``, ``studio``, ``governance``, ``job_security_group``, ``monitor``,
    ``log_groups``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        environment: EnvironmentConfig,
        description: str,
        network: SecureVpc,
        data_key: kms.IKey,
        logs_key: kms.IKey,
        curated: SecureBucket,
        model_artifacts: SecureBucket,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            project=project,
            environment=environment,
            name_suffix="ml",
            description=description,
        )
        env = environment
        ml = env.ml
        prefix = f"{project}-{env.name}"
        vpc = network.vpc
        private_subnets = vpc.private_subnets

        self.log_groups: dict[str, logs.ILogGroup] = {}
        for name in SAGEMAKER_LOG_GROUPS:
            if ml.sagemaker_log_groups == "adopt":
                self.log_groups[name] = logs.LogGroup.from_log_group_name(
                    self, f"Adopted{name[0].upper()}{name[1:]}", f"/aws/sagemaker/{name}"
                )
                continue
            self.log_groups[name] = encrypted_log_group(
                self,
                f"LogGroup{name[0].upper()}{name[1:]}",
                encryption_key=logs_key,
                retention_days=ml.log_retention_days,
                log_group_name=f"/aws/sagemaker/{name}",
            )

        self.job_security_group = endpoint_only_security_group(
            self,
            "JobSecurityGroup",
            vpc=vpc,
            description="SageMaker jobs: endpoints and S3 only, any TCP between job nodes",
            endpoint_security_group=network.endpoint_security_group,
            s3_prefix_list_id=env.s3_prefix_list_id,
        )
        self.job_security_group.add_ingress_rule(
            self.job_security_group, ec2.Port.all_tcp(), "Between nodes of one job"
        )
        self.job_security_group.add_egress_rule(
            self.job_security_group, ec2.Port.all_tcp(), "Between nodes of one job"
        )
        rules = JobRules(
            subnet_ids=tuple(s.subnet_id for s in private_subnets),
            security_group_ids=(self.job_security_group.security_group_id,),
            kms_key_arn=data_key.key_arn,
            instance_types=ml.job_instance_types,
        )
        self.roles = SageMakerRoles(
            self,
            "Roles",
            job_rules=rules,
            data_key=data_key,
            curated=curated,
            artifacts=model_artifacts,
            ecr_prefix=f"{project}/",
        )
        personas = {
            "data_scientist": self.roles.data_scientist,
            "mlops_engineer": self.roles.mlops_engineer,
        }
        self.studio = SecureStudioDomain(
            self,
            "Studio",
            domain_name=prefix,
            vpc=vpc,
            subnets=private_subnets,
            endpoint_security_group=network.endpoint_security_group,
            s3_prefix_list_id=env.s3_prefix_list_id,
            encryption_key=data_key,
            default_execution_role=self.roles.data_scientist,
            user_profiles=[(p.name, personas[p.persona]) for p in ml.user_profiles],
        )
        self.roles.allow_studio(self.studio.domain_id)

        card_name = f"{prefix}-{ml.model_card.model_name}"[:63]
        self.governance = ModelGovernance(
            self,
            "Governance",
            model_package_group_name=f"{prefix}-{ml.model_package_group_name}"[:63],
            card_name=card_name,
            card=ml.model_card,
            card_status=ml.model_card_status,
            encryption_key=data_key,
        )
        self.roles.allow_governance(
            model_package_group=self.governance.group_name, model_card=card_name
        )

        self.monitor: DataQualityMonitor | None = None
        if ml.monitoring is not None:
            monitoring = ml.monitoring
            self.monitor = DataQualityMonitor(
                self,
                "DataQuality",
                name=f"{prefix}-{monitoring.endpoint_name}"[:50],
                endpoint_name=monitoring.endpoint_name,
                schedule_expression=monitoring.schedule_expression,
                instance_type=monitoring.instance_type,
                image_uri=monitoring.analyzer_image_uri,
                role=self.roles.inference,
                rules=rules,
                output_s3_uri=model_artifacts.bucket.s3_url_for_object(
                    f"{MONITORING_PREFIX}{monitoring.endpoint_name}"
                ),
            )
