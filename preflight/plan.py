"""What one environment's deployment will create, read from its synthesized templates.

The templates in ``cdk.out`` are what ``cdk deploy`` really sends to CloudFormation, so every
expectation the checks compare the account against starts here; the config only supplies names
(AZs, model IDs, which account services someone else owns).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gates.assembly import StackArtifact
from platform_config import EnvironmentConfig
from secure_constructs.audit.audit_rules import INSPECTOR_RESOURCE_TYPES

DEFAULT_BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
"""The SSM parameter ``cdk bootstrap`` writes with the default qualifier."""


@dataclass(frozen=True)
class Resource:
    """One resource of one stack: where it is and what the template says about it."""

    stack: str
    logical_id: str
    type: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """One environment: its config and every resource its stacks declare."""

    env: EnvironmentConfig
    stack_names: tuple[str, ...]
    resources: tuple[Resource, ...]
    bootstrap_parameter: str
    bootstrap_min_version: int | None

    def of_type(
        self, kind: str, where: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[Resource]:
        """The resources of one type, optionally only those whose properties match ``where``."""
        return [
            r for r in self.resources if r.type == kind and (where is None or where(r.properties))
        ]

    def reservations(self) -> dict[str, int]:
        """Reserved concurrency of the Lambda functions, summed per stack (absent reserves 0)."""
        totals: dict[str, int] = {}
        for function in self.of_type("AWS::Lambda::Function"):
            value = function.properties.get("ReservedConcurrentExecutions")
            if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
                totals[function.stack] = totals.get(function.stack, 0) + int(value)
        return totals

    def interface_endpoints(self) -> dict[str, bool]:
        """Interface endpoint services by short name (``sagemaker.api``): has a policy document."""
        prefix = f"com.amazonaws.{self.env.region}."
        found: dict[str, bool] = {}
        for endpoint in self.of_type("AWS::EC2::VPCEndpoint"):
            props = endpoint.properties
            if props.get("VpcEndpointType") != "Interface":
                continue
            name = resolve(props.get("ServiceName"), self.env.account, self.env.region)
            if name is not None and name.startswith(prefix):
                found[name.removeprefix(prefix)] = "PolicyDocument" in props
        return found

    def log_group_names(self) -> dict[str, str]:
        """Explicitly named log groups the stacks create, name -> stack."""
        return {
            str(g.properties["LogGroupName"]): g.stack
            for g in self.of_type("AWS::Logs::LogGroup")
            if isinstance(g.properties.get("LogGroupName"), str)
        }

    def inspector_scan_types(self) -> tuple[str, ...]:
        """The scan types the Inspector activation enables (its SDK call's ``resourceTypes``)."""
        for activation in self.of_type("Custom::InspectorActivation"):
            create = activation.properties.get("Create")
            if isinstance(create, str):
                types = json.loads(create).get("parameters", {}).get("resourceTypes")
                if isinstance(types, list) and types:
                    return tuple(str(t) for t in types)
        return (
            INSPECTOR_RESOURCE_TYPES  # what the audit stack enables, if the template does not say
        )


def resolve(value: Any, account: str, region: str) -> str | None:
    """A template string value with pseudo parameters substituted; ``None`` when not static."""
    pseudo = {
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return pseudo.get(value["Ref"])
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        resolved = [resolve(p, account, region) for p in parts]
        if all(r is not None for r in resolved):
            return str(separator).join(r for r in resolved if r is not None)
    return None


def minimum_bootstrap_version(template: dict[str, Any]) -> int | None:
    """The version CDK's ``CheckBootstrapVersion`` rule requires (it refuses a list of older ones).

    The rule reads ``Fn::Not [Fn::Contains [['1', ..., '5'], Ref BootstrapVersion]]``: the
    minimum is one above the highest refused version.
    """
    rule = template.get("Rules", {}).get("CheckBootstrapVersion", {})
    versions: list[int] = []
    for assertion in rule.get("Assertions", []):
        negated = assertion.get("Assert", {}).get("Fn::Not", [])
        for condition in negated:
            contains = condition.get("Fn::Contains") if isinstance(condition, dict) else None
            if isinstance(contains, list) and contains and isinstance(contains[0], list):
                versions.extend(int(v) for v in contains[0] if str(v).isdigit())
    return max(versions) + 1 if versions else None


def build_plan(env: EnvironmentConfig, artifacts: Iterable[StackArtifact]) -> Plan:
    """The plan of ``env`` from its stacks in the assembly (callers pass only that stage's)."""
    names: list[str] = []
    resources: list[Resource] = []
    parameters: set[str] = set()
    minimum: int | None = None
    for artifact in artifacts:
        template = artifact.template()
        names.append(artifact.stack_name)
        for logical_id, body in template.get("Resources", {}).items():
            resources.append(
                Resource(artifact.stack_name, logical_id, body["Type"], body.get("Properties", {}))
            )
        default = template.get("Parameters", {}).get("BootstrapVersion", {}).get("Default")
        if isinstance(default, str):
            parameters.add(default)
        required = minimum_bootstrap_version(template)
        if required is not None:
            minimum = required if minimum is None else max(minimum, required)
    return Plan(
        env=env,
        stack_names=tuple(names),
        resources=tuple(resources),
        bootstrap_parameter=min(parameters) if parameters else DEFAULT_BOOTSTRAP_PARAMETER,
        bootstrap_min_version=minimum,
    )
