"""Per-template results of cfn-lint and checkov, kept between runs so an unchanged template skips.

A result is stored under a key that is the SHA-256 of everything that decides it: the tool's
name, its exact version, the command-line options the gate passes, the template's path relative
to the assembly and the template's bytes (checkov skips and cfn-lint ignores are metadata inside
the template, so they are part of the bytes). Any change to one of them is a different key: a
new template, a new tool version or a changed option misses the cache and the tool runs on that
template; nothing is ever invalidated by time. Entries are plain JSON files under
``<cache>/<tool>/``; deleting the folder (``make clean``) empties the cache.

Only what the tool reported for that template is cached; the gate still counts rules, findings
and acknowledgements from the whole set every run, and says how many templates came from the
cache. ``python -m gates`` uses a cache only when given ``--cache DIR`` (``make synth`` does).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class GateCache:
    """Results per (tool, version, options, template) under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def key(tool: str, version: str, options: Sequence[str], name: str, template: bytes) -> str:
        """The SHA-256 of everything that decides the tool's result for this template."""
        digest = hashlib.sha256()
        for part in (tool, version, "\0".join(options), name):
            digest.update(part.encode("utf-8") + b"\0")
        digest.update(template)
        return digest.hexdigest()

    def get(self, tool: str, key: str) -> Any | None:
        """The stored result, or None (absent or unreadable: the tool runs again)."""
        path = self.root / tool / f"{key}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def put(self, tool: str, key: str, value: Any) -> None:
        """Store ``value`` (JSON) atomically, so a concurrent run never reads half a file."""
        folder = self.root / tool
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{key}.json.partial"
        partial.write_text(json.dumps(value), encoding="utf-8")
        partial.replace(folder / f"{key}.json")
