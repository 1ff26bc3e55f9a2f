"""The endpoints check: the VPC's Bedrock interface endpoints exist, are up and are restricted.

Periodic runs judge every required service of the VPC for the account (``check_endpoints``); a
configuration change of one ``AWS::EC2::VPCEndpoint`` judges that endpoint, read again from EC2
(``judge_endpoint_change``). See ``bedrock_config_rules.py`` for the rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bedrock_config_rules_checks import CheckResult, items_result, pages
from bedrock_config_rules_event import ENDPOINTS, EndpointParameters
from botocore.exceptions import ClientError
from handler_kit.config_rule import ConfigurationItem, clip_annotation
from handler_kit.errors import error_code
from handler_kit.log import log

AVAILABLE = "available"
DELETED = "deleted"
ENDPOINT_NOT_FOUND = "InvalidVpcEndpointId.NotFound"
FULL_ACCESS = "full-access policy"


@dataclass(frozen=True)
class EndpointVerdict:
    """The evaluation of one changed endpoint."""

    endpoint_id: str
    compliance: str  # COMPLIANT, NON_COMPLIANT or NOT_APPLICABLE
    annotation: str


def service_name(region: str, service: str) -> str:
    """The interface endpoint service name of a short service name in ``region``."""
    return f"com.amazonaws.{region}.{service}"


def _has_star(value: Any) -> bool:
    return value == "*" or (isinstance(value, list) and "*" in value)


def _anyone(principal: Any) -> bool:
    return principal == "*" or (isinstance(principal, dict) and _has_star(principal.get("AWS")))


def is_full_access(statement: Any) -> bool:
    """True for an Allow of every action on every resource to anyone, without a Condition."""
    return (
        isinstance(statement, dict)
        and statement.get("Effect") == "Allow"
        and _anyone(statement.get("Principal"))
        and _has_star(statement.get("Action"))
        and _has_star(statement.get("Resource"))
        and not statement.get("Condition")
    )


def policy_problem(document: Any) -> str | None:
    """Why an endpoint's ``PolicyDocument`` is not restrictive; None when it is.

    An absent policy is the full-access default; a policy that is not a JSON object cannot be
    judged and fails; a policy fails when any statement grants full access (``is_full_access``).
    """
    if not document:
        return "no policy (full access)"
    try:
        policy = json.loads(document)
    except (TypeError, ValueError):
        return "policy is not JSON"
    if not isinstance(policy, dict):
        return "policy is not a JSON object"
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if isinstance(statements, list) and any(is_full_access(s) for s in statements):
        return FULL_ACCESS
    return None


def _state(endpoint: dict[str, Any]) -> str:
    return str(endpoint.get("State") or "unknown")


def service_reasons(endpoints: list[dict[str, Any]], name: str) -> list[str]:
    """Why the VPC's endpoints for service ``name`` fail (none, not available, full access)."""
    matching = [
        e for e in endpoints if e.get("ServiceName") == name and _state(e).lower() != DELETED
    ]
    if not matching:
        return ["no interface endpoint"]
    reasons: list[str] = []
    for endpoint in matching:
        endpoint_id = endpoint.get("VpcEndpointId", "?")
        if _state(endpoint).lower() != AVAILABLE:
            reasons.append(f"{endpoint_id} {_state(endpoint)}")
        problem = policy_problem(endpoint.get("PolicyDocument"))
        if problem:
            reasons.append(f"{endpoint_id} {problem}")
    return reasons


def check_endpoints(ec2: Any, expected: EndpointParameters, region: str) -> CheckResult:
    """Each required service has an available endpoint in the VPC, none with full access."""
    endpoints = list(
        pages(
            ec2,
            "describe_vpc_endpoints",
            "VpcEndpoints",
            Filters=[{"Name": "vpc-id", "Values": [expected.vpc_id]}],
        )
    )
    failures: list[str] = []
    for service in expected.services:
        name = service_name(region, service)
        reasons = service_reasons(endpoints, name)
        log(
            "WARNING" if reasons else "INFO",
            "item evaluated",
            check=ENDPOINTS,
            item=service,
            vpc=expected.vpc_id,
            serviceName=name,
            compliant=not reasons,
            reasons=reasons,
        )
        if reasons:
            failures.append(f"{service}: {', '.join(reasons)}")
    count = len(expected.services)
    ok = f"{expected.vpc_id}: all {count} Bedrock endpoints available with restrictive policies."
    noun = f"endpoints in {expected.vpc_id}"
    return items_result(ENDPOINTS, noun, count, failures, ok)


def _verdict(endpoint_id: str, compliance: str, text: str) -> EndpointVerdict:
    return EndpointVerdict(endpoint_id, compliance, clip_annotation(text))


def judge_endpoint_change(
    ec2: Any,
    item: ConfigurationItem,
    expected: EndpointParameters,
    region: str,
    *,
    left_scope: bool = False,
) -> EndpointVerdict:
    """Judge the endpoint of a change notification, as EC2 describes it now.

    NOT_APPLICABLE: the item records a deletion or left the rule's scope, EC2 no longer knows
    the endpoint (or reports it deleted), or it is not an endpoint of a required service in the
    VPC. Otherwise COMPLIANT or NON_COMPLIANT by ``policy_problem``.

    Raises:
        botocore.exceptions.ClientError: any EC2 error but ``InvalidVpcEndpointId.NotFound``.
    """
    endpoint_id = item.resource_id
    if item.deleted or left_scope:
        why = f"status {item.status}" if item.deleted else "left the rule's scope"
        return _verdict(endpoint_id, "NOT_APPLICABLE", f"Endpoint {endpoint_id}: {why}.")
    try:
        response = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])
    except ClientError as exc:
        if error_code(exc) != ENDPOINT_NOT_FOUND:
            raise
        response = {}
    found = [
        e
        for e in response.get("VpcEndpoints") or []
        if e.get("VpcEndpointId") == endpoint_id and _state(e).lower() != DELETED
    ]
    if not found:
        return _verdict(endpoint_id, "NOT_APPLICABLE", f"Endpoint {endpoint_id} no longer exists.")
    endpoint = found[0]
    services = {service_name(region, s): s for s in expected.services}
    service = services.get(str(endpoint.get("ServiceName")))
    if endpoint.get("VpcId") != expected.vpc_id or service is None:
        text = (
            f"Endpoint {endpoint_id} ({endpoint.get('ServiceName')} in {endpoint.get('VpcId')}) "
            f"is not a required Bedrock endpoint of {expected.vpc_id}."
        )
        return _verdict(endpoint_id, "NOT_APPLICABLE", text)
    problem = policy_problem(endpoint.get("PolicyDocument"))
    if problem:
        return _verdict(
            endpoint_id, "NON_COMPLIANT", f"{service} endpoint {endpoint_id}: {problem}."
        )
    text = f"{service} endpoint {endpoint_id} has a restrictive policy."
    return _verdict(endpoint_id, "COMPLIANT", text)
