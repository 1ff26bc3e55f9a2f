"""The private network of an environment.

Seed pages: Internet Gateway & NAT Gateways, VPC Endpoints, S3 Gateway Endpoint, Bedrock in VPC,
SageMaker in VPC.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from platform_config import ENDPOINT_SERVICES, EnvironmentConfig
from secure_constructs.network.secure_vpc import SecureVpc
from stacks.base import PlatformStack


class NetworkStack(PlatformStack):
    """One ``SecureVpc`` built from the environment's config. Attribute ``network``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        environment: EnvironmentConfig,
        description: str,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            project=project,
            environment=environment,
            name_suffix="network",
            description=description,
        )
        env = environment
        self.network = SecureVpc(
            self,
            "Network",
            cidr=env.vpc_cidr,
            availability_zones=env.availability_zones,
            nat_gateways=env.nat_gateways,
            flow_log_key=logs_key,
            flow_log_retention_days=env.flow_log_retention_days,
            interface_endpoints={
                name: ENDPOINT_SERVICES[name].actions for name in env.interface_endpoints
            },
            endpoint_availability_zones=env.endpoint_availability_zones,
        )
        cdk.CfnOutput(
            self,
            "PrivateSubnetIds",
            value=cdk.Fn.join(",", [s.subnet_id for s in self.network.vpc.private_subnets]),
            description="Private subnets (NAT egress): vpcConfig.subnetIds of batch inference jobs",
        )
