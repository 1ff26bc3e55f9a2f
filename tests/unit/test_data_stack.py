"""The data layer: every bucket property, in every environment, and the bucket construct alone."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from platform_config import BUCKETS, BucketConfig
from secure_constructs.data.s3_rules import LifecyclePolicy, Transition
from secure_constructs.data.secure_bucket import SecureBucket
from tests.conftest import Synthesized, dumps, resources_of

DATA_BUCKETS = ("raw", "curated", "model_artifacts")
# Construct IDs are part of the contract (renaming replaces the bucket).
CONSTRUCT_IDS = {
    "raw": "Raw",
    "curated": "Curated",
    "model_artifacts": "ModelArtifacts",
    "audit": "Audit",
    "invocation_logs": "InvocationLogs",
    "access_logs": "AccessLogs",
    "config_history": "ConfigHistory",  # not a config key: AWS Config's own bucket
}
FAMILY = tuple(CONSTRUCT_IDS)


def _buckets(synthesized: Synthesized, env_name: str) -> dict[str, dict[str, Any]]:
    """Bucket resources by family name, found through their construct path."""
    raw = synthesized.raw(env_name, "data")
    found = {}
    for resource in resources_of(raw, "AWS::S3::Bucket").values():
        path = resource["Metadata"]["aws:cdk:path"]
        name = next(n for n, cid in CONSTRUCT_IDS.items() if f"/Data/{cid}/Bucket/" in path)
        found[name] = resource
    assert sorted(found) == sorted(FAMILY)
    return found


def _policy(
    synthesized: Synthesized, env_name: str, bucket_logical_id: str
) -> list[dict[str, Any]]:
    raw = synthesized.raw(env_name, "data")
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources_of(raw, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_logical_id}
    ]
    return policy


def _logical_id(synthesized: Synthesized, env_name: str, name: str) -> str:
    raw = synthesized.raw(env_name, "data")
    return next(
        lid
        for lid, r in resources_of(raw, "AWS::S3::Bucket").items()
        if f"/Data/{CONSTRUCT_IDS[name]}/Bucket/" in r["Metadata"]["aws:cdk:path"]
    )


def test_every_bucket_private_versioned_owner_enforced_retained(
    synthesized: Synthesized, env_name: str
) -> None:
    for name, bucket in _buckets(synthesized, env_name).items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, name
        assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, name
        assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"


def test_encryption_per_bucket(synthesized: Synthesized, env_name: str) -> None:
    buckets = _buckets(synthesized, env_name)
    data_key_buckets = (*DATA_BUCKETS, "invocation_logs")
    for name in (*data_key_buckets, "audit", "config_history"):
        (rule,) = buckets[name]["Properties"]["BucketEncryption"][
            "ServerSideEncryptionConfiguration"
        ]
        assert rule["BucketKeyEnabled"] is True
        default = rule["ServerSideEncryptionByDefault"]
        assert default["SSEAlgorithm"] == "aws:kms"
        key_export = dumps(default["KMSMasterKeyID"])
        assert ("DataKey" if name in data_key_buckets else "LogsKey") in key_export, name
        assert "-keys:" in key_export  # imported from the keys stack
    (logs_rule,) = buckets["access_logs"]["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ]
    assert logs_rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_access_logging_to_the_log_bucket(synthesized: Synthesized, env_name: str) -> None:
    buckets = _buckets(synthesized, env_name)
    logs_id = _logical_id(synthesized, env_name, "access_logs")
    assert "LoggingConfiguration" not in buckets["access_logs"]["Properties"]
    for name in (*DATA_BUCKETS, "audit", "invocation_logs", "config_history"):
        logging = buckets[name]["Properties"]["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == {"Ref": logs_id}
        assert logging["LogFilePrefix"] == f"{name.replace('_', '-')}/"
    statements = _policy(synthesized, env_name, logs_id)
    delivery = [
        s for s in statements if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert delivery and delivery[0]["Effect"] == "Allow"


def test_tls_only_with_minimum_version_on_every_bucket(
    synthesized: Synthesized, env_name: str
) -> None:
    for name in FAMILY:
        statements = _policy(synthesized, env_name, _logical_id(synthesized, env_name, name))
        denies = [s for s in statements if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies), (
            name
        )
        assert any(s["Condition"] == {"NumericLessThan": {"s3:TlsVersion": 1.2}} for s in denies), (
            name
        )


def test_data_buckets_deny_other_encryption_and_access_outside_the_endpoint(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    for name in DATA_BUCKETS:
        statements = {
            s.get("Sid"): s
            for s in _policy(synthesized, env_name, _logical_id(synthesized, env_name, name))
        }
        algorithm = statements["DenyOtherEncryptionAlgorithms"]
        assert algorithm["Effect"] == "Deny" and algorithm["Action"] == "s3:PutObject"
        assert algorithm["Condition"] == {
            "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
            "Null": {"s3:x-amz-server-side-encryption": "false"},
        }
        other_key = statements["DenyOtherKmsKeys"]["Condition"]
        assert "DataKey" in dumps(
            other_key["StringNotEquals"]["s3:x-amz-server-side-encryption-aws-kms-key-id"]
        )
        vpce = statements["DenyDataAccessOutsideTheVpcEndpoint"]
        assert vpce["Effect"] == "Deny"
        assert "s3:GetObject*" in vpce["Action"] and "s3:PutObject*" in vpce["Action"]
        assert "-network:" in dumps(vpce["Condition"]["StringNotEquals"]["aws:SourceVpce"])
        exempt = vpce["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        admins = list(env.data.admin_principal_arns)
        assert exempt[: len(admins)] == admins
        assert exempt[-1] == f"arn:aws:iam::{env.account}:role/aws-service-role/*"
        # The knowledge base's service role reads curated from Bedrock's network (confined to
        # its prefix by the same policy: tests/unit/test_knowledge_base.py); nothing else.
        readers = exempt[len(admins) : -1]
        knowledge = env.genai.knowledge_base is not None and name == "curated"
        kb_role = f"arn:aws:iam::{env.account}:role/secure-ml-{env.name}-knowledge-base"
        assert readers == ([kb_role] if knowledge else []), name
        # No blanket exemption for services acting for a caller (aws:ViaAWSService): only the
        # configured ones, by aws:CalledVia (none in the shipped config).
        assert "aws:ViaAWSService" not in dumps(vpce)
        assert ("ForAllValues:StringNotEquals" in vpce["Condition"]) is bool(
            env.data.forward_access_services
        )


def test_log_buckets_are_not_bound_to_the_vpc_endpoint(
    synthesized: Synthesized, env_name: str
) -> None:
    for name in ("audit", "invocation_logs", "access_logs", "config_history"):
        statements = _policy(synthesized, env_name, _logical_id(synthesized, env_name, name))
        assert "aws:SourceVpce" not in dumps(statements), name  # AWS services deliver logs here


def test_config_history_bucket_has_no_lock_but_denies_deletion(
    synthesized: Synthesized, env_name: str
) -> None:
    data = synthesized.env(env_name).data
    props = _buckets(synthesized, env_name)["config_history"]["Properties"]
    assert "ObjectLockEnabled" not in props  # AWS Config cannot deliver to an Object Lock bucket
    assert props["LifecycleConfiguration"] == {"Rules": [_expected_rule(data.audit)]}
    statements = {
        s.get("Sid"): s
        for s in _policy(
            synthesized, env_name, _logical_id(synthesized, env_name, "config_history")
        )
    }
    deny = statements["DenyDeletingConfigHistory"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert deny["Action"] == ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    assert deny["Condition"] == {
        "ArnNotLike": {"aws:PrincipalArn": list(data.admin_principal_arns)}
    }


def test_audit_bucket_object_lock_from_config(synthesized: Synthesized, env_name: str) -> None:
    lock = synthesized.env(env_name).data.audit_object_lock
    props = _buckets(synthesized, env_name)["audit"]["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Days": lock.days, "Mode": lock.mode}},
    }


def _expected_rule(config: BucketConfig) -> dict[str, Any]:
    policy = config.lifecycle
    rule: dict[str, Any] = {
        "AbortIncompleteMultipartUpload": {
            "DaysAfterInitiation": policy.abort_incomplete_multipart_days
        },
        "Id": "storage-classes-and-retention",
        "NoncurrentVersionExpiration": {"NoncurrentDays": policy.noncurrent_expiration_days},
        "Status": "Enabled",
    }
    if policy.transitions:
        rule["Transitions"] = [
            {"StorageClass": t.storage_class, "TransitionInDays": t.days}
            for t in policy.transitions
        ]
    if policy.expiration_days is not None:
        rule["ExpirationInDays"] = policy.expiration_days
    return rule


def test_lifecycle_rules_follow_config(synthesized: Synthesized, env_name: str) -> None:
    data = synthesized.env(env_name).data
    buckets = _buckets(synthesized, env_name)
    for name in BUCKETS:
        config: BucketConfig = getattr(data, name)
        assert buckets[name]["Properties"]["LifecycleConfiguration"] == {
            "Rules": [_expected_rule(config)]
        }, name
    # The seed's storage-class guidance, as configured: tiering for curated data, Glacier
    # classes for raw and audit data.
    assert [t.storage_class for t in data.curated.lifecycle.transitions] == ["INTELLIGENT_TIERING"]
    for name in ("raw", "audit"):
        classes = [t.storage_class for t in getattr(data, name).lifecycle.transitions]
        assert classes[0] == "GLACIER_IR" and classes[-1] == "DEEP_ARCHIVE"


def test_data_stack_depends_on_keys_and_network(synthesized: Synthesized, env_name: str) -> None:
    deps = synthesized.artifact(env_name, "data").dependencies
    assert set(deps) == {
        synthesized.artifact(env_name, "keys").artifact_id,
        synthesized.artifact(env_name, "network").artifact_id,
    }


# --- SecureBucket alone -----------------------------------------------------------------------


def _bucket_stack() -> tuple[cdk.Stack, SecureBucket, iam.Role]:
    stack = cdk.Stack(
        cdk.App(), "T", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )
    key = kms.Key(stack, "Key")
    bucket = SecureBucket(
        stack, "Data", access_logs_bucket=None, encryption_key=key, bucket_name="team-data-1"
    )
    role = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    return stack, bucket, role


def test_grants_are_prefix_scoped_and_key_use_is_via_s3() -> None:
    stack, bucket, role = _bucket_stack()
    bucket.grant_read(role, "clinical/")
    bucket.grant_write(role, "redacted/")
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::S3::Bucket", {"BucketName": "team-data-1"})
    (policy,) = resources_of(template.to_json(), "AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    text = dumps(statements)
    assert "s3:DeleteObject" not in text
    assert '"/clinical/*"' in text and '"/redacted/*"' in text
    listing = next(s for s in statements if s["Action"] == "s3:ListBucket")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["clinical/*"]}}
    kms_statements = [s for s in statements if str(s["Action"]).startswith(("kms", "['kms"))]
    assert kms_statements
    for statement in kms_statements:
        assert statement["Condition"] == {
            "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
        }


@pytest.mark.parametrize("prefix", ["", "/clinical/", "clinical", "clinical/*"])
def test_grants_refuse_bucket_wide_or_malformed_prefixes(prefix: str) -> None:
    _, bucket, role = _bucket_stack()
    with pytest.raises(ValueError, match="bucket-wide grants are not offered"):
        bucket.grant_read(role, prefix)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bucket_name": "Bad_Name"}, "name 'Bad_Name': must not contain uppercase"),
        (
            {"lifecycle": LifecyclePolicy(transitions=(Transition("STANDARD_IA", 5),))},
            "lifecycle: transition to STANDARD_IA at day 5",
        ),
    ],
)
def test_secure_bucket_rejects_invalid_props(kwargs: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(cdk.App(), "T")
    with pytest.raises(ValueError, match=message):
        SecureBucket(stack, "B", access_logs_bucket=None, **kwargs)
