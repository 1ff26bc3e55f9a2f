"""Copy app of the network group: one ``SecureVpc``, as the platform's network stack builds it.

The flow-log key is a plain ``kms.Key`` (rotation on, CloudWatch Logs of this account allowed):
the network folder needs no data folder.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from harness import ENV, main
from lifted_kit.network.secure_vpc import SecureVpc

HERE = Path(__file__).resolve().parent


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Network", env=ENV)
    key = kms.Key(stack, "FlowLogKey", enable_key_rotation=True, alias="alias/team/flow-logs")
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("logs.us-east-1.amazonaws.com")],
            actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        "arn:aws:logs:us-east-1:123456789012:log-group:*"
                    )
                }
            },
        )
    )
    SecureVpc(
        stack,
        "Net",
        cidr="10.40.0.0/16",
        availability_zones=["us-east-1a", "us-east-1b"],
        nat_gateways=1,
        flow_log_key=key,
        flow_log_retention_days=90,
        interface_endpoints={
            "sts": ["sts:*"],
            "bedrock-runtime": ["bedrock:InvokeModel", "bedrock:ApplyGuardrail"],
            "sagemaker.api": ["sagemaker:*"],
            "ssmmessages": None,
        },
        endpoint_availability_zones=["us-east-1a"],
    )


if __name__ == "__main__":
    main(build, HERE / "lifted_kit" / "network" / "README.md")
