"""OrganizationLogArchive: the log-archive account's trail and Config buckets, keys and policies.

One small app (one stack in a log-archive placeholder account) is synthesized once for the
module with every gate pack. Policies are compared after resolving CloudFormation references to
readable names (``arn:aws:s3:::<bucket name>``, ``KEY(<alias>)``), never by logical ID, and
evaluated with ``tests/unit/iam_eval.py`` (the caller goes into the request context as
``aws:PrincipalArn``/``aws:PrincipalAccount`` or ``aws:PrincipalServiceName``). For
cross-account callers this checks the resource side only: their own account's IAM policies
must allow them too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_nag
import pytest
from aws_cdk.assertions import Match, Template

from gates.nag import acknowledgements, read_findings, register_packs
from secure_constructs.data.encryption_key import KEY_ADMIN_ACTIONS
from secure_constructs.data.s3_rules import Transition
from secure_constructs.organization import names
from secure_constructs.organization.log_archive import OrganizationLogArchive
from tests.conftest import new_app, resources_of
from tests.unit.iam_eval import Request, decide

PROJECT = "secure-ml"
ORG = "o-exampleorg1"
MANAGEMENT = "111111111111"
LOG_ARCHIVE = "222222222222"
SECURITY = "333333333333"
MEMBER = "444455556666"
REGION = "us-east-1"
ENV = cdk.Environment(account=LOG_ARCHIVE, region=REGION)
WHERE = {"log_archive_account": LOG_ARCHIVE, "region": REGION}
TRAIL_BUCKET = names.trail_bucket_name(PROJECT, **WHERE)
CONFIG_BUCKET = names.config_bucket_name(PROJECT, **WHERE)
ACCESS_LOGS = names.access_logs_bucket_name(PROJECT, **WHERE)
TRAIL = names.trail_arn(PROJECT, partition="aws", region=REGION, management_account=MANAGEMENT)
TRAIL_KEY = f"KEY({names.trail_key_alias(PROJECT)})"
CONFIG_KEY = f"KEY(alias/{PROJECT}-org-config)"
S3_VIA = f"s3.{REGION}.amazonaws.com"
ACL = "bucket-owner-full-control"

CLOUDTRAIL = {"Service": "cloudtrail.amazonaws.com"}
CONFIG = {"Service": "config.amazonaws.com"}
SECURITY_ROLE = {"AWS": f"arn:aws:iam::{SECURITY}:role/incident-responder"}
MANAGEMENT_ROLE = {"AWS": f"arn:aws:iam::{MANAGEMENT}:role/OrganizationAccountAccessRole"}
LOG_ARCHIVE_ROLE = {"AWS": f"arn:aws:iam::{LOG_ARCHIVE}:role/admin"}
SECURITY_ROOT = {"AWS": f"arn:aws:iam::{SECURITY}:root"}


def _archive(stack: cdk.Stack, **overrides: Any) -> OrganizationLogArchive:
    arguments: dict[str, Any] = {
        "project": PROJECT,
        "organization_id": ORG,
        "management_account": MANAGEMENT,
        "security_account": SECURITY,
        "object_lock_days": 365,
        "trail_retention_days": 2555,
        **overrides,
    }
    return OrganizationLogArchive(stack, "Archive", **arguments)


@dataclass
class Assembly:
    """The module's app, synthesized once with every gate pack."""

    outdir: Path
    stack: cdk.Stack
    archive: OrganizationLogArchive
    raw: dict[str, Any]

    @property
    def template(self) -> Template:
        return Template.from_json(self.raw)


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    outdir = tmp_path_factory.mktemp("org-log-archive")
    app = new_app(outdir)
    stack = cdk.Stack(app, "LogArchive", env=ENV)
    archive = _archive(stack)
    register_packs(app)
    try:
        app.synth()
    except RuntimeError:
        pytest.fail(f"gates failed: {[f.line() for f in read_findings(outdir)]}")
    raw = json.loads((outdir / "LogArchive.template.json").read_text())
    return Assembly(outdir, stack, archive, raw)


# --- reading the template -------------------------------------------------------------------


def _resolver(raw: dict[str, Any]) -> Any:
    """A function turning template values into readable strings (bucket ARNs, key aliases)."""
    arns: dict[str, str] = {}
    refs: dict[str, str] = {}
    for logical_id, bucket in resources_of(raw, "AWS::S3::Bucket").items():
        refs[logical_id] = bucket["Properties"]["BucketName"]
        arns[logical_id] = f"arn:aws:s3:::{refs[logical_id]}"
    for alias in resources_of(raw, "AWS::KMS::Alias").values():
        key_id = alias["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
        arns[key_id] = f"KEY({alias['Properties']['AliasName']})"

    def resolve(value: Any) -> Any:
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][1] == "Arn":
            return arns[value["Fn::GetAtt"][0]]
        if set(value) == {"Ref"}:
            return refs[value["Ref"]]
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(resolve(p) for p in parts)
        return {k: resolve(v) for k, v in value.items()}

    return resolve


def _bucket(raw: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [
        b
        for b in resources_of(raw, "AWS::S3::Bucket").values()
        if b["Properties"]["BucketName"] == name
    ]
    return found


def bucket_policy(raw: dict[str, Any], name: str) -> list[dict[str, Any]]:
    resolve = _resolver(raw)
    (policy,) = [
        p
        for p in resources_of(raw, "AWS::S3::BucketPolicy").values()
        if resolve(p["Properties"]["Bucket"]) == name
    ]
    return list(resolve(policy["Properties"]["PolicyDocument"]["Statement"]))


def key_policy(raw: dict[str, Any], alias: str) -> list[dict[str, Any]]:
    resolve = _resolver(raw)
    (key,) = [
        k
        for lid, k in resources_of(raw, "AWS::KMS::Key").items()
        if resolve({"Fn::GetAtt": [lid, "Arn"]}) == f"KEY({alias})"
    ]
    return list(resolve(key["Properties"]["KeyPolicy"]["Statement"]))


def by_sid(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {s["Sid"]: s for s in statements if "Sid" in s}
    assert len(found) == len([s for s in statements if "Sid" in s]), "duplicate Sid"
    return found


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _caller(caller: dict[str, str]) -> dict[str, str]:
    """The request-context keys that say who calls: a service principal or a role."""
    ((kind, who),) = caller.items()
    if kind == "Service":
        return {"aws:PrincipalServiceName": who, "aws:PrincipalIsAWSService": "true"}
    return {
        "aws:PrincipalArn": who,
        "aws:PrincipalAccount": who.split(":")[4],
        "aws:PrincipalIsAWSService": "false",
    }


def _decide(statements: list[dict[str, Any]], caller: dict[str, str], request: Request) -> str:
    context = {**_caller(caller), **request.context}
    return decide(statements, Request(request.action, request.resource, context))


# --- names, configuration, retention ---------------------------------------------------------


def test_buckets_and_aliases_have_the_fixed_names_of_names_py(synthesized: Assembly) -> None:
    buckets = {
        b["Properties"]["BucketName"]
        for b in resources_of(synthesized.raw, "AWS::S3::Bucket").values()
    }
    assert buckets == {TRAIL_BUCKET, CONFIG_BUCKET, ACCESS_LOGS}
    aliases = {
        a["Properties"]["AliasName"]
        for a in resources_of(synthesized.raw, "AWS::KMS::Alias").values()
    }
    assert aliases == {names.trail_key_alias(PROJECT), f"alias/{PROJECT}-org-config"}
    stack, archive = synthesized.stack, synthesized.archive
    resolve = _resolver(synthesized.raw)
    assert archive.trail_arn == TRAIL
    # the attributes are the buckets and keys above
    assert resolve(stack.resolve(archive.trail_bucket.bucket_name)) == TRAIL_BUCKET
    assert resolve(stack.resolve(archive.config_bucket.bucket_name)) == CONFIG_BUCKET
    assert resolve(stack.resolve(archive.access_logs.bucket_name)) == ACCESS_LOGS
    assert resolve(stack.resolve(archive.trail_key.key_arn)) == TRAIL_KEY
    assert resolve(stack.resolve(archive.config_key.key_arn)) == CONFIG_KEY
    # the alias ARN the management account's trail names resolves to this key
    assert (
        names.trail_key_alias_arn(
            PROJECT, partition="aws", region=REGION, log_archive_account=LOG_ARCHIVE
        )
        == f"arn:aws:kms:{REGION}:{LOG_ARCHIVE}:{names.trail_key_alias(PROJECT)}"
    )


def test_a_realistic_number_of_resources(synthesized: Assembly) -> None:
    kinds: dict[str, int] = {}
    for resource in synthesized.raw["Resources"].values():
        kinds[resource["Type"]] = kinds.get(resource["Type"], 0) + 1
    assert kinds == {
        "AWS::S3::Bucket": 3,
        "AWS::S3::BucketPolicy": 3,
        "AWS::KMS::Key": 2,
        "AWS::KMS::Alias": 2,
    }


def test_trail_bucket_object_lock_kms_bucket_key_logging_and_lifecycle(
    synthesized: Assembly,
) -> None:
    synthesized.template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    "BucketName": TRAIL_BUCKET,
                    "ObjectLockEnabled": True,
                    "ObjectLockConfiguration": {
                        "ObjectLockEnabled": "Enabled",
                        "Rule": {"DefaultRetention": {"Days": 365, "Mode": "GOVERNANCE"}},
                    },
                    "VersioningConfiguration": {"Status": "Enabled"},
                }
            ),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    resolve = _resolver(synthesized.raw)
    props = resolve(_bucket(synthesized.raw, TRAIL_BUCKET)["Properties"])
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Days": 365, "Mode": "GOVERNANCE"}},
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {
                "BucketKeyEnabled": True,
                "ServerSideEncryptionByDefault": {
                    "KMSMasterKeyID": TRAIL_KEY,
                    "SSEAlgorithm": "aws:kms",
                },
            }
        ]
    }
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": ACCESS_LOGS,
        "LogFilePrefix": "org-trail/",
    }
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 2555
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 2555}


def test_config_bucket_has_its_own_key_and_no_object_lock(synthesized: Assembly) -> None:
    resolve = _resolver(synthesized.raw)
    props = resolve(_bucket(synthesized.raw, CONFIG_BUCKET)["Properties"])
    # AWS Config does not deliver to a bucket with Object Lock enabled
    assert "ObjectLockEnabled" not in props and "ObjectLockConfiguration" not in props
    default = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert default == {
        "BucketKeyEnabled": True,
        "ServerSideEncryptionByDefault": {"KMSMasterKeyID": CONFIG_KEY, "SSEAlgorithm": "aws:kms"},
    }
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "org-config/"
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 2555  # config_retention_days defaults to the trail's


def test_access_logs_bucket_is_sse_s3_expires_and_does_not_log_itself(
    synthesized: Assembly,
) -> None:
    bucket = _bucket(synthesized.raw, ACCESS_LOGS)
    props = bucket["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    assert "LoggingConfiguration" not in props
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365
    assert [s["id"] for s in bucket["Metadata"]["checkov"]["skip"]] == ["CKV_AWS_18"]
    # only S3 log delivery writes, each prefix for its source bucket of this account
    statements = bucket_policy(synthesized.raw, ACCESS_LOGS)
    writers = [s for s in statements if s["Effect"] == "Allow"]
    assert sorted((s["Resource"], s["Condition"]["ArnLike"]["aws:SourceArn"]) for s in writers) == [
        (f"arn:aws:s3:::{ACCESS_LOGS}/org-config/*", f"arn:aws:s3:::{CONFIG_BUCKET}"),
        (f"arn:aws:s3:::{ACCESS_LOGS}/org-trail/*", f"arn:aws:s3:::{TRAIL_BUCKET}"),
    ]
    for statement in writers:
        assert statement["Principal"] == {"Service": "logging.s3.amazonaws.com"}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": LOG_ARCHIVE}


@pytest.mark.parametrize("name", [TRAIL_BUCKET, CONFIG_BUCKET, ACCESS_LOGS])
def test_every_bucket_is_private_owner_enforced_and_tls_only(
    synthesized: Assembly, name: str
) -> None:
    props = _bucket(synthesized.raw, name)["Properties"]
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    denies = [s for s in bucket_policy(synthesized.raw, name) if s["Effect"] == "Deny"]
    conditions = [s["Condition"] for s in denies if s["Action"] == "s3:*"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_everything_stateful_and_what_delivery_depends_on_is_retained(
    synthesized: Assembly,
) -> None:
    kinds = ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::KMS::Alias", "AWS::S3::BucketPolicy")
    for kind in kinds:
        resources = resources_of(synthesized.raw, kind).values()
        assert resources
        for resource in resources:
            assert resource["DeletionPolicy"] == "Retain", kind
            assert resource["UpdateReplacePolicy"] == "Retain", kind
    synthesized.template.has_resource_properties(
        "AWS::KMS::Alias", {"AliasName": names.trail_key_alias(PROJECT)}
    )
    synthesized.template.all_resources_properties(
        "AWS::KMS::Key",
        {"EnableKeyRotation": True, "RotationPeriodInDays": 365, "PendingWindowInDays": 30},
    )
    for bucket in resources_of(synthesized.raw, "AWS::S3::Bucket").values():
        tags = bucket["Properties"].get("Tags", [])
        assert not [t for t in tags if t["Key"] == "aws-cdk:auto-delete-objects"]


# --- key policies --------------------------------------------------------------------------


def _admin(account: str) -> dict[str, Any]:
    return {
        "Sid": "KeyAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": list(KEY_ADMIN_ACTIONS),
        "Resource": "*",
    }


SECURITY_DECRYPT = {
    "Sid": "AllowSecurityAccountToDecryptThroughS3",
    "Effect": "Allow",
    "Principal": SECURITY_ROOT,
    "Action": "kms:Decrypt",
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:CallerAccount": SECURITY, "kms:ViaService": S3_VIA}},
}


def test_trail_key_policy_is_cloudtrails_documented_one_for_the_organization_trail(
    synthesized: Assembly,
) -> None:
    statements = by_sid(key_policy(synthesized.raw, names.trail_key_alias(PROJECT)))
    assert statements == {
        "KeyAdministration": _admin(LOG_ARCHIVE),
        "AllowCloudTrailToEncryptLogFiles": {
            "Sid": "AllowCloudTrailToEncryptLogFiles",
            "Effect": "Allow",
            "Principal": CLOUDTRAIL,
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceArn": TRAIL},
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": (
                        f"arn:aws:cloudtrail:*:{MANAGEMENT}:trail/*"
                    )
                },
            },
        },
        "AllowCloudTrailToDecryptWithTheBucketKey": {
            "Sid": "AllowCloudTrailToDecryptWithTheBucketKey",
            "Effect": "Allow",
            "Principal": CLOUDTRAIL,
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceArn": TRAIL, "aws:SourceAccount": MANAGEMENT}
            },
        },
        "AllowCloudTrailToDescribeTheKey": {
            "Sid": "AllowCloudTrailToDescribeTheKey",
            "Effect": "Allow",
            "Principal": CLOUDTRAIL,
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceArn": TRAIL}},
        },
        "AllowSecurityAccountToDecryptThroughS3": SECURITY_DECRYPT,
    }


def test_config_key_policy_lets_config_of_the_organization_encrypt(
    synthesized: Assembly,
) -> None:
    statements = by_sid(key_policy(synthesized.raw, f"alias/{PROJECT}-org-config"))
    assert statements == {
        "KeyAdministration": _admin(LOG_ARCHIVE),
        "AWSConfigKMSPolicy": {
            "Sid": "AWSConfigKMSPolicy",
            "Effect": "Allow",
            "Principal": CONFIG,
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceOrgID": ORG}},
        },
        "AllowSecurityAccountToDecryptThroughS3": SECURITY_DECRYPT,
    }


def _kms(action: str, **context: str) -> Request:
    return Request(action, "arn:aws:kms:us-east-1:222222222222:key/any", dict(context))


TRAIL_CONTEXT = {"aws:SourceArn": TRAIL, "kms:EncryptionContext:aws:cloudtrail:arn": TRAIL}
OTHER_TRAIL = f"arn:aws:cloudtrail:{REGION}:{MANAGEMENT}:trail/someone-elses-trail"
FOREIGN_TRAIL = f"arn:aws:cloudtrail:{REGION}:999999999999:trail/{names.trail_name(PROJECT)}"
VIA_S3 = {"kms:CallerAccount": SECURITY, "kms:ViaService": S3_VIA}

KEY_ROWS = [
    ("trail", "cloudtrail encrypts for the organization trail", CLOUDTRAIL, _kms("kms:GenerateDataKey", **TRAIL_CONTEXT), "Allow"),
    ("trail", "another trail of the management account is refused", CLOUDTRAIL, _kms("kms:GenerateDataKey", **{**TRAIL_CONTEXT, "aws:SourceArn": OTHER_TRAIL, "kms:EncryptionContext:aws:cloudtrail:arn": OTHER_TRAIL}), "ImplicitDeny"),
    ("trail", "a same-named trail in another account is refused", CLOUDTRAIL, _kms("kms:GenerateDataKey", **{"aws:SourceArn": FOREIGN_TRAIL, "kms:EncryptionContext:aws:cloudtrail:arn": FOREIGN_TRAIL}), "ImplicitDeny"),
    ("trail", "the org trail ARN with another account's context is refused", CLOUDTRAIL, _kms("kms:GenerateDataKey", **{**TRAIL_CONTEXT, "kms:EncryptionContext:aws:cloudtrail:arn": FOREIGN_TRAIL}), "ImplicitDeny"),
    ("trail", "no encryption context, no data key", CLOUDTRAIL, _kms("kms:GenerateDataKey", **{"aws:SourceArn": TRAIL}), "ImplicitDeny"),
    ("trail", "cloudtrail describes the key for the org trail", CLOUDTRAIL, _kms("kms:DescribeKey", **{"aws:SourceArn": TRAIL}), "Allow"),
    ("trail", "cloudtrail describes it for no other trail", CLOUDTRAIL, _kms("kms:DescribeKey", **{"aws:SourceArn": OTHER_TRAIL}), "ImplicitDeny"),
    ("trail", "cloudtrail decrypts (S3 Bucket Key) for the org trail", CLOUDTRAIL, _kms("kms:Decrypt", **{"aws:SourceArn": TRAIL, "aws:SourceAccount": MANAGEMENT}), "Allow"),
    ("trail", "cloudtrail decrypts for no other trail", CLOUDTRAIL, _kms("kms:Decrypt", **{"aws:SourceArn": FOREIGN_TRAIL, "aws:SourceAccount": "999999999999"}), "ImplicitDeny"),
    ("trail", "the security account decrypts through S3", SECURITY_ROLE, _kms("kms:Decrypt", **VIA_S3), "Allow"),
    ("trail", "the security account cannot decrypt outside S3", SECURITY_ROLE, _kms("kms:Decrypt", **{"kms:CallerAccount": SECURITY}), "ImplicitDeny"),
    ("trail", "the security account cannot encrypt", SECURITY_ROLE, _kms("kms:GenerateDataKey", **VIA_S3), "ImplicitDeny"),
    ("trail", "the management account cannot decrypt", MANAGEMENT_ROLE, _kms("kms:Decrypt", **{"kms:CallerAccount": MANAGEMENT, "kms:ViaService": S3_VIA}), "ImplicitDeny"),
    ("trail", "log-archive administrators cannot decrypt", LOG_ARCHIVE_ROLE, _kms("kms:Decrypt", **{"kms:CallerAccount": LOG_ARCHIVE, "kms:ViaService": S3_VIA}), "ImplicitDeny"),
    ("trail", "AWS Config cannot use the trail key", CONFIG, _kms("kms:GenerateDataKey", **{"aws:SourceOrgID": ORG}), "ImplicitDeny"),
    ("config", "Config of an organization account encrypts", CONFIG, _kms("kms:GenerateDataKey", **{"aws:SourceOrgID": ORG, "aws:SourceAccount": MEMBER}), "Allow"),
    ("config", "Config of another organization is refused", CONFIG, _kms("kms:GenerateDataKey", **{"aws:SourceOrgID": "o-someoneelse1", "aws:SourceAccount": "999999999999"}), "ImplicitDeny"),
    ("config", "Config without a source organization is refused", CONFIG, _kms("kms:GenerateDataKey", **{"aws:SourceAccount": "999999999999"}), "ImplicitDeny"),
    ("config", "the security account decrypts through S3", SECURITY_ROLE, _kms("kms:Decrypt", **VIA_S3), "Allow"),
    ("config", "cloudtrail cannot use the Config key", CLOUDTRAIL, _kms("kms:GenerateDataKey", **TRAIL_CONTEXT), "ImplicitDeny"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("key", "why", "caller", "request_", "expected"), KEY_ROWS, ids=[r[1] for r in KEY_ROWS]
)
def test_key_policies_decide(
    synthesized: Assembly,
    key: str,
    why: str,
    caller: dict[str, str],
    request_: Request,
    expected: str,
) -> None:
    alias = names.trail_key_alias(PROJECT) if key == "trail" else f"alias/{PROJECT}-org-config"
    assert _decide(key_policy(synthesized.raw, alias), caller, request_) == expected, why


# --- bucket policies -----------------------------------------------------------------------


def _read_statements(bucket: str) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "AllowSecurityAccountToList",
            "Effect": "Allow",
            "Principal": SECURITY_ROOT,
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
        },
        {
            "Sid": "AllowSecurityAccountToRead",
            "Effect": "Allow",
            "Principal": SECURITY_ROOT,
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
    ]


def _deny_deleting(sid: str, bucket: str) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }


def test_trail_bucket_policy_is_cloudtrails_documented_organization_policy(
    synthesized: Assembly,
) -> None:
    statements = by_sid(bucket_policy(synthesized.raw, TRAIL_BUCKET))
    write = {"aws:SourceArn": TRAIL, "s3:x-amz-acl": ACL}
    expected = [
        {
            "Sid": "AWSCloudTrailAclCheck20150319",
            "Effect": "Allow",
            "Principal": CLOUDTRAIL,
            "Action": "s3:GetBucketAcl",
            "Resource": f"arn:aws:s3:::{TRAIL_BUCKET}",
            "Condition": {"StringEquals": {"aws:SourceArn": TRAIL}},
        },
        {
            "Sid": "AWSCloudTrailWrite20150319",
            "Effect": "Allow",
            "Principal": CLOUDTRAIL,
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{TRAIL_BUCKET}/AWSLogs/{MANAGEMENT}/*",
            "Condition": {"StringEquals": write},
        },
        {
            "Sid": "AWSCloudTrailOrganizationWrite20150319",
            "Effect": "Allow",
            "Principal": CLOUDTRAIL,
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{TRAIL_BUCKET}/AWSLogs/{ORG}/*",
            "Condition": {"StringEquals": write},
        },
        *_read_statements(TRAIL_BUCKET),
        _deny_deleting("DenyDeletingTrailLogs", TRAIL_BUCKET),
    ]
    for statement in expected:
        assert statements.pop(statement["Sid"]) == statement
    # SecureBucket's encryption denies are what remain with a Sid (TLS denies have none)
    assert set(statements) == {"DenyOtherEncryptionAlgorithms", "DenyOtherKmsKeys"}
    assert (
        statements["DenyOtherKmsKeys"]["Condition"]["StringNotEquals"][
            "s3:x-amz-server-side-encryption-aws-kms-key-id"
        ]
        == TRAIL_KEY
    )


def test_config_bucket_policy_is_configs_documented_policy_for_the_organization(
    synthesized: Assembly,
) -> None:
    statements = by_sid(bucket_policy(synthesized.raw, CONFIG_BUCKET))
    org = {"aws:SourceOrgID": ORG}
    expected = [
        {
            "Sid": "AWSConfigBucketPermissionsCheck",
            "Effect": "Allow",
            "Principal": CONFIG,
            "Action": "s3:GetBucketAcl",
            "Resource": f"arn:aws:s3:::{CONFIG_BUCKET}",
            "Condition": {"StringEquals": org},
        },
        {
            "Sid": "AWSConfigBucketExistenceCheck",
            "Effect": "Allow",
            "Principal": CONFIG,
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{CONFIG_BUCKET}",
            "Condition": {"StringEquals": org},
        },
        {
            "Sid": "AWSConfigBucketDelivery",
            "Effect": "Allow",
            "Principal": CONFIG,
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{CONFIG_BUCKET}/AWSLogs/*/Config/*",
            "Condition": {"StringEquals": {**org, "s3:x-amz-acl": ACL}},
        },
        *_read_statements(CONFIG_BUCKET),
        _deny_deleting("DenyDeletingConfigLogs", CONFIG_BUCKET),
    ]
    for statement in expected:
        assert statements.pop(statement["Sid"]) == statement
    assert set(statements) == {"DenyOtherEncryptionAlgorithms", "DenyOtherKmsKeys"}


def test_no_allow_has_a_wildcard_principal_and_only_security_reads(
    synthesized: Assembly,
) -> None:
    allows = [
        s
        for name in (TRAIL_BUCKET, CONFIG_BUCKET, ACCESS_LOGS)
        for s in bucket_policy(synthesized.raw, name)
        if s["Effect"] == "Allow"
    ]
    allows += [
        s
        for alias in (names.trail_key_alias(PROJECT), f"alias/{PROJECT}-org-config")
        for s in key_policy(synthesized.raw, alias)
        if s["Effect"] == "Allow"
    ]
    accounts = set()
    for statement in allows:
        principal = statement["Principal"]
        assert principal != "*" and principal.get("AWS") != "*", statement
        if "AWS" in principal:
            accounts.add(principal["AWS"])
            if principal["AWS"] == SECURITY_ROOT["AWS"]:
                assert set(_values(statement["Action"])) <= {
                    "s3:ListBucket",
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "kms:Decrypt",
                }
        else:
            assert set(principal) == {"Service"} and statement.get("Condition"), statement
    # the security account reads; the log archive administers its keys; nobody else
    assert accounts == {SECURITY_ROOT["AWS"], f"arn:aws:iam::{LOG_ARCHIVE}:root"}


def _s3(action: str, resource: str, **context: str) -> Request:
    return Request(action, resource, {"aws:SecureTransport": "true", **context})


LOG_FILE = f"CloudTrail/{REGION}/2026/01/01/{MEMBER}_CloudTrail_{REGION}_20260101T0000Z_a.json.gz"
TRAIL_OBJECT = f"arn:aws:s3:::{TRAIL_BUCKET}/AWSLogs/{ORG}/{MEMBER}/{LOG_FILE}"
CONFIG_OBJECT = f"arn:aws:s3:::{CONFIG_BUCKET}/AWSLogs/{MEMBER}/Config/{REGION}/2026/1/1/ConfigHistory/x.json.gz"
TRAIL_WRITE = {"aws:SourceArn": TRAIL, "s3:x-amz-acl": ACL}
CONFIG_WRITE = {"aws:SourceOrgID": ORG, "aws:SourceAccount": MEMBER, "s3:x-amz-acl": ACL}

BUCKET_ROWS = [
    (TRAIL_BUCKET, "the org trail writes a member account's log file", CLOUDTRAIL, _s3("s3:PutObject", TRAIL_OBJECT, **TRAIL_WRITE), "Allow"),
    (TRAIL_BUCKET, "the org trail writes the management account's (account trail) logs", CLOUDTRAIL, _s3("s3:PutObject", f"arn:aws:s3:::{TRAIL_BUCKET}/AWSLogs/{MANAGEMENT}/{LOG_FILE}", **TRAIL_WRITE), "Allow"),
    (TRAIL_BUCKET, "the org trail reads the bucket ACL", CLOUDTRAIL, _s3("s3:GetBucketAcl", f"arn:aws:s3:::{TRAIL_BUCKET}", **{"aws:SourceArn": TRAIL}), "Allow"),
    (TRAIL_BUCKET, "another trail of the management account is refused", CLOUDTRAIL, _s3("s3:PutObject", TRAIL_OBJECT, **{**TRAIL_WRITE, "aws:SourceArn": OTHER_TRAIL}), "ImplicitDeny"),
    (TRAIL_BUCKET, "a same-named trail of another account is refused", CLOUDTRAIL, _s3("s3:PutObject", TRAIL_OBJECT, **{**TRAIL_WRITE, "aws:SourceArn": FOREIGN_TRAIL}), "ImplicitDeny"),
    (TRAIL_BUCKET, "another trail cannot read the ACL", CLOUDTRAIL, _s3("s3:GetBucketAcl", f"arn:aws:s3:::{TRAIL_BUCKET}", **{"aws:SourceArn": FOREIGN_TRAIL}), "ImplicitDeny"),
    (TRAIL_BUCKET, "another organization's folder is refused", CLOUDTRAIL, _s3("s3:PutObject", f"arn:aws:s3:::{TRAIL_BUCKET}/AWSLogs/o-someoneelse1/{MEMBER}/{LOG_FILE}", **TRAIL_WRITE), "ImplicitDeny"),
    (TRAIL_BUCKET, "a write without bucket-owner-full-control is refused", CLOUDTRAIL, _s3("s3:PutObject", TRAIL_OBJECT, **{"aws:SourceArn": TRAIL}), "ImplicitDeny"),
    (TRAIL_BUCKET, "an SSE-S3 upload is denied", CLOUDTRAIL, _s3("s3:PutObject", TRAIL_OBJECT, **TRAIL_WRITE, **{"s3:x-amz-server-side-encryption": "AES256"}), "Deny"),
    (TRAIL_BUCKET, "an upload naming another KMS key is denied", CLOUDTRAIL, _s3("s3:PutObject", TRAIL_OBJECT, **TRAIL_WRITE, **{"s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:999999999999:key/x"}), "Deny"),
    (TRAIL_BUCKET, "plain HTTP is denied", SECURITY_ROLE, Request("s3:GetObject", TRAIL_OBJECT, {"aws:SecureTransport": "false"}), "Deny"),
    (TRAIL_BUCKET, "AWS Config cannot write the trail bucket", CONFIG, _s3("s3:PutObject", TRAIL_OBJECT, **CONFIG_WRITE), "ImplicitDeny"),
    (TRAIL_BUCKET, "the security account reads a log file", SECURITY_ROLE, _s3("s3:GetObject", TRAIL_OBJECT), "Allow"),
    (TRAIL_BUCKET, "the security account reads an earlier version", SECURITY_ROLE, _s3("s3:GetObjectVersion", TRAIL_OBJECT), "Allow"),
    (TRAIL_BUCKET, "the security account lists", SECURITY_ROLE, _s3("s3:ListBucket", f"arn:aws:s3:::{TRAIL_BUCKET}"), "Allow"),
    (TRAIL_BUCKET, "the security account cannot write", SECURITY_ROLE, _s3("s3:PutObject", TRAIL_OBJECT), "ImplicitDeny"),
    (TRAIL_BUCKET, "the security account cannot delete", SECURITY_ROLE, _s3("s3:DeleteObject", TRAIL_OBJECT), "Deny"),
    (TRAIL_BUCKET, "the management account cannot read", MANAGEMENT_ROLE, _s3("s3:GetObject", TRAIL_OBJECT), "ImplicitDeny"),
    (TRAIL_BUCKET, "log-archive administrators cannot delete versions", LOG_ARCHIVE_ROLE, _s3("s3:DeleteObjectVersion", TRAIL_OBJECT), "Deny"),
    (CONFIG_BUCKET, "Config of an organization account delivers", CONFIG, _s3("s3:PutObject", CONFIG_OBJECT, **CONFIG_WRITE), "Allow"),
    (CONFIG_BUCKET, "Config checks the bucket ACL", CONFIG, _s3("s3:GetBucketAcl", f"arn:aws:s3:::{CONFIG_BUCKET}", **{"aws:SourceOrgID": ORG}), "Allow"),
    (CONFIG_BUCKET, "Config checks the bucket exists", CONFIG, _s3("s3:ListBucket", f"arn:aws:s3:::{CONFIG_BUCKET}", **{"aws:SourceOrgID": ORG}), "Allow"),
    (CONFIG_BUCKET, "Config of another organization is refused", CONFIG, _s3("s3:PutObject", CONFIG_OBJECT, **{**CONFIG_WRITE, "aws:SourceOrgID": "o-someoneelse1"}), "ImplicitDeny"),
    (CONFIG_BUCKET, "Config without a source organization is refused", CONFIG, _s3("s3:PutObject", CONFIG_OBJECT, **{"aws:SourceAccount": MEMBER, "s3:x-amz-acl": ACL}), "ImplicitDeny"),
    (CONFIG_BUCKET, "Config outside AWSLogs/<account>/Config/ is refused", CONFIG, _s3("s3:PutObject", f"arn:aws:s3:::{CONFIG_BUCKET}/AWSLogs/{MEMBER}/CloudTrail/x", **CONFIG_WRITE), "ImplicitDeny"),
    (CONFIG_BUCKET, "Config without bucket-owner-full-control is refused", CONFIG, _s3("s3:PutObject", CONFIG_OBJECT, **{"aws:SourceOrgID": ORG}), "ImplicitDeny"),
    (CONFIG_BUCKET, "cloudtrail cannot write the Config bucket", CLOUDTRAIL, _s3("s3:PutObject", CONFIG_OBJECT, **TRAIL_WRITE), "ImplicitDeny"),
    (CONFIG_BUCKET, "the security account reads", SECURITY_ROLE, _s3("s3:GetObject", CONFIG_OBJECT), "Allow"),
    (CONFIG_BUCKET, "nobody deletes Config history", LOG_ARCHIVE_ROLE, _s3("s3:DeleteObject", CONFIG_OBJECT), "Deny"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("bucket", "why", "caller", "request_", "expected"),
    BUCKET_ROWS,
    ids=[r[1] for r in BUCKET_ROWS],
)
def test_bucket_policies_decide(
    synthesized: Assembly,
    bucket: str,
    why: str,
    caller: dict[str, str],
    request_: Request,
    expected: str,
) -> None:
    assert _decide(bucket_policy(synthesized.raw, bucket), caller, request_) == expected, why


# --- compliance gates ------------------------------------------------------------------------

EXPECTED_ACKS = {
    *(
        (
            f"{pack}::{pack}-S3BucketReplicationEnabled",
            f"LogArchive/Archive/{bucket}/Bucket/Resource",
        )
        for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
        for bucket in ("AccessLogs", "TrailBucket", "ConfigBucket")
    ),
    *(
        (f"{pack}::{pack}-S3DefaultEncryptionKMS", "LogArchive/Archive/AccessLogs/Bucket/Resource")
        for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
    ),
}


def test_no_unacknowledged_findings_and_each_acknowledgement_covers_a_real_one(
    synthesized: Assembly,
) -> None:
    assert read_findings(synthesized.outdir) == []
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    suppressed = {
        (violation["acknowledgedId"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin.get("suppressedViolations", [])
        for construct in violation["violatingConstructs"]
    }
    assert suppressed == EXPECTED_ACKS
    ours = [a for a in acknowledgements(synthesized.outdir) if a.ours]
    assert {(a.rule, a.path) for a in ours} == {
        (rule, "/" + path.removesuffix("/Bucket/Resource")) for rule, path in EXPECTED_ACKS
    }
    assert all(len(a.reason) >= 40 for a in ours)


@pytest.mark.parametrize("pack", [cdk_nag.AwsSolutionsChecks, cdk_nag.ServerlessChecks])
def test_packs_without_a_report_ran_and_found_nothing(
    synthesized: Assembly, pack: type[cdk_nag.NagPack]
) -> None:
    # CDK leaves a plugin with nothing to report out of validation-report.json: ask it directly.
    result = pack().validate_scope(synthesized.stack)
    assert result.success and result.violations == []


# --- arguments -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def narrowed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Readers narrowed to roles, a break-glass admin, compliance mode, transitions, trail
    region elsewhere, own Config retention (synthesized without packs: policy shape only)."""
    app = new_app(tmp_path_factory.mktemp("org-log-archive-narrowed"))
    stack = cdk.Stack(app, "Narrowed", env=ENV)
    _archive(
        stack,
        object_lock_mode="COMPLIANCE",
        config_retention_days=400,
        transitions=(Transition("GLACIER_IR", 90),),
        trail_region="us-west-2",
        security_reader_arns=[f"arn:aws:iam::{SECURITY}:role/log-reader-*"],
        admin_principal_arns=[f"arn:aws:iam::{LOG_ARCHIVE}:role/break-glass"],
    )
    return dict(Template.from_stack(stack).to_json())


def test_narrowed_readers_admins_and_options(narrowed: dict[str, Any]) -> None:
    trail = names.trail_arn(
        PROJECT, partition="aws", region="us-west-2", management_account=MANAGEMENT
    )
    props = _bucket(narrowed, TRAIL_BUCKET)["Properties"]
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Days": 365,
        "Mode": "COMPLIANCE",
    }
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["Transitions"] == [{"StorageClass": "GLACIER_IR", "TransitionInDays": 90}]
    config_rule = _bucket(narrowed, CONFIG_BUCKET)["Properties"]["LifecycleConfiguration"]["Rules"][
        0
    ]
    assert config_rule["ExpirationInDays"] == 400
    trail_policy = bucket_policy(narrowed, TRAIL_BUCKET)
    assert by_sid(trail_policy)["AWSCloudTrailAclCheck20150319"]["Condition"] == {
        "StringEquals": {"aws:SourceArn": trail}
    }
    readers = {"ArnLike": {"aws:PrincipalArn": [f"arn:aws:iam::{SECURITY}:role/log-reader-*"]}}
    for statements in (trail_policy, bucket_policy(narrowed, CONFIG_BUCKET)):
        sids = by_sid(statements)
        assert sids["AllowSecurityAccountToList"]["Condition"] == readers
        assert sids["AllowSecurityAccountToRead"]["Condition"] == readers
    key = by_sid(key_policy(narrowed, names.trail_key_alias(PROJECT)))
    assert key["AllowSecurityAccountToDecryptThroughS3"]["Condition"] == {
        "StringEquals": {"kms:CallerAccount": SECURITY, "kms:ViaService": S3_VIA},
        **readers,
    }
    reader = {"AWS": f"arn:aws:iam::{SECURITY}:role/log-reader-athena"}
    other = {"AWS": f"arn:aws:iam::{SECURITY}:role/developer"}
    admin = {"AWS": f"arn:aws:iam::{LOG_ARCHIVE}:role/break-glass"}
    obj = f"arn:aws:s3:::{TRAIL_BUCKET}/AWSLogs/{ORG}/{MEMBER}/x.json.gz"

    def context(caller: dict[str, str]) -> dict[str, str]:
        return {"aws:SecureTransport": "true"}

    assert _decide(trail_policy, reader, Request("s3:GetObject", obj, context(reader))) == "Allow"
    assert (
        _decide(trail_policy, other, Request("s3:GetObject", obj, context(other))) == "ImplicitDeny"
    )
    # the break-glass role is not denied by the bucket policy (Object Lock still holds versions)
    assert (
        _decide(trail_policy, admin, Request("s3:DeleteObject", obj, context(admin)))
        == "ImplicitDeny"
    )
    assert _decide(trail_policy, reader, Request("s3:DeleteObject", obj, context(reader))) == "Deny"


BAD_ARGUMENTS = [
    ({"organization_id": "org-1"}, "organization_id 'org-1': o- followed by 10-32"),
    ({"management_account": "12345"}, "management_account '12345': a 12-digit account ID"),
    ({"security_account": MANAGEMENT}, "must be three different accounts"),
    ({"security_account": LOG_ARCHIVE}, "must be three different accounts"),
    ({"object_lock_mode": "LEGAL_HOLD"}, "object_lock_mode 'LEGAL_HOLD': GOVERNANCE or COMPLIANCE"),
    ({"trail_retention_days": 30}, "expiration at day 30 is before the object lock retention ends (day 365)"),
    ({"object_lock_days": 0}, "object lock retention must be at least 1 day"),
    ({"access_log_retention_days": 0}, "access_log_retention_days 0: at least 1"),
    ({"project": "Secure_ML"}, "project 'Secure_ML': lowercase letters, digits and hyphens"),
    ({"security_reader_arns": [f"arn:aws:iam::{MANAGEMENT}:role/reader"]}, f"such as arn:aws:iam::{SECURITY}:role/log-reader-*"),
    ({"transitions": (Transition("GLACIER", 90), Transition("GLACIER_IR", 200))}, "goes up S3's waterfall"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "message"), BAD_ARGUMENTS, ids=[m for _, m in BAD_ARGUMENTS])
def test_bad_arguments_fail_fast_with_the_value_and_the_fix(
    overrides: dict[str, Any], message: str
) -> None:
    stack = cdk.Stack(cdk.App(), "Bad", env=ENV)
    with pytest.raises(ValueError, match=r"OrganizationLogArchive Archive|SecureBucket") as raised:
        _archive(stack, **overrides)
    assert message in str(raised.value)


def test_a_stack_without_an_explicit_environment_is_refused() -> None:
    stack = cdk.Stack(cdk.App(), "NoEnv")
    with pytest.raises(ValueError, match=r"the stack's account \(log archive\) .*explicit env="):
        _archive(stack)
