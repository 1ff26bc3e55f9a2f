"""The Config rule event: the envelope, the selected check and that check's rule parameters.

The envelope is validated by ``handler_kit.config_rule.parse_invocation``; this module selects the
check (rule parameter ``check``), refuses a message type that check does not run on, and turns
the check's rule parameters into a typed value. Every refusal is a ``MalformedEventError``
(dead-lettered). See ``bedrock_config_rules.py`` for what each check and parameter means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from handler_kit.config_rule import (
    CHANGE_NOTIFICATIONS,
    SCHEDULED_NOTIFICATION,
    MalformedEventError,
    RuleInvocation,
    parse_invocation,
)

INVOCATION_LOGGING = "invocation_logging"
GUARDRAILS = "guardrails"
KNOWLEDGE_BASES = "knowledge_bases"
AGENTS = "agents"
ENDPOINTS = "endpoints"
CHECKS = (INVOCATION_LOGGING, GUARDRAILS, KNOWLEDGE_BASES, AGENTS, ENDPOINTS)

PARAMETERS: dict[str, tuple[str, ...]] = {
    INVOCATION_LOGGING: (
        "expectedBucket",
        "expectedPrefix",
        "expectedLogGroup",
        "requireTextDelivery",
    ),
    GUARDRAILS: ("promptAttackStrength",),
    KNOWLEDGE_BASES: (),
    AGENTS: (),
    ENDPOINTS: ("vpcId", "requiredServices"),
}
"""The rule parameters of each check besides ``check``; any other key is refused."""

MESSAGE_TYPES: dict[str, tuple[str, ...]] = {
    INVOCATION_LOGGING: (SCHEDULED_NOTIFICATION,),
    GUARDRAILS: (SCHEDULED_NOTIFICATION,),
    KNOWLEDGE_BASES: (SCHEDULED_NOTIFICATION,),
    AGENTS: (SCHEDULED_NOTIFICATION,),
    ENDPOINTS: (SCHEDULED_NOTIFICATION, *CHANGE_NOTIFICATIONS),
}
ALL_MESSAGE_TYPES = (SCHEDULED_NOTIFICATION, *CHANGE_NOTIFICATIONS)

VPC_ENDPOINT_RESOURCE_TYPE = "AWS::EC2::VPCEndpoint"
STRENGTHS = ("LOW", "MEDIUM", "HIGH")
DEFAULT_SERVICES = ("bedrock", "bedrock-runtime", "bedrock-agent", "bedrock-agent-runtime")
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
LOG_GROUP_RE = re.compile(r"[A-Za-z0-9_/#.-]{1,512}")
VPC_ID_RE = re.compile(r"vpc-[0-9a-f]{8,17}")
VPC_ENDPOINT_ID_RE = re.compile(r"vpce-[0-9a-f]{8,17}")
SERVICE_RE = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")


@dataclass(frozen=True)
class LoggingParameters:
    """``invocation_logging``: where model invocation logs must go."""

    bucket: str
    prefix: str | None
    log_group: str | None
    require_text: bool


@dataclass(frozen=True)
class GuardrailParameters:
    """``guardrails``: the weakest prompt-attack input strength allowed."""

    prompt_attack_strength: str


@dataclass(frozen=True)
class EndpointParameters:
    """``endpoints``: the VPC and the short service names that need an interface endpoint."""

    vpc_id: str
    services: tuple[str, ...]


CheckParameters = LoggingParameters | GuardrailParameters | EndpointParameters | None


@dataclass(frozen=True)
class RuleEvent:
    """A validated invocation: the envelope, the check and its parameters."""

    invocation: RuleInvocation
    check: str
    parameters: CheckParameters


def _text(parameters: dict[str, Any], key: str) -> str | None:
    """The stripped string value of ``key``, None when absent or blank."""
    value = parameters.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedEventError(f"rule parameter {key} must be a string")
    return value.strip() or None


def _required(parameters: dict[str, Any], key: str, pattern: re.Pattern[str], expected: str) -> str:
    value = _text(parameters, key)
    if value is None:
        raise MalformedEventError(f"rule parameter {key} is required: {expected}")
    if not pattern.fullmatch(value):
        raise MalformedEventError(f"rule parameter {key}={value!r} is invalid; expected {expected}")
    return value


def _logging(parameters: dict[str, Any]) -> LoggingParameters:
    bucket = _required(parameters, "expectedBucket", BUCKET_RE, "an S3 bucket name")
    log_group = _text(parameters, "expectedLogGroup")
    if log_group is not None and not LOG_GROUP_RE.fullmatch(log_group):
        raise MalformedEventError(
            f"rule parameter expectedLogGroup={log_group!r} is invalid; expected a log group name"
        )
    flag = (_text(parameters, "requireTextDelivery") or "true").lower()
    if flag not in ("true", "false"):
        raise MalformedEventError(
            f"rule parameter requireTextDelivery={flag!r} is invalid; allowed: true, false"
        )
    return LoggingParameters(
        bucket=bucket,
        prefix=_text(parameters, "expectedPrefix"),
        log_group=log_group,
        require_text=flag == "true",
    )


def _guardrails(parameters: dict[str, Any]) -> GuardrailParameters:
    value = _text(parameters, "promptAttackStrength")
    allowed = ", ".join(STRENGTHS)
    if value is None:
        raise MalformedEventError(f"rule parameter promptAttackStrength is required: {allowed}")
    if value.upper() not in STRENGTHS:
        raise MalformedEventError(
            f"rule parameter promptAttackStrength={value!r} is invalid; allowed: {allowed}"
        )
    return GuardrailParameters(prompt_attack_strength=value.upper())


def _endpoints(parameters: dict[str, Any]) -> EndpointParameters:
    vpc_id = _required(parameters, "vpcId", VPC_ID_RE, "a VPC ID (vpc-0123456789abcdef0)")
    raw = _text(parameters, "requiredServices") or ""
    services: list[str] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        if not SERVICE_RE.fullmatch(part):
            raise MalformedEventError(
                f"rule parameter requiredServices holds {part!r}; expected short service "
                "names such as bedrock-runtime, comma-separated"
            )
        if part not in services:
            services.append(part)
    return EndpointParameters(vpc_id=vpc_id, services=tuple(services) or DEFAULT_SERVICES)


def _check_item(invocation: RuleInvocation) -> None:
    item = invocation.item
    if item is None:
        return
    if item.resource_type != VPC_ENDPOINT_RESOURCE_TYPE:
        raise MalformedEventError(
            f"configuration item type {item.resource_type!r} is not {VPC_ENDPOINT_RESOURCE_TYPE}"
        )
    if not VPC_ENDPOINT_ID_RE.fullmatch(item.resource_id):
        raise MalformedEventError(f"configuration item ID {item.resource_id!r} is no endpoint ID")


def parse_event(event: Any) -> RuleEvent:
    """Validate a Config rule event of one of the five checks.

    Raises:
        MalformedEventError: the envelope is malformed, ``check`` is missing or unknown, the
            message type is not one the check runs on, a parameter is unknown, missing or
            invalid, or a change notification is not about a VPC endpoint.
    """
    invocation = parse_invocation(event, ALL_MESSAGE_TYPES)
    parameters = invocation.parameters
    check = parameters.get("check")
    if check not in CHECKS:
        raise MalformedEventError(
            f"rule parameter check={check!r} is invalid; allowed: {', '.join(CHECKS)}"
        )
    if invocation.message_type not in MESSAGE_TYPES[check]:
        raise MalformedEventError(
            f"messageType {invocation.message_type!r} is not accepted by check {check!r} "
            f"(it runs on {', '.join(MESSAGE_TYPES[check])})"
        )
    unknown = sorted(set(parameters) - {"check", *PARAMETERS[check]})
    if unknown:
        allowed = ", ".join(PARAMETERS[check]) or "none"
        raise MalformedEventError(
            f"rule parameters {', '.join(unknown)} are not used by check {check!r}; "
            f"allowed: {allowed}"
        )
    _check_item(invocation)
    typed: CheckParameters = None
    if check == INVOCATION_LOGGING:
        typed = _logging(parameters)
    elif check == GUARDRAILS:
        typed = _guardrails(parameters)
    elif check == ENDPOINTS:
        typed = _endpoints(parameters)
    return RuleEvent(invocation=invocation, check=check, parameters=typed)
