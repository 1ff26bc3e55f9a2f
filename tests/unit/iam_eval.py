"""IAM policy evaluation for synthesized templates (tests only).

The evaluation itself is ``ml_genai_checks.evaluator`` (explicit Deny wins, then any Allow, else
implicit deny; wildcards, NotAction/NotResource, condition operators with ``ForAllValues:``/
``ForAnyValue:`` and ``...IfExists``; see that module's docstring). This module binds it to
template values: CloudFormation intrinsics are flattened the way cdk-nag names them
(``<Logical.Attr>``, export names), so requests are written with the same strings. It also finds
a role's statements in a template.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ml_genai_checks import evaluator
from ml_genai_checks.evaluator import Request, Statement
from secure_constructs.core.managed_policy_role import flatten_reference

__all__ = ["Request", "allowed", "decide", "role_logical_id", "role_statements"]


def decide(statements: Iterable[Statement], request: Request) -> str:
    """``"Deny"`` (explicit), ``"Allow"`` or ``"ImplicitDeny"``."""
    return evaluator.decide(statements, request, flatten=flatten_reference)


def allowed(statements: Iterable[Statement], request: Request) -> bool:
    """Whether the statements allow the request (an Allow and no explicit Deny)."""
    return evaluator.allowed(statements, request, flatten=flatten_reference)


def role_logical_id(template: dict[str, Any], path_suffix: str) -> str:
    """The logical ID of the IAM role whose construct path ends with ``path_suffix``."""
    (found,) = [
        lid
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role"
        and r.get("Metadata", {}).get("aws:cdk:path", "").endswith(path_suffix)
    ]
    return str(found)


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
