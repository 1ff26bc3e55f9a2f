"""The custom AWS Config rule that SageMaker jobs run isolated, in the VPC and encrypted.

A function that adds to the scope it is given rather than a construct of its own, so the rule,
its function and its alarm keep the logical IDs they have always had: the Config rule and the
alarm have fixed names, and a resource with a fixed name cannot be replaced by CloudFormation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_config as config
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IDependable

from ..core.compliance import nag_arn
from ..core.secure_function import SecureFunction, https_out_security_group

RULE_ACTIONS = (
    "sagemaker:ListProcessingJobs",
    "sagemaker:ListTrainingJobs",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:DescribeProcessingJob",
    "config:PutEvaluations",
)
"""Everything the rule's function may call (read-only SageMaker, and reporting to Config)."""


def evaluation_statements(
    *, partition: str, region: str, account: str
) -> list[iam.PolicyStatement]:
    """``RULE_ACTIONS`` as statements, the describes narrowed to this account's job ARNs.

    The rule's function holds them in single-account mode; in organization mode the member
    role each account gives the organization's evaluator holds the same ones.
    """
    return [
        iam.PolicyStatement(sid="ListJobs", actions=list(RULE_ACTIONS[:2]), resources=["*"]),
        iam.PolicyStatement(
            sid="DescribeJobs",
            actions=["sagemaker:DescribeTrainingJob"],
            resources=[f"arn:{partition}:sagemaker:{region}:{account}:training-job/*"],
        ),
        iam.PolicyStatement(
            sid="DescribeProcessingJobs",
            actions=["sagemaker:DescribeProcessingJob"],
            resources=[f"arn:{partition}:sagemaker:{region}:{account}:processing-job/*"],
        ),
        iam.PolicyStatement(
            sid="ReportEvaluations", actions=["config:PutEvaluations"], resources=["*"]
        ),
    ]


@dataclass(frozen=True)
class SageMakerIsolationRule:
    """What ``add_sagemaker_isolation_rule`` created."""

    function: SecureFunction
    rule: config.CfnConfigRule


def add_sagemaker_isolation_rule(
    scope: Construct,
    *,
    code_dir: Path,
    prefix: str,
    vpc: ec2.IVpc,
    allowed_subnets: Sequence[ec2.ISubnet],
    encryption_key: kms.IKey,
    log_retention_days: int,
    reserved_concurrency: int | None,
    layers: Sequence[lambda_.ILayerVersion] = (),
    depends_on: Sequence[IDependable] = (),
) -> SageMakerIsolationRule:
    """Add ``<prefix>-sagemaker-job-isolation``, a periodic rule (24 h), and its function.

    Guarantees: the function (``SageMakerIsolationRule``, a ``SecureFunction`` in the VPC's private
    subnets behind ``FunctionsSecurityGroup``, HTTPS out only, logs and dead-letter queue encrypted
    with ``encryption_key``) lists the account's training and processing jobs of the last 24 hours,
    describes them (training-job and processing-job ARNs of this account and region) and reports
    each to Config as COMPLIANT only when it runs with network isolation, in ``allowed_subnets``,
    with inter-container encryption and KMS volume and output keys; it can do nothing else. Only AWS
    Config of this account may invoke it. ``depends_on``: the recorder's delivery channel (a rule
    needs a recorder). The function's own wildcards (List and PutEvaluations have no resource types;
    job names are chosen by whoever starts them) are acknowledged here with those reasons.
    """
    stack = cdk.Stack.of(scope)
    partition, region, account = stack.partition, stack.region, stack.account
    function = SecureFunction(
        scope,
        "SageMakerIsolationRule",
        code_dir=code_dir,
        description=f"{prefix}: Config rule, SageMaker jobs isolated, in the VPC, encrypted",
        statements=evaluation_statements(partition=partition, region=region, account=account),
        vpc=vpc,
        subnets=ec2.SubnetSelection(subnets=vpc.private_subnets),
        security_group=https_out_security_group(scope, vpc, "Audit"),
        logs_key=encryption_key,
        queue_key=encryption_key,
        environment={"LOOKBACK_HOURS": "24", "EVALUATION_SCOPE": "account"},
        layers=layers,
        reserved_concurrency=reserved_concurrency,
        log_retention_days=log_retention_days,
        timeout=cdk.Duration.minutes(5),
    )
    function.acknowledge_wildcards(
        {
            "Resource::*": (
                "sagemaker:ListTrainingJobs, sagemaker:ListProcessingJobs and "
                "config:PutEvaluations support no resource-level permissions."
            ),
            f"Resource::{nag_arn(stack, 'sagemaker', 'training-job/*')}": (
                "The rule describes every training job created in its look-back window; "
                "their names are chosen by whoever starts them. Describe only, this account "
                "and region."
            ),
            f"Resource::{nag_arn(stack, 'sagemaker', 'processing-job/*')}": (
                "The rule describes every processing job created in its look-back window; "
                "their names are chosen by whoever starts them. Describe only, this account "
                "and region."
            ),
        }
    )
    # L1 rule: CDK's CustomRule adds a redundant dependency cfn-lint rightly flags (W3005).
    invoke = lambda_.CfnPermission(
        scope,
        "SageMakerIsolationRuleInvoke",
        action="lambda:InvokeFunction",
        function_name=function.function.function_arn,
        principal="config.amazonaws.com",
        source_account=account,
    )
    rule = config.CfnConfigRule(
        scope,
        "SageMakerIsolationConfigRule",
        config_rule_name=f"{prefix}-sagemaker-job-isolation",
        description=(
            "SageMaker training and processing jobs run with network isolation, in the "
            "platform's subnets, with inter-container encryption and KMS keys"
        ),
        source=config.CfnConfigRule.SourceProperty(
            owner="CUSTOM_LAMBDA",
            source_identifier=function.function.function_arn,
            source_details=[
                config.CfnConfigRule.SourceDetailProperty(
                    event_source="aws.config",
                    message_type="ScheduledNotification",
                    maximum_execution_frequency="TwentyFour_Hours",
                )
            ],
        ),
        input_parameters={
            "allowedSubnetIds": cdk.Fn.join(",", [s.subnet_id for s in allowed_subnets])
        },
    )
    rule.node.add_dependency(invoke, *depends_on)
    return SageMakerIsolationRule(function=function, rule=rule)
