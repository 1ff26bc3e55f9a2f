"""Deploy organization policies (``AWS::Organizations::Policy``) and attach them to targets."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_organizations as organizations
from constructs import Construct

from .policy_document import OrganizationPolicy, check_attachments, check_size


class OrganizationPolicies(Construct):
    """Organization policies, each created once and attached to ``target_ids``.

    Guarantees:
      * every policy passes :func:`check_size` (its type's documented character limit, the
        description limit) and the SCP/RCP attachment quota per target, at synth: a policy
        AWS Organizations would refuse never reaches CloudFormation;
      * the size is measured on the minified JSON, the form CloudFormation submits an object
        ``Content`` in (``CfnPolicy`` refuses a JSON string);
      * ``RETAIN``: deleting the stack leaves the policies attached (an organization should
        not lose its guardrails because a stack was removed; detach them on purpose).

    Deploy it in the management account (or a delegated administrator for policy
    management). Each policy type must be enabled on the organization's root once
    (``organizations:EnablePolicyType``; see the README's one-time steps). Target IDs are OU
    IDs (``ou-...``), account IDs or the root ID. ``policies`` exposes the ``CfnPolicy`` per
    policy name. No acknowledgements are needed.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        policies: Sequence[OrganizationPolicy],
        target_ids: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        if not target_ids:
            raise ValueError(f"OrganizationPolicies {construct_id}: at least one target ID")
        for target in target_ids:
            check_attachments(policies, target=target)
        self.policies: dict[str, organizations.CfnPolicy] = {}
        for policy in policies:
            check_size(policy)
            resource = organizations.CfnPolicy(
                self,
                policy.name,
                name=policy.name,
                type=policy.policy_type,
                description=policy.description,
                content=dict(policy.content),
                target_ids=list(target_ids),
            )
            resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
            self.policies[policy.name] = resource
