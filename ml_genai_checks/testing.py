"""Run one rule on a template body: what the rule tests use (fixtures as plain dicts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ml_genai_checks.engine import verdicts
from ml_genai_checks.model import REGISTRY, Outcome, Template, Verdict


def template(
    resources: Mapping[str, Any],
    *,
    name: str = "fixture.template.json",
    account: str | None = "123456789012",
    region: str | None = "us-east-1",
    extra: Mapping[str, Any] | None = None,
) -> Template:
    """A template with these resources (and ``extra`` top-level sections, e.g. Parameters)."""
    body = {"Resources": dict(resources), **(extra or {})}
    return Template(name=name, path=Path(name), body=body, account=account, region=region)


def run_rule(rule_id: str, *templates: Template) -> list[tuple[str, Verdict]]:
    """``(logical ID, verdict)`` of ``rule_id`` over ``templates`` (several: assembly rules)."""
    return [(logical_id, v) for _, logical_id, v in verdicts(REGISTRY[rule_id], templates)]


def outcomes(results: Sequence[tuple[str, Verdict]]) -> dict[str, Outcome]:
    """``{logical ID: outcome}`` (the last verdict per ID)."""
    return {logical_id: verdict.outcome for logical_id, verdict in results}
