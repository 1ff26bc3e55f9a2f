"""A small IAM policy evaluator for synthesized templates (tests only).

It answers "would this role be allowed to do X?" from the policies the template attaches to the
role, following IAM's documented rules for the parts the platform uses: an explicit Deny wins,
then any Allow, else implicit deny; ``*``/``?`` wildcards in actions (case-insensitive) and
resources; condition operators String*, Arn*, Bool, Null, with ``ForAllValues:``/
``ForAnyValue:`` and ``...IfExists``. A key missing from the request makes a condition false,
except for negated operators (true), ``IfExists`` (true), ``ForAllValues`` (true) and ``Null``.

Template values that are CloudFormation intrinsics are flattened the way cdk-nag names them
(``<Logical.Attr>``, export names), so requests are written with the same strings.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from secure_constructs.core.managed_policy_role import flatten_reference


@dataclass
class Request:
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _texts(value: Any) -> list[str]:
    return [flatten_reference(v) if not isinstance(v, str) else v for v in _list(value)]


def role_logical_id(template: dict[str, Any], path_suffix: str) -> str:
    """The logical ID of the IAM role whose construct path ends with ``path_suffix``."""
    (found,) = [
        lid
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role"
        and r.get("Metadata", {}).get("aws:cdk:path", "").endswith(path_suffix)
    ]
    return found


def role_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the role (managed and inline)."""
    statements: list[dict[str, Any]] = []
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy") and {
            "Ref": role_id
        } in props.get("Roles", []):
            statements.extend(props["PolicyDocument"]["Statement"])
    role = template["Resources"][role_id]["Properties"]
    for policy in role.get("Policies", []):
        statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


def _matches(pattern: str, value: str, *, case: bool) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _compare(base: str, expected: str, actual: str) -> bool:
    if base in ("StringEquals", "ArnEquals"):
        return expected == actual
    if base in ("StringLike", "ArnLike"):
        return _matches(expected, actual, case=True)
    if base == "StringEqualsIgnoreCase":
        return expected.lower() == actual.lower()
    if base == "Bool":
        return expected.lower() == str(actual).lower()
    raise NotImplementedError(base)


def _condition(operator: str, key: str, expected: Any, context: dict[str, Any]) -> bool:
    qualifier = ""
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    present = key in context
    if operator == "Null":
        return (str(_list(expected)[0]).lower() == "true") != present
    negated = "Not" in operator
    base = operator.replace("Not", "")
    wanted = _texts(expected)
    if not present:
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return if_exists or negated
    actual = [str(v) if isinstance(v, bool) else v for v in _list(context[key])]

    def one(value: Any) -> bool:
        hit = any(_compare(base, w, str(value)) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in actual)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in actual)
    return one(actual[0])


def _applies(statement: dict[str, Any], request: Request) -> bool:
    actions = _texts(statement.get("Action", []))
    if not any(_matches(a, request.action, case=False) for a in actions):
        return False
    resources = _texts(statement.get("Resource", []))
    if not any(_matches(r, request.resource, case=True) for r in resources):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, expected in keys.items():
            if not _condition(operator, key, expected, request.context):
                return False
    return True


def decide(statements: list[dict[str, Any]], request: Request) -> str:
    """``"Deny"`` (explicit), ``"Allow"`` or ``"ImplicitDeny"``."""
    matching = [s for s in statements if _applies(s, request)]
    if any(s["Effect"] == "Deny" for s in matching):
        return "Deny"
    if any(s["Effect"] == "Allow" for s in matching):
        return "Allow"
    return "ImplicitDeny"


def allowed(statements: list[dict[str, Any]], request: Request) -> bool:
    return decide(statements, request) == "Allow"
