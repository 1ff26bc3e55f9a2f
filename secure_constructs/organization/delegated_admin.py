"""The security account as delegated administrator of the organization's security services.

Deployed in the AWS Organizations management account. CloudFormation has a resource for one of
the designations (``AWS::SecurityHub::DelegatedAdmin``); the others are made at deployment with
the services' documented API calls through the stack's ``core.sdk_calls.SdkCallProvider``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_securityhub as securityhub
from aws_cdk import custom_resources as cr
from constructs import Construct

from ..core.compliance import KnownNoncompliance
from ..core.managed_policy_role import acknowledge_wildcards
from ..core.sdk_calls import SdkCallProvider
from .names import ACCOUNT_ID, ORGANIZATION_ID

SERVICES: tuple[str, ...] = (
    "guardduty",
    "securityhub",
    "macie",
    "inspector",
    "config",
    "access-analyzer",
    "cloudtrail",
)
"""What ``services`` may name (and its default: all of them)."""

GLOBAL_SERVICES: tuple[str, ...] = ("config", "access-analyzer", "cloudtrail")
"""Registered in AWS Organizations itself, once for every Region: deploy them in one Region."""


ORG_READ_ACTIONS = (
    "organizations:DescribeOrganization",
    "organizations:ListAWSServiceAccessForOrganization",
    "organizations:ListDelegatedAdministrators",
    "organizations:ListAccounts",
)

NO_RESOURCE_TYPES_REASON = (
    "Only actions that the Service Authorization Reference lists without a resource type use "
    "'*': guardduty/macie2 Enable/DisableOrganizationAdminAccount, inspector2 Enable/Disable"
    "DelegatedAdminAccount, cloudtrail Register/DeregisterOrganizationDelegatedAdmin, and "
    "organizations DescribeOrganization, ListAccounts, ListDelegatedAdministrators, "
    "ListAWSServiceAccessForOrganization and EnableAWSServiceAccess, the last limited by the "
    "organizations:ServicePrincipal condition to the designated services."
)
ORGANIZATIONAL_UNITS_REASON = (
    "GuardDuty and Inspector document organizations:DescribeOrganizationalUnit among the "
    "permissions to designate their delegated administrator; the OU is not named by the call, "
    "so the resource is every OU of this organization only (its ID is in the ARN)."
)


@dataclass(frozen=True)
class _Service:
    """What designating one service takes: its principals, the IAM it needs, its calls."""

    label: str
    principals: tuple[str, ...]  # organizations:ServicePrincipal values it acts for
    admin_actions: tuple[str, ...] = ()  # actions without resource types
    org_read: tuple[str, ...] = ()
    trusted_access: bool = False  # the service's own API enables trusted access (FAS)
    describe: bool = False  # DescribeAccount (security account), DescribeOrganizationalUnit


_SPECS: dict[str, _Service] = {
    # https://docs.aws.amazon.com/guardduty/latest/ug/organizations_permissions.html
    "guardduty": _Service(
        "GuardDuty",
        ("guardduty.amazonaws.com", "malware-protection.guardduty.amazonaws.com"),
        admin_actions=(
            "guardduty:EnableOrganizationAdminAccount",
            "guardduty:DisableOrganizationAdminAccount",
        ),
        org_read=ORG_READ_ACTIONS,
        trusted_access=True,
        describe=True,
    ),
    # https://docs.aws.amazon.com/macie/latest/user/accounts-mgmt-ao-integrate.html
    "macie": _Service(
        "Macie",
        ("macie.amazonaws.com",),
        admin_actions=(
            "macie2:EnableOrganizationAdminAccount",
            "macie2:DisableOrganizationAdminAccount",
        ),
        org_read=(
            "organizations:DescribeOrganization",
            "organizations:ListAWSServiceAccessForOrganization",
        ),
        trusted_access=True,
    ),
    # https://docs.aws.amazon.com/inspector/latest/user/designating-admin.html
    "inspector": _Service(
        "Inspector",
        ("inspector2.amazonaws.com",),
        admin_actions=(
            "inspector2:EnableDelegatedAdminAccount",
            "inspector2:DisableDelegatedAdminAccount",
        ),
        org_read=(
            "organizations:DescribeOrganization",
            "organizations:ListAWSServiceAccessForOrganization",
            "organizations:ListDelegatedAdministrators",
        ),
        trusted_access=True,
        describe=True,
    ),
    # https://docs.aws.amazon.com/config/latest/developerguide/aggregated-register-delegated-administrator.html
    "config": _Service(
        "Config",
        ("config.amazonaws.com", "config-multiaccountsetup.amazonaws.com"),
        trusted_access=True,
    ),
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-delegated-administrator-add.html
    "access-analyzer": _Service(
        "AccessAnalyzer",
        ("access-analyzer.amazonaws.com",),
        trusted_access=True,
    ),
    # https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-delegated-administrator-permissions.html
    "cloudtrail": _Service(
        "CloudTrail",
        ("cloudtrail.amazonaws.com",),
        admin_actions=(
            "cloudtrail:RegisterOrganizationDelegatedAdmin",
            "cloudtrail:DeregisterOrganizationDelegatedAdmin",
        ),
        org_read=("organizations:ListAWSServiceAccessForOrganization",),
    ),
    # CloudFormation's AWS::SecurityHub::DelegatedAdmin: its handler's own permissions.
    "securityhub": _Service("SecurityHub", ("securityhub.amazonaws.com",)),
}

ALREADY_REGISTERED = {
    "organizations": "^AccountAlreadyRegisteredException$",
    "cloudtrail": "^AccountRegisteredException$",
}
"""Error codes that mean exactly "this account already is the delegated administrator"."""
NOT_REGISTERED = {
    "organizations": "^AccountNotRegisteredException$",
    "cloudtrail": "^AccountNotRegisteredException$",
    "macie": "^ResourceNotFoundException$",
    "inspector": "^ResourceNotFoundException$",
}
"""Error codes of the deregistering calls that mean "nothing to deregister"."""
GENERIC_CONFLICT = {
    "guardduty": "^BadRequestException$",
    "macie": "^ConflictException$",
    "inspector": "^ConflictException$",
}
"""What GuardDuty, Macie and Inspector answer when an administrator is already designated;
the same codes also cover other failures, so they are ignored only with ``adopt_existing``."""


class DelegatedAdministration(Construct):
    """Make ``security_account`` the delegated administrator of the detection services.

    Deploy in the organization's management account (``security_account`` must be another
    member account; the management account cannot be its own delegated administrator).

    Guarantees, per entry of ``services`` (default: all of ``SERVICES``):
      * ``guardduty``, ``macie``, ``inspector``: the services' own calls
        (``guardduty:EnableOrganizationAdminAccount``, ``macie2:EnableOrganizationAdminAccount``,
        ``inspector2:EnableDelegatedAdminAccount``) in this stack's Region; they enable trusted
        access and register the account in AWS Organizations themselves (forward access with
        this construct's role, hence the Organizations permissions below). Regional: deploy the
        construct in every governed Region;
      * ``securityhub``: ``AWS::SecurityHub::DelegatedAdmin`` (CloudFormation's resource; its
        handler runs with the deployment role and holds ``organizations:EnableAWSServiceAccess``
        and ``RegisterDelegatedAdministrator`` for it); Regional as above;
      * ``config`` (both ``config.amazonaws.com``, for aggregators, and
        ``config-multiaccountsetup.amazonaws.com``, for organization rules and conformance
        packs) and ``access-analyzer``: trusted access with
        ``organizations:EnableAWSServiceAccess``, then
        ``organizations:RegisterDelegatedAdministrator``, as their guides prescribe for the API;
        ``cloudtrail``: ``cloudtrail:RegisterOrganizationDelegatedAdmin`` (it creates
        ``AWSServiceRoleForCloudTrail`` if missing). These three are global registrations:
        include them in one Region's deployment only (``GLOBAL_SERVICES``);
      * deleting the stack (or removing a service) deregisters with the matching call
        (``Disable...``/``Deregister...``); trusted access is left enabled (disabling it makes
        the services delete their service-linked roles and organization data, a decision the
        guides leave to a human);
      * idempotency: a create that finds the account already registered succeeds where the
        service says exactly that (``AccountAlreadyRegisteredException``,
        ``AccountRegisteredException``); a deregistration that finds nothing to remove succeeds
        (``AccountNotRegisteredException``, ``ResourceNotFoundException``). GuardDuty
        (``BadRequestException``), Macie and Inspector (``ConflictException``) report "already
        designated" with codes that also cover other failures (another account designated, an
        account outside the organization): they fail the deployment unless ``adopt_existing``
        (default False) says an existing designation of this account is expected (it is then
        removed when the stack is deleted). Updates make no call; changing ``security_account``
        creates new designations before deleting the old ones, which the single-administrator
        services refuse: remove the old designation first (two deployments), as the Security
        Hub resource documents;
      * the calls run one after another (Organizations refuses concurrent changes) through the
        stack's ``SdkCallProvider`` (created here: one per stack; ``logs_key`` encrypts its log
        group, ``queue_key``, default ``logs_key``, its dead-letter queue; ``log_retention_days``
        default 365; ``reserved_concurrency`` default 2), whose role may make exactly these
        calls: ``organizations:Register/DeregisterDelegatedAdministrator`` and
        ``DescribeAccount`` on the security account's ARN only, with
        ``organizations:ServicePrincipal`` limited to the designated services (also for
        ``EnableAWSServiceAccess``), ``iam:CreateServiceLinkedRole``/``GetRole`` on
        CloudTrail's service-linked role only, ``DescribeOrganizationalUnit`` on this
        organization's OUs, and ``*`` only for actions without resource types.

    ``log_archive_account``, when given, must differ from the security account: the account that
    administers detection must not be the one that keeps the immutable logs.

    One-time prerequisites (not done here): all features enabled in the organization; trusted
    access for CloudTrail (``cloudtrail.amazonaws.com``), which the CloudTrail console or the
    organization trail's setup enables and which the trail needs anyway
    (``RegisterOrganizationDelegatedAdmin`` fails with ``CloudTrailAccessNotEnabledException``
    without it).

    Acknowledgements, recorded here: ``AwsSolutions-IAM5`` for ``Resource::*`` on the calls
    policy (``NO_RESOURCE_TYPES_REASON``) and for this organization's OU ARN wildcard
    (``ORGANIZATIONAL_UNITS_REASON``), plus those ``SdkCallProvider`` records itself. None to
    add.

    Attributes: ``provider``, ``trusted_access`` and ``designations`` (service principal or
    service -> ``AwsCustomResource``), ``securityhub_admin`` (or None), ``known_noncompliance``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        organization_id: str,
        security_account: str,
        logs_key: kms.IKey,
        log_archive_account: str | None = None,
        services: Sequence[str] = SERVICES,
        queue_key: kms.IKey | None = None,
        adopt_existing: bool = False,
        log_retention_days: int = 365,
        reserved_concurrency: int | None = 2,
    ) -> None:
        super().__init__(scope, construct_id)
        chosen = _validated(organization_id, security_account, log_archive_account, services)
        stack = cdk.Stack.of(self)
        if not cdk.Token.is_unresolved(stack.account) and stack.account == security_account:
            raise ValueError(
                f"DelegatedAdministration: {security_account} is this stack's (management) "
                "account; a delegated administrator must be another member account"
            )
        self._security_account = security_account
        self._adopt = adopt_existing
        # Only Security Hub has a CloudFormation resource: no provider when it is the only one.
        self.provider: SdkCallProvider | None = None
        if any(s != "securityhub" for s in chosen):
            self.provider = SdkCallProvider(
                self,
                "SdkCalls",
                logs_key=logs_key,
                queue_key=queue_key or logs_key,
                log_retention_days=log_retention_days,
                reserved_concurrency=reserved_concurrency,
            )
        self.trusted_access: dict[str, cr.AwsCustomResource] = {}
        self.designations: dict[str, cr.AwsCustomResource] = {}
        self.securityhub_admin: securityhub.CfnDelegatedAdmin | None = None
        self._last: Construct | None = None
        self._statements = self._policy_statements(stack, organization_id, chosen)

        for service in ("config", "access-analyzer"):
            if service in chosen:
                for principal in _SPECS[service].principals:
                    self._trusted_access(principal)
        for service in ("config", "access-analyzer"):
            if service in chosen:
                for principal in _SPECS[service].principals:
                    self._register(principal)
        if "guardduty" in chosen:
            self._service_call(
                "guardduty",
                "GuardDuty",
                ("enableOrganizationAdminAccount", "disableOrganizationAdminAccount"),
                {"AdminAccountId": security_account},
                {"AdminAccountId": security_account},
            )
        if "macie" in chosen:
            self._service_call(
                "macie",
                "Macie2",
                ("enableOrganizationAdminAccount", "disableOrganizationAdminAccount"),
                {"adminAccountId": security_account, "clientToken": _token(security_account)},
                {"adminAccountId": security_account},
            )
        if "inspector" in chosen:
            self._service_call(
                "inspector",
                "Inspector2",
                ("enableDelegatedAdminAccount", "disableDelegatedAdminAccount"),
                {
                    "delegatedAdminAccountId": security_account,
                    "clientToken": _token(security_account),
                },
                {"delegatedAdminAccountId": security_account},
            )
        if "cloudtrail" in chosen:
            self._service_call(
                "cloudtrail",
                "CloudTrail",
                ("registerOrganizationDelegatedAdmin", "deregisterOrganizationDelegatedAdmin"),
                {"MemberAccountId": security_account},
                {"DelegatedAdminAccountId": security_account},
            )
        if "securityhub" in chosen:
            self.securityhub_admin = securityhub.CfnDelegatedAdmin(
                self, "SecurityHubAdmin", admin_account_id=security_account
            )
            self._after_previous(self.securityhub_admin)

        if self.provider is not None and self.provider.calls_policy is not None:
            acknowledge_wildcards(
                self.provider.calls_policy,
                [
                    (r"Resource::\*", NO_RESOURCE_TYPES_REASON),
                    (
                        r"Resource::arn:(aws[a-z-]*|<AWS::Partition>):organizations::"
                        rf"([0-9]{{12}}|<AWS::AccountId>):ou/{re.escape(organization_id)}/ou-\*",
                        ORGANIZATIONAL_UNITS_REASON,
                    ),
                ],
            )
        self.known_noncompliance: list[KnownNoncompliance] = (
            list(self.provider.known_noncompliance) if self.provider is not None else []
        )

    # --- calls -----------------------------------------------------------------------------

    def _after_previous(self, resource: Construct) -> None:
        """Serialize: Organizations answers ConcurrentModificationException to parallel changes."""
        if self._last is not None:
            resource.node.add_dependency(self._last)
        self._last = resource

    def _call(
        self,
        construct_id: str,
        resource_type: str,
        on_create: cr.AwsSdkCall,
        on_delete: cr.AwsSdkCall | None,
    ) -> cr.AwsCustomResource:
        assert self.provider is not None
        # Each call declares the construct's whole statement set; the provider's one calls
        # policy renders identical statements once.
        resource = self.provider.call(
            construct_id,
            statements=self._statements,
            on_create=on_create,
            on_delete=on_delete,
            resource_type=resource_type,
        )
        self._after_previous(resource)
        return resource

    def _trusted_access(self, principal: str) -> None:
        label = _label(principal)
        self.trusted_access[principal] = self._call(
            f"{label}TrustedAccess",
            "Custom::OrganizationsTrustedAccess",
            cr.AwsSdkCall(
                service="Organizations",
                action="enableAWSServiceAccess",
                parameters={"ServicePrincipal": principal},
                physical_resource_id=cr.PhysicalResourceId.of(f"trusted-access/{principal}"),
            ),
            None,  # left enabled on delete: see the class docstring
        )

    def _register(self, principal: str) -> None:
        account = self._security_account
        parameters = {"AccountId": account, "ServicePrincipal": principal}
        self.designations[principal] = self._call(
            f"{_label(principal)}Admin{account}",
            "Custom::DelegatedAdministrator",
            cr.AwsSdkCall(
                service="Organizations",
                action="registerDelegatedAdministrator",
                parameters=parameters,
                physical_resource_id=cr.PhysicalResourceId.of(f"{principal}/{account}"),
                ignore_error_codes_matching=ALREADY_REGISTERED["organizations"],
            ),
            cr.AwsSdkCall(
                service="Organizations",
                action="deregisterDelegatedAdministrator",
                parameters=parameters,
                ignore_error_codes_matching=NOT_REGISTERED["organizations"],
            ),
        )

    def _service_call(
        self,
        service: str,
        sdk_service: str,
        actions: tuple[str, str],
        create_parameters: dict[str, str],
        delete_parameters: dict[str, str],
    ) -> None:
        account = self._security_account
        ignored = [ALREADY_REGISTERED.get(service)]
        if self._adopt:
            ignored.append(GENERIC_CONFLICT.get(service))
        create_ignore = "|".join(p for p in ignored if p) or None
        principal = _SPECS[service].principals[0]
        self.designations[service] = self._call(
            f"{_SPECS[service].label}Admin{account}",
            "Custom::DelegatedAdministrator",
            cr.AwsSdkCall(
                service=sdk_service,
                action=actions[0],
                parameters=create_parameters,
                physical_resource_id=cr.PhysicalResourceId.of(f"{principal}/{account}"),
                ignore_error_codes_matching=create_ignore,
            ),
            cr.AwsSdkCall(
                service=sdk_service,
                action=actions[1],
                parameters=delete_parameters,
                ignore_error_codes_matching=NOT_REGISTERED.get(service),
            ),
        )

    # --- permissions -----------------------------------------------------------------------

    def _policy_statements(
        self, stack: cdk.Stack, organization_id: str, chosen: list[str]
    ) -> list[iam.PolicyStatement]:
        specs = [_SPECS[s] for s in chosen if s != "securityhub"]
        if not specs:
            return []
        partition, management = stack.partition, stack.account
        account_arn = (
            f"arn:{partition}:organizations::{management}:account/{organization_id}/"
            f"{self._security_account}"
        )

        def merged(values: Sequence[tuple[str, ...]]) -> list[str]:
            return sorted({v for group in values for v in group})

        statements: list[iam.PolicyStatement] = []
        admin_actions = merged([s.admin_actions for s in specs])
        if admin_actions:
            statements.append(
                iam.PolicyStatement(
                    sid="DesignateDelegatedAdministrators", actions=admin_actions, resources=["*"]
                )
            )
        read_actions = merged([s.org_read for s in specs])
        if read_actions:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadTheOrganization", actions=read_actions, resources=["*"]
                )
            )
        trusted = merged([s.principals for s in specs if s.trusted_access])
        if trusted:
            statements.append(
                iam.PolicyStatement(
                    sid="TrustedAccessForTheseServicesOnly",
                    actions=["organizations:EnableAWSServiceAccess"],
                    resources=["*"],
                    conditions={"StringEquals": {"organizations:ServicePrincipal": trusted}},
                )
            )
        statements.append(
            iam.PolicyStatement(
                sid="RegisterTheSecurityAccountOnly",
                actions=[
                    "organizations:DeregisterDelegatedAdministrator",
                    "organizations:RegisterDelegatedAdministrator",
                ],
                resources=[account_arn],
                conditions={
                    "StringEquals": {
                        "organizations:ServicePrincipal": merged([s.principals for s in specs])
                    }
                },
            )
        )
        if any(s.describe for s in specs):
            statements += [
                iam.PolicyStatement(
                    sid="DescribeTheSecurityAccount",
                    actions=["organizations:DescribeAccount"],
                    resources=[account_arn],
                ),
                iam.PolicyStatement(
                    sid="DescribeTheOrganizationsUnits",
                    actions=["organizations:DescribeOrganizationalUnit"],
                    resources=[
                        f"arn:{partition}:organizations::{management}:ou/{organization_id}/ou-*"
                    ],
                ),
            ]
        if "cloudtrail" in chosen:
            role = (
                f"arn:{partition}:iam::{management}:role/aws-service-role/"
                "cloudtrail.amazonaws.com/AWSServiceRoleForCloudTrail"
            )
            statements += [
                iam.PolicyStatement(
                    sid="CloudTrailServiceLinkedRole",
                    actions=["iam:CreateServiceLinkedRole"],
                    resources=[role],
                    conditions={"StringEquals": {"iam:AWSServiceName": "cloudtrail.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="ReadCloudTrailServiceLinkedRole", actions=["iam:GetRole"], resources=[role]
                ),
            ]
        return statements


def _validated(
    organization_id: str,
    security_account: str,
    log_archive_account: str | None,
    services: Sequence[str],
) -> list[str]:
    if not ORGANIZATION_ID.match(organization_id):
        raise ValueError(
            f"DelegatedAdministration organization_id {organization_id!r}: o- and 10-32 "
            "lowercase letters or digits"
        )
    for what, account in (
        ("security_account", security_account),
        ("log_archive_account", log_archive_account),
    ):
        if account is not None and not ACCOUNT_ID.match(account):
            raise ValueError(f"DelegatedAdministration {what} {account!r}: a 12-digit account ID")
    if log_archive_account == security_account:
        raise ValueError(
            f"DelegatedAdministration: the security account {security_account} is also the "
            "log-archive account; detection is administered apart from the logs it must not alter"
        )
    chosen = list(services)
    unknown = sorted(set(chosen) - set(SERVICES))
    if not chosen or unknown:
        raise ValueError(
            f"DelegatedAdministration services {unknown or chosen}: choose from {list(SERVICES)}"
        )
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"DelegatedAdministration services {chosen}: each at most once")
    return [s for s in SERVICES if s in chosen]


def _label(principal: str) -> str:
    """``config-multiaccountsetup.amazonaws.com`` -> ``ConfigMultiaccountsetup``."""
    name = principal.removesuffix(".amazonaws.com")
    return "".join(part.title() for part in re.split(r"[.-]", name))


def _token(account: str) -> str:
    """A deterministic client token: a retried create is the same request."""
    return f"delegated-admin-{account}"
