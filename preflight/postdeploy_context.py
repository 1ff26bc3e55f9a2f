"""What CloudFormation deployed, for the post-deployment checks: outputs, physical IDs, exports.

``DeployedContext`` is preflight's ``Context`` plus the synthesized templates (read from
``cdk.out`` like ``preflight.plan``) and the organization, if any; it asks CloudFormation once per
run (``DescribeStacks``, ``ListStackResources``, ``ListExports``) and resolves the template values
the checks compare with: literals, pseudo parameters, ``Fn::ImportValue`` and ``Fn::Join``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from platform_config import OrganizationConfig
from platform_config.model import ORG_OWNED_SERVICES
from preflight.plan import Resource
from preflight.results import Context, Unanswered, error_code


class NotDeployed(RuntimeError):
    """A stack of the plan is not in CloudFormation: the check is a problem, not "unknown"."""

    def __init__(self, stack: str, detail: str = "") -> None:
        super().__init__(stack)
        self.stack = stack
        self.detail = detail


def _raise_if_missing(err: ClientError, stack: str) -> None:
    message = str(err.response.get("Error", {}).get("Message", ""))
    if error_code(err) == "ValidationError" and "does not exist" in message:
        raise NotDeployed(stack) from None


@dataclass
class DeployedContext(Context):
    """The plan, the clients, the templates by stack name, and what CloudFormation deployed."""

    templates: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    organization: OrganizationConfig | None = None
    """Set in organization mode: the security account enables the org-owned services."""
    _outputs: dict[str, dict[str, str]] = field(default_factory=dict, init=False, repr=False)
    _physical: dict[str, dict[str, str]] = field(default_factory=dict, init=False, repr=False)
    _exports: dict[str, str] | None = field(default=None, init=False, repr=False)

    def owner(self, service: str) -> str:
        """Who enables ``service``: ``stack`` (this env), ``organization`` or ``elsewhere``."""
        if self.plan.env.audit.manages(service):
            return "stack"
        if self.organization is not None and service in ORG_OWNED_SERVICES:
            return "organization"
        return "elsewhere"

    def owner_note(self, service: str) -> str:
        """A few words on who enables a service the stacks do not own."""
        if self.owner(service) == "organization" and self.organization is not None:
            account = self.organization.security_account
            return f"enabled by the organization (security account {account})"
        return f"owned elsewhere (audit.account_services leaves {service} to someone else)"

    def owner_fix(self, service: str, action: str) -> str:
        """How to turn on a service the stacks do not own."""
        env = self.plan.env
        if self.owner(service) == "organization" and self.organization is not None:
            return (
                f"the security account ({self.organization.security_account}) must {action} for "
                f"member {env.account} in {env.region}: check the security stage's "
                "organization configuration and redeploy it"
            )
        return f"{action} (or have its owner do it), or add {service!r} to audit.account_services"

    def redeploy(self, stack: str) -> str:
        """How to (re)deploy ``stack``: its stage, as the README does (unchanged stacks no-op)."""
        name = self.plan.env.name
        return f"redeploy {stack} (npx cdk deploy '{name}/*' -c environment={name})"

    def stack(self, suffix: str) -> str:
        """The plan's stack ``<project>-<env>-<suffix>``."""
        wanted = f"-{self.plan.env.name}-{suffix}"
        for name in self.plan.stack_names:
            if name.endswith(wanted):
                return name
        raise Unanswered(f"no {suffix} stack in the assembly")

    def template(self, stack: str) -> Mapping[str, Any]:
        """The synthesized template of ``stack``."""
        if stack not in self.templates:
            raise Unanswered(f"no template of {stack} in the assembly")
        return self.templates[stack]

    def outputs(self, stack: str) -> dict[str, str]:
        """The deployed stack's outputs (``DescribeStacks``); raises ``NotDeployed``."""
        if stack not in self._outputs:
            try:
                found = self.aws("cloudformation").describe_stacks(StackName=stack)["Stacks"]
            except ClientError as err:
                _raise_if_missing(err, stack)
                raise
            live = [s for s in found if s.get("StackStatus") != "REVIEW_IN_PROGRESS"]
            if not live:
                raise NotDeployed(stack)
            self._outputs[stack] = {
                str(o["OutputKey"]): str(o.get("OutputValue", ""))
                for o in live[0].get("Outputs", [])
            }
        return self._outputs[stack]

    def physical_ids(self, stack: str) -> dict[str, str]:
        """Logical ID -> physical ID of the deployed stack (``ListStackResources``)."""
        if stack not in self._physical:
            ids: dict[str, str] = {}
            paginator = self.aws("cloudformation").get_paginator("list_stack_resources")
            try:
                for page in paginator.paginate(StackName=stack):
                    for summary in page.get("StackResourceSummaries", []):
                        if summary.get("PhysicalResourceId"):
                            ids[str(summary["LogicalResourceId"])] = str(
                                summary["PhysicalResourceId"]
                            )
            except ClientError as err:
                _raise_if_missing(err, stack)
                raise
            self._physical[stack] = ids
        return self._physical[stack]

    def physical_id(self, resource: Resource) -> str:
        """The deployed name or ID of one resource of the plan."""
        found = self.physical_ids(resource.stack).get(resource.logical_id)
        if found is None:
            raise NotDeployed(resource.stack, f"it has no {resource.logical_id}")
        return found

    def exports(self) -> dict[str, str]:
        """Every export of the account and region, by name (``ListExports``)."""
        if self._exports is None:
            found: dict[str, str] = {}
            paginator = self.aws("cloudformation").get_paginator("list_exports")
            for page in paginator.paginate():
                for export in page.get("Exports", []):
                    found[str(export["Name"])] = str(export.get("Value", ""))
            self._exports = found
        return self._exports

    def resolve(self, value: Any, placeholder: str | None = None) -> str | None:
        """A template value as deployed: literals, pseudo parameters, imports and joins.

        Anything else (an in-stack ``Ref``/``Fn::GetAtt``, an import nobody exports) is
        ``placeholder``; with the default ``None`` the whole value is then ``None``.
        """
        env = self.plan.env
        pseudo = {
            "AWS::Region": env.region,
            "AWS::AccountId": env.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and len(value) == 1:
            function, argument = next(iter(value.items()))
            if function == "Ref" and argument in pseudo:
                return pseudo[argument]
            if function == "Fn::ImportValue" and isinstance(argument, str):
                return self.exports().get(argument, placeholder)
            if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
                separator, parts = argument
                resolved = [self.resolve(p, placeholder) for p in parts]
                if all(r is not None for r in resolved):
                    return str(separator).join(r for r in resolved if r is not None)
                return None
        return placeholder
