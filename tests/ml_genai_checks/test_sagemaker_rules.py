"""The SageMaker rules (ml_genai_checks.rules.sagemaker and .sagemaker_mlops) on fixture templates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ml_genai_checks.model import REGISTRY, Outcome, Verdict
from ml_genai_checks.testing import run_rule, template

KEY = {"Fn::GetAtt": ["Key", "Arn"]}
VPC = {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
NO_VALUE_IF = {"Fn::If": ["UseKey", KEY, {"Ref": "AWS::NoValue"}]}
UNKNOWN = {"Ref": "SomeParameter"}


def verdict(rule_id: str, type_: str, props: dict[str, Any], **extra: Any) -> Verdict:
    tpl = template({"R": {"Type": type_, "Properties": props}}, extra=extra or None)
    results = run_rule(rule_id, tpl)
    assert [logical_id for logical_id, _ in results] == ["R"]
    return results[0][1]


def outcome(rule_id: str, type_: str, props: dict[str, Any], **extra: Any) -> Outcome:
    return verdict(rule_id, type_, props, **extra).outcome


# ----------------------------------------------------------------- one row per simple rule
# (rule, type, compliant properties, non-compliant properties, word in message, unresolvable)

DOMAIN = "AWS::SageMaker::Domain"
NOTEBOOK = "AWS::SageMaker::NotebookInstance"
MODEL = "AWS::SageMaker::Model"
ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"
FEATURE_GROUP = "AWS::SageMaker::FeatureGroup"
CAPTURE = {"DestinationS3Uri": "s3://b/c", "InitialSamplingPercentage": 10, "CaptureOptions": []}
OFFLINE = {"S3StorageConfig": {"S3Uri": "s3://b/f"}}

# fmt: off
SIMPLE = [
    ("MLGenAI-SageMakerDomainVpcOnly", DOMAIN,
     {"AppNetworkAccessType": "VpcOnly"}, {"AppNetworkAccessType": "PublicInternetOnly"},
     "AppNetworkAccessType", {"AppNetworkAccessType": UNKNOWN}),
    ("MLGenAI-SageMakerDomainVpcOnly", DOMAIN,
     {"AppNetworkAccessType": "VpcOnly"}, {}, "PublicInternetOnly", None),
    ("MLGenAI-SageMakerDomainEncrypted", DOMAIN,
     {"KmsKeyId": KEY}, {"AuthMode": "IAM"}, "KmsKeyId", {"KmsKeyId": NO_VALUE_IF}),
    ("MLGenAI-SageMakerNotebookNoDirectInternet", NOTEBOOK,
     {"DirectInternetAccess": "Disabled"}, {"DirectInternetAccess": "Enabled"},
     "DirectInternetAccess", {"DirectInternetAccess": UNKNOWN}),
    ("MLGenAI-SageMakerNotebookNoDirectInternet", NOTEBOOK,
     {"DirectInternetAccess": "Disabled"}, {}, "defaults to Enabled", None),
    ("MLGenAI-SageMakerNotebookNoRootAccess", NOTEBOOK,
     {"RootAccess": "Disabled"}, {"RootAccess": "Enabled"}, "RootAccess", {"RootAccess": UNKNOWN}),
    ("MLGenAI-SageMakerNotebookEncrypted", NOTEBOOK,
     {"KmsKeyId": {"Ref": "Key"}}, {"KmsKeyId": ""}, "KmsKeyId", {"KmsKeyId": NO_VALUE_IF}),
    ("MLGenAI-SageMakerNotebookInVpc", NOTEBOOK,
     {"SubnetId": {"Ref": "Subnet"}}, {}, "SubnetId",
     {"SubnetId": {"Fn::If": ["InVpc", "subnet-1", {"Ref": "AWS::NoValue"}]}}),
    ("MLGenAI-SageMakerModelNetworkIsolation", MODEL,
     {"EnableNetworkIsolation": True}, {"EnableNetworkIsolation": False},
     "EnableNetworkIsolation", {"EnableNetworkIsolation": UNKNOWN}),
    ("MLGenAI-SageMakerModelNetworkIsolation", MODEL,
     {"EnableNetworkIsolation": "true"}, {}, "EnableNetworkIsolation", None),
    ("MLGenAI-SageMakerModelInVpc", MODEL,
     {"VpcConfig": VPC}, {}, "VpcConfig", {"VpcConfig": {"Fn::If": ["V", VPC, {"Ref": "AWS::NoValue"}]}}),
    ("MLGenAI-SageMakerEndpointConfigEncrypted", ENDPOINT_CONFIG,
     {"KmsKeyId": "alias/endpoints"}, {"ProductionVariants": []}, "KmsKeyId", {"KmsKeyId": NO_VALUE_IF}),
    ("MLGenAI-SageMakerEndpointDataCaptureEncrypted", ENDPOINT_CONFIG,
     {"DataCaptureConfig": {**CAPTURE, "KmsKeyId": KEY}}, {"DataCaptureConfig": CAPTURE},
     "DataCaptureConfig.KmsKeyId", {"DataCaptureConfig": {"Fn::If": ["C", CAPTURE, CAPTURE]}}),
    ("MLGenAI-SageMakerFeatureGroupOfflineStoreEncrypted", FEATURE_GROUP,
     {"OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": "s3://b/f", "KmsKeyId": KEY}}},
     {"OfflineStoreConfig": OFFLINE}, "OfflineStoreConfig.S3StorageConfig.KmsKeyId",
     {"OfflineStoreConfig": {"S3StorageConfig": UNKNOWN}}),
    ("MLGenAI-SageMakerFeatureGroupOnlineStoreEncrypted", FEATURE_GROUP,
     {"OnlineStoreConfig": {"EnableOnlineStore": True, "SecurityConfig": {"KmsKeyId": KEY}}},
     {"OnlineStoreConfig": {"EnableOnlineStore": True}}, "OnlineStoreConfig.SecurityConfig.KmsKeyId",
     {"OnlineStoreConfig": {"EnableOnlineStore": UNKNOWN}}),
]
# fmt: on
IDS = [f"{row[0].removeprefix('MLGenAI-')}-{index}" for index, row in enumerate(SIMPLE)]


@pytest.mark.parametrize(("rule_id", "type_", "good", "bad", "word", "unknown"), SIMPLE, ids=IDS)
def test_compliant_fixture_passes(rule_id, type_, good, bad, word, unknown):
    assert outcome(rule_id, type_, good) is Outcome.PASS


@pytest.mark.parametrize(("rule_id", "type_", "good", "bad", "word", "unknown"), SIMPLE, ids=IDS)
def test_non_compliant_fixture_fails_naming_the_property(rule_id, type_, good, bad, word, unknown):
    found = verdict(rule_id, type_, bad)
    assert found.outcome is Outcome.FAIL
    assert word in found.message


UNRESOLVABLE = [(row[0], row[1], row[5]) for row in SIMPLE if row[5] is not None]


@pytest.mark.parametrize(("rule_id", "type_", "unknown"), UNRESOLVABLE, ids=lambda v: str(v)[:40])
def test_unresolvable_value_is_not_applicable(rule_id, type_, unknown):
    assert outcome(rule_id, type_, unknown) is Outcome.NOT_APPLICABLE


# ----------------------------------------------------------------- intrinsics that do resolve


def test_ref_to_single_allowed_value_parameter_resolves():
    rule_id = "MLGenAI-SageMakerDomainVpcOnly"
    props = {"AppNetworkAccessType": {"Ref": "Access"}}
    vpc_only = {"Parameters": {"Access": {"Type": "String", "AllowedValues": ["VpcOnly"]}}}
    public = {"Parameters": {"Access": {"Type": "String", "AllowedValues": ["PublicInternetOnly"]}}}
    several = {"Parameters": {"Access": {"Type": "String", "AllowedValues": ["VpcOnly", "X"]}}}
    assert outcome(rule_id, DOMAIN, props, **vpc_only) is Outcome.PASS
    assert outcome(rule_id, DOMAIN, props, **public) is Outcome.FAIL
    assert outcome(rule_id, DOMAIN, props, **several) is Outcome.NOT_APPLICABLE


def test_fn_join_with_single_allowed_value_parameter_resolves():
    rule_id = "MLGenAI-SageMakerNotebookNoDirectInternet"
    joined = {"DirectInternetAccess": {"Fn::Join": ["", [{"Ref": "Prefix"}, "abled"]]}}
    dis = {"Parameters": {"Prefix": {"Type": "String", "AllowedValues": ["Dis"]}}}
    en = {"Parameters": {"Prefix": {"Type": "String", "AllowedValues": ["En"]}}}
    assert outcome(rule_id, NOTEBOOK, joined, **dis) is Outcome.PASS
    assert outcome(rule_id, NOTEBOOK, joined, **en) is Outcome.FAIL
    assert outcome(rule_id, NOTEBOOK, joined) is Outcome.NOT_APPLICABLE


def test_key_from_single_allowed_value_parameter_that_is_empty_is_absent():
    params = {"Parameters": {"Key": {"Type": "String", "AllowedValues": [""]}}}
    found = outcome(
        "MLGenAI-SageMakerNotebookEncrypted", NOTEBOOK, {"KmsKeyId": {"Ref": "Key"}}, **params
    )
    assert found is Outcome.FAIL


def test_string_false_network_isolation_fails():
    found = verdict(
        "MLGenAI-SageMakerModelNetworkIsolation", MODEL, {"EnableNetworkIsolation": "false"}
    )
    assert found.outcome is Outcome.FAIL
    assert "EnableNetworkIsolation" in found.message


# ----------------------------------------------------------------- optional blocks not configured


@pytest.mark.parametrize(
    ("rule_id", "type_", "props"),
    [
        ("MLGenAI-SageMakerEndpointDataCaptureEncrypted", ENDPOINT_CONFIG, {"KmsKeyId": KEY}),
        (
            "MLGenAI-SageMakerEndpointDataCaptureEncrypted",
            ENDPOINT_CONFIG,
            {"DataCaptureConfig": {**CAPTURE, "EnableCapture": False}},
        ),
        ("MLGenAI-SageMakerFeatureGroupOfflineStoreEncrypted", FEATURE_GROUP, {}),
        ("MLGenAI-SageMakerFeatureGroupOnlineStoreEncrypted", FEATURE_GROUP, {}),
        (
            "MLGenAI-SageMakerFeatureGroupOnlineStoreEncrypted",
            FEATURE_GROUP,
            {"OnlineStoreConfig": {"EnableOnlineStore": False}},
        ),
        (
            "MLGenAI-SageMakerFeatureGroupOnlineStoreEncrypted",
            FEATURE_GROUP,
            {"OnlineStoreConfig": {}},
        ),
    ],
)
def test_rule_does_not_apply_when_the_feature_is_off(rule_id, type_, props):
    assert outcome(rule_id, type_, props) is Outcome.NOT_APPLICABLE


def test_data_capture_enabled_explicitly_still_needs_a_key():
    props = {"DataCaptureConfig": {**CAPTURE, "EnableCapture": True}}
    assert (
        outcome("MLGenAI-SageMakerEndpointDataCaptureEncrypted", ENDPOINT_CONFIG, props)
        is Outcome.FAIL
    )


# ----------------------------------------------------------------- monitoring job definitions

OUTPUT = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQualityJobOutputConfig",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQualityJobOutputConfig",
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBiasJobOutputConfig",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "ModelExplainabilityJobOutputConfig",
}
SCHEDULE = "AWS::SageMaker::MonitoringSchedule"
JOB_TYPES = [*OUTPUT, SCHEDULE]
JOB_RULES = {  # rule: (block, leaf)
    "MLGenAI-SageMakerMonitoringJobNetworkIsolation": ("network", "EnableNetworkIsolation"),
    "MLGenAI-SageMakerMonitoringJobInterContainerEncryption": (
        "network",
        "EnableInterContainerTrafficEncryption",
    ),
    "MLGenAI-SageMakerMonitoringJobInVpc": ("network", "VpcConfig"),
    "MLGenAI-SageMakerMonitoringJobVolumeEncrypted": ("resources", "VolumeKmsKeyId"),
    "MLGenAI-SageMakerMonitoringJobOutputEncrypted": ("output", "KmsKeyId"),
}


def job_blocks(type_: str) -> dict[str, list[str]]:
    base = ["MonitoringScheduleConfig", "MonitoringJobDefinition"] if type_ == SCHEDULE else []
    resources = "MonitoringResources" if type_ == SCHEDULE else "JobResources"
    output = "MonitoringOutputConfig" if type_ == SCHEDULE else OUTPUT[type_]
    return {
        "network": [*base, "NetworkConfig"],
        "resources": [*base, resources, "ClusterConfig"],
        "output": [*base, output],
    }


def compliant_job(type_: str) -> dict[str, Any]:
    job = {
        "NetworkConfig": {
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": "true",
            "VpcConfig": VPC,
        },
        "ClusterConfig": {
            "InstanceCount": 1,
            "InstanceType": "ml.m5.large",
            "VolumeSizeInGB": 20,
            "VolumeKmsKeyId": KEY,
        },
        "Output": {"KmsKeyId": KEY, "MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://b/o"}}]},
        "RoleArn": "arn:aws:iam::123456789012:role/monitor",
    }
    blocks = job_blocks(type_)
    props: dict[str, Any] = {}
    for name, source in (("network", "NetworkConfig"), ("output", "Output")):
        node = props
        for key in blocks[name][:-1]:
            node = node.setdefault(key, {})
        node[blocks[name][-1]] = job[source]
    node = props
    for key in blocks["resources"][:-1]:
        node = node.setdefault(key, {})
    node["ClusterConfig"] = job["ClusterConfig"]
    return props


def at(props: dict[str, Any], path: list[str]) -> dict[str, Any]:
    node = props
    for key in path:
        node = node[key]
    return node


JOB_CASES = [(rule_id, type_) for rule_id in JOB_RULES for type_ in JOB_TYPES]
JOB_IDS = [
    f"{r.removeprefix('MLGenAI-SageMakerMonitoringJob')}-{t.split('::')[-1]}" for r, t in JOB_CASES
]


@pytest.mark.parametrize(("rule_id", "type_"), JOB_CASES, ids=JOB_IDS)
def test_compliant_job_passes(rule_id, type_):
    assert outcome(rule_id, type_, compliant_job(type_)) is Outcome.PASS


@pytest.mark.parametrize(("rule_id", "type_"), JOB_CASES, ids=JOB_IDS)
def test_job_missing_the_setting_fails_naming_it(rule_id, type_):
    block, leaf = JOB_RULES[rule_id]
    props = compliant_job(type_)
    del at(props, job_blocks(type_)[block])[leaf]
    found = verdict(rule_id, type_, props)
    assert found.outcome is Outcome.FAIL
    assert leaf in found.message
    expected_block = job_blocks(type_)[block][-1]
    assert expected_block in found.message


@pytest.mark.parametrize(("rule_id", "type_"), JOB_CASES, ids=JOB_IDS)
def test_job_with_unresolvable_block_is_not_applicable(rule_id, type_):
    block, _ = JOB_RULES[rule_id]
    props = compliant_job(type_)
    path = job_blocks(type_)[block]
    parent = at(props, path[:-1])
    parent[path[-1]] = {"Fn::If": ["Cond", parent[path[-1]], {"Ref": "AWS::NoValue"}]}
    assert outcome(rule_id, type_, props) is Outcome.NOT_APPLICABLE


@pytest.mark.parametrize(
    "rule_id",
    [
        r
        for r, (block, _) in JOB_RULES.items()
        if block == "network" and r != "MLGenAI-SageMakerMonitoringJobInVpc"
    ],
)
def test_job_flag_set_false_or_to_a_reference(rule_id):
    _, leaf = JOB_RULES[rule_id]
    type_ = "AWS::SageMaker::ModelBiasJobDefinition"
    props = compliant_job(type_)
    props["NetworkConfig"][leaf] = False
    assert outcome(rule_id, type_, props) is Outcome.FAIL
    props["NetworkConfig"][leaf] = UNKNOWN
    assert outcome(rule_id, type_, props) is Outcome.NOT_APPLICABLE


@pytest.mark.parametrize("rule_id", list(JOB_RULES))
def test_schedule_using_a_named_job_definition_is_checked_there(rule_id):
    props = {
        "MonitoringScheduleName": "nightly",
        "MonitoringScheduleConfig": {
            "MonitoringJobDefinitionName": {"Fn::GetAtt": ["Quality", "JobDefinitionName"]},
            "MonitoringType": "DataQuality",
        },
    }
    found = verdict(rule_id, SCHEDULE, props)
    assert found.outcome is Outcome.NOT_APPLICABLE
    assert "separate job definition" in found.message


# ----------------------------------------------------------------- model package group policy

MPG = "AWS::SageMaker::ModelPackageGroup"
MPG_RULE = "MLGenAI-SageMakerModelPackageGroupNotPublic"
ACTIONS = ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"]


def mpg_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: Any, condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    statement = {
        "Sid": "Share",
        "Effect": "Allow",
        "Principal": principal,
        "Action": ACTIONS,
        "Resource": "*",
        **extra,
    }
    if condition is not None:
        statement["Condition"] = condition
    return statement


def mpg(policy: Any) -> dict[str, Any]:
    return {"ModelPackageGroupName": "models", "ModelPackageGroupPolicy": policy}


ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}


@pytest.mark.parametrize(
    "props",
    [
        {"ModelPackageGroupName": "models"},
        mpg(mpg_policy(allow({"AWS": "arn:aws:iam::111122223333:root"}))),
        mpg(mpg_policy(allow("*", ORG))),
        mpg(
            mpg_policy(
                allow({"AWS": "*"}, {"StringEquals": {"aws:PrincipalAccount": ["111122223333"]}})
            )
        ),
        mpg(
            mpg_policy(
                allow("*", {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-a/r-b/*"]}})
            )
        ),
        mpg(
            mpg_policy(
                {"Effect": "Deny", "Principal": "*", "Action": "sagemaker:*", "Resource": "*"}
            )
        ),
        mpg(json.dumps(mpg_policy(allow({"AWS": ["arn:aws:iam::111122223333:root"]})))),
        mpg(
            mpg_policy(
                allow("*", {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}})
            )
        ),
    ],
    ids=[
        "no-policy",
        "account",
        "star-org",
        "star-account",
        "star-org-paths",
        "deny",
        "json-string",
        "source-account-ref",
    ],
)
def test_model_package_group_policy_passes(props):
    assert outcome(MPG_RULE, MPG, props) is Outcome.PASS


@pytest.mark.parametrize(
    "policy",
    [
        mpg_policy(allow("*")),
        mpg_policy(allow({"AWS": "*"})),
        mpg_policy(allow({"AWS": ["arn:aws:iam::111122223333:root", "*"]})),
        mpg_policy(allow("*", {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}})),
        mpg_policy(allow("*", {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123"}})),
        mpg_policy(allow("*", {"StringLike": {"aws:PrincipalArn": "*"}})),
        mpg_policy(allow("*", {"Bool": {"aws:SecureTransport": "true"}})),
        json.dumps(mpg_policy(allow({"AWS": "*"}))),
        {"Statement": allow("*")},
        {
            "Fn::Join": [
                "",
                [
                    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},'
                    '"Action":"sagemaker:DescribeModelPackage","Resource":"',
                    {"Fn::GetAtt": ["Group", "ModelPackageGroupArn"]},
                    '"}]}',
                ],
            ]
        },
    ],
    ids=[
        "star",
        "aws-star",
        "aws-list-star",
        "not-equals",
        "if-exists",
        "arn-star",
        "unrelated-condition",
        "json-string",
        "single-statement",
        "fn-join-string",
    ],
)
def test_model_package_group_public_policy_fails(policy):
    found = verdict(MPG_RULE, MPG, mpg(policy))
    assert found.outcome is Outcome.FAIL
    assert "ModelPackageGroupPolicy" in found.message


@pytest.mark.parametrize(
    "policy",
    [
        UNKNOWN,
        mpg_policy(allow({"AWS": UNKNOWN})),
        mpg_policy(allow("*", UNKNOWN)),
        mpg_policy({**allow("*"), "Effect": UNKNOWN}),
        {"Fn::Sub": '{"Statement":[{"Effect":"Allow","Principal":"${Who}","Action":"*"}]}'},
        "not json",
    ],
    ids=["whole-ref", "principal-ref", "condition-ref", "effect-ref", "sub-principal", "not-json"],
)
def test_model_package_group_unresolvable_policy_is_not_applicable(policy):
    assert outcome(MPG_RULE, MPG, mpg(policy)) is Outcome.NOT_APPLICABLE


# ----------------------------------------------------------------- rule metadata

MODULES = ("ml_genai_checks.rules.sagemaker", "ml_genai_checks.rules.sagemaker_mlops")
SAGEMAKER_RULES = [r for r in REGISTRY.values() if r.check.__module__ in MODULES]


def test_every_sagemaker_rule_is_covered_here():
    covered = {row[0] for row in SIMPLE} | set(JOB_RULES) | {MPG_RULE}
    assert {r.rule_id for r in SAGEMAKER_RULES} == covered
    assert len(SAGEMAKER_RULES) == 18


@pytest.mark.parametrize("found", SAGEMAKER_RULES, ids=lambda r: r.rule_id)
def test_rule_metadata_is_complete(found):
    assert found.rule_id.startswith("MLGenAI-SageMaker")
    for text in (found.title, found.reason, found.fix, found.seed_topic):
        assert text.strip()
        assert "\n" not in text
    for framework in ("HIPAA", "NIST", "PCI"):
        assert found.controls.get(framework), f"{found.rule_id} has no {framework} controls"
    assert found.resource_types
    assert all(t.startswith("AWS::SageMaker::") for t in found.resource_types)
    assert found.scope == "resource"
