"""Per-source normalisers: one EventBridge finding event -> one ``Finding`` (or InvalidFinding).

Each source's fields are read as that service's EventBridge documentation shows them; see
``findings_router.py`` for the sources and the severity mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from findings_router_fields import (
    InvalidFinding,
    as_text,
    console_base,
    dig,
    first_text,
    guardduty_severity,
    quote_all,
    require_text,
    securityhub_normalized_severity,
    severity_label,
)
from findings_router_settings import Settings

# (source, detail-type) -> product name used in subjects and summaries.
PRODUCTS: dict[tuple[str, str], str] = {
    ("aws.macie", "Macie Finding"): "Macie",
    ("aws.inspector2", "Inspector2 Finding"): "Inspector",
    ("aws.guardduty", "GuardDuty Finding"): "GuardDuty",
    ("aws.securityhub", "Security Hub Findings - Imported"): "Security Hub",
    ("aws.config", "Config Rules Compliance Change"): "Config",
}


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


def product_name(source: str) -> str:
    """The product name for a normalised finding's source (``aws.guardduty`` -> GuardDuty)."""
    for (event_source, _), name in PRODUCTS.items():
        if event_source == source:
            return name
    return source


def _guardduty_resource(detail: dict[str, Any]) -> str | None:
    resource = detail.get("resource")
    return first_text(
        dig(resource, "instanceDetails", "instanceId"),
        dig(resource, "accessKeyDetails", "userName"),
        dig(resource, "accessKeyDetails", "accessKeyId"),
        dig(resource, "s3BucketDetails", 0, "arn"),
        dig(resource, "s3BucketDetails", 0, "name"),
        dig(resource, "eksClusterDetails", "arn"),
        dig(resource, "eksClusterDetails", "name"),
        dig(resource, "lambdaDetails", "functionArn"),
        dig(resource, "rdsDbInstanceDetails", "dbInstanceArn"),
        dig(resource, "ecsClusterDetails", "arn"),
        dig(resource, "resourceType"),
    )


def normalise_guardduty(event: dict[str, Any], detail: dict[str, Any], _: Settings) -> Finding:
    """Normalise a ``GuardDuty Finding`` event."""
    severity = guardduty_severity(detail.get("severity"))
    finding_id = require_text("detail.id", detail.get("id"))
    region = require_text("region", detail.get("region"), event.get("region"))
    return Finding(
        source="aws.guardduty",
        severity=severity,
        title=require_text("detail.title", detail.get("title"), detail.get("type")),
        resource=require_text(
            "detail.resource", _guardduty_resource(detail), dig(event, "resources", 0)
        ),
        account=require_text("account", detail.get("accountId"), event.get("account")),
        region=region,
        id=finding_id,
        time=require_text(
            "time", detail.get("updatedAt"), detail.get("createdAt"), event.get("time")
        ),
        link=f"{console_base(region)}/guardduty/home?region={region}"
        f"#/findings?macros=current&fId={quote_all(finding_id)}",
    )


def normalise_macie(event: dict[str, Any], detail: dict[str, Any], _: Settings) -> Finding:
    """Normalise a ``Macie Finding`` event."""
    severity = severity_label(dig(detail, "severity", "description"), "detail.severity.description")
    finding_id = require_text("detail.id", detail.get("id"))
    region = require_text("region", detail.get("region"), event.get("region"))
    affected = detail.get("resourcesAffected")
    bucket = first_text(dig(affected, "s3Bucket", "arn"), dig(affected, "s3Bucket", "name"))
    key = first_text(dig(affected, "s3Object", "key"))
    resource = f"{bucket}/{key}" if bucket and key else bucket
    return Finding(
        source="aws.macie",
        severity=severity,
        title=require_text("detail.title", detail.get("title"), detail.get("type")),
        resource=require_text("detail.resourcesAffected", resource, dig(event, "resources", 0)),
        account=require_text("account", detail.get("accountId"), event.get("account")),
        region=region,
        id=finding_id,
        time=require_text(
            "time", detail.get("updatedAt"), detail.get("createdAt"), event.get("time")
        ),
        link=f"{console_base(region)}/macie/home?region={region}#findings?itemId={quote_all(finding_id)}",
    )


def normalise_inspector(event: dict[str, Any], detail: dict[str, Any], _: Settings) -> Finding:
    """Normalise an ``Inspector2 Finding`` event."""
    severity = severity_label(
        detail.get("severity"), "detail.severity", {"UNTRIAGED": "INFORMATIONAL"}
    )
    finding_id = require_text("detail.findingArn", detail.get("findingArn"))
    region = require_text("region", dig(detail, "resources", 0, "region"), event.get("region"))
    return Finding(
        source="aws.inspector2",
        severity=severity,
        title=require_text("detail.title", detail.get("title")),
        resource=require_text(
            "detail.resources", dig(detail, "resources", 0, "id"), dig(event, "resources", 0)
        ),
        account=require_text("account", detail.get("awsAccountId"), event.get("account")),
        region=region,
        id=finding_id,
        # Inspector's own timestamps are not ISO 8601 ("Wed Sep 04 16:59:44.356 UTC 2024"):
        # the EventBridge envelope time is.
        time=require_text("time", event.get("time"), detail.get("updatedAt")),
        link=f"{console_base(region)}/inspector/v2/home?region={region}#/findings/all",
    )


def normalise_config(event: dict[str, Any], detail: dict[str, Any], settings: Settings) -> Finding:
    """Normalise a ``Config Rules Compliance Change`` event."""
    result = detail.get("newEvaluationResult")
    qualifier = dig(result, "evaluationResultIdentifier", "evaluationResultQualifier")
    compliance = as_text(dig(result, "complianceType"))
    if compliance is None:
        raise InvalidFinding("missing severity (detail.newEvaluationResult.complianceType)")
    if compliance == "NON_COMPLIANT":
        severity = settings.noncompliant_severity
    elif compliance in ("COMPLIANT", "NOT_APPLICABLE", "INSUFFICIENT_DATA"):
        severity = "INFORMATIONAL"
    else:
        raise InvalidFinding(f"unrecognised complianceType {compliance!r}")
    rule = require_text(
        "detail.configRuleName", detail.get("configRuleName"), dig(qualifier, "configRuleName")
    )
    resource_id = require_text(
        "detail.resourceId", detail.get("resourceId"), dig(qualifier, "resourceId")
    )
    resource_type = (
        first_text(detail.get("resourceType"), dig(qualifier, "resourceType")) or "resource"
    )
    region = require_text("region", detail.get("awsRegion"), event.get("region"))
    return Finding(
        source="aws.config",
        severity=severity,
        title=f"{resource_type} {resource_id} is {compliance} with {rule}",
        resource=resource_id,
        account=require_text("account", detail.get("awsAccountId"), event.get("account")),
        region=region,
        id=f"{rule}/{resource_type}/{resource_id}",
        time=require_text(
            "time",
            dig(result, "resultRecordedTime"),
            detail.get("notificationCreationTime"),
            event.get("time"),
        ),
        link=f"{console_base(region)}/config/home?region={region}"
        f"#/rules/details?configRuleName={quote_all(rule)}",
    )


def config_acknowledgement(detail: dict[str, Any], settings: Settings) -> tuple[str, str] | None:
    """``(rule, reason)`` when a Config result is an acknowledged NON_COMPLIANT one, else None.

    The rule and resource are read as ``normalise_config`` reads them (``detail`` first, then the
    evaluation result qualifier), so a suppressed result is the one that would have been sent.
    """
    result = detail.get("newEvaluationResult")
    if as_text(dig(result, "complianceType")) != "NON_COMPLIANT":
        return None
    qualifier = dig(result, "evaluationResultIdentifier", "evaluationResultQualifier")
    rule = first_text(detail.get("configRuleName"), dig(qualifier, "configRuleName"))
    resource_id = first_text(detail.get("resourceId"), dig(qualifier, "resourceId"))
    if rule is None or resource_id is None:
        return None
    reason = settings.acknowledged.get(rule, {}).get(resource_id)
    return None if reason is None else (rule, reason)


def normalise_securityhub_finding(event: dict[str, Any], finding: Any) -> Finding:
    """Normalise one ASFF finding from a ``Security Hub Findings - Imported`` event."""
    if not isinstance(finding, dict):
        raise InvalidFinding("finding is not a JSON object")
    label = dig(finding, "Severity", "Label")
    normalized = dig(finding, "Severity", "Normalized")
    if as_text(label) is None and normalized is not None:
        severity = securityhub_normalized_severity(normalized)
    else:
        severity = severity_label(label, "Severity.Label")
    finding_id = require_text("Id", finding.get("Id"))
    region = require_text(
        "Region",
        finding.get("Region"),
        dig(finding, "Resources", 0, "Region"),
        event.get("region"),
    )
    # The console filter takes the Id encoded twice, like the operator around it.
    search = "Id%3D%255Coperator%255C%253AEQUALS%255C%253A" + quote_all(quote_all(finding_id))
    return Finding(
        source="aws.securityhub",
        severity=severity,
        title=require_text("Title", finding.get("Title")),
        resource=require_text(
            "Resources", dig(finding, "Resources", 0, "Id"), dig(event, "resources", 0)
        ),
        account=require_text("AwsAccountId", finding.get("AwsAccountId"), event.get("account")),
        region=region,
        id=finding_id,
        time=require_text(
            "time", finding.get("UpdatedAt"), finding.get("CreatedAt"), event.get("time")
        ),
        link=f"{console_base(region)}/securityhub/home?region={region}#/findings?search={search}",
    )


Normaliser = Callable[[dict[str, Any], dict[str, Any], Settings], Finding]
NORMALISERS: dict[str, Normaliser] = {
    "aws.guardduty": normalise_guardduty,
    "aws.macie": normalise_macie,
    "aws.inspector2": normalise_inspector,
    "aws.config": normalise_config,
}
