"""Route security findings from EventBridge to the security notification SNS topic.

EventBridge rules deliver these events to this function:

- Amazon Macie (``aws.macie``, ``Macie Finding``): severity from ``detail.severity.description``.
- Amazon Inspector (``aws.inspector2``, ``Inspector2 Finding``): severity from
  ``detail.severity`` (``UNTRIAGED`` is treated as INFORMATIONAL, as Security Hub does).
- Amazon GuardDuty (``aws.guardduty``, ``GuardDuty Finding``): numeric ``detail.severity``
  mapped as the GuardDuty docs do: 1.0-3.9 LOW, 4.0-6.9 MEDIUM, 7.0-8.9 HIGH, 9.0-10.0 CRITICAL.
- AWS Security Hub (``aws.securityhub``, ``Security Hub Findings - Imported``):
  ``detail.findings`` is a list of ASFF findings, each routed on its own (``Severity.Label``,
  or ``Severity.Normalized`` when the label is absent).
- AWS Config (``aws.config``, ``Config Rules Compliance Change``): ``NON_COMPLIANT`` takes the
  severity in ``NONCOMPLIANT_SEVERITY``; ``COMPLIANT``, ``NOT_APPLICABLE`` and
  ``INSUFFICIENT_DATA`` are INFORMATIONAL.

Each finding is normalised to ``source, severity, title, resource, account, region, id, time,
link`` (severities: INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL). A finding at or above
``SEVERITY_THRESHOLD`` is published to ``TOPIC_ARN`` with a short subject
(``[HIGH] GuardDuty: <title>``), a JSON message (``{"summary": <text>, "finding": {...}}``) and
the message attributes ``severity`` and ``source``; a finding below it is logged and skipped.

Acknowledged non-compliance: a Config ``NON_COMPLIANT`` result whose rule name
(``detail.configRuleName``) and resource ID (``detail.resourceId``, for a Lambda function its
name) are both listed in ``ACKNOWLEDGED_NONCOMPLIANCE`` is not published: one log line
(``"kind": "acknowledged"`` with the rule, the resource, the reason and the finding) records it
and it is counted as ``acknowledged``. Matching is exact (no wildcards, case-sensitive); the same
resource under another rule, another resource under the rule, and every result other than
NON_COMPLIANT (COMPLIANT, NOT_APPLICABLE, INSUFFICIENT_DATA) are routed as without the list.

Environment variables:
    TOPIC_ARN: ARN of the SNS topic that receives the findings (required).
    DLQ_URL: URL of the SQS dead-letter queue for unprocessable events (required).
    SEVERITY_THRESHOLD: lowest severity that is published, one of the five (required).
    NONCOMPLIANT_SEVERITY: severity of a Config NON_COMPLIANT result (default MEDIUM).
    ACKNOWLEDGED_NONCOMPLIANCE: JSON object mapping a Config rule name (as deployed, e.g.
        ``<project>-<env>-lambda-inside-vpc``) to a list of
        ``{"resource_id": <id as Config reports it>, "reason": <non-empty text>}`` (optional;
        unset or blank means none). Each entry has exactly those two keys; a rule name appears
        once in the object; a resource listed twice under one rule is kept once, its distinct
        reasons joined with "; ".

Modules (this folder plus the ``handler_kit`` layer): ``findings_router_settings``
(``Settings``, the acknowledgement list), ``findings_router_fields`` (field and severity helpers),
``findings_router_normalise`` (one normaliser per source).

Failure modes:
    Configuration: a missing or invalid variable raises ``ConfigurationError`` before any event
        is read (a deployment error: nothing can be routed until it is fixed). For
        ACKNOWLEDGED_NONCOMPLIANCE that is a value that is not JSON, not of the shape above, or
        has an empty rule name, resource ID or reason, or a rule name twice in the object.
    Permanent (dead-lettered, handler returns normally): a non-object event, an unknown
        source or detail-type, a missing ``detail``, a missing or unrecognised severity, or any
        other missing required field. The event goes to ``DLQ_URL`` as
        ``{"reason": ..., "event": <original>}``. In a Security Hub batch only the bad findings
        are dead-lettered (with their index in the reason); the others are routed.
    Transient (raised, so Lambda's async retries run and then the platform DLQ takes the
        event): any SNS publish error (throttling, 5xx, network, missing topic, denied) and any
        SQS error while dead-lettering. A retried Security Hub batch may publish the findings
        that went out before the error again (delivery is at least once).
"""

from __future__ import annotations

import json
import os
import unicodedata
from datetime import UTC, datetime
from typing import Any

import boto3
from findings_router_fields import InvalidFinding
from findings_router_normalise import (
    NORMALISERS,
    PRODUCTS,
    Finding,
    config_acknowledgement,
    normalise_securityhub_finding,
    product_name,
)
from findings_router_settings import SEVERITY_RANK, Settings, load_settings
from handler_kit.dlq import send_to_dlq
from handler_kit.errors import ConfigurationError as ConfigurationError
from handler_kit.log import log

SUBJECT_MAX = 99  # SNS: "less than 100 characters", ASCII, no line breaks.


def make_clients() -> tuple[Any, Any]:
    """Create the SNS and SQS clients (called once per invocation, never at import)."""
    return boto3.client("sns"), boto3.client("sqs")


def make_subject(finding: Finding) -> str:
    """An SNS subject: ASCII, one line, under 100 characters."""
    raw = f"[{finding.severity}] {product_name(finding.source)}: {finding.title}"
    ascii_text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii")
    one_line = " ".join(ascii_text.split())
    if len(one_line) > SUBJECT_MAX:
        one_line = one_line[: SUBJECT_MAX - 3].rstrip() + "..."
    return one_line


def make_summary(finding: Finding) -> str:
    """A short human-readable text for the message body."""
    return (
        f"{finding.severity} {product_name(finding.source)} finding in account "
        f"{finding.account} ({finding.region}): {finding.title}. Resource: {finding.resource}. "
        f"Seen: {finding.time}. Console: {finding.link}"
    )


def publish(sns: Any, settings: Settings, finding: Finding) -> str:
    """Publish one finding to the topic and return the SNS message id (errors raise)."""
    message = {"summary": make_summary(finding), "finding": finding.as_dict()}
    response = sns.publish(
        TopicArn=settings.topic_arn,
        Subject=make_subject(finding),
        Message=json.dumps(message, sort_keys=True),
        MessageAttributes={
            "severity": {"DataType": "String", "StringValue": finding.severity},
            "source": {"DataType": "String", "StringValue": finding.source},
        },
    )
    return str(response["MessageId"])


def route_event(event: Any, settings: Settings, sns: Any, sqs: Any) -> dict[str, Any]:
    """Normalise the findings in one EventBridge event and publish those at the threshold.

    Args:
        event: The EventBridge event as delivered to Lambda.
        settings: The validated settings.
        sns: An SNS client.
        sqs: An SQS client (for the dead-letter queue).

    Returns:
        Counts: ``published``, ``skipped`` (below threshold), ``acknowledged`` (Config
        non-compliance listed in ``ACKNOWLEDGED_NONCOMPLIANCE``) and ``dead_lettered``.

    Raises:
        botocore.exceptions.ClientError: SNS or SQS failed (transient: the caller retries).
    """
    counts = {"published": 0, "skipped": 0, "acknowledged": 0, "dead_lettered": 0}

    def dead_letter(reason: str) -> None:
        send_to_dlq(sqs, settings.dlq_url, reason, event)
        counts["dead_lettered"] += 1

    if not isinstance(event, dict):
        dead_letter(f"event is not a JSON object (got {type(event).__name__})")
        return counts
    source, detail_type = event.get("source"), event.get("detail-type")
    key = (source, detail_type)
    if key not in PRODUCTS:
        dead_letter(f"unsupported event: source={source!r} detail-type={detail_type!r}")
        return counts
    detail = event.get("detail")
    if not isinstance(detail, dict):
        dead_letter("missing detail")
        return counts

    findings: list[Finding] = []
    if source == "aws.securityhub":
        batch = detail.get("findings")
        if not isinstance(batch, list) or not batch:
            dead_letter("missing detail.findings (expected a non-empty list)")
            return counts
        for index, item in enumerate(batch):
            try:
                findings.append(normalise_securityhub_finding(event, item))
            except InvalidFinding as error:
                dead_letter(f"detail.findings[{index}]: {error}")
    else:
        try:
            finding = NORMALISERS[str(source)](event, detail, settings)
        except InvalidFinding as error:
            dead_letter(str(error))
        else:
            acknowledged = (
                config_acknowledgement(detail, settings) if source == "aws.config" else None
            )
            if acknowledged is None:
                findings.append(finding)
            else:
                rule, reason = acknowledged
                log(
                    "info",
                    "acknowledged non-compliance, not published",
                    kind="acknowledged",
                    rule=rule,
                    reason=reason,
                    **finding.as_dict(),
                )
                counts["acknowledged"] += 1

    threshold = SEVERITY_RANK[settings.severity_threshold]
    for finding in findings:
        if SEVERITY_RANK[finding.severity] < threshold:
            log(
                "info",
                "finding below threshold, skipped",
                threshold=settings.severity_threshold,
                **finding.as_dict(),
            )
            counts["skipped"] += 1
            continue
        message_id = publish(sns, settings, finding)
        log("info", "finding published", message_id=message_id, **finding.as_dict())
        counts["published"] += 1
    return counts


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: validate the configuration, then route the event's findings."""
    settings = load_settings(os.environ)
    sns, sqs = make_clients()
    counts = route_event(event, settings, sns, sqs)
    log("info", "event routed", at=datetime.now(UTC).isoformat(), **counts)
    return counts
