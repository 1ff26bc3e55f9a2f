"""Fixed monthly cost of what the templates declare, at list prices (usage charges excluded)."""

from __future__ import annotations

from dataclasses import dataclass

from gates.assembly import StackArtifact

HOURS_PER_MONTH = 730
PRICE_SOURCE = (
    "AWS list prices for us-east-1 and us-east-2, which are the same (VPC/NAT, PrivateLink, "
    "KMS, S3 Vectors and OpenSearch Serverless pricing pages), "
    "read 2026-11-27; check your region in the AWS Pricing Calculator"
)
NAT_GATEWAY_HOURLY = 0.045  # USD per NAT gateway hour; data processed is $0.045/GB extra
INTERFACE_ENDPOINT_AZ_HOURLY = 0.01  # USD per endpoint per AZ hour; data is $0.01/GB extra
KMS_KEY_MONTHLY = 1.00  # USD per customer-managed key; rotated versions add up to $2 more
S3_VECTORS_INDEX_MONTHLY = 0.00  # S3 Vectors has no fixed charge: storage, PUTs and queries only
OPENSEARCH_SERVERLESS_OCU_HOURLY = 0.24  # USD per OCU hour, for comparison and for collections
OPENSEARCH_SERVERLESS_MIN_OCUS = 2  # the smallest redundant deployment (indexing + search)
PRICED_REGIONS = frozenset({"us-east-1", "us-east-2"})
"""Regions whose list prices the constants above are; other regions are not priced."""


@dataclass(frozen=True)
class CostEstimate:
    """Counts and fixed monthly cost (USD) of one environment."""

    environment: str
    nat_gateways: int
    endpoint_azs: int
    kms_keys: int
    regions: tuple[str, ...] = ("us-east-1",)
    vector_indexes: int = 0
    opensearch_collections: int = 0

    @property
    def monthly(self) -> float:
        """Fixed monthly total in USD."""
        return (
            self.nat_gateways * NAT_GATEWAY_HOURLY * HOURS_PER_MONTH
            + self.endpoint_azs * INTERFACE_ENDPOINT_AZ_HOURLY * HOURS_PER_MONTH
            + self.kms_keys * KMS_KEY_MONTHLY
            + self.vector_indexes * S3_VECTORS_INDEX_MONTHLY
            + self.opensearch_collections * _opensearch_monthly()
        )

    def line(self) -> str:
        """One line: counts times unit prices and the monthly total, or why there is none."""
        unpriced = sorted(set(self.regions) - PRICED_REGIONS)
        if unpriced:
            return (
                f"{self.environment}: not priced: list prices known for "
                f"{', '.join(sorted(PRICED_REGIONS))} only, the stacks are in "
                f"{', '.join(unpriced)} (NAT gateways {self.nat_gateways}, interface "
                f"endpoint-AZs {self.endpoint_azs}, KMS keys {self.kms_keys})"
            )
        nat = NAT_GATEWAY_HOURLY * HOURS_PER_MONTH
        endpoint = INTERFACE_ENDPOINT_AZ_HOURLY * HOURS_PER_MONTH
        vectors = ""
        if self.vector_indexes:
            vectors += (
                f" + S3 Vectors indexes {self.vector_indexes} x "
                f"${S3_VECTORS_INDEX_MONTHLY:.2f} (knowledge base; storage and queries extra)"
            )
        if self.opensearch_collections:
            vectors += (
                f" + OpenSearch Serverless collections {self.opensearch_collections} x "
                f"${_opensearch_monthly():.2f} ({OPENSEARCH_SERVERLESS_MIN_OCUS} OCUs minimum)"
            )
        return (
            f"{self.environment}: NAT gateways {self.nat_gateways} x ${nat:.2f}"
            f" + interface endpoint-AZs {self.endpoint_azs} x ${endpoint:.2f}"
            f" + KMS keys {self.kms_keys} x ${KMS_KEY_MONTHLY:.2f}{vectors}"
            f" = ${self.monthly:.2f}/month"
        )


def _opensearch_monthly() -> float:
    return OPENSEARCH_SERVERLESS_MIN_OCUS * OPENSEARCH_SERVERLESS_OCU_HOURLY * HOURS_PER_MONTH


def estimate(environment: str, stacks: list[StackArtifact]) -> CostEstimate:
    """Count the billable-by-the-hour resources in an environment's templates."""
    nat = endpoint_azs = keys = indexes = collections = 0
    for stack in stacks:
        for resource in stack.template().get("Resources", {}).values():
            kind, props = resource["Type"], resource.get("Properties", {})
            if kind == "AWS::EC2::NatGateway":
                nat += 1
            elif kind == "AWS::EC2::VPCEndpoint" and props.get("VpcEndpointType") == "Interface":
                endpoint_azs += len(props.get("SubnetIds", []))
            elif kind == "AWS::KMS::Key":
                keys += 1
            elif kind == "AWS::S3Vectors::Index":
                indexes += 1
            elif kind == "AWS::OpenSearchServerless::Collection":
                collections += 1
    regions = tuple(sorted({stack.region for stack in stacks}))
    return CostEstimate(environment, nat, endpoint_azs, keys, regions, indexes, collections)
