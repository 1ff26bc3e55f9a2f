"""Acknowledge a compliance finding next to the resource that raises it.

Every acknowledgement names the exact rule and gives a specific reason; the gates count them, so
the number can be watched and should only go down.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

PROJECT_ACK_METADATA_TYPE = "secure-ml:acknowledgement"
"""Metadata type marking an acknowledgement made through ``acknowledge``."""


def acknowledge(scope: IConstruct, rule_ids: str | list[str], reason: str) -> None:
    """Acknowledge cdk-nag rule(s) on ``scope`` and its children (cdk-nag 3 / aws-cdk-lib >= 2.2xx).

    ``rule_ids`` are as cdk-nag reports them, e.g. ``AwsSolutions-IAM4`` or a granular
    ``AwsSolutions::AwsSolutions-IAM5[Action::s3:GetObject*]``. ``reason`` must say why the
    finding does not apply here; a short or generic reason is refused.
    """
    if len(reason.strip()) < 20:
        raise ValueError(f"acknowledgement of {rule_ids} needs a specific reason, got {reason!r}")
    for rule_id in [rule_ids] if isinstance(rule_ids, str) else rule_ids:
        cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
        # Marks the acknowledgement as this project's, so the gates can tell it apart from the
        # ones aws-cdk-lib records itself (e.g. on ec2.FlowLog).
        scope.node.add_metadata(PROJECT_ACK_METADATA_TYPE, rule_id)


def skip_checkov(resource: cdk.CfnResource, check_id: str, reason: str) -> None:
    """Record a checkov skip in the resource's template metadata (``Metadata.checkov.skip``)."""
    if len(reason.strip()) < 20:
        raise ValueError(f"checkov skip {check_id} needs a specific reason, got {reason!r}")
    metadata = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"].append({"id": check_id, "comment": reason})
    resource.add_metadata("checkov", metadata)


def nag_partition(stack: cdk.Stack) -> str:
    """The partition as cdk-nag writes it in a granular finding ID.

    A literal (``aws``) when the app sets ``@aws-cdk/core:enablePartitionLiterals`` and the stack
    has an explicit region; otherwise cdk-nag shows the pseudo parameter as ``<AWS::Partition>``.
    """
    partition = stack.partition
    return "<AWS::Partition>" if cdk.Token.is_unresolved(partition) else partition
