"""Post-deployment checks of the detective services (GuardDuty ... IAM Access Analyzer).

Owned by the environment (``audit.account_services``): the service is on with what the
templates configure (GuardDuty's features, Security Hub's standards, Inspector's scan types, the
named analyzer). In organization mode the security account enables the org-owned ones for every
member: they must be on in this account all the same, and are checked for being on at all
(Inspector for the scan types the organization enables). Left to someone else outside an
organization: on at all. Operations and fields are the pinned botocore's.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from platform_config import OrganizationConfig
from preflight.postdeploy_context import DeployedContext
from preflight.results import Outcome, Unanswered, error_code, ok, problem, unknown

INSPECTOR_STATE_KEYS = {
    "EC2": "ec2",
    "ECR": "ecr",
    "LAMBDA": "lambda",
    "LAMBDA_CODE": "lambdaCode",
    "CODE_REPOSITORY": "codeRepository",
}
"""Inspector ``Enable`` resource types -> their key in ``BatchGetAccountStatus``'s resourceState."""


def _redeploy(context: DeployedContext) -> str:
    audit = context.stack("audit")
    return context.redeploy(audit)


def guardduty_detector(context: DeployedContext) -> Outcome:
    """A GuardDuty detector exists and is ENABLED, with the template's features when owned."""
    guardduty = context.aws("guardduty")
    ids = guardduty.list_detectors()["DetectorIds"]
    owned = context.owner("guardduty") == "stack"
    whose = "" if owned else f"; {context.owner_note('guardduty')}"
    fix = _redeploy(context) if owned else context.owner_fix("guardduty", "enable GuardDuty")
    if not ids:
        return problem(f"no GuardDuty detector in {context.plan.env.region}{whose}", fix)
    detector_id = str(ids[0])
    detector = guardduty.get_detector(DetectorId=detector_id)
    if detector.get("Status") != "ENABLED":
        return problem(
            f"detector {detector_id} is {detector.get('Status')}{whose}",
            f"aws guardduty update-detector --detector-id {detector_id} --enable" if owned else fix,
        )
    if owned:
        deployed = {str(f.get("Name")): str(f.get("Status")) for f in detector.get("Features", [])}
        wanted = [
            str(f.get("Name"))
            for d in context.plan.of_type("AWS::GuardDuty::Detector")
            for f in d.properties.get("Features", [])
            if f.get("Status") == "ENABLED"
        ]
        off = [f"{n} {deployed.get(n, 'absent')}" for n in wanted if deployed.get(n) != "ENABLED"]
        if off:
            return problem(
                f"detector {detector_id} is enabled, but not its features {', '.join(off)}",
                f"aws guardduty update-detector --detector-id {detector_id} --features "
                + " ".join(f"Name={n.split()[0]},Status=ENABLED" for n in off),
            )
        return ok(f"detector {detector_id} ENABLED with {', '.join(wanted) or 'no extra features'}")
    return ok(f"detector {detector_id} ENABLED{whose}")


def _expected_standards(context: DeployedContext) -> list[str]:
    """The standards ARNs the templates subscribe (the config's, if not resolvable)."""
    env = context.plan.env
    arns = [
        context.resolve(s.properties.get("StandardsArn"))
        for s in context.plan.of_type("AWS::SecurityHub::Standard")
    ]
    if arns and all(arns):
        return [a for a in arns if a]
    return [
        f"arn:aws:securityhub:{env.region}::standards/{s}" for s in env.audit.securityhub_standards
    ]


def security_hub(context: DeployedContext) -> Outcome:
    """Security Hub is enabled; when owned, each configured standard's subscription is READY."""
    securityhub = context.aws("securityhub")
    owned = context.owner("securityhub") == "stack"
    whose = "" if owned else f"; {context.owner_note('securityhub')}"
    try:
        hub = securityhub.describe_hub()
    except ClientError as err:
        if error_code(err) not in ("InvalidAccessException", "ResourceNotFoundException"):
            raise
        return problem(
            f"Security Hub is not enabled in {context.plan.env.region}{whose}",
            _redeploy(context)
            if owned
            else context.owner_fix("securityhub", "enable Security Hub"),
        )
    if not owned:
        return ok(f"Security Hub on ({hub.get('HubArn')}){whose}")
    subscribed: dict[str, str] = {}
    for page in securityhub.get_paginator("get_enabled_standards").paginate():
        for subscription in page.get("StandardsSubscriptions", []):
            subscribed[str(subscription["StandardsArn"])] = str(subscription["StandardsStatus"])
    wanted = _expected_standards(context)
    short = {arn: arn.split("::standards/", 1)[-1] for arn in wanted}
    missing = [short[a] for a in wanted if a not in subscribed]
    broken = [
        f"{short[a]} {subscribed[a]}"
        for a in wanted
        if subscribed.get(a) not in (None, "READY", "PENDING")
    ]
    if missing or broken:
        parts = [f"not enabled: {', '.join(missing)}" if missing else "", ", ".join(broken)]
        fixes = []
        if missing:
            requests = " ".join(f"StandardsArn={a}" for a in wanted if short[a] in missing)
            fixes.append(
                "aws securityhub batch-enable-standards --standards-subscription-requests "
                f"{requests} (or {_redeploy(context)})"
            )
        if broken:
            fixes.append(
                "read StandardsStatusReason in aws securityhub get-enabled-standards, fix it, "
                "then disable and enable the standard again"
            )
        return problem(
            f"Security Hub standards {'; '.join(p for p in parts if p)}", "; ".join(fixes)
        )
    pending = [short[a] for a in wanted if subscribed.get(a) == "PENDING"]
    note = f" ({', '.join(pending)} still PENDING)" if pending else ""
    return ok(f"enabled with {len(wanted)} standards: {', '.join(short.values())}{note}")


def macie(context: DeployedContext) -> Outcome:
    """The Macie session is ENABLED (not PAUSED, not absent)."""
    owned = context.owner("macie") == "stack"
    whose = "" if owned else f"; {context.owner_note('macie')}"
    try:
        session = context.aws("macie2").get_macie_session()
    except ClientError as err:
        code = error_code(err)
        message = str(err.response.get("Error", {}).get("Message", "")).lower()
        if code == "ResourceNotFoundException" or (
            code == "AccessDeniedException" and "not enabled" in message
        ):
            return problem(
                f"Macie is not enabled in {context.plan.env.region}{whose}",
                _redeploy(context) if owned else context.owner_fix("macie", "enable Macie"),
            )
        raise
    status = session.get("status")
    if status != "ENABLED":
        return problem(
            f"the Macie session is {status}{whose}: no discovery job or finding runs",
            "aws macie2 update-macie-session --status ENABLED"
            if owned
            else context.owner_fix("macie", "resume the Macie session"),
        )
    return ok(f"Macie session ENABLED{whose}")


def inspector(context: DeployedContext) -> Outcome:
    """Inspector's account status is ENABLED for each configured scan type."""
    account = context.plan.env.account
    owned = context.owner("inspector") == "stack"
    whose = "" if owned else f"; {context.owner_note('inspector')}"
    response = context.aws("inspector2").batch_get_account_status(accountIds=[account])
    failed = [f for f in response.get("failedAccounts", []) if f.get("accountId") == account]
    if failed:
        raise Unanswered(f"BatchGetAccountStatus failed for the account ({failed[0]['errorCode']})")
    status: dict[str, Any] = next(
        (a for a in response.get("accounts", []) if a.get("accountId") == account), {}
    )
    states: dict[str, Any] = status.get("resourceState", {})
    types = context.plan.inspector_scan_types()
    off = [
        f"{t} {states.get(INSPECTOR_STATE_KEYS.get(t, t), {}).get('status', 'absent')}"
        for t in types
        if states.get(INSPECTOR_STATE_KEYS.get(t, t), {}).get("status")
        not in ("ENABLED", "ENABLING")
    ]
    if off:
        names = " ".join(t.split()[0] for t in off)
        return problem(
            f"Inspector scans not enabled: {', '.join(off)} (account "
            f"{status.get('state', {}).get('status', 'not enabled')}){whose}",
            f"aws inspector2 enable --account-ids {account} --resource-types {names}"
            if owned
            else context.owner_fix("inspector", f"enable Inspector's {names} scans"),
        )
    return ok(f"Inspector ENABLED for {', '.join(types)}{whose}")


def _org_analyzer(organization: OrganizationConfig) -> Outcome:
    return unknown(
        "no analyzer in this account: the organization's analyzer lives in the delegated "
        f"administrator (security account {organization.security_account}) and member "
        "accounts do not list it; verify it there (aws accessanalyzer list-analyzers "
        "--type ORGANIZATION)"
    )


def access_analyzer(context: DeployedContext) -> Outcome:
    """The environment's account analyzer is ACTIVE (any active one when not owned)."""
    owner = context.owner("access_analyzer")
    analyzers = context.aws("accessanalyzer").list_analyzers(type="ACCOUNT")["analyzers"]
    state = {str(a["name"]): a for a in analyzers}
    if owner == "stack":
        declared = context.plan.of_type(
            "AWS::AccessAnalyzer::Analyzer", lambda p: p.get("Type") == "ACCOUNT"
        )
        names = [context.resolve(d.properties.get("AnalyzerName")) for d in declared]
        name = names[0] if names and names[0] else next(iter(state), "")
        found = state.get(name)
        if found is None:
            label = f"account analyzer {name}" if name else "account analyzer"
            return problem(f"no {label} in {context.plan.env.region}", _redeploy(context))
        if found.get("status") != "ACTIVE":
            reason = found.get("statusReason", {}).get("code", "")
            return problem(
                f"analyzer {name} is {found.get('status')}{f' ({reason})' if reason else ''}",
                f"{_redeploy(context)}; see aws accessanalyzer get-analyzer --analyzer-name {name}",
            )
        return ok(f"analyzer {name} ACTIVE")
    active = [n for n, a in state.items() if a.get("status") == "ACTIVE"]
    if active:
        return ok(f"analyzer {', '.join(active)} ACTIVE; {context.owner_note('access_analyzer')}")
    if owner == "organization" and context.organization is not None:
        return _org_analyzer(context.organization)
    return problem(
        f"no active account analyzer; {context.owner_note('access_analyzer')}",
        context.owner_fix("access_analyzer", "create an account analyzer"),
    )
