"""An S3 bucket that is private, encrypted, versioned, logged, tiered and retained."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..core.managed_policy_role import WildcardEvidence, acknowledge_wildcards
from .s3_rules import (
    LifecyclePolicy,
    ObjectLock,
    bucket_name_problem,
    lifecycle_problem,
    object_lock_problem,
)

_STORAGE_CLASSES: dict[str, s3.StorageClass] = {
    "STANDARD_IA": s3.StorageClass.INFREQUENT_ACCESS,
    "INTELLIGENT_TIERING": s3.StorageClass.INTELLIGENT_TIERING,
    "ONEZONE_IA": s3.StorageClass.ONE_ZONE_INFREQUENT_ACCESS,
    "GLACIER_IR": s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
    "GLACIER": s3.StorageClass.GLACIER,
    "DEEP_ARCHIVE": s3.StorageClass.DEEP_ARCHIVE,
}

# Object-level data actions that must come through the VPC's S3 gateway endpoint.
DATA_ACTIONS: tuple[str, ...] = (
    "s3:DeleteObject*",
    "s3:GetObject*",
    "s3:ListBucket*",
    "s3:PutObject*",
    "s3:RestoreObject",
)
READ_ACTIONS: tuple[str, ...] = ("s3:GetObject", "s3:GetObjectVersion")
WRITE_ACTIONS: tuple[str, ...] = ("s3:AbortMultipartUpload", "s3:PutObject")


class SecureBucket(Construct):
    """A private S3 bucket with the platform's guarantees.

    Always:
      * all public access blocked, ACLs disabled (``BUCKET_OWNER_ENFORCED``), versioning on;
      * TLS only, TLS 1.2 or later (bucket policy denies ``aws:SecureTransport`` false and
        ``s3:TlsVersion`` < 1.2);
      * server access logs to ``access_logs_bucket`` under ``access_logs_prefix`` (pass ``None``
        only for the access-log bucket itself: S3 cannot log a bucket into itself usefully);
      * the ``lifecycle`` policy (transitions, expiration, noncurrent expiry, multipart clean-up),
        validated against S3's minimum storage durations;
      * ``RemovalPolicy.RETAIN`` and no auto-delete: deleting the stack keeps bucket and data.

    Encryption: with ``encryption_key`` the bucket uses SSE-KMS with S3 Bucket Keys, and the policy
    denies uploads that ask for another algorithm or another key (uploads without an encryption
    header get the default key). Without it, SSE-S3: the only default encryption S3 server
    access logging supports on its target bucket.

    With ``vpc_endpoint_id``, object reads, writes, deletes and listings are denied unless they
    come through that S3 gateway endpoint, except for ``admin_principal_arns`` (break-glass and
    administration), service-linked roles (e.g. Macie's), and requests that one of
    ``forward_access_services`` (service principals such as ``athena.amazonaws.com``; default
    none) makes with a caller's forward access session (``aws:CalledVia``). Any other service
    acting for a caller (Athena, Glue, ... unless listed) is refused outside the endpoint.
    ``service_readers`` (role ARN -> key prefix) names the roles an AWS service assumes to read
    from its own network (a Bedrock knowledge base's service role: ingestion does not run in
    the VPC): they are exempt from that deny, and the bucket policy itself confines each to
    reading and listing its one prefix (every other object read, any write, delete or restore,
    and any listing outside the prefix is denied to that role, whatever its own policy says).
    ``object_lock`` turns on S3 Object Lock with a default retention. ``bucket_name`` is
    optional (CloudFormation names the bucket) and validated.

    Grants (``grant_read``, ``grant_write``) are scoped to a key prefix and to the bucket's key
    used through S3 only. Attribute ``bucket``.

    Needs, in the app, the feature flag ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy``
    (``true``) whenever ``access_logs_bucket`` is given: without it CDK grants log delivery with
    the ``LogDeliveryWrite`` ACL and refuses owner-enforced object ownership. Copy it with
    ``s3_rules.py``. The HIPAA/NIST/PCI packs ask for ``S3BucketReplicationEnabled`` (acknowledge
    with your residency reason), and ``AwsSolutions-IAM5`` for the ``<prefix>*`` wildcard of
    each prefix grant.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        access_logs_bucket: s3.IBucket | None,
        access_logs_prefix: str | None = None,
        encryption_key: kms.IKey | None = None,
        lifecycle: LifecyclePolicy | None = None,
        bucket_name: str | None = None,
        object_lock: ObjectLock | None = None,
        vpc_endpoint_id: str | None = None,
        admin_principal_arns: Sequence[str] = (),
        forward_access_services: Sequence[str] = (),
        service_readers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        policy = lifecycle or LifecyclePolicy()
        problem = lifecycle_problem(policy)
        if problem:
            raise ValueError(f"SecureBucket {construct_id} lifecycle: {problem}")
        if bucket_name is not None:
            problem = bucket_name_problem(bucket_name)
            if problem:
                raise ValueError(f"SecureBucket {construct_id} name {bucket_name!r}: {problem}")
        if object_lock is not None:
            problem = object_lock_problem(object_lock, policy)
            if problem:
                raise ValueError(f"SecureBucket {construct_id} object lock: {problem}")
        self._key = encryption_key
        self._evidenced: set[tuple[str, str]] = set()
        self._evidence: dict[str, WildcardEvidence] = {}
        self._stack = cdk.Stack.of(self)

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS
            if encryption_key
            else s3.BucketEncryption.S3_MANAGED,
            encryption_key=encryption_key,
            bucket_key_enabled=encryption_key is not None,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix=access_logs_prefix if access_logs_bucket else None,
            lifecycle_rules=[_lifecycle_rule(policy)],
            object_lock_enabled=object_lock is not None or None,
            object_lock_default_retention=_retention(object_lock),
            removal_policy=cdk.RemovalPolicy.RETAIN,
            auto_delete_objects=False,
        )
        if encryption_key is not None:
            self._deny_other_encryption(encryption_key)
        readers = dict(service_readers or {})
        for reader_prefix in readers.values():
            _check_prefix(reader_prefix)
        if readers and vpc_endpoint_id is None:
            raise ValueError(
                f"SecureBucket {construct_id}: service_readers need vpc_endpoint_id (they are "
                "exemptions from the endpoint deny)"
            )
        if vpc_endpoint_id is not None:
            self._deny_outside_endpoint(
                vpc_endpoint_id, [*admin_principal_arns, *readers], forward_access_services
            )
        for index, (role_arn, reader_prefix) in enumerate(sorted(readers.items())):
            self._confine_reader(index, role_arn, reader_prefix)

    def _deny_other_encryption(self, key: kms.IKey) -> None:
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyOtherEncryptionAlgorithms",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={
                    "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                    "Null": {"s3:x-amz-server-side-encryption": "false"},
                },
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyOtherKmsKeys",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={
                    "StringNotEquals": {
                        "s3:x-amz-server-side-encryption-aws-kms-key-id": key.key_arn
                    },
                    "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
                },
            )
        )

    def _deny_outside_endpoint(
        self, endpoint_id: str, admins: Sequence[str], services: Sequence[str]
    ) -> None:
        stack = self._stack
        exempt = [*admins, f"arn:{stack.partition}:iam::{stack.account}:role/aws-service-role/*"]
        conditions: dict[str, Any] = {
            "StringNotEquals": {"aws:SourceVpce": endpoint_id},
            "ArnNotLike": {"aws:PrincipalArn": exempt},
        }
        if services:
            # Absent (no forward access session) counts as "none of them": denied.
            conditions["ForAllValues:StringNotEquals"] = {"aws:CalledVia": list(services)}
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyDataAccessOutsideTheVpcEndpoint",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=list(DATA_ACTIONS),
                resources=[self.bucket.bucket_arn, self.bucket.arn_for_objects("*")],
                conditions=conditions,
            )
        )

    def _confine_reader(self, index: int, role_arn: str, prefix: str) -> None:
        """The bucket policy's own limit on a service reader: ``prefix`` read and list only."""
        bucket = self.bucket
        who = {"ArnEquals": {"aws:PrincipalArn": role_arn}}

        def deny(sid: str, statement: iam.PolicyStatement) -> None:
            statement.sid = f"ServiceReader{index}{sid}"
            bucket.add_to_resource_policy(statement)

        deny(
            "DenyReadsOutsideItsPrefix",
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject*"],
                not_resources=[bucket.arn_for_objects(f"{prefix}*")],
                conditions=who,
            ),
        )
        deny(
            "DenyChanges",
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:DeleteObject*", "s3:PutObject*", "s3:RestoreObject"],
                resources=[bucket.arn_for_objects("*")],
                conditions=who,
            ),
        )
        deny(
            "DenyListingOutsideItsPrefix",
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:ListBucket*"],
                resources=[bucket.bucket_arn],
                conditions={**who, "StringNotLike": {"s3:prefix": [f"{prefix}*"]}},
            ),
        )

    def grant_read(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Read objects under ``prefix`` (and list that prefix); decrypt via S3 only."""
        _check_prefix(prefix)
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(READ_ACTIONS),
            resource_arns=[self.bucket.arn_for_objects(f"{prefix}*")],
        )
        self._prefix_evidence(grantee, prefix)
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[self.bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        )
        self._grant_key(grantee, ["kms:Decrypt"])
        return grant

    def grant_write(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Write (not delete) objects under ``prefix``; encrypt with the bucket key via S3 only."""
        _check_prefix(prefix)
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(WRITE_ACTIONS),
            resource_arns=[self.bucket.arn_for_objects(f"{prefix}*")],
        )
        self._prefix_evidence(grantee, prefix)
        # Multipart uploads decrypt the data key for each part.
        self._grant_key(grantee, ["kms:Decrypt", "kms:GenerateDataKey"])
        return grant

    def _prefix_evidence(self, grantee: iam.IGrantable, prefix: str) -> None:
        """Acknowledge the IAM5 finding of this grant's object wildcard, on the grantee's role.

        cdk-nag names the resource ``<LogicalId.Arn>/<prefix>*`` when the role is in the
        bucket's stack and by the export name CDK generates for the bucket's ARN when it is not;
        the pattern matches both and nothing else (this bucket, this prefix).
        """
        principal = grantee.grant_principal
        if not isinstance(principal, Construct):
            return  # not a role of this app: no policy here to acknowledge on
        resource = self.bucket.node.default_child
        assert isinstance(resource, s3.CfnBucket)
        logical_id = re.escape(str(self._stack.resolve(resource.logical_id)))
        bucket = rf"(<{logical_id}\.Arn>|[^/]*:ExportsOutputFnGetAtt{logical_id}Arn[A-Za-z0-9]+)"
        key = (principal.node.path, prefix)
        if key in self._evidenced:
            return
        self._evidenced.add(key)
        # One evidence per grantee, each prefix a pattern of it: one pass over its policies.
        evidence = self._evidence.get(principal.node.path)
        if evidence is None:
            evidence = acknowledge_wildcards(principal, [])
            self._evidence[principal.node.path] = evidence
        evidence.add(
            rf"Resource::{bucket}/{re.escape(prefix)}\*",
            f"Objects under {prefix} in this bucket are named at run time; the SecureBucket "
            "grant covers that one prefix, never the whole bucket.",
        )

    def _grant_key(self, grantee: iam.IGrantable, actions: list[str]) -> None:
        if self._key is None:
            return
        stack = self._stack
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=actions,
            resource_arns=[self._key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
        )


def _check_prefix(prefix: str) -> None:
    if not prefix or prefix.startswith("/") or not prefix.endswith("/") or "*" in prefix:
        raise ValueError(
            f"grant prefix {prefix!r}: a non-empty key prefix ending with '/', such as 'clinical/' "
            "(no leading '/', no wildcard); bucket-wide grants are not offered"
        )


def _lifecycle_rule(policy: LifecyclePolicy) -> s3.LifecycleRule:
    return s3.LifecycleRule(
        id="storage-classes-and-retention",
        enabled=True,
        transitions=[
            s3.Transition(
                storage_class=_STORAGE_CLASSES[t.storage_class],
                transition_after=cdk.Duration.days(t.days),
            )
            for t in policy.transitions
        ],
        expiration=(
            cdk.Duration.days(policy.expiration_days)
            if policy.expiration_days is not None
            else None
        ),
        noncurrent_version_expiration=cdk.Duration.days(policy.noncurrent_expiration_days),
        abort_incomplete_multipart_upload_after=cdk.Duration.days(
            policy.abort_incomplete_multipart_days
        ),
    )


def _retention(lock: ObjectLock | None) -> s3.ObjectLockRetention | None:
    if lock is None:
        return None
    duration = cdk.Duration.days(lock.days)
    if lock.mode == "COMPLIANCE":
        return s3.ObjectLockRetention.compliance(duration)
    return s3.ObjectLockRetention.governance(duration)
