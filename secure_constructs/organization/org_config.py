"""AWS Config across the organization, run from the security account (Config's delegated admin).

``OrganizationConfigRules`` (security account) builds the organization aggregator, one
organization conformance pack holding the platform's AWS managed rules, and, optionally, the
custom SageMaker isolation rule for every member account, evaluated by one function in the
security account. ``OrganizationRuleMemberRole`` (each member account) is the role that function
assumes there. Names both sides must agree on come from the ``*_name`` functions below, since
stacks in different accounts cannot reference each other.

How the custom rule works across accounts (the documented way): AWS Config's
``PutOrganizationConfigRule`` requires the Lambda function "in the management account or a
delegated administrator" and "an IAM role in the managed account that can be assumed by the
Lambda function". AWS Config in each member account invokes the function in the security account
(cross-account invocation: one Lambda permission per member account, principal
``config.amazonaws.com`` and ``SourceAccount`` = that account, as Config's "security best
practice for AWS Lambda resource-based policy" asks. ``PrincipalOrgID`` tests
``aws:PrincipalOrgID``, which describes IAM principals, not Config acting for an account;
``AddPermission`` takes no other condition; CloudFormation's ``SourceArn`` pattern refuses a
wildcard account). The event's ``resultToken`` belongs to the member account's rule, so the
function calls SageMaker and ``config:PutEvaluations`` with credentials of the member role it
assumes (``arn:<partition>:iam::<event accountId>:role/<member_role_name>``).

Sources: Config API ``PutOrganizationConfigRule``, ``PutOrganizationConformancePack``,
``PutConfigurationAggregator``; Config developer guide "Custom Lambda Rules (General Example)"
(restricted-lambda-policy), "Conformance pack prerequisites", "Custom Conformance Pack",
"Setting up an aggregator (AWS CLI)", "Service Limits"; AWS blogs "How to Centrally Manage AWS
Config Rules across Multiple AWS Accounts" and "Best practices for AWS Config conformance packs";
CloudFormation ``AWS::Config::ConfigurationAggregator``,
``AWS::Config::OrganizationConformancePack``, ``AWS::Config::OrganizationConfigRule``,
``AWS::Lambda::Permission``; AWS managed policy
``AWSConfigRoleForOrganizations``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aws_cdk as cdk
from aws_cdk import aws_config as config
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..audit.sagemaker_isolation import RULE_ACTIONS, evaluation_statements
from ..core.compliance import acknowledge, nag_arn
from ..core.managed_policy_role import ManagedPolicyRole, acknowledge_wildcards
from ..core.secure_function import SecureFunction
from .names import ACCOUNT_ID, ORGANIZATION_ID, REGION

# --- documented limits (checked at synth) ---------------------------------------------------

CONFORMANCE_PACK_MAX_BYTES = 51_200
"""``TemplateBody`` of ``PutOrganizationConformancePack``: at most 51,200 bytes."""
CONFORMANCE_PACK_MAX_RULES = 130
"""Config service limits: AWS Config rules per organization conformance pack (not adjustable)."""
CONFIG_RULE_NAME_MAX = 128
CONFIG_RULE_DESCRIPTION_MAX = 256
ORGANIZATION_RULE_NAME_MAX = 64
"""``OrganizationConfigRuleName``: 1-64 characters of ``[A-Za-z0-9-_]``."""
INPUT_PARAMETERS_MAX = 1024
"""``OrganizationCustomRuleMetadata.InputParameters``: a JSON string of 1-1,024 characters."""
EXCLUDED_ACCOUNTS_MAX = 1000
ROLE_NAME_MAX = 64
LAMBDA_POLICY_MAX_BYTES = 20_480
"""Lambda quota: a function's resource-based policy is at most 20 KB (not adjustable)."""
PERMISSION_STATEMENT_BYTES = 400
"""Estimated size of one invoke statement (Sid, principal, function ARN, SourceAccount)."""
MAX_INVOKING_ACCOUNTS = LAMBDA_POLICY_MAX_BYTES // PERMISSION_STATEMENT_BYTES
"""Member accounts the custom rule can serve before the function policy would pass 20 KB."""
ACCOUNTS_PER_ASSUME_STATEMENT = 40
"""Member-role ARNs per ``sts:AssumeRole`` statement (keeps each managed policy small)."""

AGGREGATOR_POLICY = "service-role/AWSConfigRoleForOrganizations"
"""AWS managed: organizations:ListAccounts, DescribeOrganization,
ListAWSServiceAccessForOrganization, ListDelegatedAdministrators on ``*`` (read only)."""

MEMBER_ROLE_ACTIONS = RULE_ACTIONS
"""What the evaluator does in a member account: the single-account rule's ``RULE_ACTIONS``."""

_PROJECT = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]*$")


class ConformancePackLimitError(ValueError):
    """The conformance pack breaks a documented AWS Config limit; raised at synth."""


class ManagedRuleEntry(Protocol):
    """One row of the managed-rule table (``audit.config_recorder.ManagedRuleSpec`` fits)."""

    @property
    def identifier(self) -> str:
        """The managed rule's source identifier, e.g. ``S3_BUCKET_VERSIONING_ENABLED``."""
        ...

    @property
    def control(self) -> str:
        """The control it evidences (the rule's description, at most 256 characters)."""
        ...

    @property
    def account_level(self) -> bool:
        """Account-wide or global check: deployed only where global resources are recorded."""
        ...

    @property
    def parameters(self) -> Mapping[str, str]:
        """Config input parameters (strings)."""
        ...


# --- names both sides agree on ----------------------------------------------------------------


def aggregator_name(project: str) -> str:
    """The organization aggregator (security account)."""
    return f"{project}-organization"


def conformance_pack_name(project: str) -> str:
    """The organization conformance pack of the managed rules."""
    return f"{project}-org-baseline"


def isolation_rule_name(project: str) -> str:
    """The organization custom rule for SageMaker job isolation."""
    return f"{project}-org-sagemaker-job-isolation"


def evaluator_role_name(project: str) -> str:
    """The custom rule function's execution role (security account, fixed name)."""
    return f"{project}-org-config-evaluator"


def member_role_name(project: str) -> str:
    """The role the evaluator assumes in each member account (fixed name)."""
    return f"{project}-org-config-member"


def evaluator_role_arn(project: str, *, partition: str, security_account: str) -> str:
    """The evaluator role's ARN, as member roles trust it (``aws:PrincipalArn``)."""
    return f"arn:{partition}:iam::{security_account}:role/{evaluator_role_name(project)}"


def pack_rule_name(project: str, identifier: str) -> str:
    """The Config rule name a managed rule gets inside the pack: ``<project>-<kebab id>``."""
    return f"{project}-{identifier.lower().replace('_', '-')}"


def _logical_id(identifier: str) -> str:
    return "".join(part.capitalize() for part in identifier.lower().split("_"))


def _check_project(project: str) -> None:
    if cdk.Token.is_unresolved(project) or not _PROJECT.match(project):
        raise ValueError(
            f"organization Config: project={project!r} must be a literal starting with a letter, "
            "then letters, digits and '-' (the conformance pack name pattern)"
        )
    for name, limit in (
        (isolation_rule_name(project), ORGANIZATION_RULE_NAME_MAX),
        (evaluator_role_name(project), ROLE_NAME_MAX),
        (member_role_name(project), ROLE_NAME_MAX),
    ):
        if len(name) > limit:
            raise ValueError(
                f"organization Config: name {name!r} is {len(name)} characters, at most {limit}; "
                "use a shorter project name"
            )


def _check_accounts(field: str, accounts: Sequence[str], *, limit: int) -> None:
    bad = [a for a in accounts if not isinstance(a, str) or not ACCOUNT_ID.match(a)]
    if bad:
        raise ValueError(f"organization Config: {field} {bad} must be 12-digit account IDs")
    duplicates = sorted({a for a in accounts if list(accounts).count(a) > 1})
    if duplicates:
        raise ValueError(f"organization Config: {field} lists {duplicates} twice")
    if len(accounts) > limit:
        raise ValueError(
            f"organization Config: {field} has {len(accounts)} accounts, at most {limit}"
        )


# --- the conformance pack template -------------------------------------------------------------


def conformance_pack_template(
    rules: Sequence[ManagedRuleEntry], *, project: str, include_account_level: bool
) -> dict[str, Any]:
    """The pack's template: one ``AWS::Config::ConfigRule`` (owner ``AWS``) per managed rule.

    Same identifiers, descriptions and parameters as the single-account ``ManagedRuleSet``, in
    the documented custom-pack shape: each parameter is a template parameter
    ``<Rule>Param<Name>`` (``Type: String``, ``Default``: the table's value) referenced from the
    rule's ``InputParameters``, so it can be overridden per deployment. No trigger is set: each
    rule keeps AWS's own. ``account_level`` rules only when ``include_account_level``.
    """
    identifiers = [rule.identifier for rule in rules]
    duplicates = sorted({i for i in identifiers if identifiers.count(i) > 1})
    if duplicates:
        raise ConformancePackLimitError(f"conformance pack: rules listed twice: {duplicates}")
    parameters: dict[str, Any] = {}
    resources: dict[str, Any] = {}
    for rule in rules:
        if rule.account_level and not include_account_level:
            continue
        logical_id = _logical_id(rule.identifier)
        name = pack_rule_name(project, rule.identifier)
        if len(name) > CONFIG_RULE_NAME_MAX:
            raise ConformancePackLimitError(
                f"conformance pack: rule name {name!r} is longer than {CONFIG_RULE_NAME_MAX}"
            )
        if len(rule.control) > CONFIG_RULE_DESCRIPTION_MAX:
            raise ConformancePackLimitError(
                f"conformance pack: {rule.identifier} description is {len(rule.control)} "
                f"characters, at most {CONFIG_RULE_DESCRIPTION_MAX}"
            )
        properties: dict[str, Any] = {
            "ConfigRuleName": name,
            "Description": rule.control,
            "Source": {"Owner": "AWS", "SourceIdentifier": rule.identifier},
        }
        if rule.parameters:
            inputs: dict[str, Any] = {}
            for key, value in rule.parameters.items():
                parameter = f"{logical_id}Param{key[:1].upper()}{key[1:]}"
                parameters[parameter] = {"Default": str(value), "Type": "String"}
                inputs[key] = {"Ref": parameter}
            properties["InputParameters"] = inputs
        resources[logical_id] = {"Type": "AWS::Config::ConfigRule", "Properties": properties}
    template: dict[str, Any] = {"Parameters": parameters} if parameters else {}
    template["Resources"] = resources
    return template


def template_body(template: Mapping[str, Any]) -> str:
    """The template as sent to Config: compact JSON (CloudFormation reads JSON templates)."""
    return json.dumps(template, separators=(",", ":"))


def check_conformance_pack(template: Mapping[str, Any]) -> int:
    """The body's size in bytes; raises ``ConformancePackLimitError`` past a documented limit."""
    rules = len(template.get("Resources", {}))
    if rules == 0:
        raise ConformancePackLimitError("conformance pack: no rule left to deploy")
    if rules > CONFORMANCE_PACK_MAX_RULES:
        raise ConformancePackLimitError(
            f"conformance pack: {rules} rules, AWS Config allows at most "
            f"{CONFORMANCE_PACK_MAX_RULES} per organization conformance pack: split the table"
        )
    size = len(template_body(template).encode("utf-8"))
    if size > CONFORMANCE_PACK_MAX_BYTES:
        raise ConformancePackLimitError(
            f"conformance pack: template body is {size} bytes, AWS Config accepts at most "
            f"{CONFORMANCE_PACK_MAX_BYTES}: shorten descriptions or split the table"
        )
    return size


# --- the custom rule's evaluator -----------------------------------------------------------------


@dataclass(frozen=True)
class IsolationRuleEvaluator:
    """Where the organization SageMaker isolation rule's function runs (security account).

    ``member_accounts``: every account the rule evaluates (each needs
    ``OrganizationRuleMemberRole``); ``code_dir``: ``lambda/sagemaker_isolation_rule`` (the
    single-account handler, unchanged); ``entry_layer``: the layer whose ``python/`` holds
    ``handler`` (default ``org_isolation_rule.handler``, ``lambda/org_isolation_layer``: it
    assumes the member role, then runs the single-account evaluation); ``vpc``/``subnets`` and
    ``security_group`` or ``endpoint_security_group``: the function's network (it needs STS,
    SageMaker API, Config, SQS, CloudWatch Logs and X-Ray through endpoints or NAT);
    ``encryption_key``: its logs and dead-letter queue; ``layers``: the ``handler_kit`` layer;
    ``allowed_subnet_ids``: passed as ``allowedSubnetIds`` (empty: any subnet passes, the VPC
    check still applies); ``log_retention_days`` (365) and ``reserved_concurrency`` (1) as
    ``SecureFunction``.
    """

    member_accounts: Sequence[str]
    code_dir: Path
    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    encryption_key: kms.IKey
    entry_layer: lambda_.ILayerVersion
    layers: Sequence[lambda_.ILayerVersion] = ()
    handler: str = "org_isolation_rule.handler"
    security_group: ec2.ISecurityGroup | None = None
    endpoint_security_group: ec2.ISecurityGroup | None = None
    allowed_subnet_ids: Sequence[str] = ()
    log_retention_days: int = 365
    reserved_concurrency: int | None = 1


class OrganizationConfigRules(Construct):
    """AWS Config for the whole organization, deployed in the security account.

    Guarantees:
      * ``aggregator``: ``<project>-organization``, an organization aggregator over every
        region (``aggregator_regions=None``, ``AllAwsRegions``, future regions included) or the
        listed ones; its role (``aggregator_role``) is trusted by AWS Config for this account
        only (``aws:SourceAccount``) and holds only the AWS managed, read-only
        ``AWSConfigRoleForOrganizations`` (acknowledged: AWS keeps it to what the aggregator
        needs);
      * ``conformance_pack``: ``<project>-org-baseline``, an organization conformance pack with
        one AWS managed rule per row of ``managed_rules`` (same identifiers, descriptions and
        parameters as the single-account ``ManagedRuleSet``; rule names
        ``<project>-<identifier in kebab case>``), ``account_level`` rows only when
        ``include_account_level`` (the region that records global resources). The template is
        checked at synth against AWS Config's limits (``check_conformance_pack``: 130 rules,
        51,200 bytes) and ``pack_size`` records its size;
      * with ``isolation``, ``isolation_rule``: ``<project>-org-sagemaker-job-isolation``, an
        organization custom Lambda rule, periodic (24 h), evaluated by ``isolation_function``
        (a ``SecureFunction`` in ``isolation.vpc``, role ``<project>-org-config-evaluator``)
        whose only permission is ``sts:AssumeRole`` on ``<project>-org-config-member`` in
        each of ``isolation.member_accounts``. AWS Config may invoke it only from those
        accounts (one Lambda permission each, ``SourceAccount``); the rule is created after
        them;
      * ``excluded_accounts`` (default none; typically the management and log-archive
        accounts when they record nothing) are left out of the pack and the rule. Every account
        that is not excluded, this one included, belongs in ``isolation.member_accounts``;
        an account listed in both is refused.

    Attributes: ``aggregator``, ``aggregator_role``, ``conformance_pack``, ``pack_rules`` (the
    identifiers deployed), ``pack_size`` (bytes), ``isolation_function``, ``isolation_rule``,
    ``invoke_permissions`` (the last three empty without ``isolation``).

    Flags and acknowledgements: none beyond the project's defaults; IAM4 on the aggregator role
    is acknowledged here.

    One-time and ongoing manual steps (outside this construct):
      * in the management account: all features on, trusted access and delegated administrator
        (this account) for ``config.amazonaws.com`` and ``config-multiaccountsetup.amazonaws.com``;
      * the role CloudFormation deploys with needs ``organizations:ListDelegatedAdministrators``
        and ``organizations:EnableAWSServiceAccess`` (CDK's default bootstrap role has them);
      * every account not excluded needs a Config recorder in this region (Config retries a new
        account for 7 hours only); deploy ``OrganizationRuleMemberRole`` in every member account
        before the first evaluation, and add each new account to ``member_accounts`` (until
        then the custom rule's evaluations fail there: Config may not invoke the function);
      * the entry point (``entry_layer``'s ``handler``) assumes the member role
        (``MEMBER_ROLE_NAME``) before calling SageMaker and ``config:PutEvaluations``.

    Cost: conformance pack evaluations (pack rules) and rule evaluations (the custom rule) are
    billed per evaluation, per account and region, tiered from $0.001 each (AWS Config pricing);
    every pack rule re-evaluates on each change of a resource in its scope, the periodic ones
    daily. In organization mode drop the per-environment ``ManagedRuleSet`` from the workload
    accounts, or the same checks bill twice. The custom rule adds one evaluation and one Lambda
    invocation (up to 5 minutes, 256 MB) per member account per day. Deleting the stack removes
    the pack and the rule, and their results, from every account.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        organization_id: str,
        managed_rules: Sequence[ManagedRuleEntry],
        include_account_level: bool,
        excluded_accounts: Sequence[str] = (),
        aggregator_regions: Sequence[str] | None = None,
        isolation: IsolationRuleEvaluator | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        _check_project(project)
        if not ORGANIZATION_ID.match(organization_id):
            raise ValueError(
                f"OrganizationConfigRules: organization_id={organization_id!r} is not an "
                "organization ID (o- and 10-32 lowercase letters or digits)"
            )
        _check_accounts("excluded_accounts", excluded_accounts, limit=EXCLUDED_ACCOUNTS_MAX)
        if aggregator_regions is not None:
            bad = [r for r in aggregator_regions if not REGION.match(r)]
            if not aggregator_regions or bad:
                raise ValueError(
                    f"OrganizationConfigRules: aggregator_regions={list(aggregator_regions)} "
                    "must be region names such as us-east-1 (None: all regions)"
                )
        self.organization_id = organization_id
        stack = cdk.Stack.of(self)

        # --- aggregator --------------------------------------------------------------------
        self.aggregator_role = iam.Role(
            self,
            "AggregatorRole",
            description="AWS Config organization aggregator: read the organization's accounts",
            assumed_by=iam.ServicePrincipal(
                "config.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(AGGREGATOR_POLICY)],
        )
        acknowledge(
            self.aggregator_role,
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            f"{AGGREGATOR_POLICY}]",
            "AWSConfigRoleForOrganizations is the policy AWS documents for an organization "
            "aggregator's role: four read-only Organizations calls (ListAccounts, "
            "DescribeOrganization, ListAWSServiceAccessForOrganization, "
            "ListDelegatedAdministrators), kept current by AWS.",
        )
        source = config.CfnConfigurationAggregator.OrganizationAggregationSourceProperty(
            role_arn=self.aggregator_role.role_arn,
            all_aws_regions=True if aggregator_regions is None else None,
            aws_regions=list(aggregator_regions) if aggregator_regions is not None else None,
        )
        self.aggregator = config.CfnConfigurationAggregator(
            self,
            "Aggregator",
            configuration_aggregator_name=aggregator_name(project),
            organization_aggregation_source=source,
        )

        # --- conformance pack ---------------------------------------------------------------
        template = conformance_pack_template(
            managed_rules, project=project, include_account_level=include_account_level
        )
        self.pack_size = check_conformance_pack(template)
        self.pack_rules = [
            r["Properties"]["Source"]["SourceIdentifier"] for r in template["Resources"].values()
        ]
        self.conformance_pack = config.CfnOrganizationConformancePack(
            self,
            "ConformancePack",
            organization_conformance_pack_name=conformance_pack_name(project),
            template_body=template_body(template),
            excluded_accounts=list(excluded_accounts) or None,
        )

        # --- custom rule ----------------------------------------------------------------------
        self.isolation_function: SecureFunction | None = None
        self.isolation_rule: config.CfnOrganizationConfigRule | None = None
        self.invoke_permissions: list[lambda_.CfnPermission] = []
        if isolation is not None:
            self._add_isolation_rule(project, isolation, excluded_accounts)

    def _add_isolation_rule(
        self, project: str, isolation: IsolationRuleEvaluator, excluded: Sequence[str]
    ) -> None:
        members = list(isolation.member_accounts)
        _check_accounts("member_accounts", members, limit=MAX_INVOKING_ACCOUNTS)
        if not members:
            raise ValueError("OrganizationConfigRules: isolation.member_accounts is empty")
        clash = sorted(set(members) & set(excluded))
        if clash:
            raise ValueError(
                f"OrganizationConfigRules: {clash} are both member_accounts and excluded_accounts"
            )
        parameters: dict[str, str] = {}
        if isolation.allowed_subnet_ids:
            parameters["allowedSubnetIds"] = ",".join(isolation.allowed_subnet_ids)
        input_parameters = json.dumps(parameters, separators=(",", ":")) if parameters else None
        if input_parameters and len(input_parameters) > INPUT_PARAMETERS_MAX:
            raise ValueError(
                f"OrganizationConfigRules: rule parameters are {len(input_parameters)} "
                f"characters, AWS Config accepts at most {INPUT_PARAMETERS_MAX}: list fewer "
                "allowed_subnet_ids"
            )
        stack = cdk.Stack.of(self)
        member_role = member_role_name(project)
        role_arns = [f"arn:{stack.partition}:iam::{a}:role/{member_role}" for a in members]
        statements = [
            iam.PolicyStatement(
                sid=f"AssumeMemberRoles{index + 1}",
                actions=["sts:AssumeRole"],
                resources=role_arns[start : start + ACCOUNTS_PER_ASSUME_STATEMENT],
            )
            for index, start in enumerate(range(0, len(role_arns), ACCOUNTS_PER_ASSUME_STATEMENT))
        ]
        function = SecureFunction(
            self,
            "IsolationEvaluator",
            code_dir=isolation.code_dir,
            description=f"{project}: organization Config rule, SageMaker jobs isolated (evaluator)",
            statements=statements,
            vpc=isolation.vpc,
            subnets=isolation.subnets,
            security_group=isolation.security_group,
            endpoint_security_group=isolation.endpoint_security_group,
            logs_key=isolation.encryption_key,
            queue_key=isolation.encryption_key,
            environment={
                "LOOKBACK_HOURS": "24",
                "EVALUATION_SCOPE": "account",
                "MEMBER_ROLE_NAME": member_role,
            },
            layers=[*isolation.layers, isolation.entry_layer],
            handler=isolation.handler,
            reserved_concurrency=isolation.reserved_concurrency,
            log_retention_days=isolation.log_retention_days,
            timeout=cdk.Duration.minutes(5),
        )
        cfn_role = function.role.node.default_child
        assert isinstance(cfn_role, iam.CfnRole)
        # Fixed name: member roles in other accounts trust it by ARN (aws:PrincipalArn).
        cfn_role.role_name = evaluator_role_name(project)
        permissions = [
            lambda_.CfnPermission(
                self,
                f"InvokeFrom{account}",
                action="lambda:InvokeFunction",
                function_name=function.function.function_arn,
                principal="config.amazonaws.com",
                source_account=account,
            )
            for account in members
        ]
        rule = config.CfnOrganizationConfigRule(
            self,
            "IsolationRule",
            organization_config_rule_name=isolation_rule_name(project),
            organization_custom_rule_metadata=config.CfnOrganizationConfigRule.OrganizationCustomRuleMetadataProperty(
                lambda_function_arn=function.function.function_arn,
                organization_config_rule_trigger_types=["ScheduledNotification"],
                maximum_execution_frequency="TwentyFour_Hours",
                description=(
                    "SageMaker training and processing jobs run with network isolation, in a "
                    "VPC, with inter-container encryption and KMS keys"
                ),
                input_parameters=input_parameters,
            ),
            excluded_accounts=list(excluded) or None,
        )
        # Config checks that it may invoke the function when it creates the rule.
        rule.node.add_dependency(*permissions)
        self.isolation_function = function
        self.isolation_rule = rule
        self.invoke_permissions = permissions


class OrganizationRuleMemberRole(Construct):
    """The role the organization's isolation-rule evaluator assumes in one member account.

    Guarantees: named ``<project>-org-config-member`` (the evaluator builds its ARN from the
    event's account ID); trusted only by the evaluator role of ``security_account`` (the
    account as principal, ``aws:PrincipalArn`` equal to ``<project>-org-config-evaluator``:
    the trust survives the role being recreated and needs no deploy order); customer-managed
    policy only (``ManagedPolicyRole``): list training and processing jobs, describe this
    account's and region's jobs, ``config:PutEvaluations``, nothing else. The wildcards
    (List and PutEvaluations have no resource types; job names are chosen by whoever starts
    them) are acknowledged here. Attribute ``role``.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, project: str, security_account: str
    ) -> None:
        super().__init__(scope, construct_id)
        _check_project(project)
        _check_accounts("security_account", [security_account], limit=1)
        stack = cdk.Stack.of(self)
        partition, region, account = stack.partition, stack.region, stack.account
        evaluator = evaluator_role_arn(
            project, partition=partition, security_account=security_account
        )
        self.role = ManagedPolicyRole(
            self,
            "Role",
            role_name=member_role_name(project),
            description=f"{project}: assumed by the organization Config rule evaluator",
            assumed_by=iam.AccountPrincipal(security_account).with_conditions(
                {"ArnEquals": {"aws:PrincipalArn": evaluator}}
            ),
            max_session_duration=cdk.Duration.hours(1),
        )
        for statement in evaluation_statements(partition=partition, region=region, account=account):
            self.role.add_to_policy(statement)
        acknowledge_wildcards(
            self.role,
            [
                (
                    re.escape("Resource::*"),
                    "sagemaker:ListTrainingJobs, sagemaker:ListProcessingJobs and "
                    "config:PutEvaluations support no resource-level permissions.",
                ),
                (
                    re.escape(f"Resource::{nag_arn(stack, 'sagemaker', 'training-job/*')}"),
                    "The rule describes every training job created in its look-back window; "
                    "their names are chosen by whoever starts them. Describe only, this "
                    "account and region.",
                ),
                (
                    re.escape(f"Resource::{nag_arn(stack, 'sagemaker', 'processing-job/*')}"),
                    "The rule describes every processing job created in its look-back window; "
                    "their names are chosen by whoever starts them. Describe only, this "
                    "account and region.",
                ),
            ],
        )
