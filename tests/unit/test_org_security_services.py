"""OrganizationSecurityServices in the security (delegated administrator) account.

One app, one stack (the security account 333333333333, home Region us-east-1), synthesized once
per module with every gate plugin; variants that need no template are checked on the construct.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from gates.nag import acknowledgements, read_findings, register_packs
from secure_constructs.core.sdk_calls import SdkCallProvider
from secure_constructs.data.encryption_key import EncryptionKey
from secure_constructs.organization.security_services import (
    DIRECTLY_ROUTED_PRODUCTS,
    NO_RESOURCE_LEVEL_REASON,
    OrganizationSecurityServices,
    finding_patterns,
    labels_at_or_above,
)
from tests.conftest import new_app, resources_of

SECURITY = "333333333333"
MANAGEMENT = "111111111111"
REGION = "us-east-1"
ORG = "o-a1b2c3d4e5"
OUS = ["ou-ab12-cdef3456", "ou-ab12-99990000"]
STANDARDS = [
    "aws-foundational-security-best-practices/v/1.0.0",
    "cis-aws-foundations-benchmark/v/3.0.0",
]
PREFIX = "secure-ml"
RULES = f"arn:aws:events:{REGION}:{SECURITY}:rule/{PREFIX}-org-findings-*"

ARGS: dict[str, Any] = {
    "name_prefix": PREFIX,
    "organization_id": ORG,
    "management_account": MANAGEMENT,
    "member_ous": OUS,
    "securityhub_standards": STANDARDS,
    "regions": [REGION, "us-west-2"],
    "alert_email": "security-alerts@example.com",
    "findings_severity_threshold": "HIGH",
}


@dataclass
class Synth:
    services: OrganizationSecurityServices
    template: Template
    raw: dict[str, Any]
    outdir: Path


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("org-security")
    app = new_app(outdir)
    stack = cdk.Stack(app, "OrgSecurity", env=cdk.Environment(account=SECURITY, region=REGION))
    services = OrganizationSecurityServices(
        stack, "Security", **ARGS, disabled_controls=["IAM.6"], unused_access_age_days=90
    )
    register_packs(app)
    app.synth()  # raises ValidationFailed on any unacknowledged cdk-nag finding
    raw = json.loads((outdir / "OrgSecurity.template.json").read_text())
    return Synth(services, Template.from_json(raw), raw, outdir)


# --- helpers ----------------------------------------------------------------------------------


def _only(raw: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    found = resources_of(raw, kind)
    assert len(found) == 1, (kind, list(found))
    return next(iter(found.items()))


def _logical_id(raw: dict[str, Any], kind: str) -> str:
    return _only(raw, kind)[0]


def _sdk_call(raw: dict[str, Any], kind: str, phase: str) -> dict[str, Any]:
    """The ``Create``/``Update``/``Delete`` call of a custom resource, references as ``<Id>``."""
    value = _only(raw, kind)[1]["Properties"].get(phase)
    if value is None:
        return {}
    if isinstance(value, dict):
        parts = value["Fn::Join"][1]
        value = "".join(p if isinstance(p, str) else f"<{p['Ref']}>" for p in parts)
    return dict(json.loads(value))


def _statements(raw: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        s
        for resource in resources_of(raw, kind).values()
        for s in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def _calls_policy(raw: dict[str, Any]) -> list[dict[str, Any]]:
    policies = [
        p
        for p in resources_of(raw, "AWS::IAM::ManagedPolicy").values()
        if "the API calls this stack makes" in p["Properties"]["Description"]
    ]
    assert len(policies) == 1
    return list(policies[0]["Properties"]["PolicyDocument"]["Statement"])


def _rule(raw: dict[str, Any], suffix: str) -> dict[str, Any]:
    found = [
        r["Properties"]
        for r in resources_of(raw, "AWS::Events::Rule").values()
        if r["Properties"]["Name"] == f"{PREFIX}-org-findings-{suffix}"
    ]
    assert len(found) == 1, suffix
    return dict(found[0])


# --- the gates --------------------------------------------------------------------------------


def test_no_unacknowledged_nag_findings_and_a_realistic_stack(synth: Synth) -> None:
    assert read_findings(synth.outdir) == []
    counts: dict[str, int] = {}
    for resource in synth.raw["Resources"].values():
        counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1
    assert sum(counts.values()) >= 35
    assert counts["AWS::Events::Rule"] == 5
    assert counts["AWS::SecurityHub::PolicyAssociation"] == 4
    assert counts["AWS::AccessAnalyzer::Analyzer"] == 2
    assert counts["AWS::Lambda::Function"] == 1  # the deploy-time provider, nothing else


def test_acknowledgements_are_the_expected_ones(synth: Synth) -> None:
    ours = {(a.path.split("/Security/", 1)[-1], a.rule) for a in acknowledgements(synth.outdir)}
    assert ("SdkCalls/CallsPolicy", "AwsSolutions::AwsSolutions-IAM5[Resource::*]") in ours
    assert ("UndeliveredFindings/Default", "AwsSolutions::AwsSolutions-SQS3") in ours
    reasons = {a.reason for a in acknowledgements(synth.outdir)}
    assert NO_RESOURCE_LEVEL_REASON in reasons
    # nothing else was acknowledged beyond what SdkCallProvider, DeadLetterQueue and
    # add_security_alerts record themselves
    assert len(ours) == 10, sorted(ours)


# --- GuardDuty --------------------------------------------------------------------------------


def test_guardduty_detector_and_organization_auto_enable(synth: Synth) -> None:
    synth.template.has_resource(
        "AWS::GuardDuty::Detector",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "Enable": True,
                "FindingPublishingFrequency": "FIFTEEN_MINUTES",
                "Features": [
                    {"Name": "S3_DATA_EVENTS", "Status": "ENABLED"},
                    {"Name": "EBS_MALWARE_PROTECTION", "Status": "ENABLED"},
                ],
            },
        },
    )
    detector = f"<{_logical_id(synth.raw, 'AWS::GuardDuty::Detector')}>"
    kind = "Custom::GuardDutyOrganizationConfiguration"
    create = _sdk_call(synth.raw, kind, "Create")
    assert create == {
        "service": "GuardDuty",
        "action": "updateOrganizationConfiguration",
        "parameters": {
            "DetectorId": detector,
            "AutoEnableOrganizationMembers": "ALL",
            "Features": [
                {"Name": "S3_DATA_EVENTS", "AutoEnable": "ALL"},
                {"Name": "EBS_MALWARE_PROTECTION", "AutoEnable": "ALL"},
            ],
        },
        "physicalResourceId": {"id": f"GuardDutyOrganizationConfiguration-{SECURITY}-{REGION}"},
    }
    assert _sdk_call(synth.raw, kind, "Update") == create
    delete = _sdk_call(synth.raw, kind, "Delete")
    assert delete["parameters"]["AutoEnableOrganizationMembers"] == "NONE"
    assert {f["AutoEnable"] for f in delete["parameters"]["Features"]} == {"NONE"}
    assert delete["ignoreErrorCodesMatching"] == "BadRequestException"


# --- Macie and Inspector ----------------------------------------------------------------------


def test_macie_session_then_organization_auto_enable(synth: Synth) -> None:
    session = _sdk_call(synth.raw, "Custom::MacieSession", "Create")
    assert (session["service"], session["action"]) == ("Macie2", "updateMacieSession")
    assert session["parameters"] == {
        "status": "ENABLED",
        "findingPublishingFrequency": "FIFTEEN_MINUTES",
    }
    assert _sdk_call(synth.raw, "Custom::MacieSession", "Delete") == {}  # never disabled
    assert resources_of(synth.raw, "AWS::Macie::Session") == {}

    kind = "Custom::MacieOrganizationConfiguration"
    create = _sdk_call(synth.raw, kind, "Create")
    assert (create["action"], create["parameters"]) == (
        "updateOrganizationConfiguration",
        {"autoEnable": True},
    )
    assert _sdk_call(synth.raw, kind, "Delete")["parameters"] == {"autoEnable": False}
    depends = _only(synth.raw, kind)[1]["DependsOn"]
    assert _logical_id(synth.raw, "Custom::MacieSession") in depends


def test_inspector_enable_then_organization_auto_enable(synth: Synth) -> None:
    enable = _sdk_call(synth.raw, "Custom::InspectorActivation", "Create")
    assert (enable["service"], enable["action"]) == ("Inspector2", "enable")
    assert enable["parameters"] == {
        "accountIds": [SECURITY],
        "resourceTypes": ["EC2", "ECR", "LAMBDA", "LAMBDA_CODE"],
    }
    assert _sdk_call(synth.raw, "Custom::InspectorActivation", "Delete") == {}  # retained

    kind = "Custom::InspectorOrganizationConfiguration"
    create = _sdk_call(synth.raw, kind, "Create")
    assert create["action"] == "updateOrganizationConfiguration"
    assert create["parameters"] == {
        "autoEnable": {"ec2": True, "ecr": True, "lambda": True, "lambdaCode": True}
    }
    delete = _sdk_call(synth.raw, kind, "Delete")
    assert delete["parameters"] == {
        "autoEnable": {"ec2": False, "ecr": False, "lambda": False, "lambdaCode": False}
    }
    depends = _only(synth.raw, kind)[1]["DependsOn"]
    assert _logical_id(synth.raw, "Custom::InspectorActivation") in depends


def test_calls_policy_names_exactly_the_documented_actions(synth: Synth) -> None:
    statements = {s["Sid"]: s for s in _calls_policy(synth.raw)}
    assert {sid: (s["Action"], s["Resource"]) for sid, s in statements.items()} == {
        "GuardDutyOrganizationConfiguration": ("guardduty:UpdateOrganizationConfiguration", "*"),
        "MacieSession": ("macie2:UpdateMacieSession", "*"),
        "MacieOrganizationConfiguration": ("macie2:UpdateOrganizationConfiguration", "*"),
        "InspectorActivation": ("inspector2:Enable", "*"),
        "InspectorOrganizationConfiguration": ("inspector2:UpdateOrganizationConfiguration", "*"),
        "InspectorServiceLinkedRole": (
            "iam:CreateServiceLinkedRole",
            f"arn:aws:iam::{SECURITY}:role/aws-service-role/inspector2.amazonaws.com/"
            "AWSServiceRoleForAmazonInspector2",
        ),
    }
    assert statements["InspectorServiceLinkedRole"]["Condition"] == {
        "StringEquals": {"iam:AWSServiceName": "inspector2.amazonaws.com"}
    }
    assert all(s["Effect"] == "Allow" for s in statements.values())


# --- Security Hub -----------------------------------------------------------------------------


def test_securityhub_central_configuration_in_dependency_order(synth: Synth) -> None:
    raw = synth.raw
    aggregator, aggregator_resource = _only(raw, "AWS::SecurityHub::FindingAggregator")
    assert aggregator_resource["Properties"] == {
        "RegionLinkingMode": "SPECIFIED_REGIONS",
        "Regions": ["us-west-2"],
    }
    config, config_resource = _only(raw, "AWS::SecurityHub::OrganizationConfiguration")
    assert config_resource["Properties"] == {
        "AutoEnable": False,
        "AutoEnableStandards": "NONE",
        "ConfigurationType": "CENTRAL",
    }
    assert aggregator in config_resource["DependsOn"]
    policy, policy_resource = _only(raw, "AWS::SecurityHub::ConfigurationPolicy")
    assert config in policy_resource["DependsOn"]
    assert policy_resource["Properties"]["Name"] == f"{PREFIX}-baseline"
    assert policy_resource["Properties"]["ConfigurationPolicy"] == {
        "SecurityHub": {
            "ServiceEnabled": True,
            "EnabledStandardIdentifiers": [
                f"arn:aws:securityhub:{REGION}::standards/{s}" for s in STANDARDS
            ],
            "SecurityControlsConfiguration": {"DisabledSecurityControlIdentifiers": ["IAM.6"]},
        }
    }
    associations = {
        (a["Properties"]["TargetId"], a["Properties"]["TargetType"])
        for a in resources_of(raw, "AWS::SecurityHub::PolicyAssociation").values()
        if a["Properties"]["ConfigurationPolicyId"] == {"Fn::GetAtt": [policy, "Id"]}
    }
    assert associations == {
        (OUS[0], "ORGANIZATIONAL_UNIT"),
        (OUS[1], "ORGANIZATIONAL_UNIT"),
        (SECURITY, "ACCOUNT"),
        (MANAGEMENT, "ACCOUNT"),
    }
    # the delegation already enabled the administrator's own hub: no Hub resource to collide
    assert resources_of(raw, "AWS::SecurityHub::Hub") == {}


# --- Access Analyzer --------------------------------------------------------------------------


def test_access_analyzers(synth: Synth) -> None:
    synth.template.has_resource(
        "AWS::AccessAnalyzer::Analyzer",
        {
            "DeletionPolicy": "Retain",
            "Properties": {"Type": "ORGANIZATION", "AnalyzerName": f"{PREFIX}-organization"},
        },
    )
    synth.template.has_resource_properties(
        "AWS::AccessAnalyzer::Analyzer",
        {
            "Type": "ORGANIZATION_UNUSED_ACCESS",
            "AnalyzerName": f"{PREFIX}-organization-unused-access",
            "AnalyzerConfiguration": {"UnusedAccessConfiguration": {"UnusedAccessAge": 90}},
        },
    )


# --- findings routing -------------------------------------------------------------------------


def test_event_patterns(synth: Synth) -> None:
    raw = synth.raw
    assert _rule(raw, "guardduty")["EventPattern"] == {
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
        "detail": {"severity": [{"numeric": [">=", 7]}]},
    }
    assert _rule(raw, "inspector")["EventPattern"] == {
        "source": ["aws.inspector2"],
        "detail-type": ["Inspector2 Finding"],
        "detail": {"severity": ["HIGH", "CRITICAL"], "status": ["ACTIVE"]},
    }
    assert _rule(raw, "macie")["EventPattern"] == {
        "source": ["aws.macie"],
        "detail-type": ["Macie Finding"],
        "detail": {"severity": {"description": ["High"]}},
    }
    assert _rule(raw, "access-analyzer")["EventPattern"] == {
        "source": ["aws.access-analyzer"],
        "detail-type": ["Access Analyzer Finding", "Unused Access Finding for IAM entities"],
        "detail": {"status": ["ACTIVE"]},
    }
    assert _rule(raw, "securityhub")["EventPattern"] == {
        "source": ["aws.securityhub"],
        "detail-type": ["Security Hub Findings - Imported"],
        "detail": {
            "findings": {
                "Severity": {"Label": ["HIGH", "CRITICAL"]},
                "RecordState": ["ACTIVE"],
                "Workflow": {"Status": ["NEW"]},
                "ProductName": [{"anything-but": list(DIRECTLY_ROUTED_PRODUCTS)}],
            }
        },
    }


def test_every_rule_targets_the_topic_with_a_dead_letter_queue(synth: Synth) -> None:
    topic = _logical_id(synth.raw, "AWS::SNS::Topic")
    queues = [
        lid
        for lid, q in resources_of(synth.raw, "AWS::SQS::Queue").items()
        if "UndeliveredFindings" in q["Metadata"]["aws:cdk:path"]
    ]
    assert len(queues) == 1
    for rule in resources_of(synth.raw, "AWS::Events::Rule").values():
        assert rule["Properties"]["Targets"] == [
            {
                "Arn": {"Ref": topic},
                "Id": "Target0",
                "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queues[0], "Arn"]}},
                "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
            }
        ]


def test_topic_is_encrypted_and_accepts_only_these_rules(synth: Synth) -> None:
    key = _logical_id(synth.raw, "AWS::KMS::Key")
    synth.template.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": f"{PREFIX}-security-alerts", "KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}},
    )
    synth.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": "security-alerts@example.com"},
    )
    conditions = {
        "StringEquals": {"aws:SourceAccount": SECURITY},
        "ArnLike": {"aws:SourceArn": RULES},
    }
    topic_statements = _statements(synth.raw, "AWS::SNS::TopicPolicy")
    events_publish = [
        s for s in topic_statements if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert len(events_publish) == 1
    assert events_publish[0]["Action"] == "sns:Publish"
    assert events_publish[0]["Condition"] == conditions
    queue_statements = _statements(synth.raw, "AWS::SQS::QueuePolicy")
    events_send = [
        s for s in queue_statements if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert len(events_send) == 1
    assert events_send[0]["Action"] == "sqs:SendMessage"
    assert events_send[0]["Condition"] == conditions


def test_key_policy_lets_eventbridge_in_for_these_rules_only(synth: Synth) -> None:
    synth.template.has_resource(
        "AWS::KMS::Key", {"DeletionPolicy": "Retain", "Properties": {"EnableKeyRotation": True}}
    )
    statements = _only(synth.raw, "AWS::KMS::Key")[1]["Properties"]["KeyPolicy"]["Statement"]
    by_principal = {json.dumps(s["Principal"], sort_keys=True): s for s in statements}
    events = by_principal['{"Service": "events.amazonaws.com"}']
    assert events["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert events["Condition"] == {
        "StringEquals": {"aws:SourceAccount": SECURITY},
        "ArnLike": {"aws:SourceArn": [RULES]},
    }
    for service in ("sns", "cloudwatch"):
        statement = by_principal[f'{{"Service": "{service}.amazonaws.com"}}']
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": SECURITY}
    assert f'{{"Service": "logs.{REGION}.amazonaws.com"}}' in by_principal
    synth.template.has_resource_properties(
        "AWS::KMS::Alias", {"AliasName": f"alias/{PREFIX}-org-security"}
    )


def test_dead_letter_queues_alarm_to_the_topic(synth: Synth) -> None:
    topic = _logical_id(synth.raw, "AWS::SNS::Topic")
    names = {
        a["Properties"]["AlarmName"]
        for a in resources_of(synth.raw, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmActions"] == [{"Ref": topic}]
    }
    assert names == {
        f"{PREFIX}-undelivered-alerts-dead-letters",
        f"{PREFIX}-undelivered-findings-dead-letters",
        f"{PREFIX}-sdk-calls-dead-letters",
    }
    synth.template.has_resource_properties(
        "AWS::SQS::Queue",
        {"KmsMasterKeyId": Match.any_value(), "MessageRetentionPeriod": 14 * 24 * 3600},
    )


# --- patterns, variants and validation (no synthesis) -----------------------------------------


def test_labels_and_patterns_per_threshold() -> None:
    assert labels_at_or_above("MEDIUM") == ["MEDIUM", "HIGH", "CRITICAL"]
    critical = finding_patterns("CRITICAL", securityhub=True, unused_access=False)
    assert "macie" not in critical  # Macie has no critical findings
    assert set(critical) == {"guardduty", "inspector", "access-analyzer", "securityhub"}
    assert critical["guardduty"].detail == {"severity": [{"numeric": [">=", 9.0]}]}
    lowest = finding_patterns("INFORMATIONAL", securityhub=False, unused_access=False)
    assert "securityhub" not in lowest
    assert (lowest["inspector"].detail or {})["severity"][-1] == "UNTRIAGED"
    assert lowest["macie"].detail == {"severity": {"description": ["Low", "Medium", "High"]}}
    assert lowest["access-analyzer"].detail_type == ["Access Analyzer Finding"]
    with pytest.raises(ValueError, match="severity 'SEVERE'"):
        labels_at_or_above("SEVERE")


def _construct(region: str = REGION, **overrides: Any) -> OrganizationSecurityServices:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=cdk.Environment(account=SECURITY, region=region))
    return OrganizationSecurityServices(stack, "Security", **{**ARGS, **overrides})


def test_linked_region_holds_only_the_regional_services() -> None:
    services = _construct("us-west-2", unused_access_age_days=90)
    assert not services.is_home_region
    assert services.finding_aggregator is None and services.configuration_policy is None
    assert services.policy_associations == {}
    assert services.unused_access_analyzer is None  # unused access is global: home Region only
    assert set(services.rules) == {"guardduty", "inspector", "macie", "access-analyzer"}


def test_existing_detector_key_and_provider_are_adopted() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=cdk.Environment(account=SECURITY, region=REGION))
    key = EncryptionKey(stack, "LogsKey", alias="alias/logs", description="logs")
    provider = SdkCallProvider(stack, "SdkCalls", logs_key=key.key, queue_key=key.key)
    services = OrganizationSecurityServices(
        stack,
        "Security",
        **ARGS,
        detector_id="12abc34d567e8fa901bc2d34e56789f0",
        logs_key=key,
        provider=provider,
        configure_management_account=False,
    )
    assert services.detector is None
    assert services.detector_id == "12abc34d567e8fa901bc2d34e56789f0"
    assert services.key is key and services.provider is provider
    assert MANAGEMENT not in services.policy_associations
    assert SECURITY in services.policy_associations


BAD: list[tuple[dict[str, Any], str | None]] = [
    ({"name_prefix": "Secure_ML"}, "name_prefix 'Secure_ML'"),
    ({"organization_id": "o-123"}, "organization_id 'o-123'"),
    ({"management_account": "1111"}, "management_account '1111'"),
    ({"management_account": SECURITY}, "is this stack's account"),
    ({"member_ous": []}, "member_ous: name at least one"),
    ({"member_ous": ["ou-bad"]}, "member_ous entry 'ou-bad'"),
    ({"member_ous": [OUS[0], OUS[0]]}, "each target once"),
    (
        {"securityhub_standards": ["arn:aws:securityhub:::ruleset/cis"]},
        "securityhub_standards entry",
    ),
    ({"disabled_controls": ["iam six"]}, "disabled_controls entry 'iam six'"),
    ({"regions": []}, "regions: list the organization's Regions"),
    ({"regions": ["eu-west-1", REGION]}, None),  # a linked Region: valid
    ({"regions": ["us-west-2"]}, "this stack's region 'us-east-1' is not in regions"),
    ({"regions": [REGION]}, "add a linked Region"),
    ({"alert_email": "nobody"}, "alert_email 'nobody'"),
    ({"findings_severity_threshold": "SEVERE"}, "findings_severity_threshold 'SEVERE'"),
    ({"guardduty_features": ["XYZ"]}, "guardduty_features ['XYZ']"),
    ({"guardduty_features": ["EKS_RUNTIME_MONITORING", "RUNTIME_MONITORING"]}, "keep only it"),
    ({"inspector_scan_types": ["LAMBDA_CODE"]}, "LAMBDA_CODE needs LAMBDA"),
    ({"inspector_scan_types": ["EC3"]}, "inspector_scan_types ['EC3']"),
    ({"unused_access_age_days": 0}, "unused_access_age_days 0"),
    ({"log_retention_days": 4}, "log_retention_days 4"),
    ({"detector_id": "Not A Detector"}, "detector_id 'Not A Detector'"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD)
def test_invalid_arguments_fail_fast_with_the_value_and_the_fix(
    overrides: dict[str, Any], message: str | None
) -> None:
    if message is None:
        _construct(**overrides)
        return
    with pytest.raises(ValueError, match=re.escape(message)):
        _construct(**overrides)


def test_an_environment_agnostic_stack_is_refused() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S")
    with pytest.raises(ValueError, match="explicit env"):
        OrganizationSecurityServices(stack, "Security", **ARGS)
