"""The organization stages: management, log archive and security tooling (``organization``).

Built only when cdk.json has an ``organization`` block and no single environment is selected.
Deployment order: the log archive (its bucket and key name the trail by ARN only, so they need
nothing of the other stages), then the management stage (policies, delegated administrators,
then the trail, which CloudTrail creates only when the bucket and key exist), then the
security account (it needs the delegations), then the workload environments.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from platform_config import EnvironmentConfig, OrganizationConfig, PlatformConfig
from platform_config.catalogue import ENDPOINT_SERVICES
from secure_constructs.audit.audit_trail import AuditTrail
from secure_constructs.audit.managed_rule_table import baseline_rules
from secure_constructs.core.secure_function import RUNTIME
from secure_constructs.data.encryption_key import EncryptionKey
from secure_constructs.network.secure_vpc import SecureVpc
from secure_constructs.organization import names
from secure_constructs.organization.delegated_admin import SERVICES as DELEGATED_SERVICES
from secure_constructs.organization.delegated_admin import DelegatedAdministration
from secure_constructs.organization.guardrail_policies import GuardrailInputs, guardrail_policies
from secure_constructs.organization.log_archive import OrganizationLogArchive
from secure_constructs.organization.management_policies import ai_opt_out_policy
from secure_constructs.organization.org_config import (
    IsolationRuleEvaluator,
    OrganizationConfigRules,
)
from secure_constructs.organization.organization_policies import OrganizationPolicies
from secure_constructs.organization.security_services import OrganizationSecurityServices
from stacks.base import LAMBDA_DIR, handler_layer

ORG_TRAIL_LOG_RETENTION_DAYS = 365
REGIONAL_DELEGATIONS = ("guardduty", "macie", "inspector")
"""Designated per region; Security Hub's linked regions follow central configuration, and
Config, Access Analyzer and CloudTrail are registered once for every region."""
TOOLING_ENDPOINTS = ("sts", "logs", "sqs", "sagemaker.api")
"""Interface endpoints of the security account's VPC (the isolation rule's calls; Config and
X-Ray go through the NAT gateway)."""


class OrganizationStack(cdk.Stack):
    """A stack in one of the organization's own accounts, in the home region.

    Stack names are ``<project>-org-<suffix>``; termination protection is on: these stacks
    hold the organization's guardrails and evidence. ``availability_zones`` (from config) are
    the only AZs a stack knows: asking a stack without them is an error, never a lookup.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        account: str,
        region: str,
        name_suffix: str,
        description: str,
        availability_zones: tuple[str, ...] = (),
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=account, region=region),
            stack_name=f"{project}-org-{name_suffix}",
            description=description,
            termination_protection=True,
        )
        self._configured_azs = list(availability_zones)

    @property
    def availability_zones(self) -> list[str]:
        """The configured AZs (overrides CDK's context lookup); only a stack with a VPC has any."""
        if not self._configured_azs:
            raise ValueError(
                f"{self.stack_name}: no availability zones configured for this stack (synth "
                "does no context lookups)"
            )
        return self._configured_azs


def org_isolation_layer(stack: cdk.Stack) -> lambda_.ILayerVersion:
    """``lambda/org_isolation_layer`` as is: the organization entry point of the isolation rule.

    The function's code stays the single-account handler folder (unchanged, so single-account
    templates keep their asset); this layer adds ``org_isolation_rule``, which assumes the
    member account's role and runs that handler's evaluation with the member's clients.
    """
    return lambda_.LayerVersion(
        stack,
        "OrgIsolationRule",
        code=lambda_.Code.from_asset(
            str(LAMBDA_DIR / "org_isolation_layer"),
            exclude=["README.md", "**/__pycache__", "*.pyc"],
        ),
        compatible_runtimes=[RUNTIME],
        description="org_isolation_rule: the organization entry point of the isolation rule",
    )


def logs_key(stack: cdk.Stack, construct_id: str, *, alias: str, description: str) -> EncryptionKey:
    """A customer-managed key that CloudWatch Logs of this account and region may use."""
    key = EncryptionKey(stack, construct_id, alias=alias, description=description)
    key.allow_cloudwatch_logs()
    return key


def guardrail_inputs(
    project: str, org: OrganizationConfig, ou_name: str, environments: tuple[EnvironmentConfig, ...]
) -> GuardrailInputs:
    """The SCP/RCP inputs of one workload OU, from the environments whose accounts sit in it."""
    members = [e for e in environments if e.name in org.environments_in(ou_name)]
    regions = sorted({r for e in members for r in e.allowed_regions})
    admins = sorted({a for e in members for a in e.data.admin_principal_arns})
    return GuardrailInputs(
        project=project,
        ou_name=ou_name,
        organization_id=org.organization_id,
        allowed_regions=tuple(regions),
        break_glass_role=org.break_glass_role,
        deployment_role_patterns=org.deployment_role_patterns,
        key_admin_arns=tuple(admins),
    )


class ManagementStage(cdk.Stage):
    """The management account: organization policies, delegated administrators, the org trail."""

    def __init__(
        self,
        scope: Construct,
        *,
        project: str,
        org: OrganizationConfig,
        environments: tuple[EnvironmentConfig, ...],
    ) -> None:
        super().__init__(
            scope,
            "management",
            env=cdk.Environment(account=org.management_account, region=org.home_region),
        )
        self.policies = OrganizationStack(
            self,
            "Policies",
            name_suffix="policies",
            description=f"{project} organization: SCPs, RCPs and management policies on the "
            "workload OUs, delegated administrators",
            project=project,
            account=org.management_account,
            region=org.home_region,
        )
        for ou_name in org.ou_names():
            OrganizationPolicies(
                self.policies,
                f"Ou-{ou_name}",
                policies=guardrail_policies(guardrail_inputs(project, org, ou_name, environments)),
                target_ids=[org.ou_id(ou_name)],
            )
        OrganizationPolicies(
            self.policies,
            "AiServices",
            policies=[ai_opt_out_policy(name=f"{project}-ai-services-opt-out")],
            target_ids=[org.ou_id(name) for name in org.ou_names()],
        )
        self.delegations: list[cdk.Stack] = []
        for region in org.regions:
            home = region == org.home_region
            stack = self.policies
            if not home:
                stack = OrganizationStack(
                    self,
                    f"Delegation-{region}",
                    project=project,
                    account=org.management_account,
                    region=region,
                    name_suffix=f"delegation-{region}",
                    description=f"{project} organization: delegated administrators ({region})",
                )
                self.delegations.append(stack)
            key = logs_key(
                stack,
                "DelegationKey",
                alias=f"alias/{project}-org-delegation",
                description=f"{project}: logs and queues of the delegated-administrator calls",
            )
            DelegatedAdministration(
                stack,
                "DelegatedAdministration",
                organization_id=org.organization_id,
                security_account=org.security_account,
                log_archive_account=org.log_archive_account,
                logs_key=key.key,
                services=DELEGATED_SERVICES if home else REGIONAL_DELEGATIONS,
            )

        self.trail = OrganizationStack(
            self,
            "Trail",
            name_suffix="trail",
            description=f"{project} organization: the organization trail (to the log archive)",
            project=project,
            account=org.management_account,
            region=org.home_region,
        )
        partition = self.trail.partition
        trail_logs_key = logs_key(
            self.trail,
            "TrailLogsKey",
            alias=f"alias/{project}-org-trail-logs",
            description=f"{project}: the organization trail's CloudWatch Logs copy",
        )
        trail_key = kms.Key.from_key_arn(
            self.trail,
            "TrailKey",
            names.trail_key_alias_arn(
                project,
                partition=partition,
                region=org.home_region,
                log_archive_account=org.log_archive_account,
            ),
        )
        bucket = s3.Bucket.from_bucket_name(
            self.trail,
            "TrailBucket",
            names.trail_bucket_name(
                project, log_archive_account=org.log_archive_account, region=org.home_region
            ),
        )
        self.organization_trail = AuditTrail(
            self.trail,
            "OrganizationTrail",
            trail_name=names.trail_name(project),
            bucket=bucket,
            encryption_key=trail_key,
            logs_key=trail_logs_key.key,
            bucket_in_other_account=True,
            data_bucket_names=(),
            lambda_data_events=False,
            bedrock_data_event_types=(),
            log_retention_days=ORG_TRAIL_LOG_RETENTION_DAYS,
            organization_id=org.organization_id,
        )
        self.trail.add_dependency(self.policies)

    @property
    def platform_stacks(self) -> list[cdk.Stack]:
        """The stacks of this stage, in deployment order."""
        return [self.policies, *self.delegations, self.trail]


class LogArchiveStage(cdk.Stage):
    """The log-archive account: the organization trail's and Config's buckets and keys."""

    def __init__(self, scope: Construct, *, project: str, org: OrganizationConfig) -> None:
        super().__init__(
            scope,
            "log-archive",
            env=cdk.Environment(account=org.log_archive_account, region=org.home_region),
        )
        self.archive = OrganizationStack(
            self,
            "Archive",
            project=project,
            account=org.log_archive_account,
            region=org.home_region,
            name_suffix="log-archive",
            description=f"{project} organization: trail and Config buckets, keys (stateful)",
        )
        lock = org.log_archive
        self.log_archive = OrganizationLogArchive(
            self.archive,
            "LogArchive",
            project=project,
            organization_id=org.organization_id,
            management_account=org.management_account,
            security_account=org.security_account,
            object_lock_mode="COMPLIANCE"
            if lock.object_lock_mode == "COMPLIANCE"
            else "GOVERNANCE",
            object_lock_days=lock.object_lock_days,
            trail_retention_days=lock.trail_retention_days,
            access_log_retention_days=lock.access_log_retention_days,
        )

    @property
    def platform_stacks(self) -> list[cdk.Stack]:
        """The stacks of this stage, in deployment order."""
        return [self.archive]


class SecurityStage(cdk.Stage):
    """The security account: detective services for every member, org Config, findings.

    One ``Security`` stack in the home region (Security Hub central configuration, the
    organization Config aggregator and conformance pack, the SageMaker isolation rule's
    function and its VPC) and one ``Security-<region>`` stack per other allowed region
    (GuardDuty, Macie, Inspector, Access Analyzer there).
    """

    def __init__(
        self,
        scope: Construct,
        *,
        project: str,
        org: OrganizationConfig,
        environments: tuple[EnvironmentConfig, ...],
    ) -> None:
        super().__init__(
            scope,
            "security",
            env=cdk.Environment(account=org.security_account, region=org.home_region),
        )
        self.stacks: list[cdk.Stack] = []
        member_ous = [org.ou_id(name) for name in org.ou_names()]
        for region in org.regions:
            home = region == org.home_region
            stack = OrganizationStack(
                self,
                "Security" if home else f"Security-{region}",
                project=project,
                account=org.security_account,
                region=region,
                name_suffix="security" if home else f"security-{region}",
                availability_zones=org.security_network.availability_zones if home else (),
                description=f"{project} organization: GuardDuty, Security Hub, Macie, Inspector, "
                f"Access Analyzer for every member account ({region})"
                + (", organization Config rules" if home else ""),
            )
            OrganizationSecurityServices(
                stack,
                "Services",
                name_prefix=project,
                organization_id=org.organization_id,
                management_account=org.management_account,
                member_ous=member_ous,
                securityhub_standards=org.securityhub_standards,
                regions=org.regions,
                alert_email=org.security_alert_email,
                findings_severity_threshold=org.findings_severity_threshold,
            )
            if home:
                self._config_rules(stack, project=project, org=org, environments=environments)
            self.stacks.append(stack)

    @staticmethod
    def _config_rules(
        stack: cdk.Stack,
        *,
        project: str,
        org: OrganizationConfig,
        environments: tuple[EnvironmentConfig, ...],
    ) -> None:
        key = logs_key(
            stack,
            "ToolingKey",
            alias=f"alias/{project}-org-tooling",
            description=f"{project}: the security account's function logs, queues, flow logs",
        )
        network = org.security_network
        vpc = SecureVpc(
            stack,
            "Network",
            cidr=network.vpc_cidr,
            availability_zones=network.availability_zones,
            nat_gateways=1,
            flow_log_key=key.key,
            interface_endpoints={
                name: ENDPOINT_SERVICES[name].actions for name in TOOLING_ENDPOINTS
            },
            endpoint_availability_zones=network.availability_zones[:1],
        )
        first = environments[0].audit.access_review
        OrganizationConfigRules(
            stack,
            "ConfigRules",
            project=project,
            organization_id=org.organization_id,
            managed_rules=baseline_rules(
                max_key_age_days=first.max_key_age_days, max_unused_days=first.max_unused_days
            ),
            include_account_level=True,
            excluded_accounts=(
                org.management_account,
                org.log_archive_account,
                org.security_account,
            ),
            aggregator_regions=org.regions,
            isolation=IsolationRuleEvaluator(
                member_accounts=sorted({env.account for env in environments}),
                code_dir=LAMBDA_DIR / "sagemaker_isolation_rule",
                vpc=vpc.vpc,
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                encryption_key=key.key,
                layers=[handler_layer(stack)],
                entry_layer=org_isolation_layer(stack),
                endpoint_security_group=vpc.endpoint_security_group,
            ),
        )

    @property
    def platform_stacks(self) -> list[cdk.Stack]:
        """The stacks of this stage, in deployment order (home region first)."""
        return list(self.stacks)


def build_organization_stages(app: cdk.App, config: PlatformConfig) -> list[cdk.Stage]:
    """The organization's stages, in deployment order; none without an ``organization`` block."""
    org = config.organization
    if org is None:
        return []
    archive = LogArchiveStage(app, project=config.project, org=org)
    management = ManagementStage(
        app, project=config.project, org=org, environments=config.environments
    )
    security = SecurityStage(app, project=config.project, org=org, environments=config.environments)
    stages: list[cdk.Stage] = [archive, management, security]
    for stage in stages:
        cdk.Tags.of(stage).add("project", config.project)
    return stages
