"""Organization mode, security (delegated administrator) account: detection for every account.

The management stage makes this account the delegated administrator of GuardDuty, Security Hub
CSPM, Macie, Inspector and IAM Access Analyzer; this module configures those services for the
whole organization from here and routes their findings to one encrypted topic. Sources (each
shape below is written as these pages document it):

* GuardDuty ``UpdateOrganizationConfiguration`` (``AutoEnableOrganizationMembers``, ``Features``)
  and "Designating a delegated GuardDuty administrator" (the administrator must enable GuardDuty
  itself), "Changing the delegated GuardDuty administrator" (set ALL back to NEW/NONE first):
  https://docs.aws.amazon.com/guardduty/latest/APIReference/API_UpdateOrganizationConfiguration.html
  https://docs.aws.amazon.com/guardduty/latest/ug/delegated-admin-designate.html
  https://docs.aws.amazon.com/guardduty/latest/ug/change-guardduty-delegated-admin.html
  https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings-severity.html
* Security Hub CSPM central configuration (home Region = aggregation Region; ``AutoEnable`` false
  and ``AutoEnableStandards`` NONE under CENTRAL), ``AWS::SecurityHub::FindingAggregator``,
  ``OrganizationConfiguration``, ``ConfigurationPolicy``, ``PolicyAssociation``; designating the
  administrator enables Security Hub in that account:
  https://docs.aws.amazon.com/securityhub/latest/userguide/start-central-configuration.html
  https://docs.aws.amazon.com/securityhub/latest/userguide/central-configuration-intro.html
  https://docs.aws.amazon.com/securityhub/latest/userguide/designate-orgs-admin-account.html
  https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_UpdateOrganizationConfiguration.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-securityhub-findingaggregator.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-securityhub-configurationpolicy.html
* Macie: designating the administrator enables Macie in that account and Region
  ("Integrating and configuring an organization in Macie"); ``UpdateMacieSession``,
  ``UpdateOrganizationConfiguration`` (``autoEnable``):
  https://docs.aws.amazon.com/macie/latest/user/accounts-mgmt-ao-integrate.html
  https://docs.aws.amazon.com/macie/latest/APIReference/admin-configuration.html
  https://docs.aws.amazon.com/macie/latest/user/findings-publish-event-schemas.html
* Inspector ``Enable`` and ``UpdateOrganizationConfiguration`` (``autoEnable``: new members):
  https://docs.aws.amazon.com/inspector/v2/APIReference/API_Enable.html
  https://docs.aws.amazon.com/inspector/v2/APIReference/API_UpdateOrganizationConfiguration.html
* IAM Access Analyzer ``AWS::AccessAnalyzer::Analyzer`` and its EventBridge events:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-accessanalyzer-analyzer.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-eventbridge.html
* EventBridge's customer-managed-key and confused-deputy guidance (``aws:SourceArn``,
  ``aws:SourceAccount``): https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-key-policy.html
* Actions: the Service Authorization Reference (GuardDuty, Macie, Inspector, IAM); none of the
  organization-configuration actions supports resource-level permissions:
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonguardduty.html
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonmacie.html
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoninspector2.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_accessanalyzer as accessanalyzer
from aws_cdk import aws_events as events
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_securityhub as securityhub
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import custom_resources as cr
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct

from ..audit.security_alerts import add_security_alerts
from ..core.compliance import acknowledge
from ..core.managed_policy_role import acknowledge_wildcards
from ..core.sdk_calls import SdkCallProvider
from ..core.secure_queue import DeadLetterQueue
from ..core.sizing import LOG_RETENTION_DAYS
from ..data.encryption_key import EncryptionKey
from .names import ACCOUNT_ID, ORGANIZATION_ID, OU_ID, REGION

SEVERITIES: tuple[str, ...] = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
"""Severity labels, lowest first (Security Hub's ASFF ``Severity.Label`` values)."""

GUARDDUTY_ORGANIZATION_FEATURES: tuple[str, ...] = (
    "S3_DATA_EVENTS",
    "EKS_AUDIT_LOGS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
    "LAMBDA_NETWORK_LOGS",
    "EKS_RUNTIME_MONITORING",
    "RUNTIME_MONITORING",
    "AI_PROTECTION",
)
"""``OrgFeature`` values ``guardduty:UpdateOrganizationConfiguration`` accepts (the API model)."""

DEFAULT_GUARDDUTY_FEATURES: tuple[str, ...] = ("S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION")
"""The protection plans the single-account audit stack enables, now for every account."""

INSPECTOR_SCAN_TYPES: dict[str, str] = {
    "EC2": "ec2",
    "ECR": "ecr",
    "LAMBDA": "lambda",
    "LAMBDA_CODE": "lambdaCode",
    "CODE_REPOSITORY": "codeRepository",
}
"""Inspector ``Enable`` resource types -> the ``autoEnable`` member of the organization call."""

DEFAULT_INSPECTOR_SCAN_TYPES: tuple[str, ...] = ("EC2", "ECR", "LAMBDA", "LAMBDA_CODE")

DIRECTLY_ROUTED_PRODUCTS: tuple[str, ...] = (
    "GuardDuty",
    "Inspector",
    "Macie",
    "IAM Access Analyzer",
)
"""Security Hub ``ProductName`` values whose findings have a rule of their own in each Region;
their copies in Security Hub are not routed a second time."""

GUARDDUTY_MIN_SEVERITY: dict[str, float] = {
    "INFORMATIONAL": 0.0,
    "LOW": 1.0,
    "MEDIUM": 4.0,
    "HIGH": 7.0,
    "CRITICAL": 9.0,
}
"""GuardDuty's numeric ``severity`` at which each label starts (GuardDuty severity levels)."""

MACIE_SEVERITIES: tuple[tuple[str, str], ...] = (
    ("Low", "LOW"),
    ("Medium", "MEDIUM"),
    ("High", "HIGH"),
)
"""Macie's ``severity.description`` values and the label each stands for (Macie has no
informational and no critical findings)."""

_ROOT = re.compile(r"^r-[0-9a-z]{4,32}$")
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
_STANDARD = re.compile(r"^[a-z0-9-]+/v/[0-9.]+$")
_CONTROL = re.compile(r"^[A-Za-z0-9]+\.[0-9]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

NO_RESOURCE_LEVEL_REASON = (
    "guardduty:UpdateOrganizationConfiguration, macie2:UpdateMacieSession, "
    "macie2:UpdateOrganizationConfiguration, inspector2:Enable, inspector2:Disable and "
    "inspector2:UpdateOrganizationConfiguration support no resource-level permissions (Service "
    "Authorization Reference): they act on the calling account's own service configuration."
)


def labels_at_or_above(threshold: str) -> list[str]:
    """The severity labels from ``threshold`` up (``HIGH`` -> ``["HIGH", "CRITICAL"]``)."""
    if threshold not in SEVERITIES:
        raise ValueError(f"severity {threshold!r}: one of {', '.join(SEVERITIES)}")
    return list(SEVERITIES[SEVERITIES.index(threshold) :])


def finding_patterns(
    threshold: str, *, securityhub: bool, unused_access: bool
) -> dict[str, events.EventPattern]:
    """EventBridge patterns of the findings routed to the alerts topic, by rule suffix.

    ``threshold`` is the lowest severity routed; ``securityhub`` adds the aggregated Security Hub
    rule (home Region only); ``unused_access`` adds unused-access findings to the Access Analyzer
    rule. Macie has no finding at CRITICAL, so its rule is left out for that threshold.
    """
    labels = labels_at_or_above(threshold)
    inspector = [*labels, "UNTRIAGED"] if threshold == "INFORMATIONAL" else labels
    macie = [name for name, label in MACIE_SEVERITIES if label in labels]
    patterns: dict[str, events.EventPattern] = {
        "guardduty": events.EventPattern(
            source=["aws.guardduty"],
            detail_type=["GuardDuty Finding"],
            detail={"severity": [{"numeric": [">=", GUARDDUTY_MIN_SEVERITY[threshold]]}]},
        ),
        "inspector": events.EventPattern(
            source=["aws.inspector2"],
            detail_type=["Inspector2 Finding"],
            detail={"severity": inspector, "status": ["ACTIVE"]},
        ),
        "access-analyzer": events.EventPattern(
            source=["aws.access-analyzer"],
            detail_type=[
                "Access Analyzer Finding",
                *(["Unused Access Finding for IAM entities"] if unused_access else []),
            ],
            detail={"status": ["ACTIVE"]},
        ),
    }
    if macie:
        patterns["macie"] = events.EventPattern(
            source=["aws.macie"],
            detail_type=["Macie Finding"],
            detail={"severity": {"description": macie}},
        )
    if securityhub:
        patterns["securityhub"] = events.EventPattern(
            source=["aws.securityhub"],
            detail_type=["Security Hub Findings - Imported"],
            detail={
                "findings": {
                    "Severity": {"Label": labels},
                    "RecordState": ["ACTIVE"],
                    "Workflow": {"Status": ["NEW"]},
                    "ProductName": [{"anything-but": list(DIRECTLY_ROUTED_PRODUCTS)}],
                }
            },
        )
    return patterns


@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    """The alerts topic as a rule target, with a dead-letter queue and EventBridge's retries.

    Unlike ``aws_events_targets.SnsTopic`` it adds no topic-policy statement of its own: the
    construct adds one statement for all its rules, narrowed by ``aws:SourceArn``.
    """

    def __init__(self, topic: sns.ITopic, dead_letter_queue: sqs.IQueue) -> None:
        self._topic = topic
        self._dead_letter_queue = dead_letter_queue

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        """The target's configuration for ``rule`` (the same for every rule)."""
        return events.RuleTargetConfig(
            arn=self._topic.topic_arn,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                arn=self._dead_letter_queue.queue_arn
            ),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=185, maximum_event_age_in_seconds=24 * 3600
            ),
        )


def _problem(
    *,
    account: str,
    region: str,
    name_prefix: str,
    organization_id: str,
    management_account: str,
    member_ous: Sequence[str],
    securityhub_standards: Sequence[str],
    disabled_controls: Sequence[str],
    regions: Sequence[str],
    alert_email: str,
    findings_severity_threshold: str,
    guardduty_features: Sequence[str],
    inspector_scan_types: Sequence[str],
    unused_access_age_days: int | None,
    log_retention_days: int,
    detector_id: str | None,
) -> str | None:
    """The first invalid argument, as one sentence naming the value and the fix; or None."""
    if cdk.Token.is_unresolved(account) or cdk.Token.is_unresolved(region):
        return "the stack needs an explicit env (account and region): give it the security account"
    if not _PREFIX.match(name_prefix):
        return (
            f"name_prefix {name_prefix!r}: 2-41 lowercase letters, digits, hyphens; a letter first"
        )
    if not ORGANIZATION_ID.match(organization_id):
        return f"organization_id {organization_id!r}: o- followed by 10-32 letters or digits"
    if not ACCOUNT_ID.match(management_account):
        return f"management_account {management_account!r}: a 12-digit account ID"
    if management_account == account:
        return (
            f"management_account {management_account!r} is this stack's account: deploy this "
            "construct in the delegated administrator (security) account, which Security Hub "
            "central configuration requires to differ from the management account"
        )
    if not member_ous:
        return "member_ous: name at least one OU ID (ou-...) or the root ID (r-...)"
    for target in member_ous:
        if not (OU_ID.match(target) or _ROOT.match(target)):
            return f"member_ous entry {target!r}: an OU ID (ou-xxxx-xxxxxxxx) or a root ID (r-xxxx)"
    if len(set(member_ous)) != len(member_ous):
        return f"member_ous {list(member_ous)}: each target once"
    for standard in securityhub_standards:
        if not _STANDARD.match(standard):
            return (
                f"securityhub_standards entry {standard!r}: the part of the standard's ARN after "
                "'standards/', e.g. aws-foundational-security-best-practices/v/1.0.0"
            )
    if len(set(securityhub_standards)) != len(securityhub_standards):
        return f"securityhub_standards {list(securityhub_standards)}: each standard once"
    for control in disabled_controls:
        if not _CONTROL.match(control):
            return f"disabled_controls entry {control!r}: a security control ID such as IAM.6"
    if not regions:
        return "regions: list the organization's Regions, the home (aggregation) Region first"
    for name in regions:
        if not REGION.match(name):
            return f"regions entry {name!r}: a Region name such as us-east-1"
    if len(set(regions)) != len(regions):
        return f"regions {list(regions)}: each Region once"
    if region not in regions:
        return f"this stack's region {region!r} is not in regions {list(regions)}: add it"
    if region == regions[0] and len(regions) < 2:
        return (
            f"regions {list(regions)}: central configuration needs the FindingAggregator, and "
            "CloudFormation's AWS::SecurityHub::FindingAggregator offers no NO_REGIONS mode "
            "(SPECIFIED_REGIONS needs at least one Region): add a linked Region"
        )
    if not _EMAIL.match(alert_email):
        return f"alert_email {alert_email!r}: an e-mail address"
    if findings_severity_threshold not in SEVERITIES:
        return (
            f"findings_severity_threshold {findings_severity_threshold!r}: one of "
            f"{', '.join(SEVERITIES)}"
        )
    if not guardduty_features:
        return "guardduty_features: at least one protection plan (or the default)"
    unknown = sorted(set(guardduty_features) - set(GUARDDUTY_ORGANIZATION_FEATURES))
    if unknown:
        return f"guardduty_features {unknown}: allowed {list(GUARDDUTY_ORGANIZATION_FEATURES)}"
    if {"EKS_RUNTIME_MONITORING", "RUNTIME_MONITORING"} <= set(guardduty_features):
        return (
            "guardduty_features: EKS_RUNTIME_MONITORING and RUNTIME_MONITORING together are an "
            "API error; RUNTIME_MONITORING already covers EKS, keep only it"
        )
    unknown = sorted(set(inspector_scan_types) - set(INSPECTOR_SCAN_TYPES))
    if not inspector_scan_types or unknown:
        return (
            f"inspector_scan_types {list(inspector_scan_types)}: some of "
            f"{list(INSPECTOR_SCAN_TYPES)}"
        )
    if "LAMBDA_CODE" in inspector_scan_types and "LAMBDA" not in inspector_scan_types:
        return "inspector_scan_types: LAMBDA_CODE needs LAMBDA (code scans extend standard scans)"
    if unused_access_age_days is not None and not 1 <= unused_access_age_days <= 365:
        return f"unused_access_age_days {unused_access_age_days}: 1-365 days, or None for none"
    if log_retention_days not in LOG_RETENTION_DAYS:
        return f"log_retention_days {log_retention_days}: one of {LOG_RETENTION_DAYS}"
    if detector_id is not None and not re.fullmatch(r"[a-z0-9]{1,300}", detector_id):
        return f"detector_id {detector_id!r}: a GuardDuty detector ID (lowercase letters, digits)"
    return None


class OrganizationSecurityServices(Construct):
    """GuardDuty, Security Hub CSPM, Macie, Inspector and Access Analyzer for a whole organization.

    Deploy it in the security (delegated administrator) account, once per Region in ``regions``
    (one stack per Region); ``regions[0]`` is the home Region, which also holds Security Hub's
    central configuration. Guarantees, in each Region it is deployed to:

    * **GuardDuty**: a detector here (``AWS::GuardDuty::Detector``, 15-minute publishing,
      ``guardduty_features`` enabled; pass ``detector_id`` to adopt an existing one instead) and,
      since CloudFormation has no organization-configuration type, a deploy-time call of
      ``guardduty:UpdateOrganizationConfiguration`` with ``AutoEnableOrganizationMembers=ALL``
      and each feature ``AutoEnable=ALL``: every existing and new account (GuardDuty says up to
      24 hours for existing ones). Deleting it sets both back to ``NONE`` (members keep GuardDuty),
      as GuardDuty requires before a delegated administrator is changed.
    * **Macie**: designating the administrator enabled Macie here, so a
      ``macie2:UpdateMacieSession`` call (status ENABLED, FIFTEEN_MINUTES) configures it instead
      of an ``AWS::Macie::Session``, which would fail on the existing session; then
      ``macie2:UpdateOrganizationConfiguration``
      ``autoEnable=true`` (accounts that join the organization from now on; false on delete).
    * **Inspector**: ``inspector2:Enable`` for this account with ``inspector_scan_types`` (default
      EC2, ECR, LAMBDA, LAMBDA_CODE), then ``inspector2:UpdateOrganizationConfiguration``
      ``autoEnable`` for the same types (new members; all false on delete). ``disable_on_delete``
      also disables Inspector here when the stack is deleted.
    * **IAM Access Analyzer**: an ``ORGANIZATION`` analyzer ``<prefix>-organization`` (external
      access, free) and, with ``unused_access_age_days`` (default None: off), an
      ``ORGANIZATION_UNUSED_ACCESS`` analyzer in the home Region only (unused access is global).
    * **Security Hub CSPM** (home Region only): a ``FindingAggregator`` (``SPECIFIED_REGIONS`` =
      the other ``regions``; the documented prerequisite of central configuration), then the
      ``OrganizationConfiguration`` CENTRAL with ``AutoEnable`` false and ``AutoEnableStandards``
      NONE (what the API fixes under CENTRAL), then one ``ConfigurationPolicy``
      ``<prefix>-baseline`` enabling Security Hub with ``securityhub_standards`` and every control
      except ``disabled_controls`` (new controls included), then one ``PolicyAssociation`` per
      ``member_ous`` entry (``ou-`` OU or ``r-`` root), one for this account (the administrator's
      own hub: the delegation enabled it, so an ``AWS::SecurityHub::Hub`` would fail) and, with
      ``configure_management_account`` (default on), one for ``management_account``. Deleting
      the stack disassociates, deletes the policy, then leaves central configuration, in that
      order (CloudFormation deletes in reverse dependency order, as Security Hub requires).
    * **Findings routing**: one EventBridge rule per service, ``<prefix>-org-findings-<service>``,
      on this account's default bus, which receives the findings of every member account: GuardDuty
      (numeric severity from ``findings_severity_threshold``), Inspector (``ACTIVE``, labels at or
      above), Macie (``severity.description``; no rule at CRITICAL, Macie has none), Access
      Analyzer (``ACTIVE`` external-access and, if on, unused-access findings: these events carry
      no severity), and in the home Region Security Hub's aggregated ``Imported`` findings (labels
      at or above, ``ACTIVE``, workflow ``NEW``, products other than those four, which each Region
      routes itself). Targets: the ``add_security_alerts`` topic ``<prefix>-security-alerts``
      (KMS-encrypted, TLS-only, e-mail to ``alert_email`` with its own dead-letter queue),
      retried for 24 hours, then kept in ``UndeliveredFindings`` (encrypted, 14 days), which
      alarms to the topic. The topic accepts ``sns:Publish`` from EventBridge only for rules of
      this account named ``<prefix>-org-findings-*`` (``aws:SourceAccount``, ``aws:SourceArn``).
    * **Key**: ``logs_key`` (an ``EncryptionKey`` that already allows CloudWatch Logs and use
      through SQS and SNS, like the platform's logs key) or, by default, a new
      ``alias/<prefix>-org-security`` key with exactly those. Either way the construct adds the
      statements EventBridge (for ``<prefix>-org-findings-*`` rules), SNS and CloudWatch alarms
      need, each with ``aws:SourceAccount`` and ``aws:SourceArn``.
    * **Deploy-time calls** run through ``provider`` or a new ``SdkCallProvider`` (one per stack)
      whose calls policy names exactly the actions above and the Inspector service-linked role.

    Defaults: ``removal_policy`` RETAIN for the detector and the analyzers (``disable_on_delete``
    makes it DESTROY and disables Inspector here); ``log_retention_days`` 365.

    Acknowledgement the construct records (the user adds none): ``AwsSolutions-IAM5[Resource::*]``
    on the calls policy, for ``NO_RESOURCE_LEVEL_REASON`` (plus those ``SdkCallProvider``,
    ``DeadLetterQueue`` and ``add_security_alerts`` record themselves).

    One-time steps outside this construct, in this order: (1) in the management account, enable
    trusted access and designate this account as delegated administrator of GuardDuty, Security
    Hub, Macie, Inspector and Access Analyzer, in every Region of ``regions`` (the management
    stage); (2) deploy this construct, home Region first; (3) confirm the SNS e-mail
    subscription; (4) accounts already in the organization: GuardDuty and Security Hub cover them
    (ALL, policy associations), Macie's and Inspector's ``autoEnable`` only cover accounts that
    join later, so add existing accounts once as Macie members and activate Inspector for them
    (console, "Activate"/"Add member", or the management stage's Inspector policy); (5) AWS
    Config must record in every account and Region for Security Hub's controls (not this
    construct's job).

    Monthly fixed cost: the new key $1 (none with ``logs_key``), CloudWatch alarms $0.10 each
    (three; two with ``provider``);
    the rest is usage-priced per member account (GuardDuty events and features, Security Hub
    checks and findings, Macie buckets and bytes inspected, Inspector resources scanned,
    EventBridge/SNS/SQS messages). The unused-access analyzer is priced per IAM role and user
    analyzed per month (IAM Access Analyzer pricing page; $0.20 each at the time of writing),
    which is why it is off by default.

    Attributes: ``key``, ``alerts_topic``, ``undelivered_findings``, ``provider``,
    ``is_home_region``, ``detector`` (or None), ``detector_id``, ``guardduty_organization``,
    ``macie_session``, ``macie_organization``, ``inspector``, ``inspector_organization``,
    ``analyzer``, ``unused_access_analyzer`` (or None), ``finding_aggregator``,
    ``organization_configuration``, ``configuration_policy``, ``policy_associations`` (target ->
    resource; empty outside the home Region), ``rules`` (suffix -> rule).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        organization_id: str,
        management_account: str,
        member_ous: Sequence[str],
        securityhub_standards: Sequence[str],
        regions: Sequence[str],
        alert_email: str,
        findings_severity_threshold: str = "HIGH",
        logs_key: EncryptionKey | None = None,
        provider: SdkCallProvider | None = None,
        disabled_controls: Sequence[str] = (),
        configure_management_account: bool = True,
        guardduty_features: Sequence[str] = DEFAULT_GUARDDUTY_FEATURES,
        detector_id: str | None = None,
        inspector_scan_types: Sequence[str] = DEFAULT_INSPECTOR_SCAN_TYPES,
        unused_access_age_days: int | None = None,
        disable_on_delete: bool = False,
        log_retention_days: int = 365,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        account, region, partition = stack.account, stack.region, stack.partition
        problem = _problem(
            account=account,
            region=region,
            name_prefix=name_prefix,
            organization_id=organization_id,
            management_account=management_account,
            member_ous=member_ous,
            securityhub_standards=securityhub_standards,
            disabled_controls=disabled_controls,
            regions=regions,
            alert_email=alert_email,
            findings_severity_threshold=findings_severity_threshold,
            guardduty_features=guardduty_features,
            inspector_scan_types=inspector_scan_types,
            unused_access_age_days=unused_access_age_days,
            log_retention_days=log_retention_days,
            detector_id=detector_id,
        )
        if problem:
            raise ValueError(f"OrganizationSecurityServices {construct_id}: {problem}")
        self.is_home_region = region == regions[0]
        self._account, self._region, self._partition = account, region, partition
        removal = cdk.RemovalPolicy.DESTROY if disable_on_delete else cdk.RemovalPolicy.RETAIN

        # --- Key, topic, dead-letter queue ---------------------------------------------------
        if logs_key is None:
            logs_key = EncryptionKey(
                self,
                "Key",
                alias=f"alias/{name_prefix}-org-security",
                description=f"{name_prefix}: organization security findings, alerts and logs",
            )
            logs_key.allow_cloudwatch_logs()
            logs_key.allow_use_via_services(["sns", "sqs"])
        self.key = logs_key
        key = logs_key.key
        alerts = add_security_alerts(
            self,
            prefix=name_prefix,
            encryption_key=key,
            email=alert_email,
            partition=partition,
            region=region,
            account=account,
        )
        self.alerts_topic = alerts.topic
        rule_arns = f"arn:{partition}:events:{region}:{account}:rule/{name_prefix}-org-findings-*"
        for use in alerts.key_uses:
            logs_key.allow_service(
                use.service, source_arns=list(use.source_arns), actions=list(use.actions)
            )
        logs_key.allow_service("events", source_arns=[rule_arns])
        from_rules = {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": rule_arns},
        }
        self.alerts_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeFindingsRulesOfThisAccount",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.alerts_topic.topic_arn],
                conditions=from_rules,
            )
        )
        undelivered = DeadLetterQueue(
            self, "UndeliveredFindings", encryption_key=key, owner="the findings rules'"
        )
        self.undelivered_findings = undelivered.queue
        acknowledge(
            self.undelivered_findings,
            "AwsSolutions::AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the findings rules' target (EventBridge "
            "DeadLetterConfig); cdk-nag recognises only SQS redrive policies as dead-letter use.",
        )
        self.undelivered_findings.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeFindingsRulesOfThisAccount",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.undelivered_findings.queue_arn],
                conditions=from_rules,
            )
        )
        alerts.alarm_on_queue(self, "UndeliveredFindings", self.undelivered_findings, name_prefix)

        # --- Deploy-time calls ---------------------------------------------------------------
        if provider is None:
            provider = SdkCallProvider(
                self,
                "SdkCalls",
                logs_key=key,
                queue_key=key,
                log_retention_days=log_retention_days,
            )
            alerts.alarm_on_queue(self, "SdkCalls", provider.dead_letter_queue.queue, name_prefix)
        self.provider = provider

        self._guardduty(guardduty_features, detector_id, removal)
        self._macie()
        self._inspector(inspector_scan_types, disable_on_delete=disable_on_delete)
        assert provider.calls_policy is not None
        acknowledge_wildcards(
            provider.calls_policy, [(re.escape("Resource::*"), NO_RESOURCE_LEVEL_REASON)]
        )

        # --- Access Analyzer -------------------------------------------------------------------
        self.analyzer = accessanalyzer.CfnAnalyzer(
            self,
            "OrganizationAnalyzer",
            type="ORGANIZATION",
            analyzer_name=f"{name_prefix}-organization",
        )
        self.analyzer.apply_removal_policy(removal)
        self.unused_access_analyzer: accessanalyzer.CfnAnalyzer | None = None
        if unused_access_age_days is not None and self.is_home_region:
            self.unused_access_analyzer = accessanalyzer.CfnAnalyzer(
                self,
                "UnusedAccessAnalyzer",
                type="ORGANIZATION_UNUSED_ACCESS",
                analyzer_name=f"{name_prefix}-organization-unused-access",
                analyzer_configuration=accessanalyzer.CfnAnalyzer.AnalyzerConfigurationProperty(
                    unused_access_configuration=accessanalyzer.CfnAnalyzer.UnusedAccessConfigurationProperty(
                        unused_access_age=unused_access_age_days
                    )
                ),
            )
            self.unused_access_analyzer.apply_removal_policy(removal)

        # --- Security Hub central configuration (home Region) -----------------------------------
        self.finding_aggregator: securityhub.CfnFindingAggregator | None = None
        self.organization_configuration: securityhub.CfnOrganizationConfiguration | None = None
        self.configuration_policy: securityhub.CfnConfigurationPolicy | None = None
        self.policy_associations: dict[str, securityhub.CfnPolicyAssociation] = {}
        if self.is_home_region:
            targets = {
                target: "ROOT" if _ROOT.match(target) else "ORGANIZATIONAL_UNIT"
                for target in member_ous
            }
            targets[account] = "ACCOUNT"
            if configure_management_account:
                targets[management_account] = "ACCOUNT"
            self._securityhub(
                name_prefix,
                linked_regions=list(regions[1:]),
                standards=securityhub_standards,
                disabled_controls=disabled_controls,
                targets=targets,
            )

        # --- Findings routing ----------------------------------------------------------------
        target = _TopicTarget(self.alerts_topic, self.undelivered_findings)
        self.rules: dict[str, events.Rule] = {}
        patterns = finding_patterns(
            findings_severity_threshold,
            securityhub=self.is_home_region,
            unused_access=self.unused_access_analyzer is not None,
        )
        for suffix, pattern in patterns.items():
            name = "".join(part.capitalize() for part in suffix.split("-"))
            which = (
                "ACTIVE"
                if suffix == "access-analyzer"
                else f"{findings_severity_threshold} and above"
            )
            self.rules[suffix] = events.Rule(
                self,
                f"{name}FindingsRule",
                rule_name=f"{name_prefix}-org-findings-{suffix}",
                description=f"{suffix} findings of every organization account ({which}) to the "
                "alerts topic",
                event_pattern=pattern,
                targets=[target],
            )

    # --------------------------------------------------------------------------- services

    def _call(
        self,
        construct_id: str,
        *,
        resource_type: str,
        service: str,
        statements: list[iam.PolicyStatement],
        create: tuple[str, Mapping[str, Any]],
        delete: tuple[str, Mapping[str, Any]] | None,
        ignore_on_delete: str | None = None,
    ) -> cr.AwsCustomResource:
        """One idempotent call, the same on create and update, with an optional revert on delete."""
        action, parameters = create
        physical = cr.PhysicalResourceId.of(
            f"{resource_type.removeprefix('Custom::')}-{self._account}-{self._region}"
        )
        call = cr.AwsSdkCall(
            service=service,
            action=action,
            parameters=dict(parameters),
            physical_resource_id=physical,
        )
        on_delete = None
        if delete is not None:
            on_delete = cr.AwsSdkCall(
                service=service,
                action=delete[0],
                parameters=dict(delete[1]),
                ignore_error_codes_matching=ignore_on_delete,
            )
        return self.provider.call(
            construct_id,
            resource_type=resource_type,
            statements=statements,
            on_create=call,
            on_update=call,
            on_delete=on_delete,
        )

    def _guardduty(
        self, features: Sequence[str], detector_id: str | None, removal: cdk.RemovalPolicy
    ) -> None:
        self.detector: guardduty.CfnDetector | None = None
        if detector_id is None:
            self.detector = guardduty.CfnDetector(
                self,
                "GuardDutyDetector",
                enable=True,
                finding_publishing_frequency="FIFTEEN_MINUTES",
                features=[
                    guardduty.CfnDetector.CFNFeatureConfigurationProperty(
                        name=name, status="ENABLED"
                    )
                    for name in features
                ],
            )
            self.detector.apply_removal_policy(removal)
            detector_id = self.detector.ref
        self.detector_id = detector_id

        def configuration(auto_enable: str) -> dict[str, Any]:
            return {
                "DetectorId": detector_id,
                "AutoEnableOrganizationMembers": auto_enable,
                "Features": [{"Name": name, "AutoEnable": auto_enable} for name in features],
            }

        self.guardduty_organization = self._call(
            "GuardDutyOrganization",
            resource_type="Custom::GuardDutyOrganizationConfiguration",
            service="GuardDuty",
            statements=[
                iam.PolicyStatement(
                    sid="GuardDutyOrganizationConfiguration",
                    actions=["guardduty:UpdateOrganizationConfiguration"],
                    resources=["*"],
                )
            ],
            create=("updateOrganizationConfiguration", configuration("ALL")),
            delete=("updateOrganizationConfiguration", configuration("NONE")),
            # The detector is gone or no longer the organization's administrator: nothing to revert.
            ignore_on_delete="BadRequestException",
        )

    def _macie(self) -> None:
        self.macie_session = self._call(
            "MacieSession",
            resource_type="Custom::MacieSession",
            service="Macie2",
            statements=[
                iam.PolicyStatement(
                    sid="MacieSession", actions=["macie2:UpdateMacieSession"], resources=["*"]
                )
            ],
            create=(
                "updateMacieSession",
                {"status": "ENABLED", "findingPublishingFrequency": "FIFTEEN_MINUTES"},
            ),
            # Disabling Macie would delete its findings, and an administrator with members cannot.
            delete=None,
        )
        self.macie_organization = self._call(
            "MacieOrganization",
            resource_type="Custom::MacieOrganizationConfiguration",
            service="Macie2",
            statements=[
                iam.PolicyStatement(
                    sid="MacieOrganizationConfiguration",
                    actions=["macie2:UpdateOrganizationConfiguration"],
                    resources=["*"],
                )
            ],
            create=("updateOrganizationConfiguration", {"autoEnable": True}),
            delete=("updateOrganizationConfiguration", {"autoEnable": False}),
            # Macie is no longer enabled here: there is no organization setting left to revert.
            ignore_on_delete="ResourceNotFoundException",
        )
        self.macie_organization.node.add_dependency(self.macie_session)

    def _inspector(self, scan_types: Sequence[str], *, disable_on_delete: bool) -> None:
        account, partition = self._account, self._partition
        scan = {"accountIds": [account], "resourceTypes": list(scan_types)}
        self.inspector = self._call(
            "Inspector",
            resource_type="Custom::InspectorActivation",
            service="Inspector2",
            statements=[
                iam.PolicyStatement(
                    sid="InspectorActivation",
                    actions=[
                        "inspector2:Enable",
                        *(["inspector2:Disable"] if disable_on_delete else []),
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="InspectorServiceLinkedRole",
                    actions=["iam:CreateServiceLinkedRole"],
                    resources=[
                        f"arn:{partition}:iam::{account}:role/aws-service-role/"
                        "inspector2.amazonaws.com/AWSServiceRoleForAmazonInspector2"
                    ],
                    conditions={"StringEquals": {"iam:AWSServiceName": "inspector2.amazonaws.com"}},
                ),
            ],
            create=("enable", scan),
            delete=("disable", scan) if disable_on_delete else None,
        )

        selected = [INSPECTOR_SCAN_TYPES[t] for t in scan_types]
        # ec2 and ecr are required members of autoEnable; the others are sent when selected.
        members = list(dict.fromkeys(["ec2", "ecr", *selected]))

        def auto_enable(on: bool) -> dict[str, Any]:
            return {"autoEnable": {name: on and name in selected for name in members}}

        self.inspector_organization = self._call(
            "InspectorOrganization",
            resource_type="Custom::InspectorOrganizationConfiguration",
            service="Inspector2",
            statements=[
                iam.PolicyStatement(
                    sid="InspectorOrganizationConfiguration",
                    actions=["inspector2:UpdateOrganizationConfiguration"],
                    resources=["*"],
                )
            ],
            create=("updateOrganizationConfiguration", auto_enable(True)),
            delete=("updateOrganizationConfiguration", auto_enable(False)),
        )
        self.inspector_organization.node.add_dependency(self.inspector)

    def _securityhub(
        self,
        name_prefix: str,
        *,
        linked_regions: list[str],
        standards: Sequence[str],
        disabled_controls: Sequence[str],
        targets: dict[str, str],
    ) -> None:
        partition, region = self._partition, self._region
        self.finding_aggregator = securityhub.CfnFindingAggregator(
            self,
            "FindingAggregator",
            region_linking_mode="SPECIFIED_REGIONS",
            regions=linked_regions,
        )
        self.organization_configuration = securityhub.CfnOrganizationConfiguration(
            self,
            "OrganizationConfiguration",
            auto_enable=False,
            auto_enable_standards="NONE",
            configuration_type="CENTRAL",
        )
        self.organization_configuration.node.add_dependency(self.finding_aggregator)
        policy = securityhub.CfnConfigurationPolicy(
            self,
            "ConfigurationPolicy",
            name=f"{name_prefix}-baseline",
            description=(
                "Security Hub CSPM on, the platform's standards, every control except those "
                "listed as disabled (new controls included)"
            ),
            configuration_policy=securityhub.CfnConfigurationPolicy.PolicyProperty(
                security_hub=securityhub.CfnConfigurationPolicy.SecurityHubPolicyProperty(
                    service_enabled=True,
                    enabled_standard_identifiers=[
                        f"arn:{partition}:securityhub:{region}::standards/{s}" for s in standards
                    ],
                    security_controls_configuration=securityhub.CfnConfigurationPolicy.SecurityControlsConfigurationProperty(
                        disabled_security_control_identifiers=list(disabled_controls)
                    ),
                )
            ),
        )
        policy.node.add_dependency(self.organization_configuration)
        self.configuration_policy = policy
        for target_id, target_type in targets.items():
            suffix = "".join(c for c in target_id.title() if c.isalnum())
            self.policy_associations[target_id] = securityhub.CfnPolicyAssociation(
                self,
                f"PolicyAssociation{suffix}",
                configuration_policy_id=policy.attr_id,
                target_id=target_id,
                target_type=target_type,
            )
