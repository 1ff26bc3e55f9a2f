"""Acknowledge a compliance finding next to the resource that raises it.

Every acknowledgement names the exact rule and gives a specific reason; the gates count them, so
the number can be watched and should only go down.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

PROJECT_ACK_METADATA_TYPE = "secure-ml:acknowledgement"
"""Metadata type marking an acknowledgement made through ``acknowledge``."""


def _require_reason(what: str, reason: str) -> None:
    """Refuse a short or generic reason: 20 characters at least, saying why it does not apply."""
    if len(reason.strip()) < 20:
        raise ValueError(f"{what} needs a specific reason, got {reason!r}")


def acknowledge(scope: IConstruct, rule_ids: str | list[str], reason: str) -> None:
    """Acknowledge cdk-nag rule(s) on ``scope`` and its children (cdk-nag 3 / aws-cdk-lib >= 2.2xx).

    ``rule_ids`` are as cdk-nag reports them, e.g. ``AwsSolutions-IAM4`` or a granular
    ``AwsSolutions::AwsSolutions-IAM5[Action::s3:GetObject*]``. ``reason`` must say why the
    finding does not apply here; a short or generic reason is refused.
    """
    _require_reason(f"acknowledgement of {rule_ids}", reason)
    for rule_id in [rule_ids] if isinstance(rule_ids, str) else rule_ids:
        cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
        # Marks the acknowledgement as this project's, so the gates can tell it apart from the
        # ones aws-cdk-lib records itself (e.g. on ec2.FlowLog).
        scope.node.add_metadata(PROJECT_ACK_METADATA_TYPE, rule_id)


def skip_checkov(resource: cdk.CfnResource, check_id: str, reason: str) -> None:
    """Record a checkov skip in the resource's template metadata (``Metadata.checkov.skip``)."""
    _require_reason(f"checkov skip {check_id}", reason)
    metadata = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"].append({"id": check_id, "comment": reason})
    resource.add_metadata("checkov", metadata)


CFN_LINT_REASONS_METADATA = "secure-ml:cfn-lint-reasons"
"""Resource metadata key holding why each cfn-lint check in ``Metadata.cfn-lint`` is off."""


def ignore_cfn_lint(resource: cdk.CfnResource, check_id: str, reason: str) -> None:
    """Switch one cfn-lint check off on ``resource`` and record why beside it.

    cfn-lint reads ``Metadata.cfn-lint.config.ignore_checks``, which has no place for a reason;
    the reason goes in ``Metadata.secure-ml:cfn-lint-reasons`` (``{check: reason}``), where the
    report (``python -m report``) lists it with every other acknowledgement.
    """
    _require_reason(f"cfn-lint ignore {check_id}", reason)
    config = resource.get_metadata("cfn-lint") or {"config": {"ignore_checks": []}}
    checks = config["config"].setdefault("ignore_checks", [])
    if check_id not in checks:
        checks.append(check_id)
    resource.add_metadata("cfn-lint", config)
    reasons = resource.get_metadata(CFN_LINT_REASONS_METADATA) or {}
    reasons[check_id] = reason
    resource.add_metadata(CFN_LINT_REASONS_METADATA, reasons)


def nag_partition(stack: cdk.Stack) -> str:
    """The partition as cdk-nag writes it in a granular finding ID.

    A literal (``aws``) when the app sets ``@aws-cdk/core:enablePartitionLiterals`` and the stack
    has an explicit region; otherwise cdk-nag shows the pseudo parameter as ``<AWS::Partition>``.
    """
    partition = stack.partition
    return "<AWS::Partition>" if cdk.Token.is_unresolved(partition) else partition


def nag_arn(stack: cdk.Stack, service: str, resource: str) -> str:
    """An ARN of ``stack``'s account and region as cdk-nag writes it in a granular finding ID.

    Literal parts where the stack has them, ``<AWS::Partition>``, ``<AWS::Region>`` and
    ``<AWS::AccountId>`` where they are CloudFormation's pseudo parameters.
    """
    region = "<AWS::Region>" if cdk.Token.is_unresolved(stack.region) else stack.region
    account = "<AWS::AccountId>" if cdk.Token.is_unresolved(stack.account) else stack.account
    return f"arn:{nag_partition(stack)}:{service}:{region}:{account}:{resource}"


UNRESERVED_REASON = (
    "Reserved concurrency is switched off for this function in the configuration "
    "(reserved_concurrency.<function> = null), because Lambda refuses any reservation that "
    "leaves an account fewer than 100 unreserved executions and this account's limit is too low "
    "for it; the function then shares the account's unreserved pool."
)


@dataclass(frozen=True)
class KnownNoncompliance:
    """A NON_COMPLIANT result of an AWS Config managed rule that the platform expects.

    ``managed_rule`` is the rule's identifier (``LAMBDA_INSIDE_VPC``), ``resource_id`` the ID
    Config reports for the resource (for a Lambda function its name; a token is fine), and
    ``reason`` why it is acknowledged. The findings router drops these instead of alerting.
    """

    managed_rule: str
    resource_id: str
    reason: str


def apply_reserved_concurrency(
    function: lambda_.CfnFunction, reserved: int | None
) -> list[KnownNoncompliance]:
    """Set ``ReservedConcurrentExecutions`` on a Lambda function, or record why there is none.

    ``reserved`` is an integer of at least 1, or ``None`` for no reservation; ``None`` adds the
    acknowledgements of the rules that require one (HIPAA/NIST ``LambdaConcurrency``, checkov
    ``CKV_AWS_115``) with ``UNRESERVED_REASON``, so only a configuration that opts out pays them,
    and returns the Config rule result that follows from it (``LAMBDA_CONCURRENCY_CHECK``).
    """
    if reserved is not None and reserved < 1:
        raise ValueError(f"reserved concurrency must be >= 1 or None, got {reserved}")
    # The L1 attribute, not a property override: the cdk-nag rules read the attribute.
    function.reserved_concurrent_executions = reserved
    if reserved is not None:
        return []
    acknowledge(
        function,
        [
            "HIPAA.Security::HIPAA.Security-LambdaConcurrency",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",
        ],
        UNRESERVED_REASON,
    )
    skip_checkov(function, "CKV_AWS_115", UNRESERVED_REASON)
    return [
        KnownNoncompliance(
            "LAMBDA_CONCURRENCY_CHECK", function.ref, "reserved concurrency off in config"
        )
    ]
