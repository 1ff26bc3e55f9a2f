"""The audit and findings stacks, in every environment, and their constructs used alone."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from gates.nag import read_findings, register_packs
from platform_config import CONTEXT_KEY, EnvironmentConfig, load_config
from secure_constructs.audit.audit_rules import (
    CustomDataIdentifier,
    cron_problem,
    custom_data_identifier_problem,
)
from secure_constructs.audit.audit_trail import BEDROCK_DATA_EVENT_TYPES, AuditTrail
from secure_constructs.audit.config_recorder import ManagedRuleSet, ManagedRuleSpec
from secure_constructs.audit.macie_discovery import MacieDiscovery
from secure_constructs.audit.managed_rule_table import baseline_rules
from secure_constructs.core.sdk_calls import SdkCallProvider
from secure_constructs.data.encryption_key import EncryptionKey
from stacks.audit_stack import INSPECTOR_RESOURCE_TYPES
from stacks.findings_stack import ROUTED_DIRECTLY
from stacks.stage import PlatformStage
from tests.conftest import CDK_JSON_CONTEXT, Synthesized, dumps, new_app, raw_platform, resources_of

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"


def _rules(audit: Any) -> list[Any]:
    review = audit.access_review
    return baseline_rules(
        max_key_age_days=review.max_key_age_days, max_unused_days=review.max_unused_days
    )


# --- helpers ----------------------------------------------------------------------------------


def _path(resource: dict[str, Any]) -> str:
    return str(resource["Metadata"]["aws:cdk:path"])


def _one(raw: dict[str, Any], kind: str, fragment: str = "") -> tuple[str, dict[str, Any]]:
    """The single resource of ``kind`` whose construct path contains ``fragment``."""
    found = [(lid, r) for lid, r in resources_of(raw, kind).items() if fragment in _path(r)]
    assert len(found) == 1, (kind, fragment, [lid for lid, _ in found])
    return found[0]


def _statements(raw: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the role (managed or inline)."""
    statements: list[dict[str, Any]] = []
    for kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        for policy in resources_of(raw, kind).values():
            if {"Ref": role_id} in policy["Properties"].get("Roles", []):
                statements += policy["Properties"]["PolicyDocument"]["Statement"]
    role = raw["Resources"][role_id]["Properties"]
    for inline in role.get("Policies", []):
        statements += inline["PolicyDocument"]["Statement"]
    return statements


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        value = statement["Action"]
        actions |= {value} if isinstance(value, str) else set(value)
    return actions


def _key_statements(synthesized: Synthesized, env_name: str, key: str) -> dict[str, Any]:
    raw = synthesized.raw(env_name, "keys")
    _, resource = _one(raw, "AWS::KMS::Key", f"/{key}/")
    return {s["Sid"]: s for s in resource["Properties"]["KeyPolicy"]["Statement"]}


BASELINE_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "sqs:SendMessage",
    "kms:Decrypt",
    "kms:GenerateDataKey",
}
# What each handler's module docstring and code call, beyond the baseline.
HANDLER_ACTIONS = {
    ("audit", "SageMakerIsolationRule"): {
        "sagemaker:ListTrainingJobs",
        "sagemaker:ListProcessingJobs",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:DescribeProcessingJob",
        "config:PutEvaluations",
    },
    ("findings", "FindingsRouter"): {"sns:Publish"},
    ("findings", "AccessReview"): {
        "iam:ListRoles",
        "iam:GetRole",
        "iam:ListUsers",
        "iam:ListAccessKeys",
        "iam:GetAccessKeyLastUsed",
        "iam:GetLoginProfile",
        "sns:Publish",
    },
}


# --- CloudTrail -------------------------------------------------------------------------------


def test_trail_is_multi_region_validated_encrypted_and_logging(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "audit")
    _, trail = _one(raw, "AWS::CloudTrail::Trail")
    props = trail["Properties"]
    assert props["TrailName"] == f"secure-ml-{env_name}-trail"
    assert props["IsMultiRegionTrail"] is True
    assert props["IncludeGlobalServiceEvents"] is True
    assert props["EnableLogFileValidation"] is True
    assert props["IsLogging"] is True
    assert props["IsOrganizationTrail"] is False
    assert "LogsKey" in dumps(props["KMSKeyId"]) and "-keys:" in dumps(props["KMSKeyId"])
    assert "AuditBucket" in dumps(props["S3BucketName"])
    assert "EventSelectors" not in props  # advanced selectors only (the two cannot be mixed)
    # The copy in CloudWatch Logs: encrypted with the logs key, retained, configured retention.
    group_id, group = _one(raw, "AWS::Logs::LogGroup", "/Trail/")
    assert props["CloudWatchLogsLogGroupArn"] == {"Fn::GetAtt": [group_id, "Arn"]}
    assert group["Properties"]["RetentionInDays"] == env.audit.cloudtrail_log_retention_days
    assert "LogsKey" in dumps(group["Properties"]["KmsKeyId"])
    assert group["DeletionPolicy"] == "Retain"
    expected = "Delete" if env.audit.disable_on_delete else "Retain"
    assert trail["DeletionPolicy"] == expected


def test_trail_selectors_cover_management_data_buckets_lambda_and_bedrock(
    synthesized: Synthesized, env_name: str
) -> None:
    raw = synthesized.raw(env_name, "audit")
    _, trail = _one(raw, "AWS::CloudTrail::Trail")
    selectors = {
        s["Name"]: s["FieldSelectors"] for s in trail["Properties"]["AdvancedEventSelectors"]
    }

    def fields(name: str) -> dict[str, Any]:
        return {f["Field"]: f.get("Equals", f.get("StartsWith")) for f in selectors[name]}

    assert fields("All management events") == {"eventCategory": ["Management"]}
    data = fields("S3 object reads and writes in the data buckets")
    assert data["resources.type"] == ["AWS::S3::Object"] and "readOnly" not in data
    text = dumps(data["resources.ARN"])
    for bucket in ("RawBucket", "CuratedBucket", "ModelArtifactsBucket"):
        assert bucket in text
    assert "AuditBucket" not in text  # CloudTrail's own deliveries must not log themselves
    audit_reads = fields("S3 object reads in the audit buckets")
    assert audit_reads["readOnly"] == ["true"]
    assert "AuditBucket" in dumps(audit_reads) and "ConfigHistoryBucket" in dumps(audit_reads)
    assert fields("Lambda invocations")["resources.type"] == ["AWS::Lambda::Function"]
    bedrock = {
        fields(name)["resources.type"][0] for name in selectors if name.startswith("Bedrock ")
    }
    assert bedrock == set(BEDROCK_DATA_EVENT_TYPES)
    for name in selectors:
        if name != "All management events":
            assert fields(name)["eventCategory"] == ["Data"]


def test_trail_logs_role_is_bound_to_the_trail_and_its_streams(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "audit")
    trail_arn = f"arn:aws:cloudtrail:{env.region}:{env.account}:trail/secure-ml-{env_name}-trail"
    role_id, role = _one(raw, "AWS::IAM::Role", "/Trail/LogsRole/")
    _, policy = _one(raw, "AWS::IAM::ManagedPolicy", "/Trail/LogsDeliveryPolicy/")
    removal = "Delete" if env.audit.disable_on_delete else "Retain"
    assert (
        role["DeletionPolicy"] == policy["DeletionPolicy"] == removal
    )  # a kept trail still delivers
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": env.account, "aws:SourceArn": trail_arn}
    }
    (statement,) = _statements(raw, role_id)
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert f":log-stream:{env.account}_CloudTrail_{env.region}*" in dumps(statement["Resource"])


def test_logs_key_and_audit_bucket_let_cloudtrail_in_for_this_trail_only(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    trail_arn = f"arn:aws:cloudtrail:{env.region}:{env.account}:trail/secure-ml-{env_name}-trail"
    statements = _key_statements(synthesized, env_name, "LogsKey")
    encrypt = statements["AllowCloudTrailToEncryptLogFiles"]
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Action"] == "kms:GenerateDataKey*"
    assert encrypt["Condition"] == {
        "StringEquals": {"aws:SourceArn": trail_arn},
        "StringLike": {
            "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{env.account}:trail/*"
        },
    }
    describe = statements["AllowCloudTrailToDescribeTheKey"]
    assert describe["Action"] == "kms:DescribeKey"
    assert describe["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}

    raw = synthesized.raw(env_name, "data")
    (policy,) = [
        p for p in resources_of(raw, "AWS::S3::BucketPolicy").values() if "/Data/Audit/" in _path(p)
    ]
    bucket = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    acl, write = bucket["CloudTrailAclCheck"], bucket["CloudTrailWrite"]
    for statement in (acl, write):
        assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
        assert statement["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    assert acl["Action"] == "s3:GetBucketAcl"
    assert write["Action"] == "s3:PutObject"
    assert write["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"
    assert dumps(write["Resource"]).endswith(f'"/AWSLogs/{env.account}/*"]]}}')


# --- keys: every service statement is bound to named resources ---------------------------------


def test_logs_key_service_statements_are_bound_to_this_environment(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    region, account, prefix = env.region, env.account, f"secure-ml-{env_name}"
    statements = _key_statements(synthesized, env_name, "LogsKey")
    via = statements["AllowUseThroughNamedServicesOnly"]["Condition"]["StringEquals"]
    assert via["kms:ViaService"] == [f"{s}.{region}.amazonaws.com" for s in ("s3", "sns", "sqs")]
    expected = {
        "AllowEventsForNamedResources": (
            "events.amazonaws.com",
            f"arn:aws:events:{region}:{account}:rule/{prefix}-*",
        ),
        "AllowSnsForNamedResources": (
            "sns.amazonaws.com",
            f"arn:aws:sns:{region}:{account}:{prefix}-security-alerts",
        ),
        "AllowCloudwatchForNamedResources": (
            "cloudwatch.amazonaws.com",
            f"arn:aws:cloudwatch:{region}:{account}:alarm:{prefix}-*",
        ),
    }
    for sid, (principal, source) in expected.items():
        statement = statements[sid]
        assert statement["Principal"] == {"Service": principal}, sid
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": [source]},
        }, sid
        assert "kms:Decrypt" in statement["Action"], sid


def test_data_key_lets_macie_read_through_s3_only(synthesized: Synthesized, env_name: str) -> None:
    env = synthesized.env(env_name)
    statement = _key_statements(synthesized, env_name, "DataKey")[
        "AllowNamedServiceLinkedRoleThroughNamedServices"
    ]
    assert statement["Principal"] == {"AWS": "*"}
    assert statement["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert statement["Condition"] == {
        "StringEquals": {
            "kms:CallerAccount": env.account,
            "kms:ViaService": [f"s3.{env.region}.amazonaws.com"],
        },
        "ArnEquals": {
            "aws:PrincipalArn": f"arn:aws:iam::{env.account}:role/aws-service-role/"
            "macie.amazonaws.com/AWSServiceRoleForAmazonMacie"
        },
    }


# --- AWS Config ---------------------------------------------------------------------------------


def test_config_recorder_delivery_channel_and_role(synthesized: Synthesized, env_name: str) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "audit")
    _, recorder = _one(raw, "AWS::Config::ConfigurationRecorder")
    global_here = env.audit.config_global_resources_region == env.region
    assert recorder["Properties"]["RecordingGroup"] == {
        "AllSupported": True,
        "IncludeGlobalResourceTypes": global_here,
    }
    assert recorder["Properties"]["RecordingMode"] == {
        "RecordingFrequency": env.audit.config_recording_frequency
    }
    _, channel = _one(raw, "AWS::Config::DeliveryChannel")
    props = channel["Properties"]
    assert props["S3BucketName"] == {
        "Fn::ImportValue": f"secure-ml-{env_name}-data:ConfigHistoryBucketName"
    }
    assert "LogsKey" in dumps(props["S3KmsKeyArn"])
    assert props["ConfigSnapshotDeliveryProperties"] == {"DeliveryFrequency": "TwentyFour_Hours"}
    removal = "Delete" if env.audit.disable_on_delete else "Retain"
    assert recorder["DeletionPolicy"] == channel["DeletionPolicy"] == removal

    role_id, role = _one(raw, "AWS::IAM::Role", "/ConfigRecorder/Role/")
    _, policy = _one(raw, "AWS::IAM::ManagedPolicy", "/ConfigRecorder/DeliveryPolicy/")
    assert role["DeletionPolicy"] == policy["DeletionPolicy"] == removal
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "config.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": env.account}}
    assert "service-role/AWS_ConfigRole" in dumps(role["Properties"]["ManagedPolicyArns"])
    delivery = {s["Sid"]: s for s in _statements(raw, role_id)}
    assert set(delivery) == {"ReadBucketAcl", "WriteOwnPrefix", "EncryptThroughS3"}
    assert delivery["WriteOwnPrefix"]["Action"] == "s3:PutObject"
    assert dumps(delivery["WriteOwnPrefix"]["Resource"]).endswith(
        f'"/AWSLogs/{env.account}/Config/*"]]}}'
    )
    assert delivery["EncryptThroughS3"]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"s3.{env.region}.amazonaws.com"}
    }


# Controls the issue names, and the managed rule that evidences each.
CLAIMED_CONTROLS = {
    "encryption at rest": "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
    "encryption in transit": "S3_BUCKET_SSL_REQUESTS_ONLY",
    "public access": "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED",
    "versioning": "S3_BUCKET_VERSIONING_ENABLED",
    "CloudTrail on": "MULTI_REGION_CLOUD_TRAIL_ENABLED",
    "CloudTrail validated": "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
    "flow logs": "VPC_FLOW_LOGS_ENABLED",
    "key rotation": "CMK_BACKING_KEY_ROTATION_ENABLED",
    "no keys pending deletion": "KMS_CMK_NOT_SCHEDULED_FOR_DELETION",
    "IAM without admin": "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
    "IAM without wildcard": "IAM_POLICY_NO_STATEMENTS_WITH_FULL_ACCESS",
    "Lambda in VPC": "LAMBDA_INSIDE_VPC",
    "notebooks without direct internet": "SAGEMAKER_NOTEBOOK_NO_DIRECT_INTERNET_ACCESS",
    "notebooks with KMS": "SAGEMAKER_NOTEBOOK_INSTANCE_KMS_KEY_CONFIGURED",
    "endpoint configurations with KMS": "SAGEMAKER_ENDPOINT_CONFIGURATION_KMS_KEY_CONFIGURED",
}


def test_managed_rules_cover_the_claimed_controls(synthesized: Synthesized, env_name: str) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "audit")
    rules = {
        r["Properties"]["Source"]["SourceIdentifier"]: r
        for r in resources_of(raw, "AWS::Config::ConfigRule").values()
        if r["Properties"]["Source"]["Owner"] == "AWS"
    }
    assert set(CLAIMED_CONTROLS.values()) <= set(rules)
    specs = {spec.identifier: spec for spec in _rules(env.audit)}
    assert set(rules) == set(specs)  # us-east-1 records global resources in both environments
    for identifier, rule in rules.items():
        props = rule["Properties"]
        assert props["ConfigRuleName"] == f"secure-ml-{env_name}-" + identifier.lower().replace(
            "_", "-"
        )
        assert props["Description"] == specs[identifier].control
        assert "MaximumExecutionFrequency" not in props  # each rule keeps AWS's own trigger
        assert "ConfigRecorderDeliveryChannel" in dumps(rule["DependsOn"])
    review = env.audit.access_review
    assert rules["ACCESS_KEYS_ROTATED"]["Properties"]["InputParameters"] == {
        "maxAccessKeyAge": str(review.max_key_age_days)
    }
    assert rules["IAM_USER_UNUSED_CREDENTIALS_CHECK"]["Properties"]["InputParameters"] == {
        "maxCredentialUsageAge": str(review.max_unused_days)
    }


def test_custom_sagemaker_isolation_rule_is_periodic_and_scoped_to_platform_subnets(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "audit")
    (rule,) = [
        r
        for r in resources_of(raw, "AWS::Config::ConfigRule").values()
        if r["Properties"]["Source"]["Owner"] == "CUSTOM_LAMBDA"
    ]
    props = rule["Properties"]
    assert props["ConfigRuleName"] == f"secure-ml-{env_name}-sagemaker-job-isolation"
    function_id, function = _one(raw, "AWS::Lambda::Function", "/SageMakerIsolationRule/")
    assert props["Source"] == {
        "Owner": "CUSTOM_LAMBDA",
        "SourceIdentifier": {"Fn::GetAtt": [function_id, "Arn"]},
        "SourceDetails": [
            {
                "EventSource": "aws.config",
                "MessageType": "ScheduledNotification",
                "MaximumExecutionFrequency": "TwentyFour_Hours",
            }
        ],
    }
    subnets = dumps(props["InputParameters"]["allowedSubnetIds"])
    assert (
        subnets.count("privateSubnet")
        == subnets.count("isolatedSubnet")
        == len(env.availability_zones)
    )
    _, permission = _one(raw, "AWS::Lambda::Permission", "/SageMakerIsolationRuleInvoke")
    assert permission["Properties"]["Principal"] == "config.amazonaws.com"
    assert permission["Properties"]["SourceAccount"] == env.account
    assert function["Properties"]["Environment"]["Variables"]["LOOKBACK_HOURS"] == "24"


# --- Lambda functions: hardening and least privilege --------------------------------------------


@pytest.mark.parametrize(("kind", "name"), sorted(HANDLER_ACTIONS))
def test_functions_are_hardened(
    synthesized: Synthesized, env_name: str, kind: str, name: str
) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, kind)
    function_id, function = _one(raw, "AWS::Lambda::Function", f"/{name}/")
    props = function["Properties"]
    assert props["Runtime"] == "python3.14"
    module = {"SageMakerIsolationRule": "sagemaker_isolation_rule", "FindingsRouter": "findings_router", "AccessReview": "access_review"}[name]  # fmt: skip
    assert props["Handler"] == f"{module}.handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["ReservedConcurrentExecutions"] >= 1
    assert props["MemorySize"] == 256
    subnets = dumps(props["VpcConfig"]["SubnetIds"])
    assert subnets.count("privateSubnet") == len(env.availability_zones)
    assert "isolated" not in subnets and "public" not in subnets
    queue_id, queue = _one(raw, "AWS::SQS::Queue", f"/{name}/DeadLetterQueue/")
    assert props["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert props["Environment"]["Variables"]["DLQ_URL"] == {"Ref": queue_id}
    assert "LogsKey" in dumps(queue["Properties"]["KmsMasterKeyId"])
    assert queue["DeletionPolicy"] == "Retain"
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    _, queue_policy = _one(raw, "AWS::SQS::QueuePolicy", f"/{name}/DeadLetterQueue/")
    assert '"aws:SecureTransport": "false"' in dumps(queue_policy)
    group_id, group = _one(raw, "AWS::Logs::LogGroup", f"/{name}/LogGroup/")
    assert props["LoggingConfig"] == {"LogGroup": {"Ref": group_id}}
    assert "LogsKey" in dumps(group["Properties"]["KmsKeyId"])
    assert group["Properties"]["RetentionInDays"] == env.audit.cloudtrail_log_retention_days
    assert group["DeletionPolicy"] == "Retain"
    (invoke_config,) = [
        c
        for c in resources_of(raw, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 2
    assert invoke_config["Properties"]["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}
    }
    # An alarm notifies the alerts topic as soon as the DLQ holds a message.
    alarms = [
        a
        for a in resources_of(raw, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue_id, "QueueName"]}
    ]
    assert len(alarms) == 1
    assert alarms[0]["Properties"]["Threshold"] == 1
    assert "AlertsTopic" in dumps(alarms[0]["Properties"]["AlarmActions"])


@pytest.mark.parametrize(("kind", "name"), sorted(HANDLER_ACTIONS))
def test_function_roles_are_least_privilege(
    synthesized: Synthesized, env_name: str, kind: str, name: str
) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, kind)
    role_id, role = _one(raw, "AWS::IAM::Role", f"/{name}/Role/")
    assert "Policies" not in role["Properties"]  # no inline policy
    assert "ManagedPolicyArns" not in role["Properties"]  # no AWS-managed policy
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    statements = _statements(raw, role_id)
    assert _actions(statements) == BASELINE_ACTIONS | HANDLER_ACTIONS[(kind, name)]
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert not any(a == "*" or a.endswith(":*") for a in actions), statement
        if any(a.startswith("kms:") for a in actions):
            service = statement["Condition"]["StringEquals"]["kms:ViaService"]
            assert service in (f"sqs.{env.region}.amazonaws.com", f"sns.{env.region}.amazonaws.com")
        if statement["Resource"] == "*":
            # Only actions AWS offers no resource-level permission for.
            assert set(actions) <= {
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "sagemaker:ListTrainingJobs",
                "sagemaker:ListProcessingJobs",
                "config:PutEvaluations",
                "iam:ListRoles",
                "iam:ListUsers",
            }, statement
    create_eni = next(s for s in statements if "ec2:CreateNetworkInterface" in s["Action"])
    assert dumps(create_eni["Resource"]).count(":subnet/") == len(env.availability_zones)
    publish = [s for s in statements if s["Action"] == "sns:Publish"]
    for statement in publish:
        assert "AlertsTopic" in dumps(statement["Resource"])
    send = next(s for s in statements if s["Action"] == "sqs:SendMessage")
    assert send["Resource"] == {
        "Fn::GetAtt": [_one(raw, "AWS::SQS::Queue", f"/{name}/DeadLetterQueue/")[0], "Arn"]
    }


def test_no_role_in_the_audit_stacks_has_an_inline_policy(
    synthesized: Synthesized, env_name: str
) -> None:
    for kind in ("audit", "findings"):
        raw = synthesized.raw(env_name, kind)
        assert not resources_of(raw, "AWS::IAM::Policy"), kind
        for role in resources_of(raw, "AWS::IAM::Role").values():
            assert "Policies" not in role["Properties"], _path(role)


# --- GuardDuty, Security Hub, Access Analyzer, Inspector, Macie ----------------------------------


def test_threat_detection_services(synthesized: Synthesized, env_name: str) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "audit")
    removal = "Delete" if env.audit.disable_on_delete else "Retain"
    _, detector = _one(raw, "AWS::GuardDuty::Detector")
    assert detector["Properties"]["Enable"] is True
    assert detector["Properties"]["Features"] == [
        {"Name": "S3_DATA_EVENTS", "Status": "ENABLED"},
        {"Name": "EBS_MALWARE_PROTECTION", "Status": "ENABLED"},
    ]
    _, hub = _one(raw, "AWS::SecurityHub::Hub")
    assert hub["Properties"]["EnableDefaultStandards"] is False
    assert hub["Properties"]["ControlFindingGenerator"] == "SECURITY_CONTROL"
    standards = [
        s["Properties"]["StandardsArn"]
        for s in resources_of(raw, "AWS::SecurityHub::Standard").values()
        if s["DeletionPolicy"] == removal
    ]
    assert standards == [
        f"arn:aws:securityhub:{env.region}::standards/{s}" for s in env.audit.securityhub_standards
    ]
    _, analyzer = _one(raw, "AWS::AccessAnalyzer::Analyzer")
    assert analyzer["Properties"]["Type"] == "ACCOUNT"
    _, session = _one(raw, "AWS::Macie::Session")
    assert session["Properties"] == {
        "FindingPublishingFrequency": env.audit.macie.finding_publishing_frequency,
        "Status": "ENABLED",
    }
    for resource in (detector, hub, analyzer, session):
        assert resource["DeletionPolicy"] == removal


def test_inspector_enabled_for_four_resource_types_and_disabled_only_if_configured(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "audit")
    _, inspector = _one(raw, "Custom::InspectorActivation")
    props = inspector["Properties"]
    assert props["InstallLatestAwsSdk"] is False
    for call in ("Create", "Update"):
        assert '"action":"enable","service":"Inspector2"' in props[call]
        assert '"resourceTypes":["EC2","ECR","LAMBDA","LAMBDA_CODE"]' in props[call]
        assert f'"accountIds":["{env.account}"]' in props[call]
    assert list(INSPECTOR_RESOURCE_TYPES) == ["EC2", "ECR", "LAMBDA", "LAMBDA_CODE"]
    provider_actions = _actions(_statements(raw, _one(raw, "AWS::IAM::Role", "/SdkCalls/Role/")[0]))
    if env.audit.disable_on_delete:
        assert '"action":"disable"' in props["Delete"]
        assert "inspector2:Disable" in provider_actions
    else:
        assert "Delete" not in props
        assert "inspector2:Disable" not in provider_actions


def test_sdk_call_provider_is_hardened_and_names_exact_actions(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "audit")
    role_id, role = _one(raw, "AWS::IAM::Role", "/SdkCalls/Role/")
    assert "ManagedPolicyArns" not in role["Properties"]
    statements = _statements(raw, role_id)
    expected = {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "sqs:SendMessage",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "macie2:CreateClassificationJob",
        "macie2:UpdateClassificationJob",
        "inspector2:Enable",
        "iam:CreateServiceLinkedRole",
        *(["inspector2:Disable"] if env.audit.disable_on_delete else []),
    }
    assert _actions(statements) == expected
    macie = next(s for s in statements if s.get("Sid") == "CreateAndCancelClassificationJobs")
    assert macie["Resource"] == f"arn:aws:macie2:{env.region}:{env.account}:classification-job/*"
    slr = next(s for s in statements if s.get("Sid") == "InspectorServiceLinkedRole")
    assert slr["Condition"] == {"StringEquals": {"iam:AWSServiceName": "inspector2.amazonaws.com"}}
    _, function = _one(raw, "AWS::Lambda::Function", "/AWS679f53fac002430cb0da5b7982bd2287/")
    props = function["Properties"]
    assert props["ReservedConcurrentExecutions"] == 2
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert "SdkCallsDeadLetterQueue" in dumps(props["DeadLetterConfig"])
    assert "SdkCallsLogGroup" in dumps(props["LoggingConfig"])


def test_macie_identifiers_and_discovery_job_follow_config(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    macie = env.audit.macie
    raw = synthesized.raw(env_name, "audit")
    identifiers = resources_of(raw, "AWS::Macie::CustomDataIdentifier")
    assert [i["Properties"]["Name"] for i in identifiers.values()] == [
        c.name for c in macie.custom_data_identifiers
    ]
    (identifier,) = identifiers.values()
    mrn = macie.custom_data_identifiers[0]
    assert identifier["Properties"]["Regex"] == mrn.regex
    assert identifier["Properties"]["Keywords"] == list(mrn.keywords)
    assert identifier["Properties"]["MaximumMatchDistance"] == mrn.maximum_match_distance
    _, job = _one(raw, "Custom::MacieClassificationJob")
    create = dumps(job["Properties"]["Create"])
    schedule = {"DAILY": "dailySchedule", "WEEKLY": "weeklySchedule", "MONTHLY": "monthlySchedule"}
    for expected in (
        '\\"action\\":\\"createClassificationJob\\"',
        '\\"jobType\\":\\"SCHEDULED\\"',
        '\\"initialRun\\":true',
        f'\\"samplingPercentage\\":{macie.sampling_percentage}',
        '\\"managedDataIdentifierSelector\\":\\"RECOMMENDED\\"',
        schedule[macie.discovery_schedule],
        "RawBucket",
        "CuratedBucket",
        "ModelArtifactsBucket",
        "MacieIdentifierMedicalRecordNumber",
        '\\"clientToken\\":\\"secure-ml-',
    ):
        assert expected in create, expected
    assert "AuditBucket" not in create
    assert '\\"jobStatus\\":\\"CANCELLED\\"' in dumps(job["Properties"]["Delete"])


# --- alerts topic and findings routing ------------------------------------------------------------


def test_alerts_topic_is_encrypted_tls_only_and_emails_the_alert_address(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "audit")
    topic_id, topic = _one(raw, "AWS::SNS::Topic")
    assert topic["Properties"]["TopicName"] == f"secure-ml-{env_name}-security-alerts"
    assert "LogsKey" in dumps(topic["Properties"]["KmsMasterKeyId"])
    _, subscription = _one(raw, "AWS::SNS::Subscription")
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == env.alert_email
    assert subscription["Properties"]["TopicArn"] == {"Ref": topic_id}
    assert "UndeliveredAlerts" in dumps(subscription["Properties"]["RedrivePolicy"])
    _, policy = _one(raw, "AWS::SNS::TopicPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    alarms = next(s for s in statements if s.get("Sid") == "CloudWatchAlarmsOfThisEnvironment")
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:cloudwatch:{env.region}:{env.account}:alarm:secure-ml-{env_name}-*"
    }


def test_findings_rules_feed_the_router_with_a_dead_letter_queue(
    synthesized: Synthesized, env_name: str
) -> None:
    raw = synthesized.raw(env_name, "findings")
    router_id, _ = _one(raw, "AWS::Lambda::Function", "/FindingsRouter/")
    queue_id, _ = _one(raw, "AWS::SQS::Queue", "/FindingsRouter/DeadLetterQueue/")
    rules = {
        r["Properties"]["Name"]: r["Properties"]
        for r in resources_of(raw, "AWS::Events::Rule").values()
    }
    prefix = f"secure-ml-{env_name}"
    patterns = {
        name.removeprefix(f"{prefix}-findings-"): props["EventPattern"]
        for name, props in rules.items()
        if name.startswith(f"{prefix}-findings-")
    }
    assert patterns["macie"] == {"detail-type": ["Macie Finding"], "source": ["aws.macie"]}
    assert patterns["inspector"] == {
        "detail-type": ["Inspector2 Finding"],
        "source": ["aws.inspector2"],
    }
    assert patterns["guardduty"] == {
        "detail-type": ["GuardDuty Finding"],
        "source": ["aws.guardduty"],
    }
    hub = patterns["securityhub"]
    assert hub["source"] == ["aws.securityhub"]
    assert hub["detail-type"] == ["Security Hub Findings - Imported"]
    assert hub["detail"]["findings"]["ProductName"] == [{"anything-but": list(ROUTED_DIRECTLY)}]
    assert hub["detail"]["findings"]["RecordState"] == ["ACTIVE"]
    config = patterns["config"]
    assert config["detail-type"] == ["Config Rules Compliance Change"]
    assert config["detail"] == {"configRuleName": [{"prefix": f"{prefix}-"}]}
    for name in patterns:
        (target,) = rules[f"{prefix}-findings-{name}"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [router_id, "Arn"]}
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
        assert target["RetryPolicy"] == {
            "MaximumEventAgeInSeconds": 86400,
            "MaximumRetryAttempts": 185,
        }
    # EventBridge may put undeliverable events in the queue, for these rules only.
    _, queue_policy = _one(raw, "AWS::SQS::QueuePolicy", "/FindingsRouter/DeadLetterQueue/")
    sends = [
        s
        for s in queue_policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert len(sends) == len(patterns)
    for statement in sends:
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert "ArnEquals" in statement["Condition"]


def test_router_and_access_review_configuration(synthesized: Synthesized, env_name: str) -> None:
    env = synthesized.env(env_name)
    raw = synthesized.raw(env_name, "findings")
    _, router = _one(raw, "AWS::Lambda::Function", "/FindingsRouter/")
    variables = router["Properties"]["Environment"]["Variables"]
    assert variables["SEVERITY_THRESHOLD"] == env.audit.findings_severity_threshold
    assert variables["NONCOMPLIANT_SEVERITY"] == "MEDIUM"
    assert "AlertsTopic" in dumps(variables["TOPIC_ARN"]) and "-audit:" in dumps(
        variables["TOPIC_ARN"]
    )
    review_id, review = _one(raw, "AWS::Lambda::Function", "/AccessReview/")
    variables = review["Properties"]["Environment"]["Variables"]
    assert variables["MAX_UNUSED_DAYS"] == str(env.audit.access_review.max_unused_days)
    assert variables["MAX_KEY_AGE_DAYS"] == str(env.audit.access_review.max_key_age_days)
    (schedule,) = [
        r["Properties"]
        for r in resources_of(raw, "AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    assert schedule["Name"] == f"secure-ml-{env_name}-access-review"
    assert schedule["ScheduleExpression"] == env.audit.access_review.schedule
    assert schedule["Targets"][0]["Arn"] == {"Fn::GetAtt": [review_id, "Arn"]}


def test_stack_order_keeps_keys_and_data_independent_of_the_audit(
    synthesized: Synthesized, env_name: str
) -> None:
    ids = {k: synthesized.artifact(env_name, k).artifact_id for k in ("keys", "network", "data", "audit", "findings", "genai")}  # fmt: skip
    assert set(synthesized.artifact(env_name, "audit").dependencies) == {
        ids["keys"],
        ids["network"],
        ids["data"],
    }
    # findings reads the names of the genai stack's functions whose Config results it expects.
    assert set(synthesized.artifact(env_name, "findings").dependencies) == {
        ids["keys"],
        ids["network"],
        ids["audit"],
        ids["genai"],
    }
    assert ids["findings"] not in synthesized.artifact(env_name, "genai").dependencies
    for kind in ("keys", "network", "data"):
        assert not {ids["audit"], ids["findings"]} & set(
            synthesized.artifact(env_name, kind).dependencies
        )
    stage = synthesized.stages[env_name]
    assert [s.stack_name.rsplit("-", 1)[1] for s in stage.platform_stacks] == [
        "keys",
        "network",
        "data",
        "audit",
        "ml",
        "genai",
        "findings",
    ]
    assert synthesized.artifact(env_name, "audit").stack_name == f"secure-ml-{env_name}-audit"


# --- variants: singletons owned elsewhere, organization trail, another region ---------------------


def _variant(
    tmp_path: Path, change: Any
) -> tuple[dict[str, Any], dict[str, Any], EnvironmentConfig]:
    """Synthesize dev alone, changed, with every gate pack; return audit/data templates."""
    platform = raw_platform()
    change(platform["environments"]["dev"])
    env = load_config({CONTEXT_KEY: platform}, "dev").environments[0]
    app = new_app(tmp_path)
    stage = PlatformStage(app, project="secure-ml", environment=env)
    register_packs(app)
    try:
        app.synth()
    except RuntimeError:
        pytest.fail(f"gates failed: {[f.line() for f in read_findings(tmp_path)]}")
    audit = Template.from_stack(stage.audit).to_json()
    data = Template.from_stack(stage.data).to_json()
    return audit, data, env


@pytest.mark.slow
def test_services_owned_elsewhere_are_not_created_but_rules_and_routing_remain(
    tmp_path: Path,
) -> None:
    def change(env: dict[str, Any]) -> None:
        env["audit"].update(account_services=[], securityhub_standards=[])

    audit, _, _ = _variant(tmp_path, change)
    for kind in (
        "AWS::Config::ConfigurationRecorder",
        "AWS::Config::DeliveryChannel",
        "AWS::GuardDuty::Detector",
        "AWS::SecurityHub::Hub",
        "AWS::SecurityHub::Standard",
        "AWS::AccessAnalyzer::Analyzer",
        "AWS::Macie::Session",
        "Custom::InspectorActivation",
    ):
        assert not resources_of(audit, kind), kind
    rules = resources_of(audit, "AWS::Config::ConfigRule")
    assert len(rules) == len(_rules(load_config(CDK_JSON_CONTEXT, "dev").environments[0].audit)) + 1
    assert not any(
        "DependsOn" in r and "ConfigRecorder" in dumps(r["DependsOn"]) for r in rules.values()
    )
    assert resources_of(audit, "Custom::MacieClassificationJob")  # Macie enabled by its owner
    assert resources_of(audit, "AWS::CloudTrail::Trail")


@pytest.mark.slow
def test_organization_trail_and_a_region_without_global_resources(tmp_path: Path) -> None:
    def change(env: dict[str, Any]) -> None:
        env["audit"].update(
            organization_trail=True,
            organization_id="o-a1b2c3d4e5",
            config_global_resources_region="us-east-2",
        )

    audit, data, env = _variant(tmp_path, change)
    (trail,) = resources_of(audit, "AWS::CloudTrail::Trail").values()
    assert trail["Properties"]["IsOrganizationTrail"] is True
    (policy,) = [
        p
        for p in resources_of(data, "AWS::S3::BucketPolicy").values()
        if "/Data/Audit/" in _path(p)
    ]
    write = next(
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "CloudTrailWrite"
    )
    assert "/AWSLogs/o-a1b2c3d4e5/*" in dumps(write["Resource"])
    assert f"/AWSLogs/{env.account}/*" in dumps(write["Resource"])
    streams = dumps(resources_of(audit, "AWS::IAM::ManagedPolicy"))
    assert "log-stream:o-a1b2c3d4e5_CloudTrail_us-east-1*" in streams
    (recorder,) = resources_of(audit, "AWS::Config::ConfigurationRecorder").values()
    assert recorder["Properties"]["RecordingGroup"]["IncludeGlobalResourceTypes"] is False
    identifiers = {
        r["Properties"]["Source"]["SourceIdentifier"]
        for r in resources_of(audit, "AWS::Config::ConfigRule").values()
        if r["Properties"]["Source"]["Owner"] == "AWS"
    }
    account_level = {s.identifier for s in _rules(env.audit) if s.account_level}
    assert account_level and not (account_level & identifiers)
    assert "S3_BUCKET_SSL_REQUESTS_ONLY" in identifiers


# --- the constructs alone: invalid input fails fast -------------------------------------------------


def _stack() -> cdk.Stack:
    return cdk.Stack(
        cdk.App(), "T", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("cron(0 6 ? * MON *)", None),
        ("cron(15 10 ? * 6L 2030-2035)", None),
        ("cron(0/15 * 1W * ? *)", None),
        ("cron(0 8 1 JAN,JUL ? *)", None),
        ("cron(0 6 ? * MON#2 *)", None),
        ("rate(1 day)", "an EventBridge cron expression"),
        ("cron(0 6 ? * MON)", "six fields"),
        ("cron(60 6 ? * MON *)", "minutes field '60': 60 is outside 0-59"),
        ("cron(0 6 ? 13 MON *)", "month field '13': 13 is outside 1-12"),
        ("cron(0 6 ? * MON 1969)", "year field '1969': 1969 is outside 1970-2199"),
        ("cron(0 6 ? * * *)", None),
        ("cron(0 6 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 6 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 6 1? * ? *)", "day-of-month field '1?': '?' must stand alone"),
        ("cron(0 6 ? FOO MON *)", "month field 'FOO': 'FOO' is not accepted here"),
        ("cron(0 6 ? * MON% *)", "unexpected character '%'"),
        ("cron(0/0 6 ? * MON *)", "an increment must be at least 1"),
    ],
)
def test_cron_rules(expression: str, problem: str | None) -> None:
    found = cron_problem(expression)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({}, None),
        ({"name": ""}, "name"),
        ({"regex": "("}, "regex"),
        ({"regex": "a?"}, "regex"),
        ({"keywords": ("ab",)}, "keywords"),
        ({"maximum_match_distance": 0}, "maximum_match_distance"),
    ],
)
def test_custom_data_identifier_rules(changes: dict[str, Any], field: str | None) -> None:
    base = {"name": "mrn", "regex": "[0-9]{7}", "keywords": ("MRN",), "maximum_match_distance": 50}
    problem = custom_data_identifier_problem(CustomDataIdentifier(**{**base, **changes}))
    assert (problem[0] if problem else None) == field


def test_encryption_key_service_statements_validate_their_input() -> None:
    key = EncryptionKey(_stack(), "K", alias="alias/t", description="t")
    with pytest.raises(ValueError, match="at least one source ARN"):
        key.allow_service("events", source_arns=[])
    with pytest.raises(ValueError, match="not a service principal prefix"):
        key.allow_service("events.amazonaws.com", source_arns=["arn:aws:events:::rule/x"])
    with pytest.raises(ValueError, match="not a service-linked role ARN"):
        key.allow_service_linked_role_via_services(
            "arn:aws:iam::123456789012:role/admin", ["s3"], ["kms:Decrypt"]
        )


def test_audit_trail_refuses_a_bucket_whose_policy_it_cannot_extend() -> None:
    stack = _stack()
    with pytest.raises(ValueError, match="could not be extended"):
        AuditTrail(
            stack,
            "Trail",
            trail_name="t-trail",
            bucket=s3.Bucket.from_bucket_name(stack, "Imported", "some-bucket"),
            encryption_key=kms.Key(stack, "Key"),
            data_bucket_names=[],
        )
    with pytest.raises(ValueError, match="log_retention_days=42"):
        AuditTrail(
            stack,
            "Trail2",
            trail_name="t-trail",
            bucket=s3.Bucket(stack, "B"),
            encryption_key=kms.Key(stack, "Key2"),
            data_bucket_names=[],
            log_retention_days=42,
        )


def test_rule_set_refuses_duplicates_and_provider_is_one_per_stack() -> None:
    stack = _stack()
    spec = ManagedRuleSpec("S3_BUCKET_VERSIONING_ENABLED", "versioned")
    with pytest.raises(ValueError, match="rules listed twice"):
        ManagedRuleSet(stack, "R", name_prefix="t", rules=[spec, spec], include_account_level=True)
    key = kms.Key(stack, "Key")
    provider = SdkCallProvider(stack, "P1", logs_key=key, queue_key=key)
    with pytest.raises(ValueError, match="statements are required"):
        provider.call("C", statements=[], on_create=None)  # type: ignore[arg-type]
    MacieDiscovery(stack, "M", provider=provider, job_name="j", bucket_names=["b1"])
    with pytest.raises(ValueError, match="already has an AwsCustomResource provider"):
        SdkCallProvider(stack, "P2", logs_key=key, queue_key=key)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schedule": "HOURLY"}, "schedule='HOURLY'"),
        ({"sampling_percentage": 0}, "sampling_percentage=0"),
        ({"bucket_names": []}, "at least one bucket"),
        (
            {"custom_data_identifiers": [CustomDataIdentifier(name="x", regex="a*")]},
            "'x' regex: must not match the empty string",
        ),
    ],
)
def test_macie_discovery_rejects_invalid_props(changes: dict[str, Any], message: str) -> None:
    stack = _stack()
    key = kms.Key(stack, "Key")
    provider = SdkCallProvider(stack, "P", logs_key=key, queue_key=key)
    kwargs = {"provider": provider, "job_name": "j", "bucket_names": ["b1"], **changes}
    with pytest.raises(ValueError, match=message):
        MacieDiscovery(stack, "M", **copy.copy(kwargs))
