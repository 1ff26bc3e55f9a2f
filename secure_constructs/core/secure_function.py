"""The platform's one hardened Python Lambda function construct."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from constructs import Construct

from .compliance import apply_reserved_concurrency, ignore_cfn_lint, skip_checkov
from .log_groups import encrypted_log_group
from .managed_policy_role import ManagedPolicyRole, acknowledge_wildcards, arn_pattern
from .secure_queue import DeadLetterQueue

RUNTIME = lambda_.Runtime.PYTHON_3_14
"""The newest Python runtime this aws-cdk-lib knows (cdk-nag's LambdaLatestVersion rule)."""

ASYNC_RETRY_ATTEMPTS = 2
"""Lambda's asynchronous retries by default (and at most)."""

# What Lambda needs, with the execution role, to attach a function to the VPC (Lambda developer
# guide, "Required IAM permissions"): the mutating calls are scoped to this account's network
# interfaces, the function's subnets and security group; the Describe calls have no
# resource-level permissions in EC2.
ENI_DESCRIBE_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
ENI_MUTATING_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
)
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
RESERVED_VARIABLES = frozenset({"DLQ_URL", "AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME"})

BASELINE_WILDCARDS = (
    (
        r"Resource::\*",
        "ec2:DescribeNetworkInterfaces, ec2:DescribeSubnets and the X-Ray "
        "PutTraceSegments/PutTelemetryRecords actions support no resource-level permissions; "
        "everything else the function's baseline needs names its resources.",
    ),
    (
        rf"Resource::{arn_pattern('ec2')}network-interface/\*",
        "Lambda creates and deletes the function's network interfaces with names unknown in "
        "advance; creation is narrowed to this function's subnets and security group (named in "
        "the same statement).",
    ),
)
"""The IAM5 findings every ``SecureFunction`` raises, with their reasons (acknowledged by it)."""


class SecureFunction(Construct):
    """A Python Lambda function with the platform's guarantees.

    Always:
      * runtime ``RUNTIME``, code from ``code_dir`` as is (no bundling, no Docker), handler
        ``<folder name>.handler`` (or ``handler``: e.g. an entry point a layer provides),
        optional ``layers`` (e.g. shared handler code from a plain folder), ``function_name``
        (default: named by CloudFormation), ``memory_mb`` (256), ``timeout`` (60 s);
      * attached to ``vpc`` in ``subnets``, behind ``security_group`` when given, otherwise
        behind its own group whose only egress is TCP 443 to ``endpoint_security_group`` (the
        interface endpoints) and, with ``s3_prefix_list_id``, to S3 through the gateway
        endpoint: no route to the internet even on subnets with NAT;
      * X-Ray active tracing; ``reserved_concurrency`` (default 1) so a burst cannot starve the
        account (``None``: none, with the rules that ask for one acknowledged, for accounts
        whose Lambda limit cannot keep 100 unreserved beside it);
      * its own log group, encrypted with ``logs_key``, kept ``log_retention_days`` (365),
        retained when the stack is deleted;
      * its own ``DeadLetterQueue`` encrypted with ``queue_key`` (TLS only, 14 days, retained):
        the asynchronous dead-letter queue, the on-failure destination after
        ``retry_attempts`` (2) retries within ``max_event_age`` (6 h), and ``DLQ_URL`` for the
        handler's unprocessable events (a failed asynchronous event may land twice: the event,
        and the invocation record with the error). ``queue_id`` keeps an existing queue's
        logical ID when a function moves to this construct;
      * environment variables encrypted with ``environment_key`` when given (the role may
        decrypt them through Lambda only); otherwise Lambda's own key, recorded as a checkov
        skip (they hold ARNs, names and thresholds, never secrets);
      * a role trusted by Lambda only, with customer-managed policies only (``ManagedPolicyRole``:
        no inline, no AWS-managed policy): its own log group, the network-interface actions in
        its subnets and security group, X-Ray, its own dead-letter queue, and exactly
        ``statements`` (more with ``add_to_role_policy`` or grants to ``role``). CDK's automatic
        additions are switched off, so nothing is added behind the reader's back; the function
        depends on the role's policies (Lambda checks the VPC permissions at creation).

    Acknowledges the IAM5 findings of its baseline (``BASELINE_WILDCARDS``); the handler's own
    wildcards need ``acknowledge_wildcards``. Attributes: ``function``, ``role``,
    ``security_group``, ``log_group``, ``dead_letter_queue``, ``known_noncompliance`` (the Config
    rule results its configuration implies, for the findings router).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        description: str,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        logs_key: kms.IKey,
        queue_key: kms.IKey,
        statements: Sequence[iam.PolicyStatement] = (),
        security_group: ec2.ISecurityGroup | None = None,
        endpoint_security_group: ec2.ISecurityGroup | None = None,
        s3_prefix_list_id: str | None = None,
        environment: Mapping[str, str] | None = None,
        environment_key: kms.IKey | None = None,
        layers: Sequence[lambda_.ILayerVersion] = (),
        log_retention_days: int = 365,
        reserved_concurrency: int | None = 1,
        memory_mb: int = 256,
        timeout: cdk.Duration | None = None,
        retry_attempts: int = ASYNC_RETRY_ATTEMPTS,
        max_event_age: cdk.Duration | None = None,
        function_name: str | None = None,
        queue_id: str = "Default",
        handler: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        module = code_dir.name
        _check(construct_id, code_dir, environment, security_group, endpoint_security_group)
        if not 0 <= retry_attempts <= ASYNC_RETRY_ATTEMPTS:
            raise ValueError(f"SecureFunction {construct_id}: retry_attempts must be 0-2")
        stack = cdk.Stack.of(self)

        self.security_group = security_group or self._own_security_group(
            vpc, module, endpoint_security_group, s3_prefix_list_id
        )
        self.log_group = encrypted_log_group(
            self, "LogGroup", encryption_key=logs_key, retention_days=log_retention_days
        )
        self.dead_letter_queue = DeadLetterQueue(
            self, "DeadLetterQueue", encryption_key=queue_key, queue_id=queue_id
        )
        self.role = ManagedPolicyRole(
            self,
            "Role",
            description=f"{description} (Lambda execution role)"[:1000],
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        ec2_arn = f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}"
        subnet_ids = vpc.select_subnets(
            subnet_type=subnets.subnet_type,
            subnet_group_name=subnets.subnet_group_name,
            availability_zones=subnets.availability_zones,
            subnets=subnets.subnets,
        ).subnet_ids
        if not subnet_ids:
            raise ValueError(f"SecureFunction {construct_id}: the subnet selection is empty")
        for statement in (
            iam.PolicyStatement(
                sid="WriteOwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                # The Arn attribute ends in ":*" and so covers the group's streams.
                resources=[self.log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="DescribeForVpcAttachment", actions=list(ENI_DESCRIBE_ACTIONS), resources=["*"]
            ),
            iam.PolicyStatement(
                sid="NetworkInterfacesInTheFunctionsSubnets",
                actions=list(ENI_MUTATING_ACTIONS),
                resources=[
                    f"{ec2_arn}:network-interface/*",
                    f"{ec2_arn}:security-group/{self.security_group.security_group_id}",
                    *(f"{ec2_arn}:subnet/{s}" for s in subnet_ids),
                ],
            ),
            iam.PolicyStatement(sid="Tracing", actions=list(XRAY_ACTIONS), resources=["*"]),
            *self.dead_letter_queue.send_statements(),
        ):
            self.role.add_to_policy(statement)
        if environment_key is not None:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="DecryptOwnEnvironment",
                    actions=["kms:Decrypt"],
                    resources=[environment_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"lambda.{stack.region}.amazonaws.com"}
                    },
                )
            )
        for statement in statements:
            self.role.add_to_policy(statement)

        queue = self.dead_letter_queue.queue
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            function_name=function_name,
            runtime=RUNTIME,
            handler=handler or f"{module}.handler",
            code=lambda_.Code.from_asset(str(code_dir), exclude=["**/__pycache__", "*.pyc"]),
            layers=list(layers),
            role=self.role.without_policy_updates(),
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.security_group],
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            memory_size=memory_mb,
            timeout=timeout or cdk.Duration.seconds(60),
            environment={**(environment or {}), "DLQ_URL": queue.queue_url},
            environment_encryption=environment_key,
            dead_letter_queue=queue,
            on_failure=destinations.SqsDestination(queue),
            retry_attempts=retry_attempts,
            max_event_age=max_event_age or cdk.Duration.hours(6),
        )
        # The role's whole subtree: the role and every managed policy, also those added later.
        self.function.node.add_dependency(self.role)
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        ignore_redundant_role_dependency(cfn_function)
        self.known_noncompliance = apply_reserved_concurrency(cfn_function, reserved_concurrency)
        if environment_key is None:
            skip_checkov(
                cfn_function,
                "CKV_AWS_173",
                "Environment variables hold only ARNs, names, a queue URL and thresholds (no "
                "secrets) and are encrypted at rest by Lambda's own key.",
            )
        self._wildcards = acknowledge_wildcards(self.role, BASELINE_WILDCARDS)

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        """Add one statement to the function's role (a managed policy)."""
        self.role.add_to_policy(statement)

    def acknowledge_wildcards(self, findings: Mapping[str, str]) -> None:
        """Acknowledge IAM5 findings of the handler's statements: exact finding -> reason.

        Keys are the part inside the brackets, e.g. ``Resource::*``; each needs a specific
        reason saying why AWS offers nothing narrower. A finding the baseline also raises gets
        one acknowledgement with both reasons.
        """
        for finding, reason in findings.items():
            self._wildcards.add(re.escape(finding), reason)

    def _own_security_group(
        self,
        vpc: ec2.IVpc,
        module: str,
        endpoint_security_group: ec2.ISecurityGroup | None,
        s3_prefix_list_id: str | None,
    ) -> ec2.SecurityGroup:
        assert endpoint_security_group is not None  # _check
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"{module}: HTTPS to the VPC endpoints only",
            allow_all_outbound=False,
        )
        group.add_egress_rule(
            ec2.Peer.security_group_id(endpoint_security_group.security_group_id),
            ec2.Port.tcp(443),
            "HTTPS to the interface endpoints",
        )
        if s3_prefix_list_id is not None:
            group.add_egress_rule(
                ec2.Peer.prefix_list(s3_prefix_list_id),
                ec2.Port.tcp(443),
                "HTTPS to S3 through the gateway endpoint",
            )
        return group


def _check(
    construct_id: str,
    code_dir: Path,
    environment: Mapping[str, str] | None,
    security_group: ec2.ISecurityGroup | None,
    endpoint_security_group: ec2.ISecurityGroup | None,
) -> None:
    name = f"SecureFunction {construct_id}"
    if not (code_dir / f"{code_dir.name}.py").is_file():
        raise ValueError(f"{name}: {code_dir}/{code_dir.name}.py not found")
    if (security_group is None) == (endpoint_security_group is None):
        raise ValueError(f"{name}: give either security_group or endpoint_security_group")
    clash = sorted(RESERVED_VARIABLES & set(environment or {}))
    if clash:
        raise ValueError(f"{name}: environment may not set {clash}")


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

    ``aws_lambda.Function`` adds ``DependsOn`` its execution role (so the role's policies exist
    first) although its ``Role`` property already references the role; the duplicate is
    harmless and cannot be removed from Python without overriding ``DependsOn`` wholesale.
    """
    ignore_cfn_lint(
        function,
        "W3005",
        "aws_lambda.Function adds DependsOn its execution role beside the Role reference "
        "(so the role's policies exist first); the duplicate dependency is harmless.",
    )
