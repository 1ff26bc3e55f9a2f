"""A SageMaker Studio domain in VPC-only mode, and the security groups of Studio and of jobs."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

# Studio's own traffic inside its security group (developer guide, "Connect Studio notebooks
# in a VPC to external resources"): NFS to the home EFS volume, and the Jupyter server to its
# kernel gateways on ports 8192-65535.
NFS = ec2.Port.tcp(2049)
STUDIO_APPS = ec2.Port.tcp_range(8192, 65535)


def endpoint_only_security_group(
    scope: Construct,
    construct_id: str,
    *,
    vpc: ec2.IVpc,
    description: str,
    endpoint_security_group: ec2.ISecurityGroup,
    s3_prefix_list_id: str,
) -> ec2.SecurityGroup:
    """A security group whose only egress is HTTPS to the interface endpoints and to S3."""
    group = ec2.SecurityGroup(
        scope, construct_id, vpc=vpc, description=description, allow_all_outbound=False
    )
    group.add_egress_rule(
        ec2.Peer.security_group_id(endpoint_security_group.security_group_id),
        ec2.Port.tcp(443),
        "HTTPS to the interface endpoints",
    )
    group.add_egress_rule(
        ec2.Peer.prefix_list(s3_prefix_list_id),
        ec2.Port.tcp(443),
        "HTTPS to S3 through the gateway endpoint",
    )
    return group


class SecureStudioDomain(Construct):
    """A Studio domain whose apps have no direct internet access.

    Guarantees:
      * ``AppNetworkAccessType`` ``VpcOnly`` on ``subnets`` (private subnets: SageMaker refuses
        public ones), IAM authentication;
      * the home EFS volume and the apps' storage encrypted with ``encryption_key``;
      * one security group for every app and space: egress only to the interface endpoints and
        to S3 (through the gateway endpoint) on 443, plus NFS and the Studio app ports inside the
        group itself; no other ingress; nothing reaches the internet even where the subnets route
        to a NAT gateway;
      * notebook output sharing off, Docker access off, tags propagated to the apps' resources;
      * ``default_execution_role`` for users and spaces; one user profile per entry of
        ``user_profiles`` (name, execution role), in the same security group;
      * the domain is retained when the stack is deleted (its EFS volume holds users' work).

    Attributes: ``domain`` (L1), ``domain_id``, ``security_group``, ``user_profiles``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_name: str,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        endpoint_security_group: ec2.ISecurityGroup,
        s3_prefix_list_id: str,
        encryption_key: kms.IKey,
        default_execution_role: iam.IRole,
        user_profiles: Sequence[tuple[str, iam.IRole]] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        if not subnets:
            raise ValueError("SecureStudioDomain needs at least one private subnet")
        self.security_group = endpoint_only_security_group(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Studio apps: endpoints and S3 only, NFS and app ports within",
            endpoint_security_group=endpoint_security_group,
            s3_prefix_list_id=s3_prefix_list_id,
        )
        for port, text in ((NFS, "NFS to the home EFS volume"), (STUDIO_APPS, "Studio apps")):
            self.security_group.add_ingress_rule(self.security_group, port, text)
            self.security_group.add_egress_rule(self.security_group, port, text)
        groups = [self.security_group.security_group_id]
        self.domain = sagemaker.CfnDomain(
            self,
            "Domain",
            domain_name=domain_name,
            auth_mode="IAM",
            app_network_access_type="VpcOnly",
            vpc_id=vpc.vpc_id,
            subnet_ids=[s.subnet_id for s in subnets],
            kms_key_id=encryption_key.key_arn,
            tag_propagation="ENABLED",
            default_user_settings=sagemaker.CfnDomain.UserSettingsProperty(
                execution_role=default_execution_role.role_arn,
                security_groups=groups,
                sharing_settings=sagemaker.CfnDomain.SharingSettingsProperty(
                    notebook_output_option="Disabled"
                ),
                studio_web_portal="ENABLED",
            ),
            default_space_settings=sagemaker.CfnDomain.DefaultSpaceSettingsProperty(
                execution_role=default_execution_role.role_arn, security_groups=groups
            ),
            domain_settings=sagemaker.CfnDomain.DomainSettingsProperty(
                security_group_ids=groups,
                docker_settings=sagemaker.CfnDomain.DockerSettingsProperty(
                    enable_docker_access="DISABLED"
                ),
            ),
        )
        self.domain.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        self.domain_id = self.domain.attr_domain_id
        self.user_profiles: dict[str, sagemaker.CfnUserProfile] = {}
        for name, role in user_profiles:
            self.user_profiles[name] = sagemaker.CfnUserProfile(
                self,
                f"UserProfile-{name}",
                domain_id=self.domain_id,
                user_profile_name=name,
                user_settings=sagemaker.CfnUserProfile.UserSettingsProperty(
                    execution_role=role.role_arn,
                    security_groups=groups,
                    sharing_settings=sagemaker.CfnUserProfile.SharingSettingsProperty(
                        notebook_output_option="Disabled"
                    ),
                ),
            )
