"""Run the registered rules over loaded templates; findings, acknowledgements, outcomes.

Acknowledgements, both honoured:

* recorded by CDK (``Validations.of(scope).acknowledge(Acknowledgment(id="MLGenAIChecks::<rule
  ID>", reason=...))``), read from a cloud assembly's metadata (``loader``);
* recorded in the template itself, on the resource:
  ``Metadata: {"ml-genai-checks": {"acknowledge": [{"id": "<rule ID>", "reason": "..."}]}}``
  (a reason of at least 20 characters; a shorter one is a finding of its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ml_genai_checks.rules  # noqa: F401 - registers every rule
from ml_genai_checks.loader import Loaded
from ml_genai_checks.model import REGISTRY, Outcome, Rule, Template, Verdict

PACK = "MLGenAIChecks"
"""The plugin's name: acknowledgement IDs are ``MLGenAIChecks::<rule ID>``."""
TEMPLATE_METADATA_KEY = "ml-genai-checks"
MIN_REASON = 20


@dataclass(frozen=True)
class Finding:
    """One rule's decision on one resource."""

    rule: Rule
    template: Template
    logical_id: str
    outcome: Outcome
    message: str
    acknowledged: str | None = None
    """The acknowledgement's reason, when the failure is acknowledged."""

    @property
    def failed(self) -> bool:
        """An unacknowledged failure."""
        return self.outcome is Outcome.FAIL and self.acknowledged is None

    def line(self) -> str:
        """One readable line: rule, where, what is wrong, what to change."""
        where = f"{self.template.name} {self.logical_id}"
        return f"{self.rule.rule_id} {where}: {self.message} Fix: {self.rule.fix}"


def verdicts(rule: Rule, templates: Sequence[Template]) -> Iterable[tuple[Template, str, Verdict]]:
    """``rule``'s decisions over ``templates``, by its scope: resource, template or assembly."""
    if rule.scope == "resource":
        for template in templates:
            for resource in template.resources(*rule.resource_types):
                yield template, resource.logical_id, rule.check(resource)
    elif rule.scope == "template":
        for template in templates:
            for logical_id, verdict in rule.check(template):
                yield template, logical_id, verdict
    else:
        for logical_id, verdict in rule.check(list(templates)):
            owner = next((t for t in templates if t.resource(logical_id)), templates[0])
            yield owner, logical_id, verdict


def _template_acks(template: Template, logical_id: str) -> dict[str, str]:
    resource = template.resource(logical_id)
    if resource is None:
        return {}
    metadata = resource.body.get("Metadata", {})
    entries = metadata.get(TEMPLATE_METADATA_KEY, {}) if isinstance(metadata, Mapping) else {}
    found: dict[str, str] = {}
    for entry in entries.get("acknowledge", []) if isinstance(entries, Mapping) else []:
        if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
            found[str(entry["id"]).removeprefix(f"{PACK}::")] = str(entry.get("reason", ""))
    return found


def run(groups: Sequence[Loaded], rule_ids: Sequence[str] | None = None) -> list[Finding]:
    """Every rule (or ``rule_ids``) over every group; assembly rules once per group."""
    rules = [REGISTRY[r] for r in rule_ids] if rule_ids else list(REGISTRY.values())
    findings: list[Finding] = []
    for group in groups:
        for rule in rules:
            for template, logical_id, verdict in verdicts(rule, group.templates):
                reason = None
                if verdict.outcome is Outcome.FAIL:
                    reason = _acknowledgement(group, template, logical_id, rule.rule_id)
                message = verdict.message
                if reason is not None and len(reason.strip()) < MIN_REASON:
                    message = f"{message} (acknowledgement refused: reason too short: {reason!r})"
                    reason = None
                findings.append(
                    Finding(rule, template, logical_id, verdict.outcome, message, reason)
                )
    return findings


def _acknowledgement(group: Loaded, template: Template, logical_id: str, rule_id: str) -> Any:
    cdk = group.acknowledged.get(template.name, {})
    for key in (f"{logical_id} {PACK}::{rule_id}", f"{logical_id} {rule_id}"):
        if key in cdk:
            return cdk[key]
    return _template_acks(template, logical_id).get(rule_id)
