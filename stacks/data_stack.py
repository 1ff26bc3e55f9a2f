"""The stateful data layer of an environment.

Seed pages: Encrypted S3 Bucket; S3 Buckets and Objects (naming); storage classes (General
Purpose, Infrequent Access, Glacier, Intelligent-Tiering); Data Management (lifecycles,
retention, residency, logging).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from platform_config import BucketConfig, EnvironmentConfig
from secure_constructs.core.compliance import acknowledge, skip_checkov
from secure_constructs.data.secure_bucket import SecureBucket
from secure_constructs.genai.knowledge_base import knowledge_base_role_arn
from stacks.base import PlatformStack

_REPLICATION_REASON = (
    "Cross-region replication is a data-residency decision: config has no replica region yet, "
    "so data stays in the environment's one allowed home region; versioning, object lock (audit) "
    "and RETAIN protect against loss in the meantime."
)


def _deny_deletion(bucket: s3.IBucket, what: str, admins: tuple[str, ...]) -> None:
    """Deny deleting objects or versions of ``bucket`` to all but ``admins``.

    Lifecycle expiry still applies: S3 itself is not a principal the policy can refuse.
    """
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid=f"DenyDeleting{what}",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
            resources=[bucket.arn_for_objects("*")],
            conditions={"ArnNotLike": {"aws:PrincipalArn": list(admins)}} if admins else None,
        )
    )


class DataStack(PlatformStack):
    """The bucket family, retained on stack deletion.

    * ``access_logs``: server access logs of every other bucket; SSE-S3 (the only default
      encryption S3 log delivery supports on its target bucket).
    * ``audit``: CloudTrail logs; SSE-KMS with the logs key; S3 Object Lock with the configured
      default retention.
    * ``config_history``: AWS Config history and snapshots. AWS Config cannot deliver to a
      bucket with S3 Object Lock, so it has its own bucket: SSE-KMS with the logs key, the audit
      bucket's lifecycle (same retention), and a policy denying object deletion to everyone but
      the admin roles from config (lifecycle expiry still applies).
    * ``invocation_logs``: Bedrock model invocation logs (prompts and answers, possibly PHI),
      apart from the audit evidence: SSE-KMS with the data key, no Object Lock, expiry after
      the configured retention (required), object deletion denied to everyone but the admin
      roles (so a deletion request can be honoured, by them, before expiry).
    * ``raw`` (landing), ``curated``, ``model_artifacts``: SSE-KMS with the data key and bucket
      keys; uploads with another algorithm or key are denied; data access is denied unless it
      comes through the VPC's S3 gateway endpoint (admin roles from config, service-linked roles
      and only the services in ``data.forward_access_services`` acting for a caller, by
      ``aws:CalledVia``, excepted). With ``genai.knowledge_base``, the knowledge base's service
      role (a fixed name, so no reference to the GenAI stack) reads ``curated`` from Bedrock's
      network: it is exempt from the endpoint deny and confined by the bucket policy itself to
      reading and listing the knowledge prefix.

    Attributes: the seven ``SecureBucket`` constructs, ``buckets`` (name -> construct).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        environment: EnvironmentConfig,
        description: str,
        data_key: kms.IKey,
        logs_key: kms.IKey,
        s3_endpoint_id: str,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            project=project,
            environment=environment,
            name_suffix="data",
            description=description,
        )
        data = environment.data

        def config(bucket: BucketConfig) -> dict[str, Any]:
            return {"bucket_name": bucket.name, "lifecycle": bucket.lifecycle}

        self.access_logs = SecureBucket(
            self, "AccessLogs", access_logs_bucket=None, **config(data.access_logs)
        )
        logs_bucket = self.access_logs.bucket
        no_self_logging = (
            "This is the server-access-log bucket itself: logging it into itself would log its own "
            "log deliveries; every other bucket logs here."
        )
        cfn_logs_bucket = logs_bucket.node.default_child
        assert isinstance(cfn_logs_bucket, s3.CfnBucket)
        # cdk-nag exempts log-target buckets itself; checkov needs to be told.
        skip_checkov(cfn_logs_bucket, "CKV_AWS_18", no_self_logging)
        acknowledge(
            self.access_logs,
            [
                "HIPAA.Security::HIPAA.Security-S3DefaultEncryptionKMS",
                "NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS",
                "PCI.DSS.321::PCI.DSS.321-S3DefaultEncryptionKMS",
            ],
            "S3 server access log delivery supports only SSE-S3 on its target bucket; a KMS "
            "default would make deliveries fail. Logs hold request metadata, not object data.",
        )
        self.audit = SecureBucket(
            self,
            "Audit",
            access_logs_bucket=logs_bucket,
            access_logs_prefix="audit/",
            encryption_key=logs_key,
            object_lock=data.audit_object_lock,
            **config(data.audit),
        )
        self.config_history = SecureBucket(
            self,
            "ConfigHistory",
            access_logs_bucket=logs_bucket,
            access_logs_prefix="config-history/",
            encryption_key=logs_key,
            lifecycle=data.audit.lifecycle,
        )
        _deny_deletion(self.config_history.bucket, "ConfigHistory", data.admin_principal_arns)
        self.invocation_logs = SecureBucket(
            self,
            "InvocationLogs",
            access_logs_bucket=logs_bucket,
            access_logs_prefix="invocation-logs/",
            encryption_key=data_key,
            **config(data.invocation_logs),
        )
        _deny_deletion(self.invocation_logs.bucket, "InvocationLogs", data.admin_principal_arns)
        knowledge = environment.genai.knowledge_base
        readers = {
            "Curated": {
                knowledge_base_role_arn(
                    f"{project}-{environment.name}", partition=self.partition, account=self.account
                ): knowledge.prefix
            }
            if knowledge is not None
            else {},
        }
        data_buckets = {}
        for construct_id, name, bucket in (
            ("Raw", "raw", data.raw),
            ("Curated", "curated", data.curated),
            ("ModelArtifacts", "model-artifacts", data.model_artifacts),
        ):
            data_buckets[construct_id] = SecureBucket(
                self,
                construct_id,
                access_logs_bucket=logs_bucket,
                access_logs_prefix=f"{name}/",
                encryption_key=data_key,
                vpc_endpoint_id=s3_endpoint_id,
                admin_principal_arns=data.admin_principal_arns,
                forward_access_services=data.forward_access_services,
                service_readers=readers.get(construct_id),
                **config(bucket),
            )
        self.raw = data_buckets["Raw"]
        self.curated = data_buckets["Curated"]
        self.model_artifacts = data_buckets["ModelArtifacts"]
        self.buckets: dict[str, SecureBucket] = {
            "raw": self.raw,
            "curated": self.curated,
            "model_artifacts": self.model_artifacts,
            "audit": self.audit,
            "invocation_logs": self.invocation_logs,
            "access_logs": self.access_logs,
            "config_history": self.config_history,
        }
        for secure_bucket in self.buckets.values():
            acknowledge(
                secure_bucket,
                [
                    "HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled",
                    "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
                    "PCI.DSS.321::PCI.DSS.321-S3BucketReplicationEnabled",
                ],
                _REPLICATION_REASON,
            )
