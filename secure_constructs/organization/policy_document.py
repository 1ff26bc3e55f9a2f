"""Organization policies as data: each statement carries its purpose, each policy its limits.

An :class:`OrganizationPolicy` is what ``AWS::Organizations::Policy`` deploys: a name, a policy
type, a description and a JSON document. Authorization policies (service and resource control
policies) are lists of :class:`PolicyStatement`; management policies (AI opt-out, Bedrock,
Security Hub, Inspector) are documents in their own syntax, described per top-level key.

:func:`check_size` enforces what AWS Organizations enforces on ``CreatePolicy``: the document's
length in characters (the limit counts whitespace, so the content is always sent minified) and,
for SCPs and RCPs, at most five policies attached to one target including the AWS managed
``FullAWSAccess`` / ``RCPFullAWSAccess`` (so four of ours per OU).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SERVICE_CONTROL_POLICY = "SERVICE_CONTROL_POLICY"
RESOURCE_CONTROL_POLICY = "RESOURCE_CONTROL_POLICY"
AISERVICES_OPT_OUT_POLICY = "AISERVICES_OPT_OUT_POLICY"
BEDROCK_POLICY = "BEDROCK_POLICY"
SECURITYHUB_POLICY = "SECURITYHUB_POLICY"
INSPECTOR_POLICY = "INSPECTOR_POLICY"

AUTHORIZATION_TYPES = (SERVICE_CONTROL_POLICY, RESOURCE_CONTROL_POLICY)

MAX_CHARACTERS: dict[str, int] = {
    # "Quotas and service limits for AWS Organizations", Maximum size of a policy document
    # (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html):
    # service control policies 5,120 characters, resource control policies 5,120, AI services
    # opt-out policies 2,500, Security Hub policies 10,000 (the page also lists declarative,
    # backup, tag and chat applications policies at 10,000; not used here). The versions of the
    # page we could read list no figure for Amazon Inspector (INSPECTOR_POLICY) or Amazon
    # Bedrock (BEDROCK_POLICY) policies: they are left out on purpose, so check_size refuses
    # them until a documented figure is added here with its source.
    SERVICE_CONTROL_POLICY: 5120,
    RESOURCE_CONTROL_POLICY: 5120,
    AISERVICES_OPT_OUT_POLICY: 2500,
    SECURITYHUB_POLICY: 10000,
}
MAX_ATTACHED_PER_TARGET = 5
"""SCPs (and RCPs) attached to one root, OU or account, the AWS managed full-access one included."""
MAX_DESCRIPTION = 512


class PolicySizeError(ValueError):
    """A policy breaks an AWS Organizations limit; raised at synth, before anything deploys."""


@dataclass(frozen=True)
class PolicyStatement:
    """One statement of an SCP or RCP: its ``Sid``, why it exists, and its body (without Sid)."""

    sid: str
    purpose: str
    body: Mapping[str, Any]

    def document(self) -> dict[str, Any]:
        """The statement as IAM reads it."""
        return {"Sid": self.sid, **self.body}


@dataclass(frozen=True)
class OrganizationPolicy:
    """One organization policy: what ``AWS::Organizations::Policy`` needs, plus the reasons.

    ``content`` is the full document; ``purposes`` is ``(Sid or top-level key, purpose)`` for
    every statement or setting, in document order. Build SCPs and RCPs with :func:`statements`.
    """

    name: str
    policy_type: str
    description: str
    content: Mapping[str, Any]
    purposes: tuple[tuple[str, str], ...] = field(default=())

    def minified(self) -> str:
        """The document as sent to Organizations: compact JSON, keys in the order written."""
        return json.dumps(self.content, separators=(",", ":"))

    @property
    def statements(self) -> list[dict[str, Any]]:
        """The ``Statement`` list of an SCP or RCP (empty for management policies)."""
        return list(self.content.get("Statement", []))


def statements(
    name: str, policy_type: str, description: str, parts: Sequence[PolicyStatement]
) -> OrganizationPolicy:
    """An SCP or RCP made of ``parts``; Sids must be unique (IAM refuses duplicates)."""
    if policy_type not in AUTHORIZATION_TYPES:
        raise ValueError(f"{name}: {policy_type} is not an SCP or RCP type")
    sids = [part.sid for part in parts]
    duplicates = sorted({sid for sid in sids if sids.count(sid) > 1})
    if duplicates:
        raise ValueError(f"{name}: duplicate Sid(s) {duplicates}")
    return OrganizationPolicy(
        name=name,
        policy_type=policy_type,
        description=description,
        content={"Version": "2012-10-17", "Statement": [part.document() for part in parts]},
        purposes=tuple((part.sid, part.purpose) for part in parts),
    )


def check_size(policy: OrganizationPolicy) -> int:
    """The policy's length in characters; raises :class:`PolicySizeError` past its limit."""
    length = len(policy.minified())
    limit = MAX_CHARACTERS.get(policy.policy_type)
    if limit is None:
        raise PolicySizeError(
            f"organization policy {policy.name}: no documented size limit recorded for "
            f"{policy.policy_type}; add it to MAX_CHARACTERS with its source"
        )
    if length > limit:
        raise PolicySizeError(
            f"organization policy {policy.name} ({policy.policy_type}) is {length} characters; "
            f"AWS Organizations accepts at most {limit}: split it or shorten it"
        )
    if len(policy.description) > MAX_DESCRIPTION:
        raise PolicySizeError(
            f"organization policy {policy.name}: description is {len(policy.description)} "
            f"characters; at most {MAX_DESCRIPTION}"
        )
    return length


def check_attachments(policies: Sequence[OrganizationPolicy], *, target: str) -> None:
    """Raise when more SCPs (or RCPs) than the quota allows would be attached to ``target``."""
    for policy_type in AUTHORIZATION_TYPES:
        ours = [p.name for p in policies if p.policy_type == policy_type]
        if len(ours) + 1 > MAX_ATTACHED_PER_TARGET:
            raise PolicySizeError(
                f"{target}: {len(ours)} {policy_type} policies ({', '.join(ours)}) plus the AWS "
                f"managed full-access policy exceed the {MAX_ATTACHED_PER_TARGET} a target may "
                "hold; merge some"
            )
