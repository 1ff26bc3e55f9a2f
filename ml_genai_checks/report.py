"""Findings as text, JSON or SARIF 2.1.0 (GitHub and GitLab code scanning show SARIF inline)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from ml_genai_checks.engine import Finding
from ml_genai_checks.model import REGISTRY, Outcome

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/secure-ml/secure-ml-platform#ml_genai_checks"


def version() -> str:
    """The installed package's version, or ``0.0.0`` when run from a checkout."""
    try:
        return metadata.version("ml-genai-checks")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def rule_table() -> str:
    """Every rule as a Markdown table (ID, what it checks, seed topic, controls)."""
    lines = [
        "| Rule | Checks | Seed topic | HIPAA | NIST 800-53 | PCI DSS |",
        "|---|---|---|---|---|---|",
    ]
    for r in REGISTRY.values():
        controls = [", ".join(r.controls.get(k, [])) for k in ("HIPAA", "NIST", "PCI")]
        lines.append(
            f"| `{r.rule_id}` | {r.title} | {r.seed_topic} | " + " | ".join(controls) + " |"
        )
    return "\n".join(lines)


def text(findings: Sequence[Finding]) -> str:
    """Failures one per line, then a count."""
    failed = [f for f in findings if f.failed]
    acknowledged = [f for f in findings if f.outcome is Outcome.FAIL and f.acknowledged]
    passed = sum(1 for f in findings if f.outcome is Outcome.PASS)
    lines = [f"FAIL {f.line()}" for f in failed]
    lines.append(
        f"ml_genai_checks: {len(failed)} failed, {len(acknowledged)} acknowledged, "
        f"{passed} passed, "
        f"{sum(1 for f in findings if f.outcome is Outcome.NOT_APPLICABLE)} not applicable "
        f"({len(REGISTRY)} rules)"
    )
    return "\n".join(lines)


def as_json(findings: Sequence[Finding]) -> str:
    """Every decision, with the rule's metadata."""
    return json.dumps(
        [
            {
                "rule": f.rule.rule_id,
                "template": f.template.name,
                "logical_id": f.logical_id,
                "outcome": f.outcome.value,
                "message": f.message,
                "fix": f.rule.fix,
                "acknowledged": f.acknowledged,
            }
            for f in findings
        ],
        indent=1,
    )


def sarif(findings: Sequence[Finding]) -> str:
    """SARIF 2.1.0: one run, every rule described, one result per failure.

    Acknowledged failures carry an accepted suppression, as code scanning expects.
    """
    rules = list(REGISTRY.values())
    index = {r.rule_id: i for i, r in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for f in findings:
        if f.outcome is not Outcome.FAIL:
            continue
        result: dict[str, Any] = {
            "ruleId": f.rule.rule_id,
            "ruleIndex": index[f.rule.rule_id],
            "level": "error",
            "message": {"text": f"{f.logical_id}: {f.message} Fix: {f.rule.fix}"},
            "locations": [
                {
                    "physicalLocation": {"artifactLocation": {"uri": f.template.path.as_posix()}},
                    "logicalLocations": [{"name": f.logical_id, "kind": "resource"}],
                }
            ],
        }
        if f.acknowledged:
            result["suppressions"] = [
                {"kind": "inSource", "status": "accepted", "justification": f.acknowledged}
            ]
        results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ml_genai_checks",
                        "version": version(),
                        "informationUri": INFORMATION_URI,
                        "rules": [
                            {
                                "id": r.rule_id,
                                "name": r.rule_id.removeprefix("MLGenAI-"),
                                "shortDescription": {"text": r.title},
                                "fullDescription": {"text": r.reason},
                                "help": {"text": r.fix},
                                "properties": {
                                    "seed_topic": r.seed_topic,
                                    "tags": [
                                        f"{framework} {control}"
                                        for framework, controls in r.controls.items()
                                        for control in controls
                                    ],
                                },
                            }
                            for r in rules
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=1)
