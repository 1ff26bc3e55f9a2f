"""``component-definition.json``: the platform's NIST 800-53 r5 evidence as OSCAL, via trestle.

One OSCAL component per environment (its stacks are one deployable system), one control
implementation against NIST SP 800-53 Rev. 5, and one implemented requirement per control the
matrix holds (``report.controls``). A requirement's description names the rules that verify it
and their status; its statements point at the resources, one statement per control part
(``AU-3a`` -> ``au-3_smt.a``). Rules are listed as component properties ``Rule_Id`` /
``Rule_Description`` and referenced from each requirement, as the OSCAL Compass
(compliance-trestle) convention has it, so a compliance team's tooling can import them.

The document is built as OSCAL JSON and validated by compliance-trestle's pydantic models
before anything is written (a refusal is a ``ReportError`` naming the field); the tests read the
written file back with trestle. UUIDs are derived from names (uuid5) and the
timestamp from ``SOURCE_DATE_EPOCH`` or the commit, so the same commit writes the same file.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from trestle.oscal import OSCAL_VERSION
from trestle.oscal.component import ComponentDefinition

from report import ReportError
from report.controls import ControlRow, Matrix, Verification, resources_text

NAMESPACE = uuid.UUID("6f1d3a52-6b8e-5c1e-9a57-2f0c7d1e4b10")
"""Fixed namespace of this platform's uuid5 identifiers."""
TRESTLE_NS = "https://oscal-compass.github.io/compliance-trestle/schemas/oscal/cd"
NIST_CATALOG = (
    "https://raw.githubusercontent.com/usnistgov/oscal-content/main/nist.gov/SP800-53/rev5/"
    "json/NIST_SP-800-53_rev5_catalog.json"
)
_CONTROL = re.compile(r"^(?P<family>[A-Z]{2})-(?P<number>\d+)(?:\((?P<enh>\d+)\))?(?P<part>.*)$")


def oscal_control(control: str) -> tuple[str, str]:
    """A NIST control ID as cdk-nag writes it -> (OSCAL control-id, part), e.g.

    ``AC-4(21)`` -> ``("ac-4.21", "")``, ``AU-3a`` -> ``("au-3", "a")``,
    ``CM-5(1)(b)`` -> ``("cm-5.1", "b")``, ``PM-14a.1`` -> ``("pm-14", "a.1")``.
    """
    match = _CONTROL.match(control.strip())
    if match is None:
        raise ReportError(f"NIST control {control!r}: not of the form AC-2, AC-2(1), AU-3a")
    control_id = f"{match['family'].lower()}-{int(match['number'])}"
    if match["enh"]:
        control_id += f".{int(match['enh'])}"
    part = match["part"].replace("(", "").replace(")", "").strip(".")
    if part and not re.fullmatch(r"[a-z0-9]+(\.[a-z0-9]+)*", part):
        raise ReportError(f"NIST control {control!r}: cannot read its part {part!r}")
    return control_id, part


def _uuid(*names: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(names)))


def timestamp(root: Path) -> datetime:
    """``SOURCE_DATE_EPOCH`` if set, else the commit's time, else now (not a git checkout)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%ct"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        done = None
    if done is not None and done.returncode == 0 and done.stdout.strip().isdigit():
        return datetime.fromtimestamp(int(done.stdout.strip()), UTC)
    return datetime.now(UTC).replace(microsecond=0)


def _status(verification: Verification) -> str:
    parts = [f"{verification.kind} {verification.rule_id}: {verification.status}"]
    if verification.acknowledged:
        parts.append(f"({len(verification.acknowledged)} acknowledged)")
    return " ".join(parts)


def _prop(name: str, value: str, remarks: str | None = None) -> dict[str, str]:
    prop = {"name": name, "ns": TRESTLE_NS, "value": value}
    return {**prop, "remarks": remarks} if remarks else prop


def _requirement(environment: str, control_id: str, rows: Sequence[ControlRow]) -> dict[str, Any]:
    verifications = {(v.kind, v.rule_id): v for row in rows for v in row.verifications}
    rules = sorted(verifications.values(), key=lambda v: (v.kind, v.rule_id))
    statements = []
    for row in rows:
        _, part = oscal_control(row.control)
        statements.append(
            {
                "statement-id": f"{control_id}_smt" + (f".{part}" if part else ""),
                "uuid": _uuid(environment, "statement", row.control),
                "description": (
                    f"{row.control} in {environment}: {row.status}. Implemented by "
                    f"{resources_text(row.resources)}. Verified by "
                    + "; ".join(_status(v) for v in row.verifications)
                    + "."
                ),
                "props": [_prop("Rule_Id", v.rule_id) for v in row.verifications],
            }
        )
    statuses = sorted({row.status for row in rows})
    resources = {k for r in rows for k in r.resources}
    return {
        "uuid": _uuid(environment, "requirement", control_id),
        "control-id": control_id,
        "description": (
            f"{', '.join(r.control for r in rows)} ({'/'.join(statuses)}): verified by "
            f"{len(rules)} rule(s) over {len(resources)} resource(s) of the synthesized templates."
        ),
        "props": [_prop("Rule_Id", v.rule_id) for v in rules],
        "statements": sorted(statements, key=lambda s: str(s["statement-id"])),
    }


def _component(matrix: Matrix) -> dict[str, Any]:
    by_control: dict[str, list[ControlRow]] = defaultdict(list)
    for row in matrix.framework("NIST"):
        by_control[oscal_control(row.control)[0]].append(row)
    rules = {(v.kind, v.rule_id): v for row in matrix.framework("NIST") for v in row.verifications}
    props = []
    for index, ((kind, rule_id), verification) in enumerate(sorted(rules.items()), start=1):
        rule_set = f"rule_set_{index:03d}"
        props += [
            _prop("Rule_Id", rule_id, rule_set),
            _prop("Rule_Description", f"{kind}: {verification.description}".strip(), rule_set),
        ]
    return {
        "uuid": _uuid(matrix.environment, "component"),
        "type": "service",
        "title": f"Secure ML/GenAI platform: {matrix.environment} environment",
        "description": (
            f"The CloudFormation stacks of the {matrix.environment} environment as synthesized "
            "(python -m report over cdk.out)."
        ),
        "props": props,
        "control-implementations": [
            {
                "uuid": _uuid(matrix.environment, "nist-800-53-r5"),
                "source": NIST_CATALOG,
                "description": "NIST SP 800-53 Rev. 5 controls verified over the templates.",
                "implemented-requirements": [
                    _requirement(matrix.environment, control_id, rows)
                    for control_id, rows in sorted(by_control.items())
                ],
            }
        ],
    }


def component_definition(
    matrices: Sequence[Matrix], last_modified: datetime
) -> ComponentDefinition:
    """The OSCAL component definition of every environment with NIST rows, validated by trestle.

    Raises ``ReportError`` naming the first field trestle's models refuse.
    """
    document = {
        "uuid": _uuid("component-definition"),
        "metadata": {
            "title": "Secure ML/GenAI platform on AWS: NIST SP 800-53 Rev. 5 component definition",
            "last-modified": last_modified.isoformat(),
            "version": "1.0.0",
            "oscal-version": OSCAL_VERSION,
        },
        "components": [_component(m) for m in matrices if m.framework("NIST")],
    }
    try:
        return ComponentDefinition.model_validate(document)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReportError(f"OSCAL component definition: {where}: {first['msg']}") from err


def write(definition: ComponentDefinition, path: Path) -> None:
    """Write the definition as OSCAL JSON (wrapped in ``component-definition``)."""
    path.write_text(definition.oscal_serialize_json(pretty=True) + "\n", encoding="utf-8")
