"""Reading what cdk-nag 3 reported, without starting a jsii runtime (no aws_cdk import).

cdk-nag 3 runs as a CDK policy-validation plugin (registered by ``gates.nag``). Unacknowledged
findings make ``app.synth()`` raise ``ValidationFailed`` after it has written the templates and
``validation-report.json``. Acknowledgements are recorded per construct in each stack's
``<artifact>.metadata.json`` under ``aws:cdk:acknowledged-rules``. The gates CLI reads all of
this from files, so it starts neither Node nor the CDK libraries.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tarfile
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

REPORT_FILE = "validation-report.json"
ACK_METADATA_TYPE = "aws:cdk:acknowledged-rules"

PROJECT_ACK_METADATA_TYPE = "secure-ml:acknowledgement"
"""What ``secure_constructs.core.compliance.acknowledge`` writes (the same literal; a test
compares)."""

PACK_SOURCES: tuple[tuple[str, str], ...] = (
    ("AwsSolutions", "aws-solutions.js"),
    ("HIPAA.Security", "hipaa-security.js"),
    ("NIST.800.53.R5", "nist-800-53-r5.js"),
    ("PCI.DSS.321", "pci-dss-321.js"),
    ("Serverless", "serverless.js"),
)
"""Pack names in report order, with each pack's source file inside the cdk-nag jsii tarball."""


@cache
def rule_counts() -> dict[str, int]:
    """Rules defined by each pack, counted from cdk-nag's own packaged source.

    ``NagPack.rule_ids`` stays empty in cdk-nag 3.0.2 Python, so the count is read from the
    jsii tarball shipped in the wheel (one ``this.applyRule(`` call per rule), found without
    importing cdk_nag (which would start a jsii runtime).
    """
    spec = importlib.util.find_spec("cdk_nag")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("cdk_nag is not installed; run 'make setup'")
    package = Path(next(iter(spec.submodule_search_locations)))
    tarball = next((package / "_jsii").glob("cdk-nag@*.jsii.tgz"))
    counts: dict[str, int] = {}
    with tarfile.open(tarball) as archive:
        for name, source in PACK_SOURCES:
            member = archive.extractfile(f"package/lib/packs/{source}")
            text = member.read().decode() if member else ""
            counts[name] = text.count("this.applyRule(")
    return counts


@dataclass(frozen=True)
class Finding:
    """One unacknowledged violation from the validation report."""

    pack: str
    rule: str
    path: str
    description: str

    def line(self) -> str:
        """One readable line: rule, construct path, what is wrong, how to acknowledge."""
        return (
            f"{self.rule} at {self.path}: {self.description} "
            f"(acknowledge as '{self.pack}::{self.rule}')"
        )


def read_findings(outdir: Path) -> list[Finding]:
    """Violations listed in ``outdir/validation-report.json`` (empty when there is none)."""
    report_path = outdir / REPORT_FILE
    if not report_path.exists():
        return []
    report = json.loads(report_path.read_text(encoding="utf-8"))
    findings = []
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                findings.append(
                    Finding(
                        # "CloudFormation Validate" is acknowledged as "CloudFormation-Validate::".
                        pack=plugin.get("pluginName", "?").replace(" ", "-"),
                        rule=violation.get("ruleName", "?"),
                        path=construct.get("constructPath", "?"),
                        description=violation.get("description", ""),
                    )
                )
    return findings


@dataclass(frozen=True)
class Acknowledgement:
    """One acknowledged rule on one construct."""

    path: str
    rule: str
    reason: str
    ours: bool
    """True when made by this project (``secure_constructs.core.compliance.acknowledge``), False
    when aws-cdk-lib recorded it itself."""

    @property
    def pack(self) -> str:
        """The pack (plugin) name, e.g. ``AwsSolutions``."""
        return self.rule.split("::", 1)[0]


def acknowledgements(outdir: Path) -> list[Acknowledgement]:
    """Every acknowledgement in the cloud assembly, sorted by construct path and rule.

    Rule IDs are normalised to ``Pack::Rule`` (cdk-nag accepts the bare rule ID as well).
    """
    found: list[Acknowledgement] = []
    for metadata_file in sorted(outdir.glob("**/*.metadata.json")):
        found += file_acknowledgements(metadata_file)
    return sorted(found, key=lambda a: (a.path, a.rule))


def file_acknowledgements(metadata_file: Path) -> list[Acknowledgement]:
    """The acknowledgements in one stack's ``<artifact>.metadata.json``, in file order."""
    entries: dict[str, list[dict[str, Any]]] = json.loads(metadata_file.read_text("utf-8"))
    found: list[Acknowledgement] = []
    for path, items in entries.items():
        ours = {
            _normalise(item["data"])
            for item in items
            if item.get("type") == PROJECT_ACK_METADATA_TYPE
        }
        for item in items:
            if item.get("type") != ACK_METADATA_TYPE:
                continue
            for rule_id, reason in item.get("data", {}).items():
                rule = _normalise(rule_id)
                found.append(Acknowledgement(path, rule, reason, rule in ours))
    return found


def acknowledgement_counts(outdir: Path, *, ours: bool = True) -> Counter[str]:
    """Acknowledgements per pack name: the app's own (default) or aws-cdk-lib's.

    In an app built with this project's ``acknowledge`` helper, its marker tells the two apart.
    Another team's app has no marker: then every acknowledgement is counted as the app's (it
    is the caller who acknowledged; aws-cdk-lib's few cannot be told apart there).
    """
    found = acknowledgements(outdir)
    if not any(a.ours for a in found):
        return Counter(a.pack for a in found) if ours else Counter()
    return Counter(a.pack for a in found if a.ours == ours)


_PACK_PREFIX = re.compile(
    r"^(AwsSolutions|HIPAA\.Security|NIST\.800\.53\.R5|PCI\.DSS\.321|Serverless)-"
)


def _normalise(rule_id: str) -> str:
    rule_id = rule_id.removeprefix("Annotation::")
    if "::" in rule_id:
        return rule_id
    match = _PACK_PREFIX.match(rule_id)
    return f"{match.group(1)}::{rule_id}" if match else rule_id
