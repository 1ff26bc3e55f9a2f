"""Organization mode, log-archive account: the trail's and AWS Config's buckets and keys.

Also the server access logs of both, and read access for the security account. Sources (the
policy shapes below are written as these pages document them):

* CloudTrail, "Amazon S3 bucket policy for CloudTrail" (organization trail section) and
  "Creating a trail for an organization":
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html
* CloudTrail, "Configure AWS KMS key policies for CloudTrail" (encrypt, decrypt, describe):
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html
* AWS Config, "Permissions for the Amazon S3 Bucket for the AWS Config Delivery Channel" and
  "Permissions for the KMS Key":
  https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-policy.html
  https://docs.aws.amazon.com/config/latest/developerguide/s3-kms-key-policy.html
* AWS Control Tower, "Amazon S3 bucket policy for logging" (the organization-wide form of the
  Config delivery statement, ``aws:SourceOrgID``):
  https://docs.aws.amazon.com/controltower/latest/userguide/logging-s3-audit-bucket.html
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..core.compliance import acknowledge, skip_checkov
from ..data.encryption_key import EncryptionKey
from ..data.s3_rules import LifecyclePolicy, ObjectLock, Transition
from ..data.secure_bucket import SecureBucket
from . import names
from .names import ACCOUNT_ID, ORGANIZATION_ID

CLOUDTRAIL = "cloudtrail.amazonaws.com"
CONFIG = "config.amazonaws.com"

READ_OBJECT_ACTIONS: tuple[str, ...] = ("s3:GetObject", "s3:GetObjectVersion")
"""What the security account may do on objects (current and earlier versions); plus
``s3:ListBucket`` on the bucket and ``kms:Decrypt`` through S3."""

_REPLICATION_REASON = (
    "The log archive is the organization's one copy of its CloudTrail and AWS Config records, "
    "kept in its home region for data residency; a replica region is a residency decision the "
    "platform has not made. Versioning, Object Lock (trail), a deletion deny and RETAIN guard "
    "against loss meanwhile."
)
_ACCESS_LOG_ENCRYPTION_REASON = (
    "S3 server access log delivery supports only SSE-S3 on its target bucket; a KMS default "
    "would make deliveries fail. Access logs hold request metadata, not log contents."
)


def _problem(
    *,
    project: str,
    organization_id: str,
    management_account: str,
    security_account: str,
    log_archive_account: str,
    region: str,
    object_lock_mode: str,
    access_log_retention_days: int,
    security_reader_arns: Sequence[str],
) -> str | None:
    """The first invalid argument, as one sentence naming the value and the fix; or None."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", project):
        return f"project {project!r}: lowercase letters, digits and hyphens (it names buckets)"
    if not ORGANIZATION_ID.match(organization_id):
        return f"organization_id {organization_id!r}: o- followed by 10-32 letters or digits"
    accounts = {
        "management_account": management_account,
        "security_account": security_account,
        "the stack's account (log archive)": log_archive_account,
    }
    for role, account in accounts.items():
        if not ACCOUNT_ID.match(account):
            return (
                f"{role} {account!r}: a 12-digit account ID (give the stack an explicit "
                "env=cdk.Environment(account=..., region=...): the bucket names include it)"
            )
    if len(set(accounts.values())) != len(accounts):
        return (
            f"management ({management_account}), security ({security_account}) and log-archive "
            f"({log_archive_account}) must be three different accounts"
        )
    if cdk.Token.is_unresolved(region) or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        return f"region {region!r}: an explicit region on the stack (the bucket names include it)"
    if object_lock_mode not in ("GOVERNANCE", "COMPLIANCE"):
        return f"object_lock_mode {object_lock_mode!r}: GOVERNANCE or COMPLIANCE"
    if access_log_retention_days < 1:
        return f"access_log_retention_days {access_log_retention_days}: at least 1"
    reader_arn = re.compile(rf"arn:[a-z-]+:iam::{security_account}:role/.+")
    for arn in security_reader_arns:
        if not reader_arn.fullmatch(arn):
            return (
                f"security_reader_arns entry {arn!r}: a role ARN (or ARN pattern) of the security "
                f"account, such as arn:aws:iam::{security_account}:role/log-reader-*"
            )
    return None


class OrganizationLogArchive(Construct):
    """The organization's log archive, for a stack in the log-archive account.

    Holds the destination of the organization trail (which runs in ``management_account``) and
    of every member account's AWS Config delivery channel, and lets ``security_account`` read
    both. All names are the fixed ones of ``names.py``, so the management account and the
    members can name them before this stack exists. The stack needs an explicit account and
    region (``env``): they are part of the bucket names.

    Guarantees:

    * **Trail key** (``trail_key``): a customer-managed key (``EncryptionKey``: rotation every
      365 days, ``RETAIN``, administrators without data use) with alias
      ``names.trail_key_alias(project)``, which the trail names by its alias ARN
      (``names.trail_key_alias_arn``; CloudTrail resolves it to the key ARN when the trail is
      created or updated). Its policy adds, for ``cloudtrail.amazonaws.com`` only on behalf of
      the organization trail (``aws:SourceArn`` = ``names.trail_arn``): ``kms:GenerateDataKey*``
      when the encryption context names a trail of the management account
      (``kms:EncryptionContext:aws:cloudtrail:arn`` like
      ``arn:<partition>:cloudtrail:*:<management>:trail/*``); ``kms:Decrypt`` (needed to create
      or update a trail whose bucket uses an S3 Bucket Key), also bound to
      ``aws:SourceAccount`` = management; ``kms:DescribeKey``. The security account may
      ``kms:Decrypt`` only through S3 (``kms:CallerAccount`` = security, ``kms:ViaService`` =
      ``s3.<region>.amazonaws.com``).
    * **Trail bucket** (``trail_bucket``, named ``names.trail_bucket_name``): ``SecureBucket``
      (block public access, ACLs disabled, versioning, TLS 1.2+ only, server access logs,
      ``RETAIN``), SSE-KMS with the trail key and an S3 Bucket Key (uploads naming another
      algorithm or key are denied), S3 Object Lock with default retention
      ``object_lock_mode`` (default ``GOVERNANCE``: users with
      ``s3:BypassGovernanceRetention`` may shorten it; ``COMPLIANCE``: nobody can, not even
      the root user) for ``object_lock_days``, current and noncurrent versions expiring after
      ``trail_retention_days`` (must be >= ``object_lock_days``). Its policy allows exactly
      what CloudTrail documents for an organization trail, each bound to the trail by
      ``aws:SourceArn``: ``s3:GetBucketAcl`` on the bucket, and ``s3:PutObject`` with
      ``s3:x-amz-acl`` = ``bucket-owner-full-control`` under ``AWSLogs/<management account>/``
      (if the trail is turned into an account trail) and ``AWSLogs/<organization id>/``.
    * **Config bucket** (``config_bucket``, named ``names.config_bucket_name``): the same
      ``SecureBucket`` guarantees, SSE-KMS with its own key (``config_key``, alias
      ``alias/<project>-org-config``: nobody outside this account names it; members leave
      their delivery channel's ``s3KmsKeyArn`` unset and the bucket's default key applies), no
      Object Lock (AWS Config does not deliver to a bucket with Object Lock), versions expiring
      after ``config_retention_days`` (default: ``trail_retention_days``). Its policy allows
      ``config.amazonaws.com`` ``s3:GetBucketAcl``, ``s3:ListBucket`` and ``s3:PutObject``
      (``bucket-owner-full-control``) under ``AWSLogs/*/Config/`` when ``aws:SourceOrgID`` is
      ``organization_id``: any account of the organization, none outside it. AWS Config
      delivers across accounts as its service principal (its role is tried first and refused
      here), and the Config key lets that principal ``kms:GenerateDataKey``/``kms:Decrypt``
      on the same ``aws:SourceOrgID`` condition.
    * **Read access**: ``security_account`` (its account principal: the security account's
      own IAM policies decide which of its roles use it) may ``s3:ListBucket`` and
      ``s3:GetObject``/``s3:GetObjectVersion`` on both buckets, and decrypt through S3 as
      above. ``security_reader_arns`` (role ARNs or ``*`` patterns in the security account,
      default none) narrows every read statement to those roles with ``aws:PrincipalArn``. No
      other account reads; the management account gets nothing beyond CloudTrail's delivery.
    * **Deletion**: ``s3:DeleteObject``/``s3:DeleteObjectVersion`` are denied on both log
      buckets to every principal except ``admin_principal_arns`` (default none: only the
      lifecycle expires objects, and Object Lock still holds the trail's versions).
    * **Access logs** (``access_logs``, named ``names.access_logs_bucket_name``): SSE-S3 (the
      only default encryption S3 log delivery supports), expiring after
      ``access_log_retention_days`` (default 365); it does not log itself.
    * ``RemovalPolicy.RETAIN`` on every bucket, key, alias and bucket policy: deleting the
      stack leaves the archive receiving and readable, and the trail's alias ARN resolving.

    ``object_lock_days`` and ``trail_retention_days`` have no default: retention is the
    regulator's number, not the platform's. ``transitions`` (default none) adds lifecycle
    storage-class transitions to both log buckets (validated against S3's minimum storage
    durations). ``trail_region`` (default: the stack's region) is the organization trail's home
    region, part of its ARN; the key and the bucket must share a region, which they do here.
    Invalid arguments raise ``ValueError`` naming the value and what is allowed.

    For the other stages: the management account's trail names ``names.trail_bucket_name`` and
    ``names.trail_key_alias_arn`` (deploy this stack first); members' Config delivery channels
    name ``names.config_bucket_name`` and no key. Deploy-time facts no offline gate checks:
    current CloudTrail documentation has digest files SSE-KMS like the log files (older pages
    said SSE-S3, which the bucket's "other algorithm" deny would refuse), and the
    ``aws:SourceOrgID`` conditions rely on Config's service principal carrying the source
    organization, as AWS Control Tower's own log bucket policy does; watch the first
    deliveries (trail status ``LatestDeliveryError``, Config delivery channel status).

    Acknowledgements it makes, with their reasons, on its own resources: the HIPAA, NIST
    800-53 r5 and PCI DSS ``S3BucketReplicationEnabled`` rules on the three buckets (one copy,
    in the home region, for residency); ``S3DefaultEncryptionKMS`` of the same packs and
    checkov ``CKV_AWS_18`` on the access-log bucket. Nothing is left for the user to
    acknowledge. Needs the app feature flag ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy``
    (``true``), as ``SecureBucket`` does.

    Attributes: ``trail_bucket``, ``config_bucket``, ``access_logs`` (``s3.Bucket``);
    ``trail_key``, ``config_key`` (``kms.Key``); ``trail_arn`` (the organization trail's ARN
    the policies name).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        organization_id: str,
        management_account: str,
        security_account: str,
        object_lock_days: int,
        trail_retention_days: int,
        object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE",
        config_retention_days: int | None = None,
        access_log_retention_days: int = 365,
        transitions: Sequence[Transition] = (),
        trail_region: str | None = None,
        security_reader_arns: Sequence[str] = (),
        admin_principal_arns: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        account, region, partition = stack.account, stack.region, stack.partition
        problem = _problem(
            project=project,
            organization_id=organization_id,
            management_account=management_account,
            security_account=security_account,
            log_archive_account=account,
            region=region,
            object_lock_mode=object_lock_mode,
            access_log_retention_days=access_log_retention_days,
            security_reader_arns=security_reader_arns,
        )
        if problem:
            raise ValueError(f"OrganizationLogArchive {construct_id}: {problem}")
        self._security_account = security_account
        self._readers = tuple(security_reader_arns)
        self._region = region
        self.trail_arn = names.trail_arn(
            project,
            partition=partition,
            region=trail_region or region,
            management_account=management_account,
        )
        where = {"log_archive_account": account, "region": region}

        # --- server access logs -----------------------------------------------------------
        access_logs = SecureBucket(
            self,
            "AccessLogs",
            access_logs_bucket=None,
            bucket_name=names.access_logs_bucket_name(project, **where),
            lifecycle=LifecyclePolicy(expiration_days=access_log_retention_days),
        )
        self.access_logs = access_logs.bucket
        cfn_access_logs = self.access_logs.node.default_child
        assert isinstance(cfn_access_logs, s3.CfnBucket)
        # cdk-nag exempts log-target buckets itself; checkov needs to be told.
        skip_checkov(
            cfn_access_logs,
            "CKV_AWS_18",
            "This is the server-access-log bucket of the log archive: logging it into itself "
            "would log its own log deliveries; the trail and Config buckets log here.",
        )
        acknowledge(
            access_logs,
            [
                "HIPAA.Security::HIPAA.Security-S3DefaultEncryptionKMS",
                "NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS",
                "PCI.DSS.321::PCI.DSS.321-S3DefaultEncryptionKMS",
            ],
            _ACCESS_LOG_ENCRYPTION_REASON,
        )

        # --- the organization trail: key and bucket ---------------------------------------
        trail_key = EncryptionKey(
            self,
            "TrailKey",
            alias=names.trail_key_alias(project),
            description=(
                f"Organization trail {names.trail_name(project)}: log file encryption (log archive)"
            ),
        )
        self.trail_key = trail_key.key
        self._allow_cloudtrail(self.trail_key, management_account)
        self._allow_security_decrypt(self.trail_key)
        trail = SecureBucket(
            self,
            "TrailBucket",
            access_logs_bucket=self.access_logs,
            access_logs_prefix="org-trail/",
            encryption_key=self.trail_key,
            bucket_name=names.trail_bucket_name(project, **where),
            lifecycle=LifecyclePolicy(
                transitions=tuple(transitions),
                expiration_days=trail_retention_days,
                noncurrent_expiration_days=trail_retention_days,
            ),
            object_lock=ObjectLock(mode=object_lock_mode, days=object_lock_days),
        )
        self.trail_bucket = trail.bucket
        self._allow_trail_delivery(self.trail_bucket, management_account, organization_id)

        # --- AWS Config delivery: key and bucket ------------------------------------------
        config_days = (
            trail_retention_days if config_retention_days is None else config_retention_days
        )
        config_key = EncryptionKey(
            self,
            "ConfigKey",
            alias=f"alias/{project}-org-config",
            description="AWS Config delivery channels of the organization (log archive)",
        )
        self.config_key = config_key.key
        self.config_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AWSConfigKMSPolicy",
                principals=[iam.ServicePrincipal(CONFIG)],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceOrgID": organization_id}},
            )
        )
        self._allow_security_decrypt(self.config_key)
        config_bucket = SecureBucket(
            self,
            "ConfigBucket",
            access_logs_bucket=self.access_logs,
            access_logs_prefix="org-config/",
            encryption_key=self.config_key,
            bucket_name=names.config_bucket_name(project, **where),
            lifecycle=LifecyclePolicy(
                transitions=tuple(transitions),
                expiration_days=config_days,
                noncurrent_expiration_days=config_days,
            ),
        )
        self.config_bucket = config_bucket.bucket
        self._allow_config_delivery(self.config_bucket, organization_id)

        # --- both log buckets: security reads, nobody deletes -----------------------------
        for what, bucket in (("TrailLogs", self.trail_bucket), ("ConfigLogs", self.config_bucket)):
            self._allow_security_read(bucket)
            bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"DenyDeleting{what}",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                    resources=[bucket.arn_for_objects("*")],
                    conditions=(
                        {"ArnNotLike": {"aws:PrincipalArn": list(admin_principal_arns)}}
                        if admin_principal_arns
                        else None
                    ),
                )
            )
        for secure_bucket in (access_logs, trail, config_bucket):
            acknowledge(
                secure_bucket,
                [
                    "HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled",
                    "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
                    "PCI.DSS.321::PCI.DSS.321-S3BucketReplicationEnabled",
                ],
                _REPLICATION_REASON,
            )
        # Deliveries depend on the policies and on the alias the trail names: keep them too.
        for child in self.node.find_all():
            if isinstance(child, (s3.CfnBucketPolicy, kms.CfnAlias)):
                child.apply_removal_policy(cdk.RemovalPolicy.RETAIN)

    # --- policy statements ----------------------------------------------------------------

    def _allow_cloudtrail(self, key: kms.IKey, management_account: str) -> None:
        """CloudTrail's three key-policy statements, for the organization trail only."""
        partition = cdk.Stack.of(self).partition
        source = {"aws:SourceArn": self.trail_arn}
        principal = iam.ServicePrincipal(CLOUDTRAIL)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailToEncryptLogFiles",
                principals=[principal],
                actions=["kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": source,
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:{partition}:cloudtrail:*:{management_account}:trail/*"
                        )
                    },
                },
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailToDecryptWithTheBucketKey",
                principals=[principal],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {**source, "aws:SourceAccount": management_account}},
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailToDescribeTheKey",
                principals=[principal],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": source},
            )
        )

    def _allow_trail_delivery(
        self, bucket: s3.IBucket, management_account: str, organization_id: str
    ) -> None:
        """The organization-trail bucket policy of the CloudTrail guide, statement by statement."""
        principal = iam.ServicePrincipal(CLOUDTRAIL)
        source = {"aws:SourceArn": self.trail_arn}
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AWSCloudTrailAclCheck20150319",
                principals=[principal],
                actions=["s3:GetBucketAcl"],
                resources=[bucket.bucket_arn],
                conditions={"StringEquals": source},
            )
        )
        for sid, owner in (
            ("AWSCloudTrailWrite20150319", management_account),
            ("AWSCloudTrailOrganizationWrite20150319", organization_id),
        ):
            bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[principal],
                    actions=["s3:PutObject"],
                    resources=[bucket.arn_for_objects(f"AWSLogs/{owner}/*")],
                    conditions={
                        "StringEquals": {**source, "s3:x-amz-acl": "bucket-owner-full-control"}
                    },
                )
            )

    def _allow_config_delivery(self, bucket: s3.IBucket, organization_id: str) -> None:
        """The Config delivery-channel bucket policy, for every account of the organization."""
        principal = iam.ServicePrincipal(CONFIG)
        org = {"aws:SourceOrgID": organization_id}
        for sid, action in (
            ("AWSConfigBucketPermissionsCheck", "s3:GetBucketAcl"),
            ("AWSConfigBucketExistenceCheck", "s3:ListBucket"),
        ):
            bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[principal],
                    actions=[action],
                    resources=[bucket.bucket_arn],
                    conditions={"StringEquals": org},
                )
            )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AWSConfigBucketDelivery",
                principals=[principal],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects("AWSLogs/*/Config/*")],
                conditions={"StringEquals": {**org, "s3:x-amz-acl": "bucket-owner-full-control"}},
            )
        )

    def _reader_conditions(self) -> dict[str, Any]:
        return {"ArnLike": {"aws:PrincipalArn": list(self._readers)}} if self._readers else {}

    def _allow_security_read(self, bucket: s3.IBucket) -> None:
        principal = iam.AccountPrincipal(self._security_account)
        conditions = self._reader_conditions() or None
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSecurityAccountToList",
                principals=[principal],
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions=conditions,
            )
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSecurityAccountToRead",
                principals=[principal],
                actions=list(READ_OBJECT_ACTIONS),
                resources=[bucket.arn_for_objects("*")],
                conditions=conditions,
            )
        )

    def _allow_security_decrypt(self, key: kms.IKey) -> None:
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSecurityAccountToDecryptThroughS3",
                principals=[iam.AccountPrincipal(self._security_account)],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "kms:CallerAccount": self._security_account,
                        "kms:ViaService": f"s3.{self._region}.amazonaws.com",
                    },
                    **self._reader_conditions(),
                },
            )
        )
