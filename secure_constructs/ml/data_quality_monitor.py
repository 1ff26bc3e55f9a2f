"""SageMaker Model Monitor data-quality monitoring of one endpoint, under the platform's rules."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from .sagemaker_rules import JobRules

D = sagemaker.CfnDataQualityJobDefinition
S = sagemaker.CfnMonitoringSchedule


class DataQualityMonitor(Construct):
    """A data-quality job definition and its schedule for ``endpoint_name`` (which must exist).

    Guarantees (the same rules ``sagemaker_rules`` enforces on people):
      * the monitoring job runs in ``rules.subnet_ids`` with ``rules.security_group_ids``,
        with network isolation and inter-container traffic encryption;
      * its volume and its reports (``output_s3_uri``) are encrypted with ``rules.kms_key_arn``;
      * it runs as ``role`` on one ``instance_type`` (one of ``rules.instance_types``) for at
        most one hour, on ``schedule_expression`` (e.g. hourly ``cron(0 * ? * * *)``), with
        the region's Model Monitor analyzer image ``image_uri``.

    The endpoint must capture its data (data capture to the artifacts bucket's
    ``data-capture/`` prefix) for the job to have input. Attributes: ``job_definition``,
    ``schedule``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        endpoint_name: str,
        schedule_expression: str,
        instance_type: str,
        image_uri: str,
        role: iam.IRole,
        rules: JobRules,
        output_s3_uri: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if instance_type not in rules.instance_types:
            raise ValueError(
                f"DataQualityMonitor instance_type {instance_type!r}: one of {rules.instance_types}"
            )
        definition_name = f"{name}-data-quality"
        self.job_definition = D(
            self,
            "JobDefinition",
            job_definition_name=definition_name,
            endpoint_name=endpoint_name,
            role_arn=role.role_arn,
            data_quality_app_specification=D.DataQualityAppSpecificationProperty(
                image_uri=image_uri
            ),
            data_quality_job_input=D.DataQualityJobInputProperty(
                endpoint_input=D.EndpointInputProperty(
                    endpoint_name=endpoint_name,
                    local_path="/opt/ml/processing/input/endpoint",
                    s3_data_distribution_type="FullyReplicated",
                    s3_input_mode="File",
                )
            ),
            data_quality_job_output_config=D.MonitoringOutputConfigProperty(
                kms_key_id=rules.kms_key_arn,
                monitoring_outputs=[
                    D.MonitoringOutputProperty(
                        s3_output=D.S3OutputProperty(
                            local_path="/opt/ml/processing/output",
                            s3_uri=output_s3_uri,
                            s3_upload_mode="EndOfJob",
                        )
                    )
                ],
            ),
            job_resources=D.MonitoringResourcesProperty(
                cluster_config=D.ClusterConfigProperty(
                    instance_count=1,
                    instance_type=instance_type,
                    volume_size_in_gb=20,
                    volume_kms_key_id=rules.kms_key_arn,
                )
            ),
            network_config=D.NetworkConfigProperty(
                enable_network_isolation=True,
                enable_inter_container_traffic_encryption=True,
                vpc_config=D.VpcConfigProperty(
                    subnets=list(rules.subnet_ids),
                    security_group_ids=list(rules.security_group_ids),
                ),
            ),
            stopping_condition=D.StoppingConditionProperty(max_runtime_in_seconds=3600),
        )
        self.schedule = S(
            self,
            "Schedule",
            monitoring_schedule_name=f"{name}-data-quality",
            endpoint_name=endpoint_name,
            monitoring_schedule_config=S.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=definition_name,
                monitoring_type="DataQuality",
                schedule_config=S.ScheduleConfigProperty(schedule_expression=schedule_expression),
            ),
        )
        self.schedule.add_dependency(self.job_definition)
