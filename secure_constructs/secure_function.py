"""A Python Lambda function in the VPC, traced, bounded, with its own DLQ, log group and role."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from constructs import Construct

from secure_constructs.compliance import (
    apply_reserved_concurrency,
    nag_partition,
    skip_checkov,
)
from secure_constructs.log_groups import encrypted_log_group
from secure_constructs.managed_policy_role import acknowledge_wildcard
from secure_constructs.secure_queue import DeadLetterQueue
from secure_constructs.sizing import LOG_RETENTION_DAYS

RUNTIME = lambda_.Runtime.PYTHON_3_14
"""The newest Python runtime this aws-cdk-lib knows (cdk-nag's LambdaLatestVersion rule)."""

# What Lambda needs, with the execution role, to attach the function to the VPC.
ENI_DESCRIBE_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
ENI_MANAGE_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
)
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")


class SecureFunction(Construct):
    """A Python Lambda function with the platform's guarantees.

    Always:
      * runtime ``RUNTIME`` (the newest Python this CDK knows), code from ``code_dir`` as is
        (no bundling, no Docker), handler ``handler``, ``function_name`` (default: named by
        CloudFormation);
      * attached to ``vpc`` in ``subnets`` behind ``security_group`` (calls to AWS go through
        the VPC's endpoints where they exist, otherwise through NAT);
      * X-Ray active tracing, ``memory_size`` (default 256 MB), ``timeout`` (default 60 s),
        ``reserved_concurrency`` (default 1) so a burst cannot starve the account or run up cost
        (``None``: no reservation, for accounts whose Lambda limit cannot keep 100 unreserved
        beside it; the rules that ask for one are then acknowledged with the reason);
      * its own log group, encrypted with ``log_key``, kept ``log_retention_days`` (default 365)
        and retained when the stack is deleted;
      * its own SQS dead-letter queue, encrypted with ``queue_key``, TLS only, messages kept
        14 days, retained: it is the async DLQ (``DeadLetterConfig``), the on-failure
        destination (after ``retry_attempts``, default 2, within ``max_event_age``, default 6 h)
        and the ``DLQ_URL`` environment variable the handler sends unprocessable events to. A
        failed async invocation may therefore appear twice: as the raw event and as an
        invocation record carrying the error;
      * an execution role with no inline policy and no AWS-managed policy, but two
        customer-managed ones: ``baseline_policy`` (VPC attachment narrowed to ``subnets`` and
        ``security_group``, logs to its own log group, X-Ray, send to its own DLQ through SQS
        with ``kms:ViaService``) and ``policy``, holding ``statements``: exactly what the
        handler calls (required: name exact actions, narrow resources where AWS allows). CDK's
        automatic grants are switched off (``without_policy_updates``), so nothing is
        added behind the reader's back.

    Attributes: ``function``, ``role``, ``policy``, ``baseline_policy``, ``log_group``,
    ``dead_letter_queue``, ``known_noncompliance`` (the Config rule results its configuration
    implies, for the findings router).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        handler: str,
        description: str,
        statements: Sequence[iam.PolicyStatement],
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        log_key: kms.IKey,
        queue_key: kms.IKey,
        environment: Mapping[str, str] | None = None,
        log_retention_days: int = 365,
        reserved_concurrency: int | None = 1,
        timeout: cdk.Duration | None = None,
        memory_size: int = 256,
        retry_attempts: int = 2,
        max_event_age: cdk.Duration | None = None,
        function_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not (code_dir / f"{handler.split('.')[0]}.py").is_file():
            raise ValueError(
                f"SecureFunction {construct_id}: no {handler.split('.')[0]}.py in {code_dir}"
            )
        if log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"SecureFunction {construct_id} log_retention_days={log_retention_days}: "
                f"allowed {LOG_RETENTION_DAYS}"
            )
        if reserved_concurrency is not None and reserved_concurrency < 1:
            raise ValueError(
                f"SecureFunction {construct_id}: reserved_concurrency must be >= 1 or None"
            )
        if not 0 <= retry_attempts <= 2:
            raise ValueError(f"SecureFunction {construct_id}: retry_attempts must be 0-2")
        if not subnets:
            raise ValueError(f"SecureFunction {construct_id}: at least one subnet")
        if not statements:
            raise ValueError(
                f"SecureFunction {construct_id}: statements for what the handler calls"
            )
        stack = cdk.Stack.of(self)
        reserved = {"DLQ_URL", "AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME"}
        clash = sorted(reserved & set(environment or {}))
        if clash:
            raise ValueError(f"SecureFunction {construct_id}: environment may not set {clash}")

        self.dead_letter_queue = DeadLetterQueue(self, "DeadLetterQueue", key=queue_key)

        self.log_group = encrypted_log_group(
            self, "LogGroup", key=log_key, retention_days=log_retention_days
        )

        self.role = iam.Role(
            self,
            "Role",
            description=f"{description} (Lambda execution role)",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        subnet_arns = [
            f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:subnet/{s.subnet_id}"
            for s in subnets
        ]
        eni_arn = f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:network-interface/*"
        sg_arn = (
            f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:security-group/"
            f"{security_group.security_group_id}"
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"{description}: what the handler calls",
            roles=[self.role],
            statements=list(statements),
        )
        self.baseline_policy = iam.ManagedPolicy(
            self,
            "BaselinePolicy",
            description=f"{description}: VPC attachment, own logs, tracing, own DLQ",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="WriteOwnLogGroup",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    # The Arn attribute ends in ":*" and so covers the group's streams.
                    resources=[self.log_group.log_group_arn],
                ),
                iam.PolicyStatement(
                    sid="DescribeForVpcAttachment",
                    actions=list(ENI_DESCRIBE_ACTIONS),
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="CreateInterfacesInOwnSubnetsAndGroup",
                    actions=["ec2:CreateNetworkInterface"],
                    resources=[eni_arn, sg_arn, *subnet_arns],
                ),
                iam.PolicyStatement(
                    sid="ManageOwnInterfaces",
                    actions=list(ENI_MANAGE_ACTIONS),
                    resources=[eni_arn],
                ),
                iam.PolicyStatement(sid="Tracing", actions=list(XRAY_ACTIONS), resources=["*"]),
                *self.dead_letter_queue.send_statements(),
            ],
        )

        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            function_name=function_name,
            runtime=RUNTIME,
            handler=handler,
            code=lambda_.Code.from_asset(str(code_dir)),
            role=self.role.without_policy_updates(),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)),
            security_groups=[security_group],
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            memory_size=memory_size,
            timeout=timeout or cdk.Duration.seconds(60),
            environment={
                **(environment or {}),
                "DLQ_URL": self.dead_letter_queue.queue.queue_url,
            },
            dead_letter_queue=self.dead_letter_queue.queue,
            on_failure=destinations.SqsDestination(self.dead_letter_queue.queue),
            retry_attempts=retry_attempts,
            max_event_age=max_event_age or cdk.Duration.hours(6),
        )
        # The function must not exist before its permissions (Lambda checks the VPC ones). The
        # policy resources themselves: their constructs also stand for the role.
        self.function.node.add_dependency(_cfn(self.policy), _cfn(self.baseline_policy))
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        self.known_noncompliance = apply_reserved_concurrency(cfn_function, reserved_concurrency)
        skip_checkov(
            cfn_function,
            "CKV_AWS_173",
            "Environment variables hold only ARNs, a queue URL and thresholds (no secrets) and are "
            "encrypted at rest by Lambda; a customer key would need kms:CreateGrant, which the "
            "platform's key policies deliberately grant to nobody.",
        )
        ignore_redundant_role_dependency(cfn_function)
        self._acknowledge_baseline_wildcards(
            f"arn:{nag_partition(stack)}:ec2:{stack.region}:{stack.account}:network-interface/*",
        )

    def acknowledge_wildcards(self, findings: Mapping[str, str]) -> None:
        """Acknowledge granular IAM5 findings of the handler's ``statements``: id -> reason.

        Keys are the part inside the brackets, e.g. ``Resource::*``; each needs its own
        specific reason saying why AWS offers nothing narrower.
        """
        _acknowledge_iam5(self.policy, findings)

    def _acknowledge_baseline_wildcards(self, eni_arn: str) -> None:
        _acknowledge_iam5(
            self.baseline_policy,
            {
                "Resource::*": (
                    "ec2:DescribeNetworkInterfaces, ec2:DescribeSubnets and the X-Ray "
                    "PutTraceSegments/PutTelemetryRecords actions support no resource-level "
                    "permissions; everything else in this policy names its resources."
                ),
                f"Resource::{eni_arn}": (
                    "Lambda creates and deletes the function's network interfaces with names "
                    "unknown in advance; creation is narrowed to this function's subnets and "
                    "security group."
                ),
            },
        )


def https_out_security_group(scope: Construct, vpc: ec2.IVpc, owner: str) -> ec2.SecurityGroup:
    """``FunctionsSecurityGroup`` for ``owner``'s functions: no inbound, TCP 443 out only."""
    group = ec2.SecurityGroup(
        scope,
        "FunctionsSecurityGroup",
        vpc=vpc,
        description=f"{owner} functions: HTTPS out only (AWS APIs via endpoints or NAT)",
        allow_all_outbound=False,
    )
    group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs")
    return group


def ignore_redundant_role_dependency(function: cdk.CfnResource) -> None:
    """Tell cfn-lint about the one W3005 every CDK Lambda function carries.

    ``aws_lambda.Function`` always adds ``DependsOn`` its execution role (so the role's policies
    exist first) although its ``Role`` property already references the role; the duplicate is
    harmless and cannot be removed from Python without overriding ``DependsOn`` wholesale.
    """
    function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})


def _cfn(construct: Construct) -> cdk.CfnResource:
    resource = construct.node.default_child
    assert isinstance(resource, cdk.CfnResource)
    return resource


def _acknowledge_iam5(policy: iam.ManagedPolicy, findings: Mapping[str, str]) -> None:
    for finding, reason in findings.items():
        acknowledge_wildcard(policy, finding, reason)
