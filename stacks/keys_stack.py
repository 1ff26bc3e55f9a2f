"""Stateful root of each environment: the customer-managed KMS keys every other stack uses."""

from __future__ import annotations

from constructs import Construct

from platform_config import EnvironmentConfig
from secure_constructs.data.encryption_key import EncryptionKey
from stacks.base import PlatformStack


class KeysStack(PlatformStack):
    """KMS keys, retained on stack deletion.

    ``data_key`` encrypts the data buckets (raw, curated, model artifacts); IAM policies may grant
    its use only through S3 and SageMaker, and, for the ML/GenAI workloads, through EFS (the
    Studio domain's home volume is an EFS file system SageMaker creates with this key), SQS
    (dead-letter queues hold failed events, which name clinical objects) and Lambda (function
    environment variables). Grants only for AWS resources, through SageMaker and EFS (volumes
    they attach) and Lambda (it grants the function's role the use of the key for its encrypted
    environment), and with ``genai.knowledge_base`` through S3 Vectors (the vector store) and
    Bedrock (the knowledge base's transient ingestion data). Comprehend Medical never uses it
    (DetectPHI is synchronous and stores nothing); Bedrock may generate data keys with it
    directly only for its invocation logs in the ``invocation_logs`` bucket and for the
    knowledge base's service role (the GenAI stack adds those statements, for this account and
    region).

    ``logs_key`` encrypts CloudWatch Logs log groups, the audit and Config history buckets
    (readable through S3 only) and the audit stacks' security telemetry: the alerts SNS topic and
    the dead-letter queues (IAM policies may grant its use only through S3, SNS and SQS; the audit
    stacks add the statements CloudTrail, EventBridge, SNS and CloudWatch need, each bound to
    named resources). The keys sit in their own stack so that the network and data stacks can
    both use them without a dependency cycle (data bucket policies reference the network's S3
    endpoint).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        environment: EnvironmentConfig,
        description: str,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            project=project,
            environment=environment,
            name_suffix="keys",
            description=description,
        )
        project = project
        env_name = environment.name
        self.logs = EncryptionKey(
            self,
            "LogsKey",
            alias=f"alias/{project}/{env_name}/logs",
            description=f"{project} {env_name}: CloudWatch Logs encryption",
        )
        self.logs.allow_cloudwatch_logs()
        self.logs.allow_use_via_services(["s3", "sns", "sqs"])
        self.logs_key = self.logs.key
        self.data = EncryptionKey(
            self,
            "DataKey",
            alias=f"alias/{project}/{env_name}/data",
            description=f"{project} {env_name}: workload data (S3, SageMaker)",
        )
        via = ["s3", "sagemaker", "elasticfilesystem", "sqs", "lambda"]
        if environment.genai.knowledge_base is not None:
            # the vector store (S3 Vectors) and the knowledge base's ingestion (Bedrock)
            via += ["s3vectors", "bedrock"]
        self.data.allow_use_via_services(via)
        self.data.allow_grants_for_aws_resources(["sagemaker", "elasticfilesystem", "lambda"])
        self.data_key = self.data.key
