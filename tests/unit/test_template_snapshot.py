"""Logical IDs and types of every stack match the committed snapshot (no accidental replacement)."""

from __future__ import annotations

import json

from tests.conftest import Synthesized
from tools.template_snapshot import ORGANIZATION_STAGES, SNAPSHOT, differences, guarded


def test_templates_match_the_committed_snapshot(
    synthesized: Synthesized, org_synthesized: Synthesized
) -> None:
    """The single-account stacks and the organization stages' (shipped example)."""
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    found = differences(expected, guarded(synthesized.artifacts, org_synthesized.artifacts))
    assert not found, (
        "the templates' resources differ from tests/template_snapshot.json (a changed logical ID "
        "replaces the resource); if intended, run 'make snapshot' and say why in the README's "
        "upgrade note:\n  " + "\n  ".join(found)
    )
    assert sum(len(r) for r in expected.values()) > 400  # both environments, not an empty file
    stages = {a.stage for a in org_synthesized.artifacts if a.stack_name in expected}
    assert stages >= ORGANIZATION_STAGES


def test_differences_put_stateful_replacements_first() -> None:
    before = {
        "s": {"Key1": "AWS::KMS::Key", "Fn1": "AWS::Lambda::Function", "Gone": "AWS::S3::Bucket"},
        "old": {"X": "AWS::SNS::Topic"},
    }
    after = {
        "s": {"Key2": "AWS::KMS::Key", "Fn2": "AWS::Lambda::Function"},
        "new": {"Y": "AWS::SQS::Queue"},
    }
    found = differences(before, after)
    assert found[:3] == [
        "old: stack gone (it held 1 resources)",
        "s: removed Gone (AWS::S3::Bucket) -- STATEFUL: replaced or deleted",
        "s: removed Key1 (AWS::KMS::Key) -- STATEFUL: replaced or deleted",
    ]
    assert set(found[3:]) == {
        "new: new stack (1 resources)",
        "s: added Fn2 (AWS::Lambda::Function)",
        "s: added Key2 (AWS::KMS::Key)",
        "s: removed Fn1 (AWS::Lambda::Function)",
    }
    assert differences(before, {k: dict(v) for k, v in before.items()}) == []
