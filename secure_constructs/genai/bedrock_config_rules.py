"""Custom AWS Config rules for Bedrock: logging, guardrails, knowledge bases, agents, endpoints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_config as config
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IDependable

from ..core.secure_function import SecureFunction, https_out_security_group

BEDROCK_ENDPOINT_SERVICES = ("bedrock", "bedrock-runtime", "bedrock-agent", "bedrock-agent-runtime")

READ_ACTIONS: dict[str, tuple[str, ...]] = {
    "invocation_logging": ("bedrock:GetModelInvocationLoggingConfiguration",),
    "guardrails": ("bedrock:ListGuardrails", "bedrock:GetGuardrail"),
    "knowledge_bases": (
        "bedrock:ListKnowledgeBases",
        "bedrock:GetKnowledgeBase",
        "bedrock:ListDataSources",
        "bedrock:GetDataSource",
        "s3vectors:GetVectorBucket",
        "s3vectors:GetIndex",
    ),
    "agents": ("bedrock:ListAgents", "bedrock:GetAgent"),
    "endpoints": ("ec2:DescribeVpcEndpoints",),
}
"""What each check reads (read-only), by check; with ``config:PutEvaluations`` that is all."""


@dataclass(frozen=True)
class RuleSpec:
    """One Config rule the function backs: its check, description, parameters, triggers."""

    check: str
    description: str
    parameters: Mapping[str, str]
    change_types: tuple[str, ...] = ()


class BedrockConfigRules(Construct):
    """``lambda/bedrock_config_rules`` behind five custom Config rules named ``<prefix>-bedrock-*``.

    AWS Config records no Bedrock resource type, so the Bedrock checks are periodic (every 24
    hours) and report one result for the account, naming what fails; the endpoint check also
    runs when an ``AWS::EC2::VPCEndpoint`` changes (Config records those) and reports on the
    endpoint. The rules (each a ``check`` rule parameter of the one function):

      * ``<prefix>-bedrock-invocation-logging`` (only with ``invocation_logging``): model
        invocation logging is on, delivers to that bucket, prefix and log group, text included;
      * ``<prefix>-bedrock-guardrails``: every guardrail filters prompt attacks at
        ``prompt_attack_strength`` or stronger and has a published version;
      * ``<prefix>-bedrock-knowledge-bases``: every knowledge base's vector store
        (S3 Vectors) and every data source use a customer-managed KMS key;
      * ``<prefix>-bedrock-agents``: every agent has a guardrail with a version;
      * ``<prefix>-bedrock-endpoints``: the interface endpoints of ``BEDROCK_ENDPOINT_SERVICES``
        (those in ``required_services``) exist in ``vpc`` with an endpoint policy narrower than
        full access.

    The names start with the environment's prefix, so the findings router routes their
    compliance changes like every other rule's. The function (``SecureFunction`` in the private
    subnets behind ``FunctionsSecurityGroup``: HTTPS out only, through the NAT gateway for the
    APIs without an endpoint; logs and dead-letter queue encrypted with ``encryption_key``, its
    environment with ``environment_key`` when given, a key whose policy lets Lambda use it) reads
    only (``READ_ACTIONS``) and reports to Config; only Config of this account may invoke it.
    ``depends_on``: the recorder's delivery channel when this app owns it. Its wildcards (the
    list and read actions of Bedrock, S3 Vectors and EC2 it needs are account-wide or have no
    resource type) are acknowledged here with those reasons. Attributes: ``function``,
    ``rules`` (check -> rule).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        code_dir: Path,
        vpc: ec2.IVpc,
        encryption_key: kms.IKey,
        prompt_attack_strength: str,
        required_services: Sequence[str],
        invocation_logging: Mapping[str, str] | None,
        log_retention_days: int,
        reserved_concurrency: int | None,
        layers: Sequence[lambda_.ILayerVersion] = (),
        depends_on: Sequence[IDependable] = (),
        environment_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        bedrock_services = [s for s in required_services if s in BEDROCK_ENDPOINT_SERVICES]
        specs = [
            RuleSpec(
                "guardrails",
                "Every Bedrock guardrail filters prompt attacks at the configured strength and "
                "has a published version",
                {"promptAttackStrength": prompt_attack_strength},
            ),
            RuleSpec(
                "knowledge_bases",
                "Bedrock knowledge-base vector stores and data sources use customer-managed keys",
                {},
            ),
            RuleSpec("agents", "Every Bedrock agent has a guardrail with a published version", {}),
            RuleSpec(
                "endpoints",
                "The Bedrock interface endpoints exist in the platform VPC with an endpoint policy",
                {"vpcId": vpc.vpc_id, "requiredServices": ",".join(bedrock_services)},
                change_types=("AWS::EC2::VPCEndpoint",),
            ),
        ]
        if invocation_logging is not None:
            specs.insert(
                0,
                RuleSpec(
                    "invocation_logging",
                    "Bedrock model invocation logging is on and delivers where the platform "
                    "configures it",
                    dict(invocation_logging),
                ),
            )
        actions = sorted({a for spec in specs for a in READ_ACTIONS[spec.check]})
        self.function = SecureFunction(
            self,
            "Function",
            code_dir=code_dir,
            description=f"{prefix}: Config rules for Bedrock (logging, guardrails, KBs, endpoints)",
            statements=[
                iam.PolicyStatement(
                    sid="ReadBedrockConfiguration", actions=actions, resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="ReportEvaluations", actions=["config:PutEvaluations"], resources=["*"]
                ),
            ],
            vpc=vpc,
            subnets=ec2.SubnetSelection(subnets=vpc.private_subnets),
            security_group=https_out_security_group(self, vpc, "Bedrock Config rules"),
            logs_key=encryption_key,
            queue_key=encryption_key,
            environment_key=environment_key,
            layers=layers,
            reserved_concurrency=reserved_concurrency,
            log_retention_days=log_retention_days,
            timeout=cdk.Duration.minutes(5),
        )
        self.function.acknowledge_wildcards(
            {
                "Resource::*": (
                    "The rules read every guardrail, knowledge base, data source, agent, vector "
                    "store and VPC endpoint of the account, whoever created them: the List and "
                    "Describe actions and config:PutEvaluations have no resource type, and the "
                    "Get actions must reach resources this app did not create. Read-only."
                ),
            }
        )
        invoke = lambda_.CfnPermission(
            self,
            "Invoke",
            action="lambda:InvokeFunction",
            function_name=self.function.function.function_arn,
            principal="config.amazonaws.com",
            source_account=stack.account,
        )
        self.rules: dict[str, config.CfnConfigRule] = {}
        for spec in specs:
            details = [
                config.CfnConfigRule.SourceDetailProperty(
                    event_source="aws.config",
                    message_type="ScheduledNotification",
                    maximum_execution_frequency="TwentyFour_Hours",
                )
            ]
            if spec.change_types:
                details += [
                    config.CfnConfigRule.SourceDetailProperty(
                        event_source="aws.config", message_type=message_type
                    )
                    for message_type in (
                        "ConfigurationItemChangeNotification",
                        "OversizedConfigurationItemChangeNotification",
                    )
                ]
            rule = config.CfnConfigRule(
                self,
                "".join(part.title() for part in spec.check.split("_")) + "Rule",
                config_rule_name=f"{prefix}-bedrock-{spec.check.replace('_', '-')}",
                description=spec.description,
                source=config.CfnConfigRule.SourceProperty(
                    owner="CUSTOM_LAMBDA",
                    source_identifier=self.function.function.function_arn,
                    source_details=details,
                ),
                input_parameters={"check": spec.check, **spec.parameters},
                scope=config.CfnConfigRule.ScopeProperty(
                    compliance_resource_types=list(spec.change_types)
                )
                if spec.change_types
                else None,
            )
            rule.node.add_dependency(invoke, *depends_on)
            self.rules[spec.check] = rule
