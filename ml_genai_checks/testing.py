"""Run one rule on a template body: what the rule tests use (fixtures as plain dicts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ml_genai_checks.rules  # noqa: F401 - registers every rule
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
    found = REGISTRY[rule_id]
    results: list[tuple[str, Verdict]] = []
    if found.scope == "resource":
        for each in templates:
            for resource in each.resources(*found.resource_types):
                results.append((resource.logical_id, found.check(resource)))
    elif found.scope == "template":
        for each in templates:
            results += list(found.check(each))
    else:
        results += list(found.check(list(templates)))
    return results


def outcomes(results: Sequence[tuple[str, Verdict]]) -> dict[str, Outcome]:
    """``{logical ID: outcome}`` (the last verdict per ID)."""
    return {logical_id: verdict.outcome for logical_id, verdict in results}
