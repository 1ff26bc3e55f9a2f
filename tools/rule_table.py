"""Write the rule pack's rule table into ml_genai_checks/README.md (``make rules-doc``)."""

from __future__ import annotations

import sys
from pathlib import Path

from ml_genai_checks.report import rule_table

README = Path(__file__).resolve().parent.parent / "ml_genai_checks" / "README.md"
START, END = "<!-- rules:start -->", "<!-- rules:end -->"


def with_table(text: str) -> str:
    """``text`` with the generated table between the two markers."""
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{rule_table()}\n{END}{after}"


if __name__ == "__main__":
    README.write_text(with_table(README.read_text(encoding="utf-8")), encoding="utf-8")
    sys.exit(0)
