"""A Bedrock knowledge base over one prefix of an encrypted bucket, with its vector store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3vectors as s3vectors
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..core.bucket_grants import BucketWithPrefixGrants
from ..core.compliance import acknowledge
from ..core.managed_policy_role import ManagedPolicyRole
from ..core.secure_function import SecureFunction
from ..core.secure_queue import eventbridge_key_statement

INDEX_NAME = "knowledge"
NON_FILTERABLE_METADATA = ("AMAZON_BEDROCK_TEXT", "AMAZON_BEDROCK_METADATA")
"""Keys Bedrock writes into each vector's metadata: the chunk text and its source metadata.
Non-filterable, because S3 Vectors limits filterable metadata to 2 KB per vector and a chunk's
text is larger (Bedrock user guide, "Use S3 Vectors with a knowledge base")."""

_KB = bedrock.CfnKnowledgeBase
_DS = bedrock.CfnDataSource

INGESTION_FUNCTION_TIMEOUT = cdk.Duration.seconds(60)
MAX_RECEIVE_COUNT = 20
"""Deliveries of one change event before the buffer queue moves it to the dead-letter queue:
an event retried because a job was running comes back once per visibility timeout (11 min),
so about 3.5 hours of running jobs pass before an operator hears of it."""

INGESTION_ACTIONS = ("bedrock:StartIngestionJob", "bedrock:ListIngestionJobs")


def knowledge_base_role_name(prefix: str) -> str:
    """The fixed name of the knowledge base's service role, ``<prefix>-knowledge-base``.

    Fixed so that the bucket policy of the data stack (deployed first) can name it without a
    reference back to the stack that creates it.
    """
    name = f"{prefix}-knowledge-base"
    if len(name) > 64:
        raise ValueError(f"knowledge base role name {name!r}: IAM role names have 64 characters")
    return name


def knowledge_base_role_arn(prefix: str, *, partition: str, account: str) -> str:
    """The ARN ``knowledge_base_role_name(prefix)`` has in ``account``."""
    return f"arn:{partition}:iam::{account}:role/{knowledge_base_role_name(prefix)}"


def vector_bucket_name(prefix: str) -> str:
    """The fixed name of the vector bucket (unique per account and region)."""
    return f"{prefix}-knowledge-vectors"


class SecureKnowledgeBase(Construct):
    """A vector knowledge base over ``bucket``'s ``prefix``, kept in sync by an ingestion queue.

    Guarantees:
      * vector store: an Amazon S3 Vectors bucket and index (``float32``, cosine, ``dimensions``)
        encrypted with ``data_key`` (SSE-KMS). The key policy gains one statement: S3 Vectors'
        background indexing principal ``indexing.s3vectors.amazonaws.com`` may ``kms:Decrypt``
        for this vector bucket only (``aws:SourceArn``, ``aws:SourceAccount``, S3 Vectors'
        encryption context keys), and a second: the service role (by ARN) may use it for
        ingestion's transient data under this account's knowledge-base encryption context. The
        key policy must also let IAM policies use the key through ``s3vectors`` and ``bedrock``
        (``EncryptionKey.allow_use_via_services``). Both are retained when the stack is deleted;
      * knowledge base: ``VECTOR`` type, ``embedding_model_arn`` (a foundation model from the
        platform's embedding allow-list), one S3 data source on ``prefix`` only, transient
        ingestion data encrypted with ``data_key``, fixed-size chunks, vectors retained when
        the data source is deleted (``DataDeletionPolicy`` RETAIN);
      * service role ``knowledge_base_role_name(name)``: trusted by ``bedrock.amazonaws.com``
        only, for this account (``aws:SourceAccount``) and its knowledge bases
        (``aws:SourceArn`` ``knowledge-base/*``: the knowledge base's ID does not exist before
        the role, which Bedrock checks at creation; nobody but the deployment can pass the role).
        It may read and list ``prefix`` (``SecureBucket.grant_read``: ``kms:Decrypt`` on the
        data key through S3 only), invoke the embedding model and nothing else in Bedrock,
        read and write vectors of its own index only (the data key through S3 Vectors only),
        and use the data key for ingestion's transient data only under this account's
        knowledge-base encryption context. The bucket must confine it too: pass
        ``{role ARN: prefix}`` as ``SecureBucket(service_readers=...)``, because Bedrock reads
        from its own network, not through the VPC endpoint the data buckets require;
      * ingestion: the bucket's EventBridge notifications (turned on here when the bucket is
        an ``s3.Bucket`` of this app; an imported bucket needs them on already) for objects created
        or deleted under ``prefix`` feed an encrypted SQS buffer queue; ``lambda/
        knowledge_ingestion`` (a ``SecureFunction`` in the private subnets, PrivateLink only)
        consumes it in batches of up to 100 over ``ingestion_window_seconds`` with at most two
        concurrent batches and starts one ingestion job per batch (idempotent client token;
        retried while a job runs). What EventBridge cannot deliver, events the function
        rejects, and events still failing after ``MAX_RECEIVE_COUNT`` deliveries all land in
        the function's dead-letter queue; ``dead_letter_queue`` is exposed for an alarm.

    Needs: the VPC's interface endpoints ``bedrock-agent`` and ``sqs``; ``data_key`` in this
    account. Acknowledges the IAM5 findings of its own wildcards with reasons. Attributes:
    ``knowledge_base``, ``data_source``, ``role``, ``vector_bucket``, ``index``,
    ``ingestion`` (``SecureFunction``), ``buffer``, ``rule``, ``knowledge_base_arn``,
    ``dead_letter_queue``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        bucket: BucketWithPrefixGrants,
        prefix: str,
        data_key: kms.IKey,
        logs_key: kms.IKey,
        embedding_model_id: str,
        dimensions: int,
        chunk_max_tokens: int,
        chunk_overlap_percentage: int,
        vpc: ec2.IVpc,
        endpoint_security_group: ec2.ISecurityGroup,
        code_dir: Path,
        layers: Sequence[lambda_.ILayerVersion] = (),
        ingestion_window_seconds: int = 300,
        reserved_concurrency: int | None = 1,
        log_retention_days: int = 365,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        partition, region, account = stack.partition, stack.region, stack.account
        arn = f"arn:{partition}:bedrock:{region}:{account}"

        vectors_name = vector_bucket_name(name)
        vectors_arn = f"arn:{partition}:s3vectors:{region}:{account}:bucket/{vectors_name}"
        self.vector_bucket = s3vectors.CfnVectorBucket(
            self,
            "VectorBucket",
            vector_bucket_name=vectors_name,
            encryption_configuration=s3vectors.CfnVectorBucket.EncryptionConfigurationProperty(
                sse_type="aws:kms", kms_key_arn=data_key.key_arn
            ),
        )
        self.vector_bucket.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        self.index = s3vectors.CfnIndex(
            self,
            "VectorIndex",
            vector_bucket_arn=self.vector_bucket.attr_vector_bucket_arn,
            index_name=INDEX_NAME,
            data_type="float32",
            dimension=dimensions,
            distance_metric="cosine",
            metadata_configuration=s3vectors.CfnIndex.MetadataConfigurationProperty(
                non_filterable_metadata_keys=list(NON_FILTERABLE_METADATA)
            ),
        )
        self.index.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        data_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="S3VectorsIndexingOfTheKnowledgeVectors",
                principals=[iam.ServicePrincipal("indexing.s3vectors.amazonaws.com")],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": [vectors_arn, f"{vectors_arn}/*"]},
                    "ForAnyValue:StringEquals": {
                        "kms:EncryptionContextKeys": [
                            "aws:s3vectors:arn",
                            "aws:s3vectors:resource-id",
                        ]
                    },
                },
            )
        )

        # Bedrock encrypts ingestion's transient data with the data key as the service role;
        # the key policy names the role by ARN (a fixed name: no reference back to this stack,
        # and a condition, not a principal, since the role does not exist when the key policy is
        # written) and this account's knowledge-base encryption context.
        data_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="KnowledgeBaseTransientIngestionData",
                principals=[iam.AccountRootPrincipal()],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={
                    "ArnEquals": {
                        "aws:PrincipalArn": knowledge_base_role_arn(
                            name, partition=partition, account=account
                        )
                    },
                    "ArnLike": {"kms:EncryptionContext:aws:bedrock:arn": f"{arn}:knowledge-base/*"},
                },
            )
        )
        embedding_model_arn = (
            f"arn:{partition}:bedrock:{region}::foundation-model/{embedding_model_id}"
        )
        self.role = ManagedPolicyRole(
            self,
            "ServiceRole",
            role_name=knowledge_base_role_name(name),
            description=f"Bedrock knowledge base {name}: reads {prefix} only, embeds, own index",
            assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"{arn}:knowledge-base/*"},
                }
            ),
            max_session_duration=cdk.Duration.hours(1),
        )
        for statement in (
            iam.PolicyStatement(
                sid="EmbedWithTheAllowListedModel",
                actions=["bedrock:InvokeModel"],
                resources=[embedding_model_arn],
            ),
            iam.PolicyStatement(
                sid="OwnVectorIndex",
                actions=[
                    "s3vectors:GetIndex",
                    "s3vectors:PutVectors",
                    "s3vectors:GetVectors",
                    "s3vectors:QueryVectors",
                    "s3vectors:ListVectors",
                    "s3vectors:DeleteVectors",
                ],
                resources=[self.index.attr_index_arn],
            ),
            iam.PolicyStatement(
                sid="DataKeyThroughS3Vectors",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[data_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3vectors.{region}.amazonaws.com"}
                },
            ),
            iam.PolicyStatement(
                sid="DataKeyForTransientIngestionData",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[data_key.key_arn],
                conditions={
                    "ArnLike": {"kms:EncryptionContext:aws:bedrock:arn": f"{arn}:knowledge-base/*"}
                },
            ),
        ):
            self.role.add_to_policy(statement)
        bucket.grant_read(self.role, prefix)

        self.knowledge_base = bedrock.CfnKnowledgeBase(
            self,
            "KnowledgeBase",
            name=f"{name}-knowledge",
            description=f"PHI-redacted documents under {prefix} of the curated bucket",
            role_arn=self.role.role_arn,
            knowledge_base_configuration=_KB.KnowledgeBaseConfigurationProperty(
                type="VECTOR",
                vector_knowledge_base_configuration=_KB.VectorKnowledgeBaseConfigurationProperty(
                    embedding_model_arn=embedding_model_arn,
                    embedding_model_configuration=_KB.EmbeddingModelConfigurationProperty(
                        bedrock_embedding_model_configuration=_KB.BedrockEmbeddingModelConfigurationProperty(
                            dimensions=dimensions, embedding_data_type="FLOAT32"
                        )
                    ),
                ),
            ),
            storage_configuration=_KB.StorageConfigurationProperty(
                type="S3_VECTORS",
                s3_vectors_configuration=_KB.S3VectorsConfigurationProperty(
                    index_arn=self.index.attr_index_arn,
                    vector_bucket_arn=self.vector_bucket.attr_vector_bucket_arn,
                ),
            ),
        )
        # Bedrock uses the role at creation: its policies must exist first.
        self.knowledge_base.node.add_dependency(*self.role.managed_policies)
        self.knowledge_base_arn = self.knowledge_base.attr_knowledge_base_arn
        self.data_source = bedrock.CfnDataSource(
            self,
            "DataSource",
            knowledge_base_id=self.knowledge_base.attr_knowledge_base_id,
            name=f"{name}-{prefix.strip('/').replace('/', '-')}",
            description=f"Objects under {prefix} of the curated bucket",
            data_deletion_policy="RETAIN",
            data_source_configuration=_DS.DataSourceConfigurationProperty(
                type="S3",
                s3_configuration=_DS.S3DataSourceConfigurationProperty(
                    bucket_arn=bucket.bucket.bucket_arn, inclusion_prefixes=[prefix]
                ),
            ),
            server_side_encryption_configuration=_DS.ServerSideEncryptionConfigurationProperty(
                kms_key_arn=data_key.key_arn
            ),
            vector_ingestion_configuration=_DS.VectorIngestionConfigurationProperty(
                chunking_configuration=_DS.ChunkingConfigurationProperty(
                    chunking_strategy="FIXED_SIZE",
                    fixed_size_chunking_configuration=_DS.FixedSizeChunkingConfigurationProperty(
                        max_tokens=chunk_max_tokens, overlap_percentage=chunk_overlap_percentage
                    ),
                )
            ),
        )
        self.ingestion = self._ingestion(
            name=name,
            bucket=bucket,
            prefix=prefix,
            data_key=data_key,
            logs_key=logs_key,
            vpc=vpc,
            endpoint_security_group=endpoint_security_group,
            code_dir=code_dir,
            layers=layers,
            window=ingestion_window_seconds,
            reserved_concurrency=reserved_concurrency,
            log_retention_days=log_retention_days,
        )
        self.dead_letter_queue = self.ingestion.dead_letter_queue.queue

    def _ingestion(
        self,
        *,
        name: str,
        bucket: BucketWithPrefixGrants,
        prefix: str,
        data_key: kms.IKey,
        logs_key: kms.IKey,
        vpc: ec2.IVpc,
        endpoint_security_group: ec2.ISecurityGroup,
        code_dir: Path,
        layers: Sequence[lambda_.ILayerVersion],
        window: int,
        reserved_concurrency: int | None,
        log_retention_days: int,
    ) -> SecureFunction:
        stack = cdk.Stack.of(self)
        region, account = stack.region, stack.account
        function = SecureFunction(
            self,
            "Ingestion",
            code_dir=code_dir,
            layers=layers,
            description=f"One knowledge-base ingestion job per batch of changes under {prefix}",
            vpc=vpc,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            endpoint_security_group=endpoint_security_group,
            logs_key=logs_key,
            queue_key=data_key,
            environment_key=data_key,
            log_retention_days=log_retention_days,
            reserved_concurrency=reserved_concurrency,
            timeout=INGESTION_FUNCTION_TIMEOUT,
            environment={
                "KNOWLEDGE_BASE_ID": self.knowledge_base.attr_knowledge_base_id,
                "DATA_SOURCE_ID": self.data_source.attr_data_source_id,
                "KNOWLEDGE_BUCKET": bucket.bucket.bucket_name,
                "KNOWLEDGE_PREFIX": prefix,
            },
            statements=[
                iam.PolicyStatement(
                    sid="IngestThisKnowledgeBase",
                    actions=list(INGESTION_ACTIONS),
                    resources=[self.knowledge_base.attr_knowledge_base_arn],
                )
            ],
        )
        dead_letters = function.dead_letter_queue.queue
        # AWS: visibility timeout at least six times the function timeout plus the batching
        # window, so a batch being retried by Lambda is not handed out twice.
        self.buffer = sqs.Queue(
            self,
            "Buffer",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=data_key,
            data_key_reuse=cdk.Duration.hours(1),
            enforce_ssl=True,
            retention_period=cdk.Duration.days(4),
            visibility_timeout=cdk.Duration.seconds(
                6 * INGESTION_FUNCTION_TIMEOUT.to_seconds() + window
            ),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dead_letters, max_receive_count=MAX_RECEIVE_COUNT
            ),
        )
        for statement in (
            iam.PolicyStatement(
                sid="ConsumeTheBuffer",
                actions=[
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                ],
                resources=[self.buffer.queue_arn],
            ),
            iam.PolicyStatement(
                sid="DecryptTheBuffer",
                actions=["kms:Decrypt"],
                resources=[data_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}},
            ),
        ):
            function.add_to_role_policy(statement)
        mapping = function.function.add_event_source_mapping(
            "Buffer",
            event_source_arn=self.buffer.queue_arn,
            batch_size=100,
            max_batching_window=cdk.Duration.seconds(window),
            report_batch_item_failures=True,
            max_concurrency=2,
        )
        acknowledge(
            mapping,
            "Serverless::Serverless-LambdaEventSourceMappingDestination",
            "Lambda offers on-failure destinations for stream and Kafka sources, not SQS: the "
            f"buffer queue's redrive policy moves a batch still failing after {MAX_RECEIVE_COUNT} "
            "deliveries to the function's dead-letter queue, which alarms.",
        )

        cfn_bucket = bucket.bucket.node.default_child
        if isinstance(cfn_bucket, s3.CfnBucket):  # a bucket of this app: turn notifications on
            cfn_bucket.add_property_override(
                "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
            )
        rule_name = f"{name}-knowledge-object-changed"
        rule_arn = f"arn:{stack.partition}:events:{region}:{account}:rule/{rule_name}"
        self.rule = events.Rule(
            self,
            "KnowledgeObjectChanged",
            rule_name=rule_name,
            description=f"Objects created or deleted under {prefix} of the curated bucket",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created", "Object Deleted"],
                detail={
                    "bucket": {"name": [bucket.bucket.bucket_name]},
                    "object": {"key": [{"prefix": prefix}]},
                },
            ),
        )
        # The target is written out (L1) because CDK's SqsQueue target would also give
        # EventBridge the data key for every rule of the account; this rule's own grants follow.
        cfn_rule = self.rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        cfn_rule.targets = [
            events.CfnRule.TargetProperty(
                id="Buffer",
                arn=self.buffer.queue_arn,
                dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                    arn=dead_letters.queue_arn
                ),
                retry_policy=events.CfnRule.RetryPolicyProperty(
                    maximum_retry_attempts=185, maximum_event_age_in_seconds=24 * 3600
                ),
            )
        ]
        for sid, queue in (("Buffer", self.buffer), ("DeadLetters", dead_letters)):
            queue.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"KnowledgeRuleSendsTo{sid}",
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["sqs:SendMessage"],
                    resources=[queue.queue_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
                )
            )
        data_key.add_to_resource_policy(
            eventbridge_key_statement(
                "EventBridgeToTheKnowledgeBuffer", rule_arn=rule_arn, account=account, region=region
            )
        )
        return function
