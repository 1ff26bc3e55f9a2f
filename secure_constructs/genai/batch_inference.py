"""Bedrock batch inference (``CreateModelInvocationJob``) on redacted input, in the VPC."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..core.bucket_grants import BucketWithPrefixGrants
from ..core.managed_policy_role import ManagedPolicyRole, acknowledge_wildcards, arn_pattern

ENI_DESCRIBE_ACTIONS = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)
JOB_TAGS = ("BedrockManaged", "BedrockModelInvocationJobArn")
"""The tags Bedrock puts on the network interfaces it creates for a job in a VPC."""

SUBMIT_ACTIONS = ("bedrock:CreateModelInvocationJob",)
MANAGE_ACTIONS = ("bedrock:GetModelInvocationJob", "bedrock:StopModelInvocationJob")


def batch_submitter_role_name(prefix: str) -> str:
    """The fixed name of the role that submits batch jobs (the organization's SCP names it)."""
    return f"{prefix}-batch-submitter"


class BatchInference(Construct):
    """The service role, security group and submitter role for Bedrock batch inference.

    Guardrails do not apply to batch jobs (``CreateModelInvocationJob`` carries no guardrail
    and ``bedrock:GuardrailIdentifier`` is not evaluated on it). What compensates: the service
    role reads only ``input_prefix`` (the config allows only prefixes of redacted text) and
    writes only ``output_prefix``; jobs run in the VPC (``vpc_config`` below), so their S3
    traffic passes the gateway endpoint the data buckets require; only the submitter role may
    create jobs here, and in organization mode an SCP refuses job creation to every other
    principal (``guardrail_policies``).

    Guarantees:
      * ``service_role``: trusted by ``bedrock.amazonaws.com`` for this account's
        model-invocation jobs only (``aws:SourceAccount``, ``aws:SourceArn``
        ``model-invocation-job/*``, AWS's documented trust); reads ``input_prefix`` and writes
        ``output_prefix`` of ``bucket`` (data key through S3 only); creates network interfaces
        only tagged by Bedrock for a job of this account, in ``subnets`` and behind
        ``security_group`` (the statements of the Bedrock user guide, "Protect batch inference
        jobs using a VPC"), and nothing else;
      * ``security_group``: no ingress; egress HTTPS to S3 through the gateway endpoint
        (``s3_prefix_list_id``) only;
      * ``submitter_role`` (``batch_submitter_role_name(name)``): assumable only by
        ``submitter_role_arns``; may create jobs with the allow-listed ``model_arns`` only,
        read and stop this account's jobs, and pass ``service_role`` to Bedrock only.

    Attributes: ``service_role``, ``submitter_role``, ``security_group``, ``subnet_ids``.
    The procedure (``CreateModelInvocationJob`` with ``vpcConfig``) is in the README.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        bucket: BucketWithPrefixGrants,
        input_prefix: str,
        output_prefix: str,
        vpc: ec2.IVpc,
        s3_prefix_list_id: str,
        model_arns: Sequence[str],
        submitter_role_arns: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        partition, region, account = stack.partition, stack.region, stack.account
        bedrock_arn = f"arn:{partition}:bedrock:{region}:{account}"
        ec2_arn = f"arn:{partition}:ec2:{region}:{account}"
        jobs = f"{bedrock_arn}:model-invocation-job/*"

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Bedrock batch inference jobs: HTTPS to S3 (gateway endpoint) only",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(
            ec2.Peer.prefix_list(s3_prefix_list_id), ec2.Port.tcp(443), "S3 gateway endpoint"
        )
        self.subnet_ids = vpc.select_subnets(
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
        ).subnet_ids
        subnet_arns = [f"{ec2_arn}:subnet/{s}" for s in self.subnet_ids]

        self.service_role = ManagedPolicyRole(
            self,
            "ServiceRole",
            description=f"Bedrock batch inference: reads {input_prefix}, writes {output_prefix}",
            assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": jobs},
                }
            ),
            max_session_duration=cdk.Duration.hours(1),
        )
        bucket.grant_read(self.service_role, input_prefix)
        bucket.grant_write(self.service_role, output_prefix)
        for statement in (
            iam.PolicyStatement(
                sid="DescribeTheNetwork", actions=list(ENI_DESCRIBE_ACTIONS), resources=["*"]
            ),
            iam.PolicyStatement(
                sid="JobNetworkInterfaces",
                actions=["ec2:CreateNetworkInterface"],
                resources=[
                    f"{ec2_arn}:network-interface/*",
                    *subnet_arns,
                    f"{ec2_arn}:security-group/{self.security_group.security_group_id}",
                ],
                conditions={
                    "StringEquals": {"aws:RequestTag/BedrockManaged": "true"},
                    "ArnLike": {"aws:RequestTag/BedrockModelInvocationJobArn": jobs},
                },
            ),
            iam.PolicyStatement(
                sid="CleanUpJobNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                resources=["*"],
                conditions={
                    "ArnEquals": {"ec2:Subnet": subnet_arns},
                    "ArnLike": {"ec2:ResourceTag/BedrockModelInvocationJobArn": jobs},
                },
            ),
            iam.PolicyStatement(
                sid="TagJobNetworkInterfaces",
                actions=["ec2:CreateTags"],
                resources=[f"{ec2_arn}:network-interface/*"],
                conditions={
                    "StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"},
                    "ForAllValues:StringEquals": {"aws:TagKeys": list(JOB_TAGS)},
                },
            ),
        ):
            self.service_role.add_to_policy(statement)
        acknowledge_wildcards(
            self.service_role,
            [
                (
                    r"Resource::\*",
                    "The EC2 Describe actions have no resource type; deleting and sharing a "
                    "job's network interfaces is limited by condition to this VPC's subnets and "
                    "to interfaces Bedrock tagged for a model-invocation job of this account.",
                ),
                (
                    rf"Resource::{arn_pattern('ec2')}network-interface/\*",
                    "Bedrock creates a job's network interfaces with IDs unknown in advance; "
                    "creation requires Bedrock's job tags (aws:RequestTag) and this VPC's "
                    "subnets and security group, named in the same statement.",
                ),
            ],
        )

        self.submitter_role = ManagedPolicyRole(
            self,
            "SubmitterRole",
            role_name=batch_submitter_role_name(name),
            description="Submits Bedrock batch inference jobs on redacted input, in the VPC",
            assumed_by=iam.AccountPrincipal(account).with_conditions(
                {"ArnEquals": {"aws:PrincipalArn": list(submitter_role_arns)}}
            ),
            max_session_duration=cdk.Duration.hours(1),
        )
        for statement in (
            iam.PolicyStatement(
                sid="CreateJobsWithAllowListedModels",
                actions=list(SUBMIT_ACTIONS),
                resources=[*model_arns, jobs],
            ),
            iam.PolicyStatement(
                sid="ReadAndStopJobs", actions=list(MANAGE_ACTIONS), resources=[jobs]
            ),
            iam.PolicyStatement(
                sid="PassTheServiceRoleToBedrock",
                actions=["iam:PassRole"],
                resources=[self.service_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            ),
        ):
            self.submitter_role.add_to_policy(statement)
        acknowledge_wildcards(
            self.submitter_role,
            [
                (
                    rf"Resource::{arn_pattern('bedrock')}model-invocation-job/\*",
                    "A batch job's ARN ends in an ID Bedrock generates at submission; the "
                    "models it may use are named one by one in the same statement.",
                )
            ],
        )
