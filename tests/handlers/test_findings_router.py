"""Tests for lambda/findings_router: normalisation, thresholds, SNS output, DLQ and config."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.handlers.loader import load_handler

mod = load_handler("findings_router")
settings = load_handler("findings_router", "findings_router_settings")
fields = load_handler("findings_router", "findings_router_fields")

REGION = "us-east-1"
ACCOUNT = "123456789012"

# ---------------------------------------------------------------------------------------------
# Sample events, shaped like the examples in each service's EventBridge documentation.
# ---------------------------------------------------------------------------------------------

GUARDDUTY_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "c8c4daa7-a20c-2f03-0070-b7393dd542ad",
    "detail-type": "GuardDuty Finding",
    "source": "aws.guardduty",
    "account": ACCOUNT,
    "time": "2024-01-15T10:00:00Z",
    "region": REGION,
    "resources": [],
    "detail": {
        "schemaVersion": "2.0",
        "accountId": ACCOUNT,
        "region": REGION,
        "partition": "aws",
        "id": "16afba5c5c43e07c9e3e5e2e544e95df",
        "arn": f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/123456789012/finding/"
        "16afba5c5c43e07c9e3e5e2e544e95df",
        "type": "UnauthorizedAccess:EC2/SSHBruteForce",
        "resource": {
            "resourceType": "Instance",
            "instanceDetails": {"instanceId": "i-05746eb48123455e0", "instanceType": "t2.micro"},
        },
        "service": {"serviceName": "guardduty", "count": 1, "archived": False},
        "severity": 8,
        "createdAt": "2024-01-15T09:55:01.975Z",
        "updatedAt": "2024-01-15T09:58:01.975Z",
        "title": "198.51.100.0 is performing SSH brute force attacks against i-05746eb48123455e0.",
        "description": "198.51.100.0 is performing SSH brute force attacks.",
    },
}

MACIE_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "0948ba87-d3b8-c6d4-f2da-732a1example",
    "detail-type": "Macie Finding",
    "source": "aws.macie",
    "account": ACCOUNT,
    "time": "2021-04-29T23:12:15Z",
    "region": REGION,
    "resources": [],
    "detail": {
        "schemaVersion": "1.0",
        "id": "64b917aa-3843-014c-91d8-937ffexample",
        "accountId": ACCOUNT,
        "partition": "aws",
        "region": REGION,
        "type": "SensitiveData:S3Object/Personal",
        "title": "The S3 object contains personal information.",
        "description": "The object contains personal information such as names.",
        "severity": {"score": 3, "description": "High"},
        "createdAt": "2021-04-29T15:46:02Z",
        "updatedAt": "2021-04-29T23:12:15Z",
        "count": 1,
        "category": "CLASSIFICATION",
        "resourcesAffected": {
            "s3Bucket": {"arn": "arn:aws:s3:::training-data", "name": "training-data"},
            "s3Object": {"bucketArn": "arn:aws:s3:::training-data", "key": "raw/customers.csv"},
        },
    },
}

INSPECTOR_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "4d621919-f1f4-4201-a0e2-37e4e330ff51",
    "detail-type": "Inspector2 Finding",
    "source": "aws.inspector2",
    "account": ACCOUNT,
    "time": "2024-09-04T17:00:36Z",
    "region": "eu-central-1",
    "resources": ["i-12345678901234567"],
    "detail": {
        "awsAccountId": ACCOUNT,
        "description": "In snapd versions prior to 2.62, snapd failed to check symbolic links.",
        "findingArn": f"arn:aws:inspector2:eu-central-1:{ACCOUNT}:finding/0123456789abcdef",
        "firstObservedAt": "Wed Sep 04 16:59:44.356 UTC 2024",
        "inspectorScore": 7.5,
        "lastObservedAt": "Wed Sep 04 16:59:44.476 UTC 2024",
        "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2024-29069", "source": "NVD"},
        "remediation": {"recommendation": {"text": "None Provided"}},
        "resources": [
            {
                "details": {"awsEc2Instance": {"imageId": "ami-02ff980600c693b38"}},
                "id": "i-12345678901234567",
                "partition": "aws",
                "region": "eu-central-1",
                "type": "AWS_EC2_INSTANCE",
            }
        ],
        "severity": "HIGH",
        "status": "ACTIVE",
        "title": "CVE-2024-29069 - snapd",
        "type": "PACKAGE_VULNERABILITY",
        "updatedAt": "Wed Sep 04 17:00:36.951 UTC 2024",
    },
}


def _asff(finding_id: str, label: str, title: str) -> dict[str, Any]:
    return {
        "SchemaVersion": "2018-10-08",
        "Id": finding_id,
        "ProductArn": f"arn:aws:securityhub:{REGION}::product/aws/securityhub",
        "GeneratorId": "security-control/S3.8",
        "AwsAccountId": ACCOUNT,
        "Region": REGION,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "CreatedAt": "2024-03-01T10:00:00.000Z",
        "UpdatedAt": "2024-03-02T10:00:00.000Z",
        "Severity": {"Label": label, "Normalized": 70, "Original": label},
        "Title": title,
        "Description": "Checks whether S3 general purpose buckets block public access.",
        "ProductName": "Security Hub",
        "Resources": [
            {"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::model-artifacts", "Region": REGION}
        ],
        "Compliance": {"Status": "FAILED"},
        "Workflow": {"Status": "NEW"},
        "RecordState": "ACTIVE",
    }


SECURITYHUB_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "CWE-event-id",
    "detail-type": "Security Hub Findings - Imported",
    "source": "aws.securityhub",
    "account": ACCOUNT,
    "time": "2024-03-02T10:00:05Z",
    "region": REGION,
    "resources": [f"arn:aws:securityhub:{REGION}:{ACCOUNT}:subscription/finding/1"],
    "detail": {
        "findings": [
            _asff(
                f"arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/S3.8/finding/aaa",
                "HIGH",
                "S3 general purpose buckets should block public access",
            ),
            _asff(
                f"arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/S3.5/finding/bbb",
                "CRITICAL",
                "S3 general purpose buckets should require requests to use SSL",
            ),
        ]
    },
}

CONFIG_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
    "detail-type": "Config Rules Compliance Change",
    "source": "aws.config",
    "account": ACCOUNT,
    "time": "2024-02-20T08:00:00Z",
    "region": REGION,
    "resources": [],
    "detail": {
        "resourceId": "model-artifacts",
        "awsRegion": REGION,
        "awsAccountId": ACCOUNT,
        "configRuleName": "s3-bucket-ssl-requests-only",
        "recordVersion": "1.0",
        "configRuleARN": f"arn:aws:config:{REGION}:{ACCOUNT}:config-rule/config-rule-9rpvxc",
        "messageType": "ComplianceChangeNotification",
        "newEvaluationResult": {
            "evaluationResultIdentifier": {
                "evaluationResultQualifier": {
                    "configRuleName": "s3-bucket-ssl-requests-only",
                    "resourceType": "AWS::S3::Bucket",
                    "resourceId": "model-artifacts",
                },
                "orderingTimestamp": "2024-02-20T07:59:40.619Z",
            },
            "complianceType": "NON_COMPLIANT",
            "resultRecordedTime": "2024-02-20T07:59:41.405Z",
            "configRuleInvokedTime": "2024-02-20T07:59:40.914Z",
        },
        "oldEvaluationResult": {"complianceType": "COMPLIANT"},
        "notificationCreationTime": "2024-02-20T07:59:42.000Z",
        "resourceType": "AWS::S3::Bucket",
    },
}


def event(sample: dict[str, Any], **detail_changes: Any) -> dict[str, Any]:
    """A deep copy of a sample with some detail keys replaced (value None deletes the key)."""
    copied = copy.deepcopy(sample)
    for key, value in detail_changes.items():
        if value is None:
            copied["detail"].pop(key, None)
        else:
            copied["detail"][key] = value
    return copied


# ---------------------------------------------------------------------------------------------
# AWS fixture: SNS topic -> SQS subscription (to read what was sent) and an SQS DLQ
# ---------------------------------------------------------------------------------------------


@dataclass
class Aws:
    sns: Any
    sqs: Any
    topic_arn: str
    alerts_url: str
    dlq_url: str

    def env(self, **overrides: str) -> dict[str, str]:
        values = {
            "TOPIC_ARN": self.topic_arn,
            "DLQ_URL": self.dlq_url,
            "SEVERITY_THRESHOLD": "HIGH",
        }
        values.update(overrides)
        return values

    def config(self, **overrides: str) -> Any:
        return mod.load_settings(self.env(**overrides))

    def _drain(self, url: str) -> list[dict[str, Any]]:
        bodies = []
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            messages = got.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def published(self) -> list[dict[str, Any]]:
        """SNS envelopes delivered to the subscribed queue."""
        return self._drain(self.alerts_url)

    def dead_letters(self) -> list[dict[str, Any]]:
        return self._drain(self.dlq_url)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic_arn = sns.create_topic(Name="security-findings")["TopicArn"]
        alerts_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=alerts_arn)
        dlq_url = sqs.create_queue(QueueName="findings-router-dlq")["QueueUrl"]
        yield Aws(sns, sqs, topic_arn, alerts_url, dlq_url)


def route(aws: Aws, evt: Any, **env: str) -> dict[str, Any]:
    result: dict[str, Any] = mod.route_event(evt, aws.config(**env), aws.sns, aws.sqs)
    return result


def only_message(aws: Aws) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one SNS envelope sent, and its parsed Message."""
    sent = aws.published()
    assert len(sent) == 1, sent
    return sent[0], json.loads(sent[0]["Message"])


# ---------------------------------------------------------------------------------------------
# One sample per source
# ---------------------------------------------------------------------------------------------


def test_guardduty_finding_is_published_normalised(aws: Aws) -> None:
    counts = route(aws, event(GUARDDUTY_EVENT))
    assert counts == {"published": 1, "skipped": 0, "acknowledged": 0, "dead_lettered": 0}
    envelope, message = only_message(aws)
    finding = message["finding"]
    assert finding == {
        "source": "aws.guardduty",
        "severity": "HIGH",
        "title": GUARDDUTY_EVENT["detail"]["title"],
        "resource": "i-05746eb48123455e0",
        "account": ACCOUNT,
        "region": REGION,
        "id": "16afba5c5c43e07c9e3e5e2e544e95df",
        "time": "2024-01-15T09:58:01.975Z",
        "link": "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1"
        "#/findings?macros=current&fId=16afba5c5c43e07c9e3e5e2e544e95df",
    }
    assert envelope["Subject"].startswith("[HIGH] GuardDuty: 198.51.100.0 is performing")
    assert len(envelope["Subject"]) <= 100
    assert envelope["MessageAttributes"]["severity"]["Value"] == "HIGH"
    assert envelope["MessageAttributes"]["source"]["Value"] == "aws.guardduty"
    assert "HIGH GuardDuty finding in account 123456789012" in message["summary"]
    assert aws.dead_letters() == []


def test_macie_finding_is_published(aws: Aws) -> None:
    route(aws, event(MACIE_EVENT))
    envelope, message = only_message(aws)
    finding = message["finding"]
    assert finding["source"] == "aws.macie"
    assert finding["severity"] == "HIGH"
    assert finding["resource"] == "arn:aws:s3:::training-data/raw/customers.csv"
    assert finding["id"] == "64b917aa-3843-014c-91d8-937ffexample"
    assert finding["time"] == "2021-04-29T23:12:15Z"
    assert finding["link"].startswith("https://us-east-1.console.aws.amazon.com/macie/home")
    assert finding["link"].endswith("itemId=64b917aa-3843-014c-91d8-937ffexample")
    assert envelope["Subject"] == "[HIGH] Macie: The S3 object contains personal information."


def test_inspector_finding_is_published(aws: Aws) -> None:
    route(aws, event(INSPECTOR_EVENT))
    envelope, message = only_message(aws)
    finding = message["finding"]
    assert finding["source"] == "aws.inspector2"
    assert finding["severity"] == "HIGH"
    assert finding["resource"] == "i-12345678901234567"
    assert finding["region"] == "eu-central-1"
    assert finding["id"] == INSPECTOR_EVENT["detail"]["findingArn"]
    assert finding["time"] == "2024-09-04T17:00:36Z"  # the envelope's ISO time
    assert finding["link"].startswith(
        "https://eu-central-1.console.aws.amazon.com/inspector/v2/home?region=eu-central-1"
    )
    assert envelope["Subject"] == "[HIGH] Inspector: CVE-2024-29069 - snapd"


def test_securityhub_event_with_two_findings_sends_two(aws: Aws) -> None:
    counts = route(aws, event(SECURITYHUB_EVENT))
    assert counts["published"] == 2
    sent = aws.published()
    assert len(sent) == 2
    findings = sorted((json.loads(m["Message"])["finding"] for m in sent), key=lambda f: f["id"])
    assert [f["severity"] for f in findings] == ["CRITICAL", "HIGH"]  # S3.5, S3.8
    assert {f["resource"] for f in findings} == {"arn:aws:s3:::model-artifacts"}
    assert findings[1]["time"] == "2024-03-02T10:00:00.000Z"
    assert "/securityhub/home?region=us-east-1#/findings?search=Id%3D" in findings[0]["link"]
    assert {m["MessageAttributes"]["source"]["Value"] for m in sent} == {"aws.securityhub"}
    assert {m["Subject"].split("]")[0] for m in sent} == {"[HIGH", "[CRITICAL"}


def test_securityhub_normalized_severity_is_used_without_label(aws: Aws) -> None:
    evt = event(SECURITYHUB_EVENT)
    evt["detail"]["findings"] = [evt["detail"]["findings"][0]]
    evt["detail"]["findings"][0]["Severity"] = {"Normalized": 95}
    route(aws, evt)
    _, message = only_message(aws)
    assert message["finding"]["severity"] == "CRITICAL"


def test_securityhub_bad_finding_is_dead_lettered_and_the_good_one_routed(aws: Aws) -> None:
    evt = event(SECURITYHUB_EVENT)
    del evt["detail"]["findings"][1]["Severity"]
    counts = route(aws, evt)
    assert counts == {"published": 1, "skipped": 0, "acknowledged": 0, "dead_lettered": 1}
    assert len(aws.published()) == 1
    (letter,) = aws.dead_letters()
    assert letter["reason"].startswith("detail.findings[1]: missing severity")
    assert letter["event"] == evt


def test_config_noncompliant_uses_configured_severity(aws: Aws) -> None:
    route(aws, event(CONFIG_EVENT), NONCOMPLIANT_SEVERITY="CRITICAL")
    envelope, message = only_message(aws)
    finding = message["finding"]
    assert finding == {
        "source": "aws.config",
        "severity": "CRITICAL",
        "title": "AWS::S3::Bucket model-artifacts is NON_COMPLIANT with s3-bucket-ssl-requests-only",
        "resource": "model-artifacts",
        "account": ACCOUNT,
        "region": REGION,
        "id": "s3-bucket-ssl-requests-only/AWS::S3::Bucket/model-artifacts",
        "time": "2024-02-20T07:59:41.405Z",
        "link": "https://us-east-1.console.aws.amazon.com/config/home?region=us-east-1"
        "#/rules/details?configRuleName=s3-bucket-ssl-requests-only",
    }
    assert envelope["Subject"].startswith("[CRITICAL] Config: AWS::S3::Bucket model-artifacts")


def test_config_noncompliant_defaults_to_medium(aws: Aws) -> None:
    counts = route(aws, event(CONFIG_EVENT), SEVERITY_THRESHOLD="MEDIUM")
    assert counts["published"] == 1
    _, message = only_message(aws)
    assert message["finding"]["severity"] == "MEDIUM"


@pytest.mark.parametrize("compliance", ["COMPLIANT", "NOT_APPLICABLE"])
def test_config_compliant_is_informational(aws: Aws, compliance: str) -> None:
    evt = event(CONFIG_EVENT)
    evt["detail"]["newEvaluationResult"]["complianceType"] = compliance
    counts = route(aws, evt, SEVERITY_THRESHOLD="INFORMATIONAL")
    assert counts["published"] == 1
    _, message = only_message(aws)
    assert message["finding"]["severity"] == "INFORMATIONAL"


# ---------------------------------------------------------------------------------------------
# Acknowledged non-compliance (ACKNOWLEDGED_NONCOMPLIANCE)
# ---------------------------------------------------------------------------------------------

VPC_RULE = "platform-dev-lambda-inside-vpc"
DLQ_RULE = "platform-dev-lambda-dlq-check"
CONCURRENCY_RULE = "platform-dev-lambda-concurrency-check"
HELPER = "platform-dev-data-CustomS3AutoDeleteObjectsCustomRes-AbC123dEf456"
OTHER_HELPER = "platform-dev-network-CustomVpcRestrictDefaultSGCustomRe-XyZ789"
WORKLOAD = "platform-dev-genai-GuardedInvoke"
VPC_REASON = "CDK custom-resource provider: runs at deploy time only, outside the VPC by design"
ACKNOWLEDGED = json.dumps(
    {
        VPC_RULE: [{"resource_id": HELPER, "reason": VPC_REASON}],
        DLQ_RULE: [
            {"resource_id": HELPER, "reason": "synchronous CloudFormation call, no DLQ"},
            {"resource_id": OTHER_HELPER, "reason": "synchronous CloudFormation call, no DLQ"},
        ],
    }
)


def lambda_config_event(
    rule: str = VPC_RULE, resource: str = HELPER, compliance: str = "NON_COMPLIANT"
) -> dict[str, Any]:
    """A Config compliance change for a Lambda function (resourceId = the function name)."""
    evt = event(CONFIG_EVENT, configRuleName=rule, resourceId=resource)
    evt["detail"]["resourceType"] = "AWS::Lambda::Function"
    result = evt["detail"]["newEvaluationResult"]
    result["complianceType"] = compliance
    result["evaluationResultIdentifier"]["evaluationResultQualifier"] = {
        "configRuleName": rule,
        "resourceType": "AWS::Lambda::Function",
        "resourceId": resource,
    }
    return evt


def test_acknowledged_noncompliance_is_logged_not_published(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = route(
        aws,
        lambda_config_event(),
        ACKNOWLEDGED_NONCOMPLIANCE=ACKNOWLEDGED,
        SEVERITY_THRESHOLD="INFORMATIONAL",
    )

    assert counts == {"published": 0, "skipped": 0, "acknowledged": 1, "dead_lettered": 0}
    assert aws.published() == []
    assert aws.dead_letters() == []
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert line == {
        "level": "info",
        "message": "acknowledged non-compliance, not published",
        "kind": "acknowledged",
        "rule": VPC_RULE,
        "reason": VPC_REASON,
        "source": "aws.config",
        "severity": "MEDIUM",
        "title": f"AWS::Lambda::Function {HELPER} is NON_COMPLIANT with {VPC_RULE}",
        "resource": HELPER,
        "account": ACCOUNT,
        "region": REGION,
        "id": f"{VPC_RULE}/AWS::Lambda::Function/{HELPER}",
        "time": "2024-02-20T07:59:41.405Z",
        "link": "https://us-east-1.console.aws.amazon.com/config/home?region=us-east-1"
        f"#/rules/details?configRuleName={VPC_RULE}",
    }


def test_same_event_is_published_without_the_acknowledgement(aws: Aws) -> None:
    counts = route(aws, lambda_config_event(), SEVERITY_THRESHOLD="INFORMATIONAL")
    assert counts == {"published": 1, "skipped": 0, "acknowledged": 0, "dead_lettered": 0}
    _, message = only_message(aws)
    assert message["finding"]["resource"] == HELPER


def test_each_resource_listed_under_a_rule_is_acknowledged(aws: Aws) -> None:
    for resource in (HELPER, OTHER_HELPER):
        counts = route(
            aws, lambda_config_event(DLQ_RULE, resource), ACKNOWLEDGED_NONCOMPLIANCE=ACKNOWLEDGED
        )
        assert counts["acknowledged"] == 1, resource
    assert aws.published() == []


def test_rule_and_resource_are_read_from_the_qualifier_too(aws: Aws) -> None:
    evt = lambda_config_event()
    del evt["detail"]["configRuleName"], evt["detail"]["resourceId"]
    counts = route(aws, evt, ACKNOWLEDGED_NONCOMPLIANCE=ACKNOWLEDGED)
    assert counts["acknowledged"] == 1
    assert aws.published() == []


@pytest.mark.parametrize(
    ("rule", "resource"),
    [
        (CONCURRENCY_RULE, HELPER),  # the same resource under a rule that does not list it
        (VPC_RULE, OTHER_HELPER),  # another resource under the rule (listed only under DLQ_RULE)
        (VPC_RULE, WORKLOAD),  # a workload function
        (VPC_RULE, HELPER.lower()),  # matching is exact
        ("other-prefix-lambda-inside-vpc", HELPER),  # the deployed rule name, not the identifier
    ],
)
def test_unlisted_rule_and_resource_pairs_are_published(aws: Aws, rule: str, resource: str) -> None:
    counts = route(
        aws,
        lambda_config_event(rule, resource),
        ACKNOWLEDGED_NONCOMPLIANCE=ACKNOWLEDGED,
        SEVERITY_THRESHOLD="MEDIUM",
    )
    assert counts == {"published": 1, "skipped": 0, "acknowledged": 0, "dead_lettered": 0}
    envelope, message = only_message(aws)
    assert message["finding"]["resource"] == resource
    assert message["finding"]["severity"] == "MEDIUM"
    assert envelope["Subject"].startswith("[MEDIUM] Config: AWS::Lambda::Function")


@pytest.mark.parametrize("compliance", ["COMPLIANT", "NOT_APPLICABLE", "INSUFFICIENT_DATA"])
def test_other_results_of_an_acknowledged_pair_are_routed_as_before(
    aws: Aws, compliance: str
) -> None:
    counts = route(
        aws,
        lambda_config_event(compliance=compliance),
        ACKNOWLEDGED_NONCOMPLIANCE=ACKNOWLEDGED,
        SEVERITY_THRESHOLD="INFORMATIONAL",
    )
    assert counts == {"published": 1, "skipped": 0, "acknowledged": 0, "dead_lettered": 0}
    _, message = only_message(aws)
    assert message["finding"]["severity"] == "INFORMATIONAL"
    assert f"is {compliance} with {VPC_RULE}" in message["finding"]["title"]


def test_compliant_result_below_threshold_is_still_skipped(aws: Aws) -> None:
    counts = route(
        aws, lambda_config_event(compliance="COMPLIANT"), ACKNOWLEDGED_NONCOMPLIANCE=ACKNOWLEDGED
    )
    assert counts == {"published": 0, "skipped": 1, "acknowledged": 0, "dead_lettered": 0}


def test_acknowledgements_apply_to_config_events_only(aws: Aws) -> None:
    evt = event(SECURITYHUB_EVENT)
    evt["detail"]["findings"] = [evt["detail"]["findings"][0]]
    evt["detail"]["findings"][0]["Resources"][0]["Id"] = HELPER
    evt["detail"]["findings"][0]["GeneratorId"] = VPC_RULE
    counts = route(aws, evt, ACKNOWLEDGED_NONCOMPLIANCE=ACKNOWLEDGED)
    assert counts["published"] == 1
    assert counts["acknowledged"] == 0


def test_malformed_config_event_is_dead_lettered_even_when_acknowledged(aws: Aws) -> None:
    evt = lambda_config_event()
    del evt["detail"]["awsAccountId"]
    del evt["account"]
    counts = route(aws, evt, ACKNOWLEDGED_NONCOMPLIANCE=ACKNOWLEDGED)
    assert counts == {"published": 0, "skipped": 0, "acknowledged": 0, "dead_lettered": 1}
    (letter,) = aws.dead_letters()
    assert letter["reason"] == "missing required field: account"


def _entry(resource_id: Any = HELPER, reason: Any = "why") -> dict[str, Any]:
    return {"resource_id": resource_id, "reason": reason}


ACK_ERRORS = [
    ("not json", "not json", "ACKNOWLEDGED_NONCOMPLIANCE='not json' is not valid JSON"),
    ("truncated", '{"r": [', "ACKNOWLEDGED_NONCOMPLIANCE='{\"r\": [' is not valid JSON"),
    ("list", "[]", "ACKNOWLEDGED_NONCOMPLIANCE must be a JSON object, got list"),
    ("string", '"r"', "ACKNOWLEDGED_NONCOMPLIANCE must be a JSON object, got str"),
    ("null", "null", "ACKNOWLEDGED_NONCOMPLIANCE must be a JSON object, got NoneType"),
    ("rule value object", {"r": {}}, "ACKNOWLEDGED_NONCOMPLIANCE['r'] must be a list, got dict"),
    ("rule value string", {"r": HELPER}, "ACKNOWLEDGED_NONCOMPLIANCE['r'] must be a list, got str"),
    ("entry string", {"r": [HELPER]}, "ACKNOWLEDGED_NONCOMPLIANCE['r'][0] must be an object with exactly the keys resource_id and reason, got str"),
    ("no reason", {"r": [{"resource_id": HELPER}]}, "['r'][0] must be an object with exactly the keys resource_id and reason, got ['resource_id']"),
    ("camelCase key", {"r": [{"resourceId": HELPER, "reason": "why"}]}, "got ['reason', 'resourceId']"),
    ("extra key", {"r": [{**_entry(), "until": "2027"}]}, "got ['reason', 'resource_id', 'until']"),
    ("empty reason", {"r": [_entry(reason="")]}, "ACKNOWLEDGED_NONCOMPLIANCE['r'][0].reason='' must be a non-empty string"),
    ("blank reason", {"r": [_entry(reason="  ")]}, "['r'][0].reason='  ' must be a non-empty string"),
    ("reason not string", {"r": [_entry(reason=5)]}, "['r'][0].reason=5 must be a non-empty string"),
    ("empty resource", {"r": [_entry(resource_id="")]}, "ACKNOWLEDGED_NONCOMPLIANCE['r'][0].resource_id='' must be a non-empty string without surrounding spaces"),
    ("padded resource", {"r": [_entry(resource_id=f" {HELPER}")]}, "without surrounding spaces, exactly as Config reports it"),
    ("resource not string", {"r": [_entry(resource_id=42)]}, "['r'][0].resource_id=42 must be a non-empty string"),
    ("second entry bad", {"r": [_entry(), _entry(OTHER_HELPER, None)]}, "['r'][1].reason=None must be a non-empty string"),
    ("empty rule", {"": [_entry()]}, "ACKNOWLEDGED_NONCOMPLIANCE: rule name '' must be non-empty, without surrounding spaces"),
    ("padded rule", {f"{VPC_RULE} ": [_entry()]}, f"rule name '{VPC_RULE} ' must be non-empty"),
    ("duplicate rule", '{"r": [], "r": []}', "ACKNOWLEDGED_NONCOMPLIANCE: key 'r' appears twice in one object; list it once"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "value", "message"), ACK_ERRORS, ids=[c[0] for c in ACK_ERRORS])
def test_malformed_acknowledgements_raise(case: str, value: Any, message: str) -> None:
    env = {
        "TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:t",
        "DLQ_URL": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q",
        "SEVERITY_THRESHOLD": "HIGH",
        "ACKNOWLEDGED_NONCOMPLIANCE": value if isinstance(value, str) else json.dumps(value),
    }
    with pytest.raises(mod.ConfigurationError, match=re.escape(message)):
        mod.load_settings(env)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {}),
        ("", {}),
        ("  \n", {}),
        ("{}", {}),
        (json.dumps({VPC_RULE: []}), {VPC_RULE: {}}),
        (
            json.dumps({VPC_RULE: [_entry(reason="  deploy-time helper ")]}),
            {VPC_RULE: {HELPER: "deploy-time helper"}},
        ),
        (
            json.dumps({VPC_RULE: [_entry(reason="a"), _entry(reason="b"), _entry(reason="a")]}),
            {VPC_RULE: {HELPER: "a; b"}},
        ),
        (
            ACKNOWLEDGED,
            {
                VPC_RULE: {HELPER: VPC_REASON},
                DLQ_RULE: {
                    HELPER: "synchronous CloudFormation call, no DLQ",
                    OTHER_HELPER: "synchronous CloudFormation call, no DLQ",
                },
            },
        ),
    ],
)
def test_acknowledgements_are_parsed(value: str | None, expected: dict[str, Any]) -> None:
    env = {} if value is None else {"ACKNOWLEDGED_NONCOMPLIANCE": value}
    assert settings.acknowledged_noncompliance(env) == expected


def test_handler_with_acknowledgements_routes_the_rest(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in aws.env(
        SEVERITY_THRESHOLD="MEDIUM", ACKNOWLEDGED_NONCOMPLIANCE=ACKNOWLEDGED
    ).items():
        monkeypatch.setenv(name, value)
    assert mod.handler(lambda_config_event(), None)["acknowledged"] == 1
    assert mod.handler(lambda_config_event(CONCURRENCY_RULE), None)["published"] == 1
    (sent,) = aws.published()
    assert json.loads(sent["Message"])["finding"]["id"].startswith(CONCURRENCY_RULE)


def test_handler_malformed_acknowledgements_raise_before_routing(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in aws.env(ACKNOWLEDGED_NONCOMPLIANCE='{"r": "x"}').items():
        monkeypatch.setenv(name, value)
    with pytest.raises(mod.ConfigurationError, match="ACKNOWLEDGED_NONCOMPLIANCE"):
        mod.handler(event(GUARDDUTY_EVENT), None)
    assert aws.published() == []
    assert aws.dead_letters() == []


# ---------------------------------------------------------------------------------------------
# Threshold
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("evt", "threshold"),
    [
        (event(GUARDDUTY_EVENT, severity=5.0), "HIGH"),
        (event(MACIE_EVENT, severity={"score": 1, "description": "Low"}), "MEDIUM"),
        (event(INSPECTOR_EVENT, severity="UNTRIAGED"), "LOW"),
        (event(CONFIG_EVENT), "HIGH"),  # NON_COMPLIANT -> MEDIUM by default
        (event(MACIE_EVENT, severity={"score": 2, "description": "Medium"}), "HIGH"),
    ],
)
def test_below_threshold_sends_nothing(aws: Aws, evt: dict[str, Any], threshold: str) -> None:
    counts = route(aws, evt, SEVERITY_THRESHOLD=threshold)
    assert counts == {"published": 0, "skipped": 1, "acknowledged": 0, "dead_lettered": 0}
    assert aws.published() == []
    assert aws.dead_letters() == []


def test_securityhub_batch_is_filtered_per_finding(aws: Aws) -> None:
    counts = route(aws, event(SECURITYHUB_EVENT), SEVERITY_THRESHOLD="CRITICAL")
    assert counts == {"published": 1, "skipped": 1, "acknowledged": 0, "dead_lettered": 0}
    _, message = only_message(aws)
    assert message["finding"]["severity"] == "CRITICAL"


def test_finding_at_threshold_is_published(aws: Aws) -> None:
    counts = route(aws, event(GUARDDUTY_EVENT, severity=7.0), SEVERITY_THRESHOLD="high")
    assert counts["published"] == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "LOW"),
        (1.0, "LOW"),
        (3.9, "LOW"),
        (4.0, "MEDIUM"),
        (6.9, "MEDIUM"),
        (7.0, "HIGH"),
        (8.9, "HIGH"),
        (9.0, "CRITICAL"),
        (10, "CRITICAL"),
        ("8.5", "HIGH"),
    ],
)
def test_guardduty_severity_mapping(value: Any, expected: str) -> None:
    assert fields.guardduty_severity(value) == expected


@pytest.mark.parametrize("value", [None, -0.1, 10.1, "high", True, float("nan"), [8]])
def test_guardduty_severity_rejects(value: Any) -> None:
    with pytest.raises(mod.InvalidFinding):
        fields.guardduty_severity(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "INFORMATIONAL"), (1, "LOW"), (39, "LOW"), (40, "MEDIUM"), (70, "HIGH"), (90, "CRITICAL")],
)
def test_securityhub_normalized_mapping(value: int, expected: str) -> None:
    assert fields.securityhub_normalized_severity(value) == expected


# ---------------------------------------------------------------------------------------------
# Malformed events: dead-lettered with a reason, no exception, nothing published
# ---------------------------------------------------------------------------------------------


def _without_detail(sample: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(sample)
    del copied["detail"]
    return copied


def _config_without_compliance() -> dict[str, Any]:
    evt = event(CONFIG_EVENT)
    del evt["detail"]["newEvaluationResult"]["complianceType"]
    return evt


def _unknown_source() -> dict[str, Any]:
    evt = event(GUARDDUTY_EVENT)
    evt["source"] = "aws.health"
    return evt


def _unknown_detail_type() -> dict[str, Any]:
    evt = event(GUARDDUTY_EVENT)
    evt["detail-type"] = "GuardDuty Runtime Protection Unhealthy"
    return evt


MALFORMED = [
    ("list event", [GUARDDUTY_EVENT], "event is not a JSON object (got list)"),
    ("string event", "not an event", "event is not a JSON object (got str)"),
    ("null event", None, "event is not a JSON object (got NoneType)"),
    ("unknown source", _unknown_source(), "unsupported event: source='aws.health'"),
    ("unknown detail-type", _unknown_detail_type(), "unsupported event: source='aws.guardduty'"),
    ("missing detail", _without_detail(GUARDDUTY_EVENT), "missing detail"),
    ("detail not object", {**GUARDDUTY_EVENT, "detail": "x"}, "missing detail"),
    ("guardduty no severity", event(GUARDDUTY_EVENT, severity=None), "missing severity"),
    ("guardduty bad severity", event(GUARDDUTY_EVENT, severity=42), "outside 0-10"),
    ("macie no severity", event(MACIE_EVENT, severity=None), "missing severity"),
    ("macie bad label", event(MACIE_EVENT, severity={"description": "Severe"}), "unrecognised"),
    ("inspector no severity", event(INSPECTOR_EVENT, severity=None), "missing severity"),
    ("config no compliance", _config_without_compliance(), "missing severity"),
    ("guardduty no id", event(GUARDDUTY_EVENT, id=None), "missing required field: detail.id"),
    ("inspector no arn", event(INSPECTOR_EVENT, findingArn=None), "detail.findingArn"),
    ("macie no title", event(MACIE_EVENT, title=None, type=None), "detail.title"),
    (
        "inspector no resource",
        {**event(INSPECTOR_EVENT, resources=None), "resources": []},
        "detail.resources",
    ),
    ("securityhub no findings", event(SECURITYHUB_EVENT, findings=[]), "detail.findings"),
    ("securityhub findings not list", event(SECURITYHUB_EVENT, findings={}), "detail.findings"),
    (
        "securityhub finding not object",
        event(SECURITYHUB_EVENT, findings=["x"]),
        "detail.findings[0]: finding is not a JSON object",
    ),
]


@pytest.mark.parametrize(("case", "evt", "reason"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_event_goes_to_dlq(aws: Aws, case: str, evt: Any, reason: str) -> None:
    counts = route(aws, evt)
    assert counts == {"published": 0, "skipped": 0, "acknowledged": 0, "dead_lettered": 1}, case
    (letter,) = aws.dead_letters()
    assert reason in letter["reason"]
    assert letter["event"] == evt
    assert aws.published() == []


def test_oversized_event_is_dead_lettered_truncated(aws: Aws) -> None:
    evt = _unknown_source()
    evt["detail"]["padding"] = "x" * (300 * 1024)
    route(aws, evt)
    (letter,) = aws.dead_letters()
    assert letter["event_truncated"] is True
    assert letter["reason"].startswith("unsupported event")
    assert isinstance(letter["event"], str)


# ---------------------------------------------------------------------------------------------
# Transient failures raise
# ---------------------------------------------------------------------------------------------


def test_publish_to_missing_topic_raises(aws: Aws) -> None:
    missing = f"arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic"
    with pytest.raises(ClientError):
        route(aws, event(GUARDDUTY_EVENT), TOPIC_ARN=missing)
    assert aws.dead_letters() == []


def test_dlq_failure_raises(aws: Aws) -> None:
    missing = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/no-such-queue"
    with pytest.raises(ClientError):
        route(aws, _unknown_source(), DLQ_URL=missing)


# ---------------------------------------------------------------------------------------------
# Subject formatting
# ---------------------------------------------------------------------------------------------


def test_subject_is_short_ascii_one_line() -> None:
    finding = mod.Finding(
        source="aws.macie",
        severity="CRITICAL",
        title="Café\nsecrets " + "x" * 300,
        resource="r",
        account=ACCOUNT,
        region=REGION,
        id="i",
        time="t",
        link="l",
    )
    subject = mod.make_subject(finding)
    assert len(subject) <= 99
    assert subject.startswith("[CRITICAL] Macie: Cafe secrets xxx")
    assert subject.endswith("...")
    assert subject.isascii() and "\n" not in subject


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SEVERITY_THRESHOLD": "SEVERE"}, "SEVERITY_THRESHOLD='SEVERE' is invalid"),
        ({"SEVERITY_THRESHOLD": ""}, "SEVERITY_THRESHOLD is not set"),
        ({"NONCOMPLIANT_SEVERITY": "bad"}, "NONCOMPLIANT_SEVERITY='bad' is invalid"),
        ({"TOPIC_ARN": "my-topic"}, "TOPIC_ARN='my-topic' is invalid"),
        ({"DLQ_URL": ""}, "DLQ_URL='' is invalid"),
    ],
)
def test_invalid_configuration_raises(overrides: dict[str, str], message: str) -> None:
    env = {
        "TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:t",
        "DLQ_URL": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q",
        "SEVERITY_THRESHOLD": "HIGH",
        **overrides,
    }
    with pytest.raises(mod.ConfigurationError, match=message.replace("'", ".")):
        mod.load_settings(env)


def test_missing_threshold_raises() -> None:
    env = {
        "TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:t",
        "DLQ_URL": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q",
    }
    with pytest.raises(mod.ConfigurationError, match="SEVERITY_THRESHOLD is not set"):
        mod.load_settings(env)


def test_config_defaults_and_normalises_case() -> None:
    config = mod.load_settings(
        {
            "TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:t",
            "DLQ_URL": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q",
            "SEVERITY_THRESHOLD": " medium ",
        }
    )
    assert config.severity_threshold == "MEDIUM"
    assert config.noncompliant_severity == "MEDIUM"


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def test_handler_end_to_end(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in aws.env().items():
        monkeypatch.setenv(name, value)
    assert mod.handler(event(SECURITYHUB_EVENT), None)["published"] == 2
    assert mod.handler("garbage", None) == {
        "published": 0,
        "skipped": 0,
        "acknowledged": 0,
        "dead_lettered": 1,
    }
    assert len(aws.published()) == 2
    assert len(aws.dead_letters()) == 1


def test_handler_bad_threshold_raises_before_routing(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in aws.env(SEVERITY_THRESHOLD="URGENT").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(mod.ConfigurationError):
        mod.handler(event(GUARDDUTY_EVENT), None)
    assert aws.published() == []
    assert aws.dead_letters() == []


def test_logs_are_json_lines(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    route(aws, event(GUARDDUTY_EVENT, severity=2.0))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[-1]["level"] == "info"
    assert lines[-1]["message"] == "finding below threshold, skipped"
    assert lines[-1]["severity"] == "LOW"
