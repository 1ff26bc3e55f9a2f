"""``environments.<env>.audit``: account services, trail, Config, Security Hub, Macie, review."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from platform_config.catalogue import REGION_AZ_LETTERS, SECURITYHUB_STANDARDS
from platform_config.model import (
    ACCOUNT_SERVICES,
    SEVERITIES,
    AccessReviewConfig,
    AuditConfig,
    MacieConfig,
)
from platform_config.readers import (
    ORGANIZATION_ID,
    ConfigError,
    choice,
    get,
    no_unknown,
    retention,
    str_list,
)
from secure_constructs.audit.audit_rules import (
    CONFIG_RECORDING_FREQUENCIES,
    MACIE_PUBLISHING_FREQUENCIES,
    MACIE_SCHEDULES,
    CustomDataIdentifier,
    cron_problem,
    custom_data_identifier_problem,
)

_AUDIT_KEYS = frozenset(
    {
        "account_services",
        "disable_on_delete",
        "organization_trail",
        "organization_id",
        "cloudtrail_log_retention_days",
        "config_global_resources_region",
        "config_recording_frequency",
        "securityhub_standards",
        "findings_severity_threshold",
        "access_review",
        "macie",
    }
)


_MAX_REVIEW_DAYS = 3650  # lambda/access_review accepts 1..3650


def parse_audit(raw: Mapping[str, Any], key: str) -> AuditConfig:
    """Validate ``<env>.audit`` (``key`` is its path in cdk.json)."""
    audit = get(raw, "audit", key, dict, f"an object with {', '.join(sorted(_AUDIT_KEYS))}")
    no_unknown(audit, key, _AUDIT_KEYS)

    services = str_list(audit, "account_services", key, min_items=0)
    for service in services:
        if service not in ACCOUNT_SERVICES:
            raise ConfigError(
                f"{key}.account_services", service, f"one of {', '.join(ACCOUNT_SERVICES)}"
            )
    disable = get(audit, "disable_on_delete", f"{key}.disable_on_delete", bool, "true or false")

    org_trail = get(audit, "organization_trail", f"{key}.organization_trail", bool, "true or false")
    org_key = f"{key}.organization_id"
    # null (or absent: the CDK CLI drops null context values) unless organization_trail.
    org_id = audit.get("organization_id")
    if org_trail and (not isinstance(org_id, str) or not ORGANIZATION_ID.match(org_id)):
        raise ConfigError(
            org_key, org_id, "an organization ID such as o-a1b2c3d4e5 (organization_trail is true)"
        )
    if not org_trail and org_id is not None:
        raise ConfigError(org_key, org_id, "null unless organization_trail is true")

    trail_retention = retention(audit, "cloudtrail_log_retention_days", key)

    regions_text = f"a supported region: {', '.join(sorted(REGION_AZ_LETTERS))}"
    global_key = f"{key}.config_global_resources_region"
    global_region = get(audit, "config_global_resources_region", global_key, str, regions_text)
    if global_region not in REGION_AZ_LETTERS:
        raise ConfigError(global_key, global_region, regions_text)

    frequency = choice(audit, "config_recording_frequency", key, CONFIG_RECORDING_FREQUENCIES)

    standards = str_list(audit, "securityhub_standards", key, min_items=0)
    for standard in standards:
        if standard not in SECURITYHUB_STANDARDS:
            raise ConfigError(
                f"{key}.securityhub_standards",
                standard,
                f"a known standard: {', '.join(sorted(SECURITYHUB_STANDARDS))}",
            )
    if standards and "securityhub" not in services:
        raise ConfigError(
            f"{key}.securityhub_standards",
            standards,
            "empty unless account_services includes securityhub (whoever enables Security Hub "
            "for the account manages its standards)",
        )

    return AuditConfig(
        account_services=tuple(services),
        disable_on_delete=disable,
        organization_trail=org_trail,
        organization_id=org_id,
        cloudtrail_log_retention_days=trail_retention,
        config_global_resources_region=global_region,
        config_recording_frequency=frequency,
        securityhub_standards=tuple(standards),
        findings_severity_threshold=choice(audit, "findings_severity_threshold", key, SEVERITIES),
        access_review=_access_review(audit, f"{key}.access_review"),
        macie=_macie(audit, f"{key}.macie"),
    )


def _access_review(raw: Mapping[str, Any], key: str) -> AccessReviewConfig:
    names = {"schedule", "max_unused_days", "max_key_age_days"}
    review = get(raw, "access_review", key, dict, f"an object with {', '.join(sorted(names))}")
    no_unknown(review, key, names)
    schedule = get(review, "schedule", f"{key}.schedule", str, "a cron(...) expression")
    problem = cron_problem(schedule)
    if problem:
        raise ConfigError(f"{key}.schedule", schedule, problem)
    days = {}
    for name in ("max_unused_days", "max_key_age_days"):
        allowed = f"a whole number of days, 1-{_MAX_REVIEW_DAYS}"
        value = get(review, name, f"{key}.{name}", int, allowed)
        if not 1 <= value <= _MAX_REVIEW_DAYS:
            raise ConfigError(f"{key}.{name}", value, allowed)
        days[name] = value
    return AccessReviewConfig(schedule=schedule, **days)


def _macie(raw: Mapping[str, Any], key: str) -> MacieConfig:
    names = {
        "finding_publishing_frequency",
        "discovery_schedule",
        "sampling_percentage",
        "custom_data_identifiers",
    }
    macie = get(raw, "macie", key, dict, f"an object with {', '.join(sorted(names))}")
    no_unknown(macie, key, names)
    sampling_key = f"{key}.sampling_percentage"
    sampling = get(macie, "sampling_percentage", sampling_key, int, "an integer from 1 to 100")
    if not 1 <= sampling <= 100:
        raise ConfigError(sampling_key, sampling, "an integer from 1 to 100")
    identifiers_key = f"{key}.custom_data_identifiers"
    items = get(macie, "custom_data_identifiers", identifiers_key, list, "a list of objects")
    identifiers: list[CustomDataIdentifier] = []
    for index, item in enumerate(items):
        identifiers.append(_custom_data_identifier(item, f"{identifiers_key}[{index}]"))
    seen = set()
    for index, identifier in enumerate(identifiers):
        if identifier.name in seen:
            raise ConfigError(
                f"{identifiers_key}[{index}].name", identifier.name, "each name at most once"
            )
        seen.add(identifier.name)
    return MacieConfig(
        finding_publishing_frequency=choice(
            macie, "finding_publishing_frequency", key, MACIE_PUBLISHING_FREQUENCIES
        ),
        discovery_schedule=choice(macie, "discovery_schedule", key, MACIE_SCHEDULES),
        sampling_percentage=sampling,
        custom_data_identifiers=tuple(identifiers),
    )


def _custom_data_identifier(item: Any, key: str) -> CustomDataIdentifier:
    names = {"name", "description", "regex", "keywords", "maximum_match_distance"}
    if not isinstance(item, dict):
        raise ConfigError(key, item, f"an object with {', '.join(sorted(names))}")
    no_unknown(item, key, names)
    keywords = str_list(item, "keywords", key, min_items=0)
    identifier = CustomDataIdentifier(
        name=get(item, "name", f"{key}.name", str, "a string"),
        description=get(item, "description", f"{key}.description", str, "a string"),
        regex=get(item, "regex", f"{key}.regex", str, "a regular expression"),
        keywords=tuple(keywords),
        maximum_match_distance=get(
            item, "maximum_match_distance", f"{key}.maximum_match_distance", int, "an integer"
        ),
    )
    problem = custom_data_identifier_problem(identifier)
    if problem:
        field, allowed = problem
        value = getattr(identifier, field)
        raise ConfigError(
            f"{key}.{field}", list(value) if isinstance(value, tuple) else value, allowed
        )
    return identifier
