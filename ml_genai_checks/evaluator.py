"""An IAM policy evaluator with AWS Organizations SCP and RCP semantics (pure Python, no deps).

It answers "would AWS allow this request?" from the policies you hand it, following AWS's
documented policy evaluation logic for the parts it models.

**Statements** (:func:`decide`). An explicit ``Deny`` wins, then any ``Allow``, else implicit
deny. ``Action``/``NotAction`` match case-insensitively, ``Resource``/``NotResource``
case-sensitively, both with the ``*`` and ``?`` wildcards (nothing else is special: ``[`` is a
plain character). ``Principal``/``NotPrincipal`` (resource-based policies and RCPs) match
``"*"``, ``{"AWS": "*"}``, an account ID or ``arn:...:iam::<account>:root`` (any principal of
that account), an exact principal ARN (``aws:PrincipalArn``) and ``{"Service": ...}``
(``aws:PrincipalServiceName``). A statement with a principal and no ``Resource`` element
applies to every resource (a trust policy is attached to its resource). Condition operators:
``String*``, ``Arn*``, ``Bool``, ``Null``, ``IpAddress``/``NotIpAddress``, ``Numeric*`` and
``Date*``, with ``ForAllValues:``/``ForAnyValue:`` and ``...IfExists``. Several values for one
key are OR-ed (negated operators: the value must match none of them); several keys and several
operators are AND-ed. Condition keys are looked up case-insensitively. A key missing from the
request makes a condition false, except for negated operators (true), ``...IfExists`` (true),
``ForAllValues:`` (true) and ``Null`` (true when asked ``"true"``); ``ForAnyValue:`` on a missing
key is false. Non-string policy values (CloudFormation intrinsics) are turned into text by a
``flatten`` hook (default: compact ``json.dumps``), so requests can be written with the same
strings.

**Organizations** (:func:`evaluate`), in the documented order: every explicit ``Deny`` first
(RCPs, SCPs, the resource-based policy, identity policies), then RCPs, SCPs, the resource-based
policy and identity policies.

- SCPs apply to the IAM users and roles (root user included) of member accounts. They do not
  apply to principals of the management account, to service-linked roles, to AWS service
  principals or to principals of accounts outside the organization. At every level of the
  account's path (root, each OU, the account) an attached SCP must allow the action (AWS attaches
  ``FullAWSAccess`` everywhere when SCPs are enabled; without it that level denies implicitly),
  and an explicit ``Deny`` in any SCP on the path denies.
- RCPs apply to requests for resources in member accounts, whoever calls (principals of other
  organizations, of the management account, AWS services), for the services in
  :data:`RCP_SUPPORTED_SERVICES`. They do not apply to resources in the management account, to
  requests made by service-linked roles, or to ``kms:RetireGrant``. ``RCPFullAWSAccess`` cannot
  be detached, so it is counted as attached at every level; ``Allow`` is supported in no other
  RCP (an :class:`Organization` with one is refused). An explicit ``Deny`` in any RCP on the
  resource account's path denies.
- Same account: an ``Allow`` in the identity policies *or* the resource-based policy suffices.
  Cross-account: both must allow. A request from an AWS service principal (``principal_account``
  ``None``) needs the resource-based policy.

:func:`evaluate` adds to the request context, unless already set: ``aws:PrincipalAccount``,
``aws:ResourceAccount``, ``aws:PrincipalIsAWSService`` (``"false"`` for an account principal)
and, for accounts in an organization with a known ID, ``aws:PrincipalOrgID``/
``aws:ResourceOrgID`` and ``aws:PrincipalOrgPaths``/``aws:ResourceOrgPaths``.

Simplifications (not modelled): permissions boundaries, session policies, VPC endpoint
policies, ACLs, KMS grants; the service-specific exceptions to "same account: either policy
suffices" (KMS key policies and role trust policies must allow themselves; a resource policy
naming the account rather than the principal delegates to identity policies); the root user's
implicit full access and the root tasks SCPs cannot restrict; AWS managed KMS keys (RCPs do
not apply to them); policy variables (``${aws:username}`` is compared literally); whether a
service supports a given condition key or resource type; ``Arn*`` and ``Resource`` wildcards
may span ARN segments (AWS matches them segment by segment); an unqualified operator on a
multivalued key is true when any value matches (negated: when none does). Whether RCPs cover an
action is decided by its service prefix only.

Sources: AWS IAM User Guide, "Policy evaluation logic", "How AWS enforcement code logic
evaluates requests", "Cross-account policy evaluation logic", "Condition operators"; AWS
Organizations User Guide, "SCP evaluation", "Service control policies", "Resource control
policies", "RCP evaluation", "RCP syntax".
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final, Literal

__all__ = [
    "FULL_AWS_ACCESS",
    "FULL_AWS_ACCESS_DOCUMENT",
    "RCP_EXEMPT_ACTIONS",
    "RCP_FULL_AWS_ACCESS",
    "RCP_FULL_AWS_ACCESS_DOCUMENT",
    "RCP_SUPPORTED_SERVICES",
    "Decision",
    "Flatten",
    "Organization",
    "Policy",
    "Request",
    "Statement",
    "allowed",
    "decide",
    "evaluate",
]

Statement = Mapping[str, Any]
"""One policy statement, as in a policy document's ``Statement`` list."""

Flatten = Callable[[Any], str]
"""Turns a non-string policy value (a CloudFormation intrinsic, say) into text."""

Outcome = Literal["Allow", "Deny", "ImplicitDeny"]
Layer = Literal["rcp", "scp", "resource", "identity", "implicit"]


@dataclass
class Request:
    """What is asked: an action on a resource, with the request context (condition keys)."""

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)


# --- values -----------------------------------------------------------------------------------


def _default_flatten(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError):
        return str(value)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _text(value: Any, flatten: Flatten | None) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return (flatten or _default_flatten)(value)


def _texts(value: Any, flatten: Flatten | None) -> list[str]:
    return [_text(v, flatten) for v in _list(value)]


@lru_cache(maxsize=4096)
def _glob(pattern: str, case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(regex, re.DOTALL if case else re.DOTALL | re.IGNORECASE)


def _like(pattern: str, value: str, *, case: bool) -> bool:
    return _glob(pattern, case).fullmatch(value) is not None


class _Context:
    """The request context with case-insensitive keys (IAM condition keys are)."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self._values = {key.lower(): value for key, value in context.items()}

    def get(self, key: str) -> list[Any] | None:
        """The values of ``key``; ``None`` when missing (absent, null or an empty set)."""
        value = self._values.get(key.lower())
        values = _list(value)
        return values or None

    def text(self, key: str) -> str | None:
        values = self.get(key)
        return None if values is None else _text(values[0], None)


# --- conditions -------------------------------------------------------------------------------

# operator -> (base comparison, negated)
_OPERATORS: Final[dict[str, tuple[str, bool]]] = {
    "StringEquals": ("StringEquals", False),
    "StringNotEquals": ("StringEquals", True),
    "StringEqualsIgnoreCase": ("StringEqualsIgnoreCase", False),
    "StringNotEqualsIgnoreCase": ("StringEqualsIgnoreCase", True),
    "StringLike": ("StringLike", False),
    "StringNotLike": ("StringLike", True),
    "ArnEquals": ("StringEquals", False),
    "ArnNotEquals": ("StringEquals", True),
    "ArnLike": ("StringLike", False),
    "ArnNotLike": ("StringLike", True),
    "Bool": ("Bool", False),
    "IpAddress": ("IpAddress", False),
    "NotIpAddress": ("IpAddress", True),
    "NumericEquals": ("NumericEquals", False),
    "NumericNotEquals": ("NumericEquals", True),
    "NumericLessThan": ("NumericLessThan", False),
    "NumericLessThanEquals": ("NumericLessThanEquals", False),
    "NumericGreaterThan": ("NumericGreaterThan", False),
    "NumericGreaterThanEquals": ("NumericGreaterThanEquals", False),
    "DateEquals": ("DateEquals", False),
    "DateNotEquals": ("DateEquals", True),
    "DateLessThan": ("DateLessThan", False),
    "DateLessThanEquals": ("DateLessThanEquals", False),
    "DateGreaterThan": ("DateGreaterThan", False),
    "DateGreaterThanEquals": ("DateGreaterThanEquals", False),
}

_ORDER: Final[dict[str, Callable[[float, float], bool]]] = {
    "Equals": lambda actual, expected: actual == expected,
    "LessThan": lambda actual, expected: actual < expected,
    "LessThanEquals": lambda actual, expected: actual <= expected,
    "GreaterThan": lambda actual, expected: actual > expected,
    "GreaterThanEquals": lambda actual, expected: actual >= expected,
}


def _date(text: str) -> float:
    try:
        return float(text)  # epoch seconds
    except ValueError:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()


def _compare(base: str, expected: str, actual: str) -> bool:
    """Whether the request value ``actual`` matches the policy value ``expected``."""
    if base == "StringEquals":
        return expected == actual
    if base == "StringEqualsIgnoreCase":
        return expected.casefold() == actual.casefold()
    if base == "StringLike":
        return _like(expected, actual, case=True)
    if base == "Bool":
        return expected.lower() == actual.lower()
    if base == "IpAddress":
        try:
            return ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False)
        except ValueError:
            return False
    for family, parse in (("Numeric", float), ("Date", _date)):
        if base.startswith(family):
            try:
                return _ORDER[base.removeprefix(family)](parse(actual), parse(expected))
            except ValueError:
                return False
    raise NotImplementedError(base)


def _condition(
    operator: str, key: str, expected: Any, context: _Context, flatten: Flatten | None
) -> bool:
    qualifier = ""
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise NotImplementedError(f"{qualifier}:{operator}")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    actual = context.get(key)
    if operator == "Null":
        wanted_null = _texts(expected, flatten)[0].lower() == "true"
        return wanted_null == (actual is None)
    if operator not in _OPERATORS:
        raise NotImplementedError(operator)
    base, negated = _OPERATORS[operator]
    wanted = _texts(expected, flatten)
    if actual is None:
        if if_exists or qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return negated

    def one(value: Any) -> bool:
        text = _text(value, flatten)
        hit = any(_compare(base, w, text) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues" or (not qualifier and negated):
        return all(one(v) for v in actual)
    return any(one(v) for v in actual)


# --- statements -------------------------------------------------------------------------------

_ACCOUNT_ID = re.compile(r"\d{12}")
_ACCOUNT_ROOT = re.compile(r"arn:[^:]+:iam::(\d{12}):root")


def _names_principal(kind: str, value: str, context: _Context) -> bool:
    """Whether one ``Principal`` entry (``{"AWS": value}`` etc.) names the caller."""
    arn = context.text("aws:PrincipalArn")
    if kind == "AWS":
        root = _ACCOUNT_ROOT.fullmatch(value)
        owner = root.group(1) if root else value if _ACCOUNT_ID.fullmatch(value) else None
        return value in ("*", arn) or (
            owner is not None and owner == context.text("aws:PrincipalAccount")
        )
    if kind == "Service":
        return value in (context.text("aws:PrincipalServiceName"), arn)
    if kind == "Federated":
        return value == context.text("aws:FederatedProvider")
    return False


def _principal_matches(spec: Any, context: _Context, flatten: Flatten | None) -> bool:
    if spec == "*":
        return True
    if not isinstance(spec, Mapping):
        return False
    return any(
        _names_principal(kind, value, context)
        for kind, values in spec.items()
        for value in _texts(values, flatten)
    )


def _applies(
    statement: Statement, request: Request, context: _Context, flatten: Flatten | None
) -> bool:
    if "Action" in statement:
        actions = _texts(statement["Action"], flatten)
        if not any(_like(a, request.action, case=False) for a in actions):
            return False
    elif "NotAction" in statement:
        actions = _texts(statement["NotAction"], flatten)
        if any(_like(a, request.action, case=False) for a in actions):
            return False
    else:
        return False
    has_principal = "Principal" in statement or "NotPrincipal" in statement
    if "Resource" in statement:
        resources = _texts(statement["Resource"], flatten)
        if not any(_like(r, request.resource, case=True) for r in resources):
            return False
    elif "NotResource" in statement:
        resources = _texts(statement["NotResource"], flatten)
        if any(_like(r, request.resource, case=True) for r in resources):
            return False
    elif not has_principal:
        return False
    if "Principal" in statement and not _principal_matches(
        statement["Principal"], context, flatten
    ):
        return False
    if "NotPrincipal" in statement and _principal_matches(
        statement["NotPrincipal"], context, flatten
    ):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, expected in keys.items():
            if not _condition(operator, key, expected, context, flatten):
                return False
    return True


def _matching(
    statements: Iterable[Statement], request: Request, flatten: Flatten | None
) -> list[tuple[int, Statement]]:
    context = _Context(request.context)
    return [
        (index, s) for index, s in enumerate(statements) if _applies(s, request, context, flatten)
    ]


def decide(
    statements: Iterable[Statement], request: Request, *, flatten: Flatten | None = None
) -> Outcome:
    """``"Deny"`` (explicit), ``"Allow"`` or ``"ImplicitDeny"`` for one set of statements."""
    effects = {s.get("Effect") for _, s in _matching(statements, request, flatten)}
    if "Deny" in effects:
        return "Deny"
    if "Allow" in effects:
        return "Allow"
    return "ImplicitDeny"


def allowed(
    statements: Iterable[Statement], request: Request, *, flatten: Flatten | None = None
) -> bool:
    """Whether the statements allow the request (an ``Allow`` and no explicit ``Deny``)."""
    return decide(statements, request, flatten=flatten) == "Allow"


# --- organizations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """A named policy (an SCP or RCP): its statements."""

    name: str
    statements: tuple[Statement, ...]

    @classmethod
    def from_document(cls, name: str, document: Mapping[str, Any] | str) -> Policy:
        """From a policy document (a mapping or its JSON text)."""
        parsed: Mapping[str, Any] = json.loads(document) if isinstance(document, str) else document
        statements = parsed["Statement"]
        if isinstance(statements, Mapping):
            statements = [statements]
        return cls(name, tuple(statements))


FULL_AWS_ACCESS_DOCUMENT: Final[Mapping[str, Any]] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
"""The AWS managed SCP ``FullAWSAccess`` (p-FullAWSAccess)."""

RCP_FULL_AWS_ACCESS_DOCUMENT: Final[Mapping[str, Any]] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}
"""The AWS managed RCP ``RCPFullAWSAccess`` (p-RCPFullAWSAccess)."""

FULL_AWS_ACCESS: Final = Policy.from_document("FullAWSAccess", FULL_AWS_ACCESS_DOCUMENT)
RCP_FULL_AWS_ACCESS: Final = Policy.from_document("RCPFullAWSAccess", RCP_FULL_AWS_ACCESS_DOCUMENT)

RCP_SUPPORTED_SERVICES: Final[Mapping[str, str]] = {
    # At launch (Nov 2024).
    "s3": "Amazon S3",
    "sts": "AWS Security Token Service",
    "kms": "AWS Key Management Service",
    "sqs": "Amazon SQS",
    "secretsmanager": "AWS Secrets Manager",
    # Added June 2025.
    "ecr": "Amazon Elastic Container Registry",
    "aoss": "Amazon OpenSearch Serverless",
    # Added January 2026 (the Organizations list names "Amazon Cognito": both prefixes here).
    "cognito-idp": "Amazon Cognito user pools",
    "cognito-identity": "Amazon Cognito identity pools",
    "logs": "Amazon CloudWatch Logs",
    # Added February 2026.
    "dynamodb": "Amazon DynamoDB",
    # AWS Sign-In console authorization (signin:Authenticate and the OAuth2 actions).
    "signin": "AWS Sign-In",
}
"""Service prefix -> service, for the services whose resources RCPs apply to (per the AWS
Organizations User Guide, "List of AWS services that support RCPs"; re-check it, it grows)."""

RCP_EXEMPT_ACTIONS: Final[frozenset[str]] = frozenset({"kms:retiregrant"})
"""Actions RCPs do not restrict even under ``kms:*`` (lower case)."""


@dataclass(frozen=True)
class Organization:
    """An AWS organization: where each account sits and which SCPs/RCPs each target has.

    ``paths`` maps an account ID to its targets from the top: the root ID, the OU IDs, the
    account ID itself (last). ``scps``/``rcps`` map a target ID to the policies attached to it.
    ``RCPFullAWSAccess`` counts as attached to every target whether listed or not.
    """

    management_account: str
    paths: Mapping[str, Sequence[str]]
    scps: Mapping[str, Sequence[Policy]] = field(default_factory=dict)
    rcps: Mapping[str, Sequence[Policy]] = field(default_factory=dict)
    org_id: str | None = None
    scps_enabled: bool = True
    rcps_enabled: bool = True
    rcp_services: frozenset[str] = frozenset(RCP_SUPPORTED_SERVICES)

    def __post_init__(self) -> None:
        for account, path in self.paths.items():
            if not path or path[-1] != account:
                raise ValueError(f"the path of {account} must end with the account: {path}")
        for target, policies in self.rcps.items():
            for policy in policies:
                if policy.name != RCP_FULL_AWS_ACCESS.name and any(
                    s.get("Effect") == "Allow" for s in policy.statements
                ):
                    raise ValueError(
                        f"RCP {policy.name} on {target}: Allow is supported only in "
                        "RCPFullAWSAccess"
                    )

    @classmethod
    def with_defaults(
        cls,
        management_account: str,
        paths: Mapping[str, Sequence[str]],
        *,
        scps: Mapping[str, Sequence[Policy]] | None = None,
        rcps: Mapping[str, Sequence[Policy]] | None = None,
        org_id: str | None = None,
    ) -> Organization:
        """As AWS sets it up: ``FullAWSAccess`` on every target, then the given policies."""
        targets = {t for path in paths.values() for t in path}
        attached = {t: [FULL_AWS_ACCESS, *(scps or {}).get(t, ())] for t in sorted(targets)}
        return cls(management_account, paths, attached, dict(rcps or {}), org_id)

    def org_path(self, account: str) -> str | None:
        """``aws:PrincipalOrgPaths`` form (``o-id/r-root/ou-a/``) of an account's parent."""
        if self.org_id is None or account not in self.paths:
            return None
        return "/".join([self.org_id, *self.paths[account][:-1]]) + "/"


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`evaluate` and the layer that decided it."""

    allowed: bool
    outcome: Outcome
    layer: Layer
    reason: str
    policy: str | None = None
    sid: str | None = None
    target: str | None = None


def _sid(statement: Statement, index: int) -> str:
    sid = statement.get("Sid")
    return f"Sid {sid}" if sid else f"statement {index}"


_Level = tuple[str, Sequence[Policy]]


def _scp_levels(
    organization: Organization | None,
    principal_account: str | None,
    service_linked_role: bool,
) -> list[_Level] | None:
    if (
        organization is None
        or not organization.scps_enabled
        or principal_account is None
        or service_linked_role
        or principal_account == organization.management_account
        or principal_account not in organization.paths
    ):
        return None
    path = organization.paths[principal_account]
    return [(target, organization.scps.get(target, ())) for target in path]


def _rcp_levels(
    organization: Organization | None,
    resource_account: str | None,
    action: str,
    service_linked_role: bool,
) -> list[_Level] | None:
    service = action.split(":", 1)[0].lower()
    if (
        organization is None
        or not organization.rcps_enabled
        or resource_account is None
        or service_linked_role
        or resource_account == organization.management_account
        or resource_account not in organization.paths
        or service not in organization.rcp_services
        or action.lower() in RCP_EXEMPT_ACTIONS
    ):
        return None
    levels: list[_Level] = []
    for target in organization.paths[resource_account]:
        attached = list(organization.rcps.get(target, ()))
        if all(p.name != RCP_FULL_AWS_ACCESS.name for p in attached):
            attached.insert(0, RCP_FULL_AWS_ACCESS)
        levels.append((target, attached))
    return levels


def _effective_context(
    request: Request,
    organization: Organization | None,
    principal_account: str | None,
    resource_account: str | None,
) -> dict[str, Any]:
    context = dict(request.context)
    present = {key.lower() for key in context}

    def default(key: str, value: Any) -> None:
        if value is not None and key.lower() not in present:
            context[key] = value

    default("aws:PrincipalAccount", principal_account)
    default("aws:ResourceAccount", resource_account)
    if principal_account is not None:
        default("aws:PrincipalIsAWSService", "false")
    if organization is not None and organization.org_id is not None:
        for prefix, account in (("Principal", principal_account), ("Resource", resource_account)):
            if account is not None and account in organization.paths:
                default(f"aws:{prefix}OrgID", organization.org_id)
                default(f"aws:{prefix}OrgPaths", [organization.org_path(account)])
    return context


def _explicit_deny(
    kind: str, layer: Layer, levels: list[_Level], request: Request, flatten: Flatten | None
) -> Decision | None:
    for target, policies in levels:
        for policy in policies:
            for index, statement in _matching(policy.statements, request, flatten):
                if statement.get("Effect") == "Deny":
                    sid = _sid(statement, index)
                    return Decision(
                        False,
                        "Deny",
                        layer,
                        f"{kind} {policy.name} {sid} (attached to {target}) explicitly denies "
                        f"{request.action}",
                        policy.name,
                        statement.get("Sid"),
                        target,
                    )
    return None


def _level_without_allow(
    kind: str, layer: Layer, levels: list[_Level], request: Request, flatten: Flatten | None
) -> Decision | None:
    for target, policies in levels:
        if not any(
            statement.get("Effect") == "Allow"
            for policy in policies
            for _, statement in _matching(policy.statements, request, flatten)
        ):
            return Decision(
                False,
                "ImplicitDeny",
                layer,
                f"{kind}: no {kind} attached to {target} allows {request.action} (implicit deny)",
                target=target,
            )
    return None


def _first(
    statements: Sequence[Statement], effect: str, request: Request, flatten: Flatten | None
) -> tuple[int, Statement] | None:
    for index, statement in _matching(statements, request, flatten):
        if statement.get("Effect") == effect:
            return index, statement
    return None


def evaluate(
    request: Request,
    *,
    principal_account: str | None,
    resource_account: str | None = None,
    identity_statements: Sequence[Statement] = (),
    resource_statements: Sequence[Statement] = (),
    organization: Organization | None = None,
    principal_is_service_linked_role: bool = False,
    flatten: Flatten | None = None,
) -> Decision:
    """Whether AWS would allow ``request``, with the layer that decided.

    ``principal_account``: the account of the calling IAM user or role (``None`` for an AWS
    service principal, which has no identity policies and no SCPs). ``resource_account``: the
    account that owns the resource (default: the caller's, as for actions on no resource).
    ``identity_statements``: every statement of the caller's identity-based policies;
    ``resource_statements``: the resource-based policy's (bucket policy, key policy, ...).
    """
    if resource_account is None:
        resource_account = principal_account
    if principal_account is None and identity_statements:
        raise ValueError("identity_statements need the caller's principal_account")
    context = _effective_context(request, organization, principal_account, resource_account)
    effective = Request(request.action, request.resource, context)
    slr = principal_is_service_linked_role
    rcp_levels = _rcp_levels(organization, resource_account, request.action, slr)
    scp_levels = _scp_levels(organization, principal_account, slr)

    # 1. Every explicit deny, in the documented order of the policy types.
    organizational: tuple[tuple[str, Layer, list[_Level] | None], ...] = (
        ("RCP", "rcp", rcp_levels),
        ("SCP", "scp", scp_levels),
    )
    for kind, layer, levels in organizational:
        if levels is not None:
            denied = _explicit_deny(kind, layer, levels, effective, flatten)
            if denied is not None:
                return denied
    own: tuple[tuple[str, Layer, Sequence[Statement]], ...] = (
        ("resource policy", "resource", resource_statements),
        ("identity policy", "identity", identity_statements),
    )
    for name, layer, statements in own:
        deny = _first(statements, "Deny", effective, flatten)
        if deny is not None:
            index, statement = deny
            return Decision(
                False,
                "Deny",
                layer,
                f"{name} {_sid(statement, index)} explicitly denies {request.action}",
                sid=statement.get("Sid"),
            )

    # 2. RCPs, then SCPs: each level of the path must allow.
    for kind, layer, levels in organizational:
        if levels is not None:
            missing = _level_without_allow(kind, layer, levels, effective, flatten)
            if missing is not None:
                return missing

    # 3. Resource-based and identity-based policies.
    resource_allow = _first(resource_statements, "Allow", effective, flatten)
    identity_allow = (
        _first(identity_statements, "Allow", effective, flatten)
        if principal_account is not None
        else None
    )
    same_account = principal_account is not None and principal_account == resource_account
    action = request.action
    if same_account:
        allows: tuple[tuple[str, Layer, tuple[int, Statement] | None], ...] = (
            ("resource policy", "resource", resource_allow),
            ("identity policy", "identity", identity_allow),
        )
        for name, layer, found in allows:
            if found is not None:
                index, statement = found
                return Decision(
                    True,
                    "Allow",
                    layer,
                    f"{name} {_sid(statement, index)} allows {action}",
                    sid=statement.get("Sid"),
                )
        return Decision(
            False,
            "ImplicitDeny",
            "implicit",
            f"implicit deny: no identity-based or resource-based policy allows {action}",
        )
    caller = "an AWS service principal" if principal_account is None else "cross-account"
    if resource_allow is None:
        return Decision(
            False,
            "ImplicitDeny",
            "resource",
            f"resource policy: nothing allows {action} ({caller} requests need the "
            "resource-based policy; implicit deny)",
        )
    r_index, r_statement = resource_allow
    if principal_account is None:
        return Decision(
            True,
            "Allow",
            "resource",
            f"resource policy {_sid(r_statement, r_index)} allows {action} ({caller})",
            sid=r_statement.get("Sid"),
        )
    if identity_allow is None:
        return Decision(
            False,
            "ImplicitDeny",
            "identity",
            f"identity policy: nothing allows {action} (cross-account requests need both the "
            "identity and the resource-based policy; implicit deny)",
        )
    i_index, i_statement = identity_allow
    return Decision(
        True,
        "Allow",
        "identity",
        f"identity policy {_sid(i_statement, i_index)} and resource policy "
        f"{_sid(r_statement, r_index)} allow {action} (cross-account)",
        sid=i_statement.get("Sid"),
    )
