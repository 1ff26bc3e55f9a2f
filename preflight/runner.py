"""Run every check in order and sum the results up (exit status and the summary line)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from preflight.checks import CHECKS, IDENTITY
from preflight.results import Check, Context, Result, Status
from preflight.singletons import SINGLETON_CHECKS

ORDER: tuple[Check, ...] = (*CHECKS[:3], *SINGLETON_CHECKS, *CHECKS[3:])
"""After caller identity: Lambda, AZs, endpoints, the singletons, logs, models, bootstrap."""


def run(context: Context, checks: Sequence[Check] = ORDER) -> Iterator[Result]:
    """Every check's result as it comes; only the identity's when it is another account.

    ``checks`` (default ``ORDER``, the pre-deployment checks) run after the caller identity.

    Raises:
        NoAccess: (on the first result) nothing can be checked: no credentials, no STS.
    """
    identity = IDENTITY(context)
    yield identity
    if identity.status is not Status.PROBLEM:
        for check in checks:
            yield check(context)


def exit_status(results: list[Result]) -> int:
    """1 when any check found a problem, else 0 ("could not check" alone does not fail)."""
    return 1 if any(r.status is Status.PROBLEM for r in results) else 0


def summary(results: list[Result]) -> str:
    """The last line: counts, and the checks that could not be answered, by name."""
    count = {s: sum(r.status is s for r in results) for s in Status}
    line = (
        f"summary: {count[Status.OK]} ok, {count[Status.PROBLEM]} problem"
        f"{'' if count[Status.PROBLEM] == 1 else 's'}, {count[Status.UNKNOWN]} could not check"
    )
    unknown = [r.name for r in results if r.status is Status.UNKNOWN]
    if unknown:
        line += f" ({', '.join(unknown)}: not a failure, verify those by hand)"
    if len(results) == 1 and results[0].status is Status.PROBLEM:
        line += "; other checks skipped: they would describe the wrong account"
    return line
