"""An IAM role whose permissions live only in customer-managed policies, and wildcard evidence.

HIPAA, NIST 800-53 and PCI DSS packs refuse inline policies (``IAMNoInlinePolicy``): managed
policies are versioned, reviewable on their own and can be attached elsewhere. CDK puts every
grant into a role's inline ``DefaultPolicy``; ``ManagedPolicyRole`` routes them into managed
policies instead, so ``grant_*`` methods, ``add_to_policy`` and CDK's own additions (Lambda
tracing, dead-letter queues) all land there.

``acknowledge_wildcards`` records why each remaining wildcard (cdk-nag ``AwsSolutions-IAM5``)
is acceptable: the finding names are only known once cross-stack references are resolved, so
the acknowledgements are made during validation, each for one exact finding, and only where a
rule's pattern matches. A wildcard no rule explains stays a finding and fails synth.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct, IValidation

from .compliance import acknowledge

POLICY_BUDGET_CHARS = 4500
"""Statements per managed policy are kept under this estimate (IAM's limit is 6,144 characters
without whitespace; references resolve to ARNs longer than their template form)."""


class ManagedPolicyRole(iam.Role):
    """An ``iam.Role`` (same props) with no inline policy: statements go to managed policies.

    Statements are added to ``<id>/Policy1``, then ``Policy2`` and so on when the estimated size
    of a policy would exceed ``POLICY_BUDGET_CHARS``. Attribute ``managed_policies``.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.managed_policies: list[iam.ManagedPolicy] = []
        self._sizes: list[int] = []

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        """Add ``statement`` to the current managed policy, opening a new one when full."""
        size = _estimate(statement)
        if not self.managed_policies or self._sizes[-1] + size > POLICY_BUDGET_CHARS:
            self.managed_policies.append(
                iam.ManagedPolicy(
                    self,
                    f"Policy{len(self.managed_policies) + 1}",
                    description=f"Permissions of {self.node.path} (part "
                    f"{len(self.managed_policies) + 1})",
                    roles=[self],
                )
            )
            self._sizes.append(0)
        self.managed_policies[-1].add_statements(statement)
        self._sizes[-1] += size
        return iam.AddToPrincipalPolicyResult(
            statement_added=True, policy_dependable=self.managed_policies[-1]
        )


_TOKEN = re.compile(r"[$#]\{Token\[[^\]]*\]\}")
TOKEN_ESTIMATE = "x" * 100
"""What an unresolved reference counts for: resolved ARNs and IDs are rarely longer."""


def _estimate(statement: iam.PolicyStatement) -> int:
    """Size of ``statement`` with every token counted as ``TOKEN_ESTIMATE``.

    Deterministic (token numbers differ between apps, resolved forms between phases), so a
    role's statements land in the same managed policies on every synthesis.
    """
    rendered = json.dumps(statement.to_statement_json(), default=str, separators=(",", ":"))
    return len(_TOKEN.sub(TOKEN_ESTIMATE, rendered))


# --------------------------------------------------------------------------- wildcard evidence


def flatten_reference(node: Any) -> str:
    """A CloudFormation value flattened the way cdk-nag names it in findings."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(flatten_reference(i) for i in items)
        if "Fn::Sub" in node:
            return flatten_reference(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if "Fn::ImportValue" in node:
            return flatten_reference(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{flatten_reference(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))


def wildcard_findings(document: dict[str, Any]) -> list[str]:
    """cdk-nag ``AwsSolutions-IAM5`` finding names of a resolved policy document."""
    found: list[str] = []
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        for key, label in (("Action", "Action"), ("Resource", "Resource")):
            values = statement.get(key, [])
            for value in values if isinstance(values, list) else [values]:
                text = value if key == "Action" else flatten_reference(value)
                if "*" in text and f"{label}::{text}" not in found:
                    found.append(f"{label}::{text}")
    return found


@jsii.implements(IValidation)
class WildcardEvidence:
    """The IAM5 acknowledgement rules of one scope, applied when the scope is validated.

    Rules can be added until synthesis (``add``); a pattern added twice keeps one rule whose
    reason joins both, so one finding gets one acknowledgement.
    """

    def __init__(self, scope: IConstruct, rules: Sequence[tuple[str, str]]) -> None:
        self._scope = scope
        self._rules: dict[str, str] = {}
        for pattern, reason in rules:
            self.add(pattern, reason)

    def add(self, pattern: str, reason: str) -> None:
        """Acknowledge findings whose whole name matches ``pattern`` (a regular expression)."""
        re.compile(pattern)
        if len(reason.strip()) < 40:
            raise ValueError(f"wildcard rule {pattern!r} needs a specific reason")
        known = self._rules.get(pattern)
        self._rules[pattern] = reason if known is None else f"{known} {reason}"

    def validate(self) -> list[str]:
        """Acknowledge the matching findings (IValidation; reports no error of its own)."""
        stack = cdk.Stack.of(self._scope)
        rules = [(re.compile(pattern), reason) for pattern, reason in self._rules.items()]
        for node in self._scope.node.find_all():
            if not isinstance(node, iam.CfnManagedPolicy | iam.CfnPolicy):
                continue
            document = stack.resolve(node.policy_document)
            for finding in wildcard_findings(document):
                for compiled, reason in rules:
                    if compiled.fullmatch(finding):
                        # on the policy construct (the resource's parent), like every other
                        # acknowledgement: it covers the resource below it
                        owner = node.node.scope or node
                        acknowledge(owner, f"AwsSolutions::AwsSolutions-IAM5[{finding}]", reason)
                        break
        return []


def acknowledge_wildcards(scope: IConstruct, rules: Sequence[tuple[str, str]]) -> WildcardEvidence:
    """Acknowledge each IAM5 wildcard finding under ``scope`` that a rule explains.

    ``rules`` are ``(pattern, reason)``: ``pattern`` is a regular expression matched against the
    whole finding name (``Resource::arn:aws:...:training-job/*`` or ``Action::s3:Get*``), the
    first match wins. Findings no pattern matches are left for the gates to report. Returns the
    evidence, to which more rules can be added before synthesis.
    """
    evidence = WildcardEvidence(scope, rules)
    scope.node.add_validation(evidence)
    return evidence


def acknowledge_wildcard(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge exactly one IAM5 finding (``Resource::...`` or ``Action::...``) under ``scope``.

    The same evidence rule as ``acknowledge_wildcards``: the acknowledgement is made only if the
    synthesized policy really has that wildcard (same-stack references appear as
    ``<LogicalId.Attr>``, cross-stack ones by their export name, as cdk-nag names them).
    """
    acknowledge_wildcards(scope, [(re.escape(finding), reason)])


def arn_pattern(service: str) -> str:
    """A regular expression for ``arn:<partition>:<service>:<region>:<account>:``.

    As cdk-nag names it: literals (an app with ``@aws-cdk/core:enablePartitionLiterals`` and an
    explicit environment) or CloudFormation's pseudo parameters (``<AWS::Partition>``, ...).
    """
    return (
        rf"arn:(aws[a-z-]*|<AWS::Partition>):{re.escape(service)}:([a-z0-9-]+|<AWS::Region>):"
        r"([0-9]{12}|<AWS::AccountId>):"
    )


ACTIONS_WITHOUT_RESOURCE_TYPES = (
    r"Resource::\*",
    "Only actions without resource-level permissions use '*' (Service Authorization "
    "Reference): X-Ray PutTraceSegments/PutTelemetryRecords, EC2 network-interface calls made "
    "for VPC functions and jobs, ECR GetAuthorizationToken, CloudWatch PutMetricData "
    "(conditioned on its namespace), SageMaker List*, Comprehend Medical DetectPHI and Bedrock's "
    "account-level logging configuration.",
)
NETWORK_INTERFACES = (
    rf"Resource::{arn_pattern('ec2')}network-interface/\*",
    "Network interfaces are created and named by Lambda or SageMaker at run time in the "
    "function's or job's own subnets and security group (both named in the same statement).",
)
