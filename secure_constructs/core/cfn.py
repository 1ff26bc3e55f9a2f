"""The CloudFormation resource behind an L2 construct."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct


def cfn_of(construct: Construct) -> cdk.CfnResource:
    """``construct``'s default child, which must be a CloudFormation resource."""
    resource = construct.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource as default child")
    return resource
