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
import math
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import boto3

SEVERITIES: tuple[str, ...] = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}

# (source, detail-type) -> product name used in subjects and summaries.
PRODUCTS: dict[tuple[str, str], str] = {
    ("aws.macie", "Macie Finding"): "Macie",
    ("aws.inspector2", "Inspector2 Finding"): "Inspector",
    ("aws.guardduty", "GuardDuty Finding"): "GuardDuty",
    ("aws.securityhub", "Security Hub Findings - Imported"): "Security Hub",
    ("aws.config", "Config Rules Compliance Change"): "Config",
}

SUBJECT_MAX = 99  # SNS: "less than 100 characters", ASCII, no line breaks.
SQS_BODY_MAX = 256 * 1024
_TOPIC_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
_QUEUE_URL_RE = re.compile(r"^https://\S+/\d{12}/[A-Za-z0-9_-]{1,80}$")
ACKNOWLEDGED_VAR = "ACKNOWLEDGED_NONCOMPLIANCE"
_ACKNOWLEDGED_SHAPE = (
    'expected {"<config rule name>": [{"resource_id": "<resource id>", "reason": "<why>"}]}'
)


class ConfigurationError(Exception):
    """An environment variable is missing or invalid."""


class InvalidFinding(Exception):
    """A finding that can never be routed (permanent: dead-lettered, not retried)."""


@dataclass(frozen=True)
class Config:
    """Validated configuration, read from the environment at the start of each call."""

    topic_arn: str
    dlq_url: str
    severity_threshold: str
    noncompliant_severity: str
    # Config rule name -> resource ID -> reason (ACKNOWLEDGED_NONCOMPLIANCE).
    acknowledged: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """One finding, normalised across the five sources."""

    source: str
    severity: str
    title: str
    resource: str
    account: str
    region: str
    id: str
    time: str
    link: str

    def as_dict(self) -> dict[str, str]:
        """The finding as a plain dict (the JSON sent to SNS)."""
        return {
            "source": self.source,
            "severity": self.severity,
            "title": self.title,
            "resource": self.resource,
            "account": self.account,
            "region": self.region,
            "id": self.id,
            "time": self.time,
            "link": self.link,
        }


def log(level: str, message: str, **fields: Any) -> None:
    """Print one structured JSON log line to stdout."""
    record = {"level": level, "message": message, **fields}
    sys.stdout.write(json.dumps(record, default=str) + "\n")


def _severity_setting(env: Mapping[str, str], name: str, default: str | None) -> str:
    raw = env.get(name, default)
    if raw is None or not raw.strip():
        raise ConfigurationError(f"{name} is not set; allowed: {', '.join(SEVERITIES)}")
    value = raw.strip().upper()
    if value not in SEVERITY_RANK:
        raise ConfigurationError(f"{name}={raw!r} is invalid; allowed: {', '.join(SEVERITIES)}")
    return value


def _exact_name(value: Any) -> bool:
    """A non-empty string without surrounding whitespace (one that Config could report)."""
    return isinstance(value, str) and bool(value) and value == value.strip()


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ConfigurationError(
                f"{ACKNOWLEDGED_VAR}: key {key!r} appears twice in one object; list it once"
            )
        seen[key] = value
    return seen


def acknowledged_noncompliance(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Parse ``ACKNOWLEDGED_NONCOMPLIANCE`` into rule name -> resource ID -> reason.

    Raises:
        ConfigurationError: The value is not JSON or not of the documented shape.
    """
    raw = env.get(ACKNOWLEDGED_VAR)
    if raw is None or not raw.strip():
        return {}
    try:
        parsed = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    except ValueError as error:
        raise ConfigurationError(
            f"{ACKNOWLEDGED_VAR}={raw[:200]!r} is not valid JSON ({error}); {_ACKNOWLEDGED_SHAPE}"
        ) from None
    if not isinstance(parsed, dict):
        raise ConfigurationError(
            f"{ACKNOWLEDGED_VAR} must be a JSON object, got {type(parsed).__name__}; "
            f"{_ACKNOWLEDGED_SHAPE}"
        )
    acknowledged: dict[str, dict[str, str]] = {}
    for rule, entries in parsed.items():
        if not _exact_name(rule):
            raise ConfigurationError(
                f"{ACKNOWLEDGED_VAR}: rule name {rule!r} must be non-empty, without surrounding "
                "spaces (the Config rule name as deployed)"
            )
        where = f"{ACKNOWLEDGED_VAR}[{rule!r}]"
        if not isinstance(entries, list):
            raise ConfigurationError(
                f"{where} must be a list, got {type(entries).__name__}; {_ACKNOWLEDGED_SHAPE}"
            )
        reasons: dict[str, str] = {}
        for index, entry in enumerate(entries):
            at = f"{where}[{index}]"
            if not isinstance(entry, dict) or set(entry) != {"resource_id", "reason"}:
                got = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
                raise ConfigurationError(
                    f"{at} must be an object with exactly the keys resource_id and reason, "
                    f"got {got}"
                )
            resource_id, reason = entry["resource_id"], entry["reason"]
            if not _exact_name(resource_id):
                raise ConfigurationError(
                    f"{at}.resource_id={resource_id!r} must be a non-empty string without "
                    "surrounding spaces, exactly as Config reports it in detail.resourceId"
                )
            if not isinstance(reason, str) or not reason.strip():
                raise ConfigurationError(
                    f"{at}.reason={reason!r} must be a non-empty string saying why the "
                    "non-compliance is accepted"
                )
            # A resource listed twice (two constructs acknowledging the same result) is kept
            # once, with each distinct reason: a harmless repeat must not stop all routing.
            known = reasons.get(resource_id)
            if known is None:
                reasons[resource_id] = reason.strip()
            elif reason.strip() not in known.split("; "):
                reasons[resource_id] = f"{known}; {reason.strip()}"
        acknowledged[rule] = reasons
    return acknowledged


def load_config(env: Mapping[str, str]) -> Config:
    """Read and validate the configuration.

    Args:
        env: The environment (``os.environ`` in Lambda).

    Returns:
        The validated configuration.

    Raises:
        ConfigurationError: A variable is missing or invalid.
    """
    topic_arn = env.get("TOPIC_ARN", "").strip()
    if not _TOPIC_ARN_RE.match(topic_arn):
        raise ConfigurationError(
            f"TOPIC_ARN={topic_arn!r} is invalid; expected arn:aws:sns:<region>:<account>:<name>"
        )
    dlq_url = env.get("DLQ_URL", "").strip()
    if not _QUEUE_URL_RE.match(dlq_url):
        raise ConfigurationError(
            f"DLQ_URL={dlq_url!r} is invalid; expected https://sqs.<region>.amazonaws.com/"
            "<account>/<queue>"
        )
    return Config(
        topic_arn=topic_arn,
        dlq_url=dlq_url,
        severity_threshold=_severity_setting(env, "SEVERITY_THRESHOLD", None),
        noncompliant_severity=_severity_setting(env, "NONCOMPLIANT_SEVERITY", "MEDIUM"),
        acknowledged=acknowledged_noncompliance(env),
    )


def make_clients() -> tuple[Any, Any]:
    """Create the SNS and SQS clients (called once per invocation, never at import)."""
    return boto3.client("sns"), boto3.client("sqs")


# ---------------------------------------------------------------------------------------------
# Field helpers
# ---------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A non-empty stripped string, or None (numbers are accepted and converted)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _dig(data: Any, *path: str | int) -> Any:
    """``data[path[0]][path[1]]...`` or None when any step is missing or of the wrong type."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(data, list) or not -len(data) <= step < len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[step] if isinstance(step, int) else data.get(step)
    return data


def _first(*values: Any) -> str | None:
    for value in values:
        text = _text(value)
        if text is not None:
            return text
    return None


def _require(name: str, *values: Any) -> str:
    value = _first(*values)
    if value is None:
        raise InvalidFinding(f"missing required field: {name}")
    return value


def _label(value: Any, name: str, aliases: Mapping[str, str] | None = None) -> str:
    text = _text(value)
    if text is None:
        raise InvalidFinding(f"missing severity ({name})")
    upper = text.upper()
    upper = (aliases or {}).get(upper, upper)
    if upper not in SEVERITY_RANK:
        raise InvalidFinding(f"unrecognised severity {text!r} ({name})")
    return upper


def guardduty_severity(value: Any) -> str:
    """Map a GuardDuty numeric severity (0.0-10.0) to a severity label.

    Raises:
        InvalidFinding: The value is missing, not a number, or outside 0-10.
    """
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InvalidFinding(f"GuardDuty severity {value!r} is not a number") from None
    if value is None:
        raise InvalidFinding("missing severity (detail.severity)")
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidFinding(f"GuardDuty severity {value!r} is not a number")
    if not 0 <= value <= 10:
        raise InvalidFinding(f"GuardDuty severity {value} is outside 0-10")
    if value >= 9:
        return "CRITICAL"
    if value >= 7:
        return "HIGH"
    if value >= 4:
        return "MEDIUM"
    return "LOW"


def securityhub_normalized_severity(value: Any) -> str:
    """Map an ASFF ``Severity.Normalized`` (0-100) to its label, as the ASFF docs do."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise InvalidFinding(f"Security Hub Severity.Normalized {value!r} is not in 0-100")
    if value >= 90:
        return "CRITICAL"
    if value >= 70:
        return "HIGH"
    if value >= 40:
        return "MEDIUM"
    if value >= 1:
        return "LOW"
    return "INFORMATIONAL"


def console_base(region: str) -> str:
    """The console host for a region's partition (commercial, China or GovCloud)."""
    if region.startswith("cn-"):
        return "https://console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "https://console.amazonaws-us-gov.com"
    return f"https://{region}.console.aws.amazon.com"


def _q(value: str) -> str:
    return quote(value, safe="")


# ---------------------------------------------------------------------------------------------
# Per-source normalisers: (event, detail, config) -> list of findings or InvalidFinding
# ---------------------------------------------------------------------------------------------


def _guardduty_resource(detail: dict[str, Any]) -> str | None:
    resource = detail.get("resource")
    return _first(
        _dig(resource, "instanceDetails", "instanceId"),
        _dig(resource, "accessKeyDetails", "userName"),
        _dig(resource, "accessKeyDetails", "accessKeyId"),
        _dig(resource, "s3BucketDetails", 0, "arn"),
        _dig(resource, "s3BucketDetails", 0, "name"),
        _dig(resource, "eksClusterDetails", "arn"),
        _dig(resource, "eksClusterDetails", "name"),
        _dig(resource, "lambdaDetails", "functionArn"),
        _dig(resource, "rdsDbInstanceDetails", "dbInstanceArn"),
        _dig(resource, "ecsClusterDetails", "arn"),
        _dig(resource, "resourceType"),
    )


def normalise_guardduty(event: dict[str, Any], detail: dict[str, Any], _: Config) -> Finding:
    """Normalise a ``GuardDuty Finding`` event."""
    severity = guardduty_severity(detail.get("severity"))
    finding_id = _require("detail.id", detail.get("id"))
    region = _require("region", detail.get("region"), event.get("region"))
    return Finding(
        source="aws.guardduty",
        severity=severity,
        title=_require("detail.title", detail.get("title"), detail.get("type")),
        resource=_require(
            "detail.resource", _guardduty_resource(detail), _dig(event, "resources", 0)
        ),
        account=_require("account", detail.get("accountId"), event.get("account")),
        region=region,
        id=finding_id,
        time=_require("time", detail.get("updatedAt"), detail.get("createdAt"), event.get("time")),
        link=f"{console_base(region)}/guardduty/home?region={region}"
        f"#/findings?macros=current&fId={_q(finding_id)}",
    )


def normalise_macie(event: dict[str, Any], detail: dict[str, Any], _: Config) -> Finding:
    """Normalise a ``Macie Finding`` event."""
    severity = _label(_dig(detail, "severity", "description"), "detail.severity.description")
    finding_id = _require("detail.id", detail.get("id"))
    region = _require("region", detail.get("region"), event.get("region"))
    affected = detail.get("resourcesAffected")
    bucket = _first(_dig(affected, "s3Bucket", "arn"), _dig(affected, "s3Bucket", "name"))
    key = _first(_dig(affected, "s3Object", "key"))
    resource = f"{bucket}/{key}" if bucket and key else bucket
    return Finding(
        source="aws.macie",
        severity=severity,
        title=_require("detail.title", detail.get("title"), detail.get("type")),
        resource=_require("detail.resourcesAffected", resource, _dig(event, "resources", 0)),
        account=_require("account", detail.get("accountId"), event.get("account")),
        region=region,
        id=finding_id,
        time=_require("time", detail.get("updatedAt"), detail.get("createdAt"), event.get("time")),
        link=f"{console_base(region)}/macie/home?region={region}#findings?itemId={_q(finding_id)}",
    )


def normalise_inspector(event: dict[str, Any], detail: dict[str, Any], _: Config) -> Finding:
    """Normalise an ``Inspector2 Finding`` event."""
    severity = _label(detail.get("severity"), "detail.severity", {"UNTRIAGED": "INFORMATIONAL"})
    finding_id = _require("detail.findingArn", detail.get("findingArn"))
    region = _require("region", _dig(detail, "resources", 0, "region"), event.get("region"))
    return Finding(
        source="aws.inspector2",
        severity=severity,
        title=_require("detail.title", detail.get("title")),
        resource=_require(
            "detail.resources", _dig(detail, "resources", 0, "id"), _dig(event, "resources", 0)
        ),
        account=_require("account", detail.get("awsAccountId"), event.get("account")),
        region=region,
        id=finding_id,
        # Inspector's own timestamps are not ISO 8601 ("Wed Sep 04 16:59:44.356 UTC 2024"):
        # the EventBridge envelope time is.
        time=_require("time", event.get("time"), detail.get("updatedAt")),
        link=f"{console_base(region)}/inspector/v2/home?region={region}#/findings/all",
    )


def normalise_config(event: dict[str, Any], detail: dict[str, Any], config: Config) -> Finding:
    """Normalise a ``Config Rules Compliance Change`` event."""
    result = detail.get("newEvaluationResult")
    qualifier = _dig(result, "evaluationResultIdentifier", "evaluationResultQualifier")
    compliance = _text(_dig(result, "complianceType"))
    if compliance is None:
        raise InvalidFinding("missing severity (detail.newEvaluationResult.complianceType)")
    if compliance == "NON_COMPLIANT":
        severity = config.noncompliant_severity
    elif compliance in ("COMPLIANT", "NOT_APPLICABLE", "INSUFFICIENT_DATA"):
        severity = "INFORMATIONAL"
    else:
        raise InvalidFinding(f"unrecognised complianceType {compliance!r}")
    rule = _require(
        "detail.configRuleName", detail.get("configRuleName"), _dig(qualifier, "configRuleName")
    )
    resource_id = _require(
        "detail.resourceId", detail.get("resourceId"), _dig(qualifier, "resourceId")
    )
    resource_type = (
        _first(detail.get("resourceType"), _dig(qualifier, "resourceType")) or "resource"
    )
    region = _require("region", detail.get("awsRegion"), event.get("region"))
    return Finding(
        source="aws.config",
        severity=severity,
        title=f"{resource_type} {resource_id} is {compliance} with {rule}",
        resource=resource_id,
        account=_require("account", detail.get("awsAccountId"), event.get("account")),
        region=region,
        id=f"{rule}/{resource_type}/{resource_id}",
        time=_require(
            "time",
            _dig(result, "resultRecordedTime"),
            detail.get("notificationCreationTime"),
            event.get("time"),
        ),
        link=f"{console_base(region)}/config/home?region={region}"
        f"#/rules/details?configRuleName={_q(rule)}",
    )


def config_acknowledgement(detail: dict[str, Any], config: Config) -> tuple[str, str] | None:
    """``(rule, reason)`` when a Config result is an acknowledged NON_COMPLIANT one, else None.

    The rule and resource are read as ``normalise_config`` reads them (``detail`` first, then the
    evaluation result qualifier), so a suppressed result is the one that would have been sent.
    """
    result = detail.get("newEvaluationResult")
    if _text(_dig(result, "complianceType")) != "NON_COMPLIANT":
        return None
    qualifier = _dig(result, "evaluationResultIdentifier", "evaluationResultQualifier")
    rule = _first(detail.get("configRuleName"), _dig(qualifier, "configRuleName"))
    resource_id = _first(detail.get("resourceId"), _dig(qualifier, "resourceId"))
    if rule is None or resource_id is None:
        return None
    reason = config.acknowledged.get(rule, {}).get(resource_id)
    return None if reason is None else (rule, reason)


def normalise_securityhub_finding(event: dict[str, Any], finding: Any) -> Finding:
    """Normalise one ASFF finding from a ``Security Hub Findings - Imported`` event."""
    if not isinstance(finding, dict):
        raise InvalidFinding("finding is not a JSON object")
    label = _dig(finding, "Severity", "Label")
    normalized = _dig(finding, "Severity", "Normalized")
    if _text(label) is None and normalized is not None:
        severity = securityhub_normalized_severity(normalized)
    else:
        severity = _label(label, "Severity.Label")
    finding_id = _require("Id", finding.get("Id"))
    region = _require(
        "Region",
        finding.get("Region"),
        _dig(finding, "Resources", 0, "Region"),
        event.get("region"),
    )
    # The console filter takes the Id encoded twice, like the operator around it.
    search = "Id%3D%255Coperator%255C%253AEQUALS%255C%253A" + _q(_q(finding_id))
    return Finding(
        source="aws.securityhub",
        severity=severity,
        title=_require("Title", finding.get("Title")),
        resource=_require(
            "Resources", _dig(finding, "Resources", 0, "Id"), _dig(event, "resources", 0)
        ),
        account=_require("AwsAccountId", finding.get("AwsAccountId"), event.get("account")),
        region=region,
        id=finding_id,
        time=_require(
            "time", finding.get("UpdatedAt"), finding.get("CreatedAt"), event.get("time")
        ),
        link=f"{console_base(region)}/securityhub/home?region={region}#/findings?search={search}",
    )


Normaliser = Callable[[dict[str, Any], dict[str, Any], Config], Finding]
NORMALISERS: dict[str, Normaliser] = {
    "aws.guardduty": normalise_guardduty,
    "aws.macie": normalise_macie,
    "aws.inspector2": normalise_inspector,
    "aws.config": normalise_config,
}


# ---------------------------------------------------------------------------------------------
# Publishing and dead-lettering
# ---------------------------------------------------------------------------------------------


def product_name(source: str) -> str:
    """The product name for a normalised finding's source (``aws.guardduty`` -> GuardDuty)."""
    for (event_source, _), name in PRODUCTS.items():
        if event_source == source:
            return name
    return source


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


def publish(sns: Any, config: Config, finding: Finding) -> str:
    """Publish one finding to the topic and return the SNS message id (errors raise)."""
    message = {"summary": make_summary(finding), "finding": finding.as_dict()}
    response = sns.publish(
        TopicArn=config.topic_arn,
        Subject=make_subject(finding),
        Message=json.dumps(message, sort_keys=True),
        MessageAttributes={
            "severity": {"DataType": "String", "StringValue": finding.severity},
            "source": {"DataType": "String", "StringValue": finding.source},
        },
    )
    return str(response["MessageId"])


def send_to_dlq(sqs: Any, config: Config, reason: str, event: Any) -> None:
    """Send an unprocessable event to the dead-letter queue (errors raise).

    An event too large for one SQS message is kept as a truncated JSON string.
    """
    body = json.dumps({"reason": reason, "event": event}, default=str)
    if len(body.encode("utf-8")) > SQS_BODY_MAX:
        preview = json.dumps(event, default=str)[: SQS_BODY_MAX // 2]
        body = json.dumps({"reason": reason, "event_truncated": True, "event": preview})
    sqs.send_message(QueueUrl=config.dlq_url, MessageBody=body)
    log("warning", "event dead-lettered", reason=reason)


def route_event(event: Any, config: Config, sns: Any, sqs: Any) -> dict[str, Any]:
    """Normalise the findings in one EventBridge event and publish those at the threshold.

    Args:
        event: The EventBridge event as delivered to Lambda.
        config: The validated configuration.
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
        send_to_dlq(sqs, config, reason, event)
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
            finding = NORMALISERS[str(source)](event, detail, config)
        except InvalidFinding as error:
            dead_letter(str(error))
        else:
            acknowledged = (
                config_acknowledgement(detail, config) if source == "aws.config" else None
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

    threshold = SEVERITY_RANK[config.severity_threshold]
    for finding in findings:
        if SEVERITY_RANK[finding.severity] < threshold:
            log(
                "info",
                "finding below threshold, skipped",
                threshold=config.severity_threshold,
                **finding.as_dict(),
            )
            counts["skipped"] += 1
            continue
        message_id = publish(sns, config, finding)
        log("info", "finding published", message_id=message_id, **finding.as_dict())
        counts["published"] += 1
    return counts


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: validate the configuration, then route the event's findings."""
    config = load_config(os.environ)
    sns, sqs = make_clients()
    counts = route_event(event, config, sns, sqs)
    log("info", "event routed", at=datetime.now(UTC).isoformat(), **counts)
    return counts
