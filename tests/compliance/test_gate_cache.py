"""The gates' result cache alone (the CLI with a cache: tests/compliance/test_gates.py)."""

from __future__ import annotations

from pathlib import Path

from gates.cache import GateCache


def test_a_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    cache = GateCache(tmp_path)
    key = GateCache.key("checkov", "3.3.30", ["-o", "json"], "/a.template.json", b"{}")
    cache.put("checkov", key, {"checks": {}, "failed": []})
    assert cache.get("checkov", key) == {"checks": {}, "failed": []}
    (tmp_path / "checkov" / f"{key}.json").write_text("{not json")
    assert cache.get("checkov", key) is None
    assert cache.get("checkov", "0" * 64) is None


def test_every_input_of_the_key_changes_it() -> None:
    base = ("cfn-lint", "1.58.0", ["--format", "json"], "a.template.json", b"{}")
    key = GateCache.key(*base)
    for index, other in enumerate(("checkov", "1.58.1", ["--format"], "b.template.json", b"{ }")):
        changed = list(base)
        changed[index] = other
        assert GateCache.key(*changed) != key, index  # type: ignore[arg-type]
