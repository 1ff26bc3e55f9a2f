"""``python -m ml_genai_checks PATH [PATH ...] [--format text|json|sarif] [--output FILE]``.

PATH is a CloudFormation template (JSON or YAML) or a cloud assembly folder (``cdk.out``). Exit
0 when no rule fails (acknowledged failures aside), 1 when one does, 2 on bad usage or an
unreadable path (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ml_genai_checks.engine import run
from ml_genai_checks.loader import LoadError, load
from ml_genai_checks.model import REGISTRY
from ml_genai_checks.report import as_json, rule_table, sarif, text
from ml_genai_checks.rules.bedrock import MIN_INPUT_STRENGTH, STRENGTHS, configure

FORMATS = {"text": text, "json": as_json, "sarif": sarif}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"ml_genai_checks: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = _Parser(prog="python -m ml_genai_checks", description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="template files or cdk.out folders")
    parser.add_argument("--format", choices=sorted(FORMATS), default="text")
    parser.add_argument("--output", type=Path, help="write the report here (default: stdout)")
    parser.add_argument("--rule", action="append", default=[], help="run only this rule ID")
    parser.add_argument(
        "--list-rules", action="store_true", help="print every rule as a Markdown table"
    )
    parser.add_argument(
        "--min-guardrail-input-strength",
        choices=STRENGTHS,
        default=MIN_INPUT_STRENGTH,
        help="the weakest InputStrength a guardrail content filter may have (default HIGH)",
    )
    args = parser.parse_args(argv)
    configure(min_input_strength=args.min_guardrail_input_strength)
    if args.list_rules:
        print(rule_table())
        return 0
    if not args.paths:
        parser.error("give at least one PATH (a template file or a cdk.out folder)")
    unknown = sorted(set(args.rule) - set(REGISTRY))
    if unknown:
        print(f"ml_genai_checks: unknown rule {unknown[0]!r}", file=sys.stderr)
        return 2
    try:
        groups = [load(path) for path in args.paths]
    except LoadError as err:
        print(f"ml_genai_checks: {err}", file=sys.stderr)
        return 2
    findings = run(groups, args.rule or None)
    report = FORMATS[args.format](findings)
    if args.output:
        args.output.write_text(report + "\n", encoding="utf-8")
        if args.format != "text":
            print(text(findings))
    else:
        print(report)
    return 1 if any(f.failed for f in findings) else 0


def console() -> None:
    """Console-script entry point (``ml-genai-checks``)."""
    sys.exit(main())


if __name__ == "__main__":
    console()
