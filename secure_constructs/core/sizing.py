"""Sizes and limits shared by constructs and config validation (pure Python, no CDK import)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SubnetPlan:
    """Prefix lengths of the three subnet tiers; one subnet of each tier per AZ.

    Defaults: public ``/26`` (NAT gateways only), private-with-egress ``/22`` (workloads),
    isolated ``/24`` (interface endpoints and anything that must never reach the internet).
    """

    public_mask: int = 26
    private_mask: int = 22
    isolated_mask: int = 24

    def addresses_needed(self, az_count: int) -> int:
        """Size of the smallest VPC that fits the plan over ``az_count`` AZs.

        Mirrors CDK's allocator: each tier's subnets one after another, each subnet aligned to
        its own size.
        """
        offset = 0
        for mask in (self.public_mask, self.private_mask, self.isolated_mask):
            size = 2 ** (32 - mask)
            for _ in range(az_count):
                offset = -(-offset // size) * size  # align up to the subnet's size
                offset += size
        return offset


DEFAULT_SUBNET_PLAN = SubnetPlan()


# Values CloudWatch Logs accepts for a log group's RetentionInDays.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
