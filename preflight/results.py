"""The pieces every check shares: outcomes, AWS clients, and turning errors into answers."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from preflight.plan import Plan

CLIENT_CONFIG = Config(
    retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=10
)
"""Short timeouts and few retries, so that a dead endpoint costs seconds, not minutes."""

DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "403"}
)


class NoAccess(RuntimeError):
    """Nothing can be checked (no credentials, STS unreachable or refusing them): exit 2."""


class Unanswered(RuntimeError):
    """A call succeeded but did not answer the question (``str(err)`` says why)."""


class Status(enum.StrEnum):
    """What a check found."""

    OK = "ok"
    PROBLEM = "problem"
    UNKNOWN = "could not check"


@dataclass(frozen=True)
class Outcome:
    """What one check function returns: a status, the reason, and for problems the fix."""

    status: Status
    reason: str
    fix: str = ""


def ok(reason: str) -> Outcome:
    """A check that passed."""
    return Outcome(Status.OK, reason)


def problem(reason: str, fix: str) -> Outcome:
    """A check that found something the deployment would trip over."""
    return Outcome(Status.PROBLEM, reason, fix)


def unknown(reason: str) -> Outcome:
    """A check that could not get its answer (denied, unsupported, unreachable)."""
    return Outcome(Status.UNKNOWN, reason)


@dataclass(frozen=True)
class Result:
    """A named outcome, as printed."""

    name: str
    status: Status
    reason: str
    fix: str = ""

    def line(self) -> str:
        """One line: status, check name, reason, and for a problem the fix."""
        text = f"{self.status.value:<15} {self.name:<20} {self.reason}"
        return f"{text}; fix: {self.fix}" if self.status is Status.PROBLEM else text


def error_code(err: BaseException) -> str:
    """The AWS error code of a ``ClientError``, else the exception's class name."""
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Code", "ClientError"))
    return type(err).__name__


def describe_error(err: BaseException) -> str:
    """Why a call gave no answer, in a few words: operation and error code."""
    if isinstance(err, ClientError):
        code = error_code(err)
        if code in DENIED_CODES:
            return f"{err.operation_name} denied ({code})"
        message = " ".join(str(err.response.get("Error", {}).get("Message", "")).split())
        shown = f"HTTP {code}" if code.isdigit() else code
        if message and message != code and not message.startswith("<"):  # not an HTML page
            shown += f": {message[:80]}"
        return f"{err.operation_name} failed ({shown})"
    if isinstance(err, Unanswered):
        return str(err)
    if isinstance(err, NotImplementedError):
        return f"not supported by this endpoint ({str(err) or 'NotImplementedError'})"
    if isinstance(err, BotoCoreError):
        return f"{type(err).__name__}: {err}"
    return f"unexpected {type(err).__name__}: {err}"


class Clients:
    """boto3 clients for one region, made from one session and cached.

    ``overrides`` replaces the client of a service (tests pass a client with a ``Stubber``).
    """

    def __init__(
        self,
        session: boto3.session.Session,
        region: str,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        self._session = session
        self._region = region
        self._clients: dict[str, Any] = dict(overrides or {})

    def __call__(self, service: str) -> Any:
        """The client of ``service`` (``"lambda"``, ``"ec2"``...)."""
        if service not in self._clients:
            self._clients[service] = self._session.client(
                service, region_name=self._region, config=CLIENT_CONFIG
            )
        return self._clients[service]


@dataclass
class Context:
    """What a check may use: the plan, the clients, and facts found once for all checks."""

    plan: Plan
    aws: Clients
    _deployed: frozenset[str] | None = field(default=None, init=False)

    def deployed_stacks(self) -> frozenset[str]:
        """The plan's stacks that CloudFormation already has (an earlier deploy), found once.

        A stack whose lookup fails (denied, unreachable) counts as not deployed: preflight is
        for a first deploy, so that is the expected state.
        """
        if self._deployed is None:
            found: set[str] = set()
            cloudformation = self.aws("cloudformation")
            for name in self.plan.stack_names:
                try:
                    stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
                except (ClientError, BotoCoreError):
                    continue
                if any(s.get("StackStatus") != "REVIEW_IN_PROGRESS" for s in stacks):
                    found.add(name)
            self._deployed = frozenset(found)
        return self._deployed


@dataclass(frozen=True)
class Check:
    """A named check: a function of the context that returns an ``Outcome``."""

    name: str
    run: Callable[[Context], Outcome]

    def __call__(self, context: Context) -> Result:
        """Run it; any error becomes "could not check" with the reason (never a traceback)."""
        try:
            outcome = self.run(context)
        except NoAccess:
            raise
        except Exception as err:  # every failure is reported; none escapes as a traceback
            outcome = unknown(describe_error(err))
        return Result(self.name, outcome.status, outcome.reason, outcome.fix)
