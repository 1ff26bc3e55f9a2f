"""``MLGenAIChecks``: the rule pack as a CDK policy-validation plugin, next to cdk-nag.

``cdk.Validations.of(app).add_plugins(MLGenAIChecks())`` runs every rule on every template CDK
synthesizes, in one group (so the assembly-wide rules see the whole app). CDK itself honours the
acknowledgements (``Validations.of(scope).acknowledge(cdk.Acknowledgment(id="MLGenAIChecks::<rule
ID>", reason=...))``), exactly as for cdk-nag; template-metadata acknowledgements are honoured by
the pack. A violation names the rule, the stack's template, the logical ID and the fix.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import aws_cdk as cdk
import jsii

from ml_genai_checks.engine import PACK, Finding, run
from ml_genai_checks.loader import Loaded, read_template_file
from ml_genai_checks.model import REGISTRY, Template
from ml_genai_checks.report import version
from ml_genai_checks.rules.bedrock import configure
from ml_genai_checks.run_record import RUN_RECORD


@jsii.implements(cdk.IPolicyValidationPlugin)
class MLGenAIChecks:
    """The ML/GenAI rule pack inside synthesis (every rule, or ``rule_ids``).

    ``min_guardrail_input_strength`` is the weakest content-filter input strength a guardrail may
    have (``MLGenAI-BedrockGuardrailContentFilters``; NONE, LOW, MEDIUM or HIGH, default HIGH).
    """

    def __init__(
        self, rule_ids: list[str] | None = None, *, min_guardrail_input_strength: str = "HIGH"
    ) -> None:
        unknown = sorted(set(rule_ids or []) - set(REGISTRY))
        if unknown:
            raise ValueError(f"MLGenAIChecks: unknown rule {unknown[0]!r}")
        self._rule_ids = list(rule_ids) if rule_ids else None
        self._min_strength = min_guardrail_input_strength
        configure(min_input_strength=min_guardrail_input_strength)  # refuses an unknown value

    @property
    def name(self) -> str:
        """The pack's name in the validation report and in acknowledgement IDs."""
        return PACK

    @property
    def version(self) -> str | None:
        """The package version."""
        return version()

    @property
    def rule_ids(self) -> list[str] | None:
        """The rules this plugin evaluates."""
        return self._rule_ids or list(REGISTRY)

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        """Run the rules on the synthesized templates and report unacknowledged failures."""
        templates = [
            Template(
                name=Path(stack.template_path).name,
                path=Path(stack.template_path),
                body=read_template_file(Path(stack.template_path)),
                account=_known(stack.account_id),
                region=_known(stack.region),
            )
            for stack in context.stack_templates
        ]
        configure(min_input_strength=self._min_strength)
        findings = run([Loaded(Path("."), templates)], self._rule_ids)
        _record_run(templates, findings, self.rule_ids or [])
        by_rule: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            if finding.failed:
                by_rule[finding.rule.rule_id].append(finding)
        violations = [
            cdk.PolicyViolation(
                rule_name=rule_id,
                description=f"{REGISTRY[rule_id].title}: {found[0].message}",
                fix=REGISTRY[rule_id].fix,
                severity="error",
                violating_resources=[
                    cdk.PolicyViolatingResource(
                        resource_logical_id=f.logical_id,
                        template_path=str(f.template.path),
                        locations=[f.message or f.logical_id],
                    )
                    for f in found
                ],
            )
            for rule_id, found in by_rule.items()
        ]
        return cdk.PolicyValidationPluginReport(
            success=not violations, violations=violations, plugin_version=version()
        )


def _record_run(templates: list[Template], findings: list[Finding], rule_ids: list[str]) -> None:
    by_folder: dict[Path, list[str]] = defaultdict(list)
    for template in templates:
        by_folder[template.path.parent].append(template.path.name)
    for folder, names in by_folder.items():
        record = {
            "pack": PACK,
            "version": version(),
            "rules": rule_ids,
            "templates": sorted(names),
            "failed": sum(1 for f in findings if f.failed and f.template.path.parent == folder),
        }
        (folder / RUN_RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def _known(value: str | None) -> str | None:
    if not value or cdk.Token.is_unresolved(value) or "unknown" in value:
        return None
    return value
