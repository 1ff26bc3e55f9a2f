"""Static facts the config loader validates against, so that synth needs no AWS call.

Everything here is data, kept in one place: the regions this platform supports with their
Availability Zone names and the PrivateLink endpoint services it knows how to create.

A region or endpoint missing from these tables is rejected with a clear message; adding one is a
one-line change here, reviewed like any other change to the platform's boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

# Regions where Amazon Bedrock and Amazon SageMaker are both offered, with the AZ letters AWS
# publishes for them. AZ names map to physical zones per account; the letters are the same set.
REGION_AZ_LETTERS: dict[str, str] = {
    "us-east-1": "abcdef",
    "us-east-2": "abc",
    "us-west-2": "abcd",
    "ca-central-1": "abd",
    "eu-west-1": "abc",
    "eu-west-2": "abc",
    "eu-west-3": "abc",
    "eu-central-1": "abc",
    "eu-central-2": "abc",
    "eu-north-1": "abc",
    "eu-south-1": "abc",
    "eu-south-2": "abc",
    "ap-south-1": "abc",
    "ap-southeast-1": "abc",
    "ap-southeast-2": "abc",
    "ap-northeast-1": "acd",
    "ap-northeast-2": "abcd",
    "ap-northeast-3": "abc",
    "sa-east-1": "abc",
}


def availability_zones_of(region: str) -> tuple[str, ...]:
    """The AZ names of a supported region, e.g. ``('eu-west-1a', 'eu-west-1b', 'eu-west-1c')``."""
    return tuple(region + letter for letter in REGION_AZ_LETTERS.get(region, ""))


@dataclass(frozen=True)
class EndpointService:
    """A PrivateLink interface endpoint the platform can create.

    ``name`` is the suffix of ``com.amazonaws.<region>.<name>``. ``actions`` are the IAM actions
    the endpoint policy allows to principals of the environment's own account; ``None`` means the
    service does not accept endpoint policies, so the endpoint gets none (its traffic is still
    limited to the VPC by the endpoint security group).
    """

    name: str
    actions: tuple[str, ...] | None


def _service_wide(prefix: str) -> tuple[str, ...]:
    return (f"{prefix}:*",)


# The endpoint policy of each service allows only that service's actions (an interface endpoint
# serves one service), and only to principals of the environment's account. The Bedrock runtime
# endpoint is narrower still: invocation and guardrail calls only (Converse and ConverseStream
# are authorised as InvokeModel and InvokeModelWithResponseStream; they are no IAM actions).
ENDPOINT_SERVICES: dict[str, EndpointService] = {
    s.name: s
    for s in (
        EndpointService("bedrock", _service_wide("bedrock")),
        EndpointService(
            "bedrock-runtime",
            (
                "bedrock:InvokeModel",
                "bedrock:InvokeModelWithResponseStream",
                "bedrock:ApplyGuardrail",
                "bedrock:CountTokens",
            ),
        ),
        EndpointService("bedrock-agent", _service_wide("bedrock")),
        EndpointService("bedrock-agent-runtime", _service_wide("bedrock")),
        EndpointService("sagemaker.api", _service_wide("sagemaker")),
        EndpointService("sagemaker.runtime", _service_wide("sagemaker")),
        EndpointService("sagemaker.featurestore-runtime", _service_wide("sagemaker")),
        EndpointService("sts", _service_wide("sts")),
        EndpointService("kms", _service_wide("kms")),
        EndpointService("logs", _service_wide("logs")),
        EndpointService("monitoring", _service_wide("cloudwatch")),
        EndpointService("ecr.api", _service_wide("ecr")),
        EndpointService("ecr.dkr", _service_wide("ecr")),
        EndpointService("ssm", _service_wide("ssm")),
        EndpointService("ssmmessages", None),
        EndpointService("ec2messages", None),
        EndpointService("comprehendmedical", _service_wide("comprehendmedical")),
        EndpointService("events", _service_wide("events")),
        EndpointService("sns", _service_wide("sns")),
        EndpointService("sqs", _service_wide("sqs")),
        EndpointService("secretsmanager", _service_wide("secretsmanager")),
        EndpointService("lambda", _service_wide("lambda")),
    )
}


@dataclass(frozen=True)
class EmbeddingModel:
    """A Bedrock text-embedding model a knowledge base may use.

    ``dimensions``: the vector sizes the model can produce (the index is created with one);
    ``max_input_tokens``: the longest chunk it embeds, so a chunk size above it is refused.
    """

    model_id: str
    dimensions: tuple[int, ...]
    max_input_tokens: int


# The platform's allow-list of embedding models (Bedrock user guide, "Supported models and
# Regions for Amazon Bedrock knowledge bases"; dimensions and input limits from each model's
# parameters page). Guardrails do not apply to embedding calls; the organization's SCP excepts
# exactly these families (amazon.titan-embed-*, cohere.embed-*) from its guardrail requirement.
EMBEDDING_MODELS: dict[str, EmbeddingModel] = {
    m.model_id: m
    for m in (
        EmbeddingModel("amazon.titan-embed-text-v2:0", (256, 512, 1024), 8192),
        EmbeddingModel("amazon.titan-embed-text-v1", (1536,), 8192),
        EmbeddingModel("cohere.embed-english-v3", (1024,), 512),
        EmbeddingModel("cohere.embed-multilingual-v3", (1024,), 512),
    )
}


# AWS Security Hub standards the platform can enable, by the ID that ends their ARN
# (arn:<partition>:securityhub:<region>::standards/<id>), with the standard's name. Source: the
# Security Hub standards reference (DescribeStandards returns the same ARNs). The legacy CIS
# v1.2.0 ruleset (a region-less "ruleset/" ARN) is left out on purpose: use a newer CIS version.
SECURITYHUB_STANDARDS: dict[str, str] = {
    "aws-foundational-security-best-practices/v/1.0.0": "AWS Foundational Security Best Practices",
    "aws-resource-tagging-standard/v/1.0.0": "AWS Resource Tagging Standard",
    "cis-aws-foundations-benchmark/v/1.4.0": "CIS AWS Foundations Benchmark v1.4.0",
    "cis-aws-foundations-benchmark/v/3.0.0": "CIS AWS Foundations Benchmark v3.0.0",
    "nist-800-53/v/5.0.0": "NIST SP 800-53 Rev. 5",
    "nist-800-171/v/2.0.0": "NIST SP 800-171 Rev. 2",
    "pci-dss/v/3.2.1": "PCI DSS v3.2.1",
    "pci-dss/v/4.0.1": "PCI DSS v4.0.1",
}
