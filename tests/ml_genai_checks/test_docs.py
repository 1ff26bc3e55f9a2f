"""The pack's README lists exactly the registered rules (regenerate: make rules-doc)."""

from __future__ import annotations

from tools.rule_table import README, with_table


def test_readme_rule_table_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert with_table(text) == text, "run 'make rules-doc'"


def test_every_rule_has_tests_of_its_own() -> None:
    """Each rule ID is exercised by name in the rule tests (compliant and non-compliant)."""
    from pathlib import Path

    from ml_genai_checks.model import REGISTRY

    here = Path(__file__).parent
    texts = "\n".join(p.read_text(encoding="utf-8") for p in here.glob("test_*_rules.py"))
    missing = [rule_id for rule_id in REGISTRY if rule_id not in texts]
    assert missing == []
