"""Copy app of the organization group: policies, delegations, log archive, security, Config.

Built as the platform's organization stages build them (``stacks/organization_stage.py``), one
stack per account and region, each with an explicit environment (the constructs name buckets,
trails and roles after their accounts): the management account (900000000001) holds the SCPs,
RCP and AI opt-out policy on two workload OUs and the delegated administrators (all services
in the home region, the regional ones again in us-east-2); the log-archive account
(900000000002) the trail's and Config's buckets and keys; the security account (900000000003)
the organization's security services in both regions, the Config aggregator and conformance
pack with the SageMaker isolation rule in the home region and without it in us-east-2; a
workload account (900000000004) the role the isolation rule's evaluator assumes there.

What the group needs from outside itself is plain CDK: an imported VPC (private subnets) and
the imported security group of its interface endpoints for the evaluator function, and a
handler folder. The other groups it builds on, ``data/`` and ``audit/``, are copied with it.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from harness import imported_endpoint_group, imported_vpc, main
from lifted_kit.audit.audit_trail import AuditTrail
from lifted_kit.audit.managed_rule_table import baseline_rules
from lifted_kit.data.encryption_key import EncryptionKey
from lifted_kit.organization import names
from lifted_kit.organization.delegated_admin import DelegatedAdministration
from lifted_kit.organization.guardrail_policies import GuardrailInputs, guardrail_policies
from lifted_kit.organization.log_archive import OrganizationLogArchive
from lifted_kit.organization.management_policies import ai_opt_out_policy
from lifted_kit.organization.org_config import (
    IsolationRuleEvaluator,
    OrganizationConfigRules,
    OrganizationRuleMemberRole,
)
from lifted_kit.organization.organization_policies import OrganizationPolicies
from lifted_kit.organization.security_services import OrganizationSecurityServices

HERE = Path(__file__).resolve().parent
PROJECT = "team"
ORGANIZATION_ID = "o-a1b2c3d4e5"
MANAGEMENT = "900000000001"
LOG_ARCHIVE = "900000000002"
SECURITY = "900000000003"
WORKLOAD = "900000000004"
HOME, OTHER = "us-east-1", "us-east-2"
REGIONS = (HOME, OTHER)
OUS = {"workloads-dev": "ou-ab12-devdevde", "workloads-prod": "ou-ab12-prodprod"}
STANDARDS = (
    "aws-foundational-security-best-practices/v/1.0.0",
    "cis-aws-foundations-benchmark/v/3.0.0",
)


def handler_folder(name: str) -> Path:
    """``<name>/<name>.py`` with a handler that does nothing (the test synthesizes only)."""
    folder = HERE / name
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text("def handler(event, context):\n    return None\n")
    return folder


def stack(app: cdk.App, construct_id: str, account: str, region: str = HOME) -> cdk.Stack:
    return cdk.Stack(
        app,
        construct_id,
        env=cdk.Environment(account=account, region=region),
        stack_name=f"{PROJECT}-org-{construct_id.lower()}",
    )


def delegation_key(scope: cdk.Stack) -> EncryptionKey:
    key = EncryptionKey(
        scope,
        "DelegationKey",
        alias=f"alias/{PROJECT}-org-delegation",
        description="Logs and queues of the delegated-administrator calls",
    )
    key.allow_cloudwatch_logs()
    return key


def management(app: cdk.App) -> None:
    policies = stack(app, "Policies", MANAGEMENT)
    for ou_name, ou_id in OUS.items():
        OrganizationPolicies(
            policies,
            f"Ou-{ou_name}",
            policies=guardrail_policies(
                GuardrailInputs(
                    project=PROJECT,
                    ou_name=ou_name,
                    organization_id=ORGANIZATION_ID,
                    allowed_regions=REGIONS,
                    break_glass_role="BreakGlassAdministrator",
                    deployment_role_patterns=("cdk-hnb659fds-*",),
                    key_admin_arns=(f"arn:aws:iam::{WORKLOAD}:role/team-key-admin",),
                )
            ),
            target_ids=[ou_id],
        )
    OrganizationPolicies(
        policies,
        "AiServices",
        policies=[ai_opt_out_policy(name=f"{PROJECT}-ai-services-opt-out")],
        target_ids=list(OUS.values()),
    )
    DelegatedAdministration(
        policies,
        "DelegatedAdministration",
        organization_id=ORGANIZATION_ID,
        security_account=SECURITY,
        log_archive_account=LOG_ARCHIVE,
        logs_key=delegation_key(policies).key,
    )
    regional = stack(app, f"Delegation-{OTHER}", MANAGEMENT, OTHER)
    DelegatedAdministration(
        regional,
        "DelegatedAdministration",
        organization_id=ORGANIZATION_ID,
        security_account=SECURITY,
        log_archive_account=LOG_ARCHIVE,
        logs_key=delegation_key(regional).key,
        services=("guardduty", "macie", "inspector"),
    )


def organization_trail(app: cdk.App) -> None:
    """The organization trail (audit's ``AuditTrail``), into the log archive by ``names``."""
    trail = stack(app, "Trail", MANAGEMENT)
    logs_key = EncryptionKey(
        trail,
        "TrailLogsKey",
        alias=f"alias/{PROJECT}-org-trail-logs",
        description="The organization trail's CloudWatch Logs copy",
    )
    logs_key.allow_cloudwatch_logs()
    AuditTrail(
        trail,
        "OrganizationTrail",
        trail_name=names.trail_name(PROJECT),
        bucket=s3.Bucket.from_bucket_name(
            trail,
            "TrailBucket",
            names.trail_bucket_name(PROJECT, log_archive_account=LOG_ARCHIVE, region=HOME),
        ),
        encryption_key=kms.Key.from_key_arn(
            trail,
            "TrailKey",
            names.trail_key_alias_arn(
                PROJECT, partition=trail.partition, region=HOME, log_archive_account=LOG_ARCHIVE
            ),
        ),
        logs_key=logs_key.key,
        bucket_in_other_account=True,
        data_bucket_names=(),
        lambda_data_events=False,
        bedrock_data_event_types=(),
        log_retention_days=365,
        organization_id=ORGANIZATION_ID,
    )


def log_archive(app: cdk.App) -> None:
    OrganizationLogArchive(
        stack(app, "LogArchive", LOG_ARCHIVE),
        "LogArchive",
        project=PROJECT,
        organization_id=ORGANIZATION_ID,
        management_account=MANAGEMENT,
        security_account=SECURITY,
        object_lock_days=365,
        trail_retention_days=2557,
        security_reader_arns=[f"arn:aws:iam::{SECURITY}:role/team-log-reader-*"],
    )


def security(app: cdk.App) -> None:
    rules = baseline_rules(max_key_age_days=90, max_unused_days=90)
    excluded = (MANAGEMENT, LOG_ARCHIVE)
    for region in REGIONS:
        home = region == HOME
        services = stack(app, "Security" if home else f"Security-{region}", SECURITY, region)
        OrganizationSecurityServices(
            services,
            "Services",
            name_prefix=PROJECT,
            organization_id=ORGANIZATION_ID,
            management_account=MANAGEMENT,
            member_ous=list(OUS.values()),
            securityhub_standards=STANDARDS,
            regions=REGIONS,
            alert_email="security-team@example.com",
        )
        if not home:  # the pack of the second region: no account-level rules, no custom rule
            OrganizationConfigRules(
                services,
                "ConfigRules",
                project=PROJECT,
                organization_id=ORGANIZATION_ID,
                managed_rules=rules,
                include_account_level=False,
                excluded_accounts=excluded,
                aggregator_regions=[region],
            )
            continue
        key = EncryptionKey(
            services,
            "ToolingKey",
            alias=f"alias/{PROJECT}-org-tooling",
            description="The security account's function logs and queues",
        )
        key.allow_cloudwatch_logs()
        OrganizationConfigRules(
            services,
            "ConfigRules",
            project=PROJECT,
            organization_id=ORGANIZATION_ID,
            managed_rules=rules,
            include_account_level=True,
            excluded_accounts=excluded,
            aggregator_regions=REGIONS,
            isolation=IsolationRuleEvaluator(
                member_accounts=[SECURITY, WORKLOAD],
                code_dir=handler_folder("sagemaker_isolation_rule"),
                vpc=imported_vpc(services),
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                encryption_key=key.key,
                entry_layer=lambda_.LayerVersion(
                    services,
                    "EntryLayer",
                    code=lambda_.Code.from_asset(str(handler_folder("org_isolation_rule"))),
                    compatible_runtimes=[lambda_.Runtime.PYTHON_3_14],
                ),
                endpoint_security_group=imported_endpoint_group(services),
                allowed_subnet_ids=["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
            ),
        )


def member(app: cdk.App) -> None:
    OrganizationRuleMemberRole(
        stack(app, "Member", WORKLOAD),
        "ConfigRuleMemberRole",
        project=PROJECT,
        security_account=SECURITY,
    )


def build(app: cdk.App) -> None:
    management(app)
    log_archive(app)
    organization_trail(app)
    security(app)
    member(app)


if __name__ == "__main__":
    main(build, HERE / "lifted_kit" / "organization" / "README.md")
