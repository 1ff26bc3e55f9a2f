"""The report's tables that do not come from the rules: costs, permission matrix, seed-topic map."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gates.cost import (
    HOURS_PER_MONTH,
    INTERFACE_ENDPOINT_AZ_HOURLY,
    KMS_KEY_MONTHLY,
    NAT_GATEWAY_HOURLY,
    OPENSEARCH_SERVERLESS_MIN_OCUS,
    OPENSEARCH_SERVERLESS_OCU_HOURLY,
    PRICED_REGIONS,
    S3_VECTORS_INDEX_MONTHLY,
    CostEstimate,
)
from offline.matrix import MATRIX, PROBE_ROLE
from offline.permissions import ROLE_FINDERS
from report import ReportError
from report.evidence import Environment

SEED_HEADING = "## Seed topics → code"


@dataclass(frozen=True)
class CostLine:
    """One priced item: what, how many, unit price per month, subtotal."""

    item: str
    count: int
    unit_monthly: float

    @property
    def monthly(self) -> float:
        """The subtotal in USD per month."""
        return self.count * self.unit_monthly


def cost_lines(cost: CostEstimate) -> list[CostLine]:
    """The fixed monthly cost of an environment as table rows (the gates' figures)."""
    lines = [
        CostLine("NAT gateway (hours)", cost.nat_gateways, NAT_GATEWAY_HOURLY * HOURS_PER_MONTH),
        CostLine(
            "Interface endpoint per AZ (hours)",
            cost.endpoint_azs,
            INTERFACE_ENDPOINT_AZ_HOURLY * HOURS_PER_MONTH,
        ),
        CostLine("KMS customer-managed key", cost.kms_keys, KMS_KEY_MONTHLY),
    ]
    if cost.vector_indexes:
        lines.append(CostLine("S3 Vectors index", cost.vector_indexes, S3_VECTORS_INDEX_MONTHLY))
    if cost.opensearch_collections:
        ocu = OPENSEARCH_SERVERLESS_MIN_OCUS * OPENSEARCH_SERVERLESS_OCU_HOURLY * HOURS_PER_MONTH
        lines.append(CostLine("OpenSearch Serverless collection", cost.opensearch_collections, ocu))
    return lines


def priced(cost: CostEstimate) -> bool:
    """True when every stack's region has the list prices the constants hold."""
    return set(cost.regions) <= PRICED_REGIONS


@dataclass(frozen=True)
class PermissionRow:
    """One row of the offline harness's permission matrix, resolved in one environment."""

    role: str
    resource: str
    """The role's resource key (``<stack>/<logical ID>``), or what stands in for it."""
    call: str
    expect: str
    why: str


def permission_rows(env: Environment) -> list[PermissionRow]:
    """The matrix rows (``offline.matrix.MATRIX``) with each role found in the templates.

    Empty for an environment without the workload stacks (the matrix deploys dev and prod).
    Raises ``ReportError`` when a workload environment lacks a role a row names.
    """
    if not env.is_workload:
        return []
    roles: dict[str, str] = {}
    for role, (kind, prefix) in ROLE_FINDERS.items():
        stack = env.kinds.get(kind)
        found = [
            r.key
            for r in env.of_type("AWS::IAM::Role")
            if r.stack == stack and r.logical_id.startswith(prefix)
        ]
        if found:
            roles[role] = found[0]
    rows = []
    for check in MATRIX:
        if check.role == "probe":
            resource = f"{PROBE_ROLE} (created by the harness, not in the templates)"
        elif check.role in roles:
            resource = roles[check.role]
        else:
            raise ReportError(
                f"permission matrix: role {check.role!r} is not in {env.name}'s templates "
                f"({ROLE_FINDERS[check.role][0]} stack, logical ID {ROLE_FINDERS[check.role][1]}*)"
            )
        rows.append(PermissionRow(check.role, resource, check.call, check.expect, check.why))
    return rows


@dataclass(frozen=True)
class SeedRow:
    """One row of the README's seed-topic map."""

    topic: str
    where: str
    status: str


def seed_rows(readme: Path) -> list[SeedRow]:
    """The README's "Seed topics → code" table; ``ReportError`` when it is not there."""
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError as err:
        raise ReportError(f"{readme}: cannot read the seed-topic map ({err.strerror})") from err
    if SEED_HEADING not in text:
        raise ReportError(f"{readme}: no '{SEED_HEADING}' section")
    section = text.split(SEED_HEADING, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 3 and cells[0] != "Seed topic" and not set(cells[0]) <= {"-", ":"}:
            rows.append(SeedRow(*cells))
    if not rows:
        raise ReportError(f"{readme}: the '{SEED_HEADING}' section holds no table rows")
    return rows
