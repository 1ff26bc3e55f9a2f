"""A Python Lambda function inside the VPC, with every hardening the platform requires."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from secure_constructs.compliance import apply_reserved_concurrency
from secure_constructs.log_groups import encrypted_log_group
from secure_constructs.managed_policy_role import (
    ACTIONS_WITHOUT_RESOURCE_TYPES,
    NETWORK_INTERFACES,
    ManagedPolicyRole,
    acknowledge_wildcards,
)
from secure_constructs.secure_queue import DeadLetterQueue
from secure_constructs.sizing import LOG_RETENTION_DAYS

RUNTIME = lambda_.Runtime.PYTHON_3_14
"""The newest Python runtime this aws-cdk-lib knows (cdk-nag's LambdaLatestVersion rule)."""

ASYNC_RETRY_ATTEMPTS = 2

# Lambda creates and removes its network interfaces with the function's role (Lambda developer
# guide, "Required IAM permissions"): the mutating calls are scoped to this account's network
# interfaces, the function's subnets and security group; the Describe calls have no
# resource-level permissions in EC2.
ENI_MUTATING_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
)
ENI_DESCRIBE_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")


@jsii.implements(lambda_.IDestination)
class _QueueArnDestination:
    """An on-failure destination that names a queue and grants nothing (grants are explicit)."""

    def __init__(self, queue_arn: str) -> None:
        self._arn = queue_arn

    def bind(
        self,
        scope: Construct,
        fn: lambda_.IFunction,
        *,
        type: lambda_.DestinationType | None = None,
    ) -> lambda_.DestinationConfig:
        return lambda_.DestinationConfig(destination=self._arn)


class SecureFunction(Construct):
    """A Python function that reaches AWS only through the VPC's endpoints.

    Guarantees:
      * code from ``code_dir`` as it is (no bundling), handler ``<module>.handler``, runtime
        ``RUNTIME``, ``memory_mb`` (default 256) and ``timeout`` (default 30 s) set explicitly;
      * in ``subnets`` of ``vpc`` with its own security group, whose only egress is TCP 443 to
        ``endpoint_security_group`` (the interface endpoints) and, with ``s3_prefix_list_id``,
        to S3 through the gateway endpoint: no route to the internet even on subnets with NAT;
      * its own log group, encrypted with ``logs_key``, kept ``log_retention_days`` (default
        365), retained when the stack is deleted;
      * X-Ray active tracing; ``reserved_concurrency`` (default 5) reserved executions (``None``:
        none, with the rules that ask for one acknowledged, for accounts whose Lambda limit
        cannot keep 100 unreserved beside it);
      * environment variables encrypted with ``data_key`` (the role may decrypt them through
        Lambda only);
      * a ``DeadLetterQueue`` (encrypted with ``data_key``) as the asynchronous dead-letter
        queue and on-failure destination after ``ASYNC_RETRY_ATTEMPTS`` (2) retries, and passed
        to the code as ``DLQ_URL`` (a failed asynchronous event lands there twice: the event
        itself, and the invocation record with the error);
      * a role trusted by Lambda only (``ManagedPolicyRole``: customer-managed policies, no
        inline policy, no AWS-managed policy): writes to its own log group, the
        network-interface actions Lambda needs in a VPC, X-Ray, the dead-letter queue, and
        exactly ``statements`` (add more with ``add_to_role_policy`` or ``grant_*`` methods).

    Attributes: ``function``, ``role``, ``dead_letter_queue``, ``security_group``, ``log_group``,
    ``known_noncompliance`` (Config rule results its configuration implies).
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
        endpoint_security_group: ec2.ISecurityGroup,
        logs_key: kms.IKey,
        data_key: kms.IKey,
        environment: Mapping[str, str] | None = None,
        statements: Sequence[iam.PolicyStatement] = (),
        s3_prefix_list_id: str | None = None,
        log_retention_days: int = 365,
        reserved_concurrency: int | None = 5,
        memory_mb: int = 256,
        timeout: cdk.Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        module = code_dir.name
        if not (code_dir / f"{module}.py").is_file():
            raise ValueError(f"SecureFunction {construct_id}: {code_dir}/{module}.py not found")
        if log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"SecureFunction {construct_id} log_retention_days={log_retention_days}: "
                f"allowed {LOG_RETENTION_DAYS}"
            )
        if reserved_concurrency is not None and reserved_concurrency < 1:
            raise ValueError(
                f"SecureFunction {construct_id}: reserved_concurrency must be >= 1 or None"
            )
        if environment and "DLQ_URL" in environment:
            raise ValueError(f"SecureFunction {construct_id}: DLQ_URL is set by the construct")
        stack = cdk.Stack.of(self)

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"{module}: HTTPS to the VPC endpoints only",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(
            ec2.Peer.security_group_id(endpoint_security_group.security_group_id),
            ec2.Port.tcp(443),
            "HTTPS to the interface endpoints",
        )
        if s3_prefix_list_id is not None:
            self.security_group.add_egress_rule(
                ec2.Peer.prefix_list(s3_prefix_list_id),
                ec2.Port.tcp(443),
                "HTTPS to S3 through the gateway endpoint",
            )

        self.log_group = encrypted_log_group(
            self, "LogGroup", key=logs_key, retention_days=log_retention_days
        )

        # "Queue": the construct ID this queue has always had (its logical ID is a contract).
        self.dead_letter_queue = DeadLetterQueue(
            self, "DeadLetterQueue", key=data_key, queue_id="Queue"
        )
        self.role = ManagedPolicyRole(
            self,
            "Role",
            description=f"{module} function (least privilege)",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        self.log_group.grant_write(self.role)
        ec2_arn = f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}"
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="NetworkInterfacesInTheFunctionsSubnets",
                actions=list(ENI_MUTATING_ACTIONS),
                resources=[
                    f"{ec2_arn}:network-interface/*",
                    f"{ec2_arn}:security-group/{self.security_group.security_group_id}",
                    *(f"{ec2_arn}:subnet/{s}" for s in _subnet_ids(vpc, subnets)),
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeNetworkInterfaces",
                actions=list(ENI_DESCRIBE_ACTIONS),
                resources=["*"],
            )
        )
        self.dead_letter_queue.grant_send(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DecryptOwnEnvironment",
                actions=["kms:Decrypt"],
                resources=[data_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"lambda.{stack.region}.amazonaws.com"}
                },
            )
        )
        for statement in statements:
            self.role.add_to_policy(statement)

        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            handler=f"{module}.handler",
            code=lambda_.Code.from_asset(str(code_dir)),
            role=self.role,
            memory_size=memory_mb,
            timeout=timeout or cdk.Duration.seconds(30),
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.security_group],
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            dead_letter_queue=self.dead_letter_queue.queue,
            on_failure=_QueueArnDestination(self.dead_letter_queue.queue.queue_arn),
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
            environment={**(environment or {}), "DLQ_URL": self.dead_letter_queue.queue.queue_url},
            environment_encryption=data_key,
        )
        # CDK makes the function depend on its role's whole subtree (role and policies) so that
        # the policies exist before Lambda checks the network-interface permissions; the role is
        # also referenced, which cfn-lint reports as a redundant DependsOn (W3005).
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        self.known_noncompliance = apply_reserved_concurrency(cfn_function, reserved_concurrency)
        acknowledge_wildcards(self, [ACTIONS_WITHOUT_RESOURCE_TYPES, NETWORK_INTERFACES])

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        """Add one statement to the function's role."""
        self.role.add_to_policy(statement)


def _subnet_ids(vpc: ec2.IVpc, selection: ec2.SubnetSelection) -> list[str]:
    selected = vpc.select_subnets(
        subnet_type=selection.subnet_type,
        subnet_group_name=selection.subnet_group_name,
        availability_zones=selection.availability_zones,
        subnets=selection.subnets,
    )
    return list(selected.subnet_ids)
