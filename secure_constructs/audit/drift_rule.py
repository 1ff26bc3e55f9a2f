"""AWS Config's CloudFormation drift rule: a stack changed outside its template is flagged.

``CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK`` (AWS managed rule) runs drift detection on every
CloudFormation stack of the account and region, on configuration changes and every 24 hours,
and reports a stack whose resources differ from its template as NON_COMPLIANT. Config calls
drift detection through a role given in the rule's ``cloudformationRoleArn`` parameter; drift
detection reads every resource of the stack, so the role holds the AWS managed
``ReadOnlyAccess`` (AWS's documented set-up for this rule) and, in a customer-managed policy,
the drift-detection calls themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_config as config
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ..core.compliance import acknowledge

DRIFT_RULE = "CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK"
DRIFT_ACTIONS = (
    "cloudformation:DetectStackDrift",
    "cloudformation:DetectStackResourceDrift",
    "cloudformation:DescribeStackResourceDrifts",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackResources",
)
STATUS_ACTION = "cloudformation:DescribeStackDriftDetectionStatus"
"""No resource types (Service Authorization Reference): authorized only on ``*``."""


class StackDriftRule(Construct):
    """The drift rule ``<prefix>-cloudformation-stack-drift`` and the role Config uses for it.

    Guarantees: the role is trusted by ``config.amazonaws.com`` for this account only
    (``aws:SourceAccount``), holds ``ReadOnlyAccess`` (acknowledged: drift detection reads
    every resource type a stack may hold) and a customer-managed policy with ``DRIFT_ACTIONS``
    on this account's stacks (``STATUS_ACTION`` on ``*``, where IAM authorizes it); the rule is
    named with ``prefix`` so the findings router (which routes ``<prefix>-*`` rule results)
    sends drift to the alerts topic; it depends on ``depends_on`` (the recorder's delivery
    channel: a rule needs a recorder). Both are retained unless ``removal_policy`` says
    otherwise.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        depends_on: Sequence[IConstruct] = (),
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            description=f"{prefix}: AWS Config runs CloudFormation drift detection with it",
            assumed_by=iam.ServicePrincipal(
                "config.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("ReadOnlyAccess")],
        )
        iam.ManagedPolicy(
            self,
            "DriftDetection",
            description=f"{prefix}: CloudFormation drift detection of this account's stacks",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="DetectDrift",
                    actions=list(DRIFT_ACTIONS),
                    resources=[
                        f"arn:{stack.partition}:cloudformation:{stack.region}:{stack.account}:"
                        "stack/*"
                    ],
                ),
                iam.PolicyStatement(
                    sid="DriftDetectionStatus", actions=[STATUS_ACTION], resources=["*"]
                ),
            ],
        )
        acknowledge(
            self.role,
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "ReadOnlyAccess]",
            "Drift detection compares every resource of every stack with its template, so it "
            "must read any resource type a stack can hold; AWS documents ReadOnlyAccess for the "
            "role of CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK and keeps it current.",
        )
        acknowledge(
            self,
            f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:{_nag(stack.partition)}:"
            f"cloudformation:{stack.region}:{stack.account}:stack/*]",
            "Drift detection runs on every stack of this account and region (the rule's "
            "scope); stack names are the deployer's.",
        )
        acknowledge(
            self,
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            "cloudformation:DescribeStackDriftDetectionStatus has no resource types, so IAM "
            "authorizes it only on '*' (a read of a detection's status by its ID).",
        )
        self.rule = config.ManagedRule(
            self,
            "Rule",
            config_rule_name=f"{prefix}-cloudformation-stack-drift",
            identifier=DRIFT_RULE,
            description="CloudFormation stacks have not drifted from their templates",
            input_parameters={"cloudformationRoleArn": self.role.role_arn},
            maximum_execution_frequency=config.MaximumExecutionFrequency.TWENTY_FOUR_HOURS,
            rule_scope=config.RuleScope.from_resources([config.ResourceType.CLOUDFORMATION_STACK]),
        )
        for dependency in depends_on:
            self.rule.node.add_dependency(dependency)
        for resource in (self.rule, self.role):
            resource.apply_removal_policy(removal_policy)


def _nag(partition: str) -> str:
    return "<AWS::Partition>" if cdk.Token.is_unresolved(partition) else partition
