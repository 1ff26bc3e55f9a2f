"""Account singletons: services that exist once per account and region.

For each one the templates create, an existing one is a problem (CloudFormation fails to create
a second, or the stack would take over and later delete someone else's); for each the config
says someone else owns (an ``audit.account_services`` entry left out), a missing one is a
problem (nothing would enable it). A singleton whose creating stack is already deployed is
assumed to be that stack's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from preflight.results import Check, Context, Outcome, Unanswered, error_code, ok, problem


@dataclass(frozen=True)
class Found:
    """Whether the account has the singleton, and what was seen."""

    exists: bool
    detail: str


def _config_recorder(context: Context) -> Found:
    recorders = context.aws("config").describe_configuration_recorders()["ConfigurationRecorders"]
    # Service-linked recorders (servicePrincipal set) live beside the one customer recorder.
    own = [r for r in recorders if not r.get("servicePrincipal")]
    return Found(bool(own), f"Config recorder {', '.join(r['name'] for r in own)}")


def _guardduty(context: Context) -> Found:
    ids = context.aws("guardduty").list_detectors()["DetectorIds"]
    return Found(bool(ids), f"GuardDuty detector {', '.join(ids)}")


def _securityhub(context: Context) -> Found:
    try:
        hub = context.aws("securityhub").describe_hub()
    except ClientError as err:
        if error_code(err) in ("InvalidAccessException", "ResourceNotFoundException"):
            return Found(False, "Security Hub not enabled")
        raise
    return Found(True, f"Security Hub {hub.get('HubArn')}")


def _macie(context: Context) -> Found:
    try:
        session = context.aws("macie2").get_macie_session()
    except ClientError as err:
        code = error_code(err)
        message = str(err.response.get("Error", {}).get("Message", "")).lower()
        if code == "ResourceNotFoundException" or (
            code == "AccessDeniedException" and "not enabled" in message
        ):
            return Found(False, "Macie not enabled")
        raise
    return Found(True, f"Macie session ({session.get('status')})")


def _inspector(context: Context) -> Found:
    account = context.plan.env.account
    response = context.aws("inspector2").batch_get_account_status(accountIds=[account])
    failed = [f for f in response.get("failedAccounts", []) if f.get("accountId") == account]
    if failed:
        raise Unanswered(f"BatchGetAccountStatus failed for the account ({failed[0]['errorCode']})")
    states: dict[str, Any] = next(
        (a.get("resourceState", {}) for a in response["accounts"] if a["accountId"] == account),
        {},
    )
    keys = {"EC2": "ec2", "ECR": "ecr", "LAMBDA": "lambda", "LAMBDA_CODE": "lambdaCode"}
    enabled = [
        t
        for t in context.plan.inspector_scan_types()
        if states.get(keys.get(t, t), {}).get("status") in ("ENABLED", "ENABLING")
    ]
    return Found(bool(enabled), f"Inspector activation ({', '.join(enabled) or 'no'} scans)")


def _access_analyzer(context: Context) -> Found:
    analyzers = context.aws("accessanalyzer").list_analyzers(type="ACCOUNT")["analyzers"]
    return Found(bool(analyzers), f"account analyzer {', '.join(a['name'] for a in analyzers)}")


def _invocation_logging(context: Context) -> Found:
    response = context.aws("bedrock").get_model_invocation_logging_configuration()
    config = response.get("loggingConfig") or {}
    targets = [k.removesuffix("Config") for k in ("s3Config", "cloudWatchConfig") if config.get(k)]
    return Found(bool(config), f"Bedrock invocation logging (to {', '.join(targets) or '-'})")


def _enforced_guardrail(context: Context) -> Found:
    response = context.aws("bedrock").list_enforced_guardrails_configuration()
    configs = response["guardrailsConfig"]
    shown = ", ".join(f"{c.get('guardrailId')}:{c.get('guardrailVersion')}" for c in configs)
    return Found(bool(configs), f"enforced guardrail configuration {shown}")


@dataclass(frozen=True)
class Singleton:
    """One singleton: how the templates declare it, how to find it, what to do on a clash."""

    name: str
    resource_type: str
    probe: Callable[[Context], Found]
    clash: str
    fix: str
    service: str | None = None
    """Its ``audit.account_services`` entry; ``None`` when the config has no owner choice."""
    where: Callable[[dict[str, Any]], bool] | None = None


def _leave_or_import(service: str) -> str:
    return (
        f'remove "{service}" from audit.account_services so the stack stops owning it '
        "(the existing one stays), or cdk import it into the audit stack"
    )


SINGLETONS: tuple[Singleton, ...] = (
    Singleton(
        "config recorder",
        "AWS::Config::ConfigurationRecorder",
        _config_recorder,
        "AWS Config allows one customer recorder per region, so CloudFormation fails to "
        "create the stack's",
        _leave_or_import("config_recorder"),
        service="config_recorder",
    ),
    Singleton(
        "guardduty detector",
        "AWS::GuardDuty::Detector",
        _guardduty,
        "one detector per region, so CloudFormation fails to create the stack's",
        _leave_or_import("guardduty"),
        service="guardduty",
    ),
    Singleton(
        "security hub",
        "AWS::SecurityHub::Hub",
        _securityhub,
        "CloudFormation fails to enable it a second time",
        _leave_or_import("securityhub"),
        service="securityhub",
    ),
    Singleton(
        "macie",
        "AWS::Macie::Session",
        _macie,
        "CloudFormation fails to create a second session",
        _leave_or_import("macie"),
        service="macie",
    ),
    Singleton(
        "inspector",
        "Custom::InspectorActivation",
        _inspector,
        "the audit stack would take over the activation and, with audit.disable_on_delete, "
        "turn Inspector off when it is deleted",
        'remove "inspector" from audit.account_services (a custom resource cannot be imported)',
        service="inspector",
    ),
    Singleton(
        "access analyzer",
        "AWS::AccessAnalyzer::Analyzer",
        _access_analyzer,
        "the quota is one per region, so CloudFormation fails to create the stack's",
        _leave_or_import("access_analyzer"),
        service="access_analyzer",
        where=lambda props: props.get("Type") == "ACCOUNT",
    ),
    Singleton(
        "invocation logging",
        "Custom::BedrockInvocationLogging",
        _invocation_logging,
        "Bedrock keeps one per region: the GenAI stack would overwrite it, and deleting the "
        "stack deletes it",
        'remove "bedrock_invocation_logging" from audit.account_services if another '
        "environment or team owns it; or, if it may be replaced, delete it first: "
        "aws bedrock delete-model-invocation-logging-configuration",
        service="bedrock_invocation_logging",
    ),
    Singleton(
        "enforced guardrail",
        "AWS::Bedrock::EnforcedGuardrailConfiguration",
        _enforced_guardrail,
        "it applies to every Bedrock call of the region, and the GenAI stack would add its own "
        "beside it",
        "delete the existing one (aws bedrock delete-enforced-guardrail-configuration "
        "--config-id <id>) or set genai.enforce_guardrail_in_account to false",
    ),
)


def check_singleton(singleton: Singleton, context: Context) -> Outcome:
    """Compare one singleton in the account with what the templates and the config expect."""
    env = context.plan.env
    created = context.plan.of_type(singleton.resource_type, singleton.where)
    if created:
        stack = created[0].stack
        found = singleton.probe(context)
        if not found.exists:
            return ok(f"none yet; {stack} creates it")
        if stack in context.deployed_stacks():
            return ok(f"{found.detail}; {stack} is deployed already: assumed to be its own")
        return problem(f"{found.detail} exists already: {singleton.clash}", singleton.fix)
    if singleton.service is not None and not env.audit.manages(singleton.service):
        found = singleton.probe(context)
        if found.exists:
            return ok(f"{found.detail}; owned elsewhere, as audit.account_services says")
        return problem(
            f"audit.account_services leaves {singleton.service} to someone else, but it is "
            f"not enabled ({found.detail}): nothing enables it",
            f'add "{singleton.service}" to audit.account_services of {env.name}, or enable it '
            "in the account (e.g. from the organization's delegated administrator)",
        )
    return ok(f"not created by {env.name}'s stacks; nothing to check")


SINGLETON_CHECKS: tuple[Check, ...] = tuple(
    Check(s.name, partial(check_singleton, s)) for s in SINGLETONS
)
"""One check per singleton, in the order printed."""
