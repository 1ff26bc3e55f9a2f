"""Load and validate the platform's environments from ``cdk.json`` context, once.

``load_config`` turns the raw context (plain JSON) into frozen dataclasses or raises
``ConfigError`` whose message is one line: the key path, the value found, and what is allowed.
``app.py`` prints that line and exits non-zero before any stack exists.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platform_config.catalogue import (
    ENDPOINT_SERVICES,
    REGION_AZ_LETTERS,
    SECURITYHUB_STANDARDS,
    availability_zones_of,
)
from secure_constructs.audit_rules import (
    ACCOUNT_SERVICES,
    CONFIG_RECORDING_FREQUENCIES,
    MACIE_PUBLISHING_FREQUENCIES,
    MACIE_SCHEDULES,
    SEVERITIES,
    CustomDataIdentifier,
    cron_problem,
    custom_data_identifier_problem,
)
from secure_constructs.s3_rules import (
    LifecyclePolicy,
    ObjectLock,
    Transition,
    bucket_name_problem,
    lifecycle_problem,
    object_lock_problem,
)
from secure_constructs.sizing import DEFAULT_SUBNET_PLAN, LOG_RETENTION_DAYS

if TYPE_CHECKING:
    from platform_config.workloads import GenAiConfig, MlConfig

CONTEXT_KEY = "ml-platform"
"""The cdk.json context key holding the platform's configuration."""

SELECT_KEY = "environment"
"""Context key naming one environment to synthesize (``cdk synth -c environment=dev``)."""

REQUIRED_TAGS = ("owner", "cost-center", "data-classification")
DATA_CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,19}$")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9]{1,9}$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_TAG_KEY = re.compile(r"^(?!aws:)[\w .:/=+@-]{1,128}$")
_PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


class ConfigError(ValueError):
    """A configuration value is missing or invalid. ``str(err)`` is one line for the user."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        shown = "(missing)" if value is _MISSING else json.dumps(value, default=str)
        super().__init__(f"{key} = {shown}: {allowed}")


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING: Any = _Missing()


BUCKETS = ("raw", "curated", "model_artifacts", "audit", "invocation_logs", "access_logs")
"""The bucket family every environment has (config keys under ``data.buckets``)."""


@dataclass(frozen=True)
class BucketConfig:
    """One bucket: an optional explicit name and its lifecycle."""

    name: str | None
    lifecycle: LifecyclePolicy


@dataclass(frozen=True)
class DataConfig:
    """The data layer: admin exception, audit object lock, and the bucket family."""

    admin_principal_arns: tuple[str, ...]
    forward_access_services: tuple[str, ...]
    audit_object_lock: ObjectLock
    raw: BucketConfig
    curated: BucketConfig
    model_artifacts: BucketConfig
    audit: BucketConfig
    invocation_logs: BucketConfig
    access_logs: BucketConfig


@dataclass(frozen=True)
class AccessReviewConfig:
    """The scheduled IAM access review: when it runs and what it reports."""

    schedule: str
    max_unused_days: int
    max_key_age_days: int


@dataclass(frozen=True)
class MacieConfig:
    """Macie: how often findings are published, the discovery job, custom data identifiers."""

    finding_publishing_frequency: str
    discovery_schedule: str
    sampling_percentage: int
    custom_data_identifiers: tuple[CustomDataIdentifier, ...]


@dataclass(frozen=True)
class AuditConfig:
    """The audit and threat-detection baseline of one environment (see the README table)."""

    account_services: tuple[str, ...]
    disable_on_delete: bool
    organization_trail: bool
    organization_id: str | None
    cloudtrail_log_retention_days: int
    config_global_resources_region: str
    config_recording_frequency: str
    securityhub_standards: tuple[str, ...]
    findings_severity_threshold: str
    access_review: AccessReviewConfig
    macie: MacieConfig

    def manages(self, service: str) -> bool:
        """Whether this environment's audit stack owns ``service`` (one of ACCOUNT_SERVICES)."""
        return service in self.account_services


RESERVED_FUNCTIONS = (
    "findings_router",
    "access_review",
    "sagemaker_isolation_rule",
    "audit_deploy_calls",
    "genai_deploy_calls",
    "guarded_invoke",
    "phi_redaction",
)
"""The platform's Lambda functions whose reservations ``reserved_concurrency`` sets."""

LAMBDA_UNRESERVED_MINIMUM = 100
"""Lambda refuses a reservation that leaves fewer unreserved executions than this in the account."""


@dataclass(frozen=True)
class ReservedConcurrency:
    """Reserved concurrent executions per function; ``None`` reserves nothing for it."""

    findings_router: int | None
    access_review: int | None
    sagemaker_isolation_rule: int | None
    audit_deploy_calls: int | None
    genai_deploy_calls: int | None
    guarded_invoke: int | None
    phi_redaction: int | None

    @property
    def total(self) -> int:
        """Executions the environment reserves in all."""
        return sum(getattr(self, name) or 0 for name in RESERVED_FUNCTIONS)

    @property
    def account_limit_needed(self) -> int:
        """The Lambda concurrency limit the account needs for these reservations (0: any)."""
        return self.total + LAMBDA_UNRESERVED_MINIMUM if self.total else 0


@dataclass(frozen=True)
class EnvironmentConfig:
    """One deployment environment (account + region), validated."""

    name: str
    account: str
    region: str
    availability_zones: tuple[str, ...]
    allowed_regions: tuple[str, ...]
    vpc_cidr: str
    nat_gateways: int
    interface_endpoints: tuple[str, ...]
    endpoint_availability_zones: tuple[str, ...]
    flow_log_retention_days: int
    alert_email: str
    termination_protection: bool
    tags: tuple[tuple[str, str], ...]
    reserved_concurrency: ReservedConcurrency
    data: DataConfig
    audit: AuditConfig
    s3_prefix_list_id: str
    ml: MlConfig
    genai: GenAiConfig

    @property
    def tag_map(self) -> dict[str, str]:
        """The environment's tags as a dict."""
        return dict(self.tags)


@dataclass(frozen=True)
class PlatformConfig:
    """The whole platform: a project name and the environments selected for this run."""

    project: str
    environments: tuple[EnvironmentConfig, ...]


_ENV_KEYS = frozenset(
    {
        "account",
        "region",
        "availability_zones",
        "allowed_regions",
        "vpc_cidr",
        "nat_gateways",
        "interface_endpoints",
        "endpoint_availability_zones",
        "flow_log_retention_days",
        "alert_email",
        "termination_protection",
        "tags",
        "reserved_concurrency",
        "data",
        "audit",
        "s3_prefix_list_id",
        "ml",
        "genai",
    }
)
_LIFECYCLE_KEYS = frozenset(
    {
        "transitions",
        "expiration_days",
        "noncurrent_expiration_days",
        "abort_incomplete_multipart_days",
    }
)
_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}\.amazonaws\.com$")
_ROLE_ARN = re.compile(r"^arn:aws:iam::(?P<account>[0-9]{12}):role/[\w+=,.@/-]{1,512}$")


def read_cdk_json(path: Path) -> dict[str, Any]:
    """The ``context`` object of a cdk.json file (feature flags and the platform config)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    context = data.get("context", {})
    if not isinstance(context, dict):
        raise ConfigError(f"{path.name}: context", context, "must be a JSON object")
    return context


def load_config(context: Mapping[str, Any], selected: str | None = None) -> PlatformConfig:
    """Validate the platform config found under ``context['ml-platform']``.

    ``selected`` names one environment to keep; ``None`` keeps them all. Raises ``ConfigError``
    on the first invalid value.
    """
    root = _get(
        context, CONTEXT_KEY, CONTEXT_KEY, dict, "an object with 'project' and 'environments'"
    )
    _no_unknown(root, CONTEXT_KEY, {"project", "environments"})
    project = _get(root, "project", f"{CONTEXT_KEY}.project", str, "a string")
    if not _NAME.match(project):
        raise ConfigError(
            f"{CONTEXT_KEY}.project",
            project,
            "2-20 characters: lowercase letters, digits and hyphens, starting with a letter",
        )
    envs_key = f"{CONTEXT_KEY}.environments"
    raw_envs = _get(root, "environments", envs_key, dict, "an object of named environments")
    if not raw_envs:
        raise ConfigError(envs_key, raw_envs, "at least one environment")
    if selected is not None and selected not in raw_envs:
        raise ConfigError(SELECT_KEY, selected, f"one of {', '.join(sorted(raw_envs))}")
    # Every environment is validated, also when one is selected: singletons are checked
    # across all of them.
    environments = [_environment(name, raw_envs[name], f"{envs_key}.{name}") for name in raw_envs]
    _check_singleton_owners(environments, envs_key)
    return PlatformConfig(
        project=project,
        environments=tuple(e for e in environments if selected in (None, e.name)),
    )


def singletons_owned(env: EnvironmentConfig) -> tuple[str, ...]:
    """The one-per-account-and-region things ``env``'s stacks create."""
    enforced = ("enforced_guardrail",) if env.genai.enforce_guardrail_in_account else ()
    return (*env.audit.account_services, *enforced)


def _check_singleton_owners(environments: Sequence[EnvironmentConfig], envs_key: str) -> None:
    """Refuse two environments in one account and region owning the same singleton."""
    owners: dict[tuple[str, str, str], str] = {}
    for env in environments:
        for service in singletons_owned(env):
            first = owners.setdefault((env.account, env.region, service), env.name)
            if first == env.name:
                continue
            where = (
                "genai.enforce_guardrail_in_account"
                if service == "enforced_guardrail"
                else "audit.account_services"
            )
            raise ConfigError(
                f"{envs_key}.{env.name}.{where}",
                service,
                f"environments {first} and {env.name} share account {env.account} and region "
                f"{env.region}, and {service} exists once per account and region: let one of "
                "them own it",
            )


def _environment(name: str, raw: Any, key: str) -> EnvironmentConfig:
    if not _ENV_NAME.match(name):
        raise ConfigError(key, name, "environment names are 2-10 lowercase letters or digits")
    if not isinstance(raw, dict):
        raise ConfigError(key, raw, "an object")
    _no_unknown(raw, key, _ENV_KEYS)

    account = _get(raw, "account", f"{key}.account", str, "a 12-digit AWS account ID as a string")
    if not _ACCOUNT.match(account):
        raise ConfigError(f"{key}.account", account, "a 12-digit AWS account ID as a string")

    regions_text = f"a supported region: {', '.join(sorted(REGION_AZ_LETTERS))}"
    allowed_regions = _str_list(raw, "allowed_regions", key, min_items=1)
    for region_name in allowed_regions:
        if region_name not in REGION_AZ_LETTERS:
            raise ConfigError(f"{key}.allowed_regions", region_name, regions_text)
    region = _get(raw, "region", f"{key}.region", str, regions_text)
    if region not in REGION_AZ_LETTERS:
        raise ConfigError(f"{key}.region", region, regions_text)
    if region not in allowed_regions:
        raise ConfigError(
            f"{key}.region",
            region,
            f"must be one of allowed_regions ({', '.join(allowed_regions)}): data residency",
        )

    azs = _str_list(raw, "availability_zones", key, min_items=2)
    region_azs = availability_zones_of(region)
    for az in azs:
        if az not in region_azs:
            raise ConfigError(
                f"{key}.availability_zones", az, f"an AZ of {region}: {', '.join(region_azs)}"
            )

    vpc_cidr = _cidr(raw, f"{key}.vpc_cidr", len(azs))

    nat_key = f"{key}.nat_gateways"
    nat = _get(raw, "nat_gateways", nat_key, int, "an integer")
    if not 1 <= nat <= len(azs):
        raise ConfigError(
            nat_key, nat, f"an integer from 1 to the number of availability_zones ({len(azs)})"
        )

    endpoints = _str_list(raw, "interface_endpoints", key, min_items=0)
    for endpoint in endpoints:
        if endpoint not in ENDPOINT_SERVICES:
            raise ConfigError(
                f"{key}.interface_endpoints",
                endpoint,
                f"a known endpoint service: {', '.join(sorted(ENDPOINT_SERVICES))}",
            )
    endpoint_azs = _str_list(raw, "endpoint_availability_zones", key, min_items=1)
    for az in endpoint_azs:
        if az not in azs:
            raise ConfigError(
                f"{key}.endpoint_availability_zones",
                az,
                f"one of the environment's availability_zones: {', '.join(azs)}",
            )

    retention_key = f"{key}.flow_log_retention_days"
    retention = _get(raw, "flow_log_retention_days", retention_key, int, "an integer")
    if retention not in LOG_RETENTION_DAYS:
        raise ConfigError(
            retention_key,
            retention,
            f"a CloudWatch Logs retention: {', '.join(map(str, LOG_RETENTION_DAYS))}",
        )

    email = _get(raw, "alert_email", f"{key}.alert_email", str, "an email address")
    if not _EMAIL.match(email):
        raise ConfigError(f"{key}.alert_email", email, "an email address such as ops@example.com")

    protection = _get(
        raw, "termination_protection", f"{key}.termination_protection", bool, "true or false"
    )

    return EnvironmentConfig(
        name=name,
        account=account,
        region=region,
        availability_zones=tuple(azs),
        allowed_regions=tuple(allowed_regions),
        vpc_cidr=vpc_cidr,
        nat_gateways=nat,
        interface_endpoints=tuple(endpoints),
        endpoint_availability_zones=tuple(endpoint_azs),
        flow_log_retention_days=retention,
        alert_email=email,
        termination_protection=protection,
        tags=_tags(raw, f"{key}.tags"),
        reserved_concurrency=_reserved_concurrency(raw, f"{key}.reserved_concurrency"),
        data=_data(raw, f"{key}.data", account),
        audit=_audit(raw, f"{key}.audit"),
        **_workloads(raw, key, account=account, region=region, endpoints=endpoints),
    )


def _reserved_concurrency(raw: Mapping[str, Any], key: str) -> ReservedConcurrency:
    block = _get(
        raw, "reserved_concurrency", key, dict, f"an object with {', '.join(RESERVED_FUNCTIONS)}"
    )
    _no_unknown(block, key, set(RESERVED_FUNCTIONS))
    values: dict[str, int | None] = {}
    for name in RESERVED_FUNCTIONS:
        # Absent and null both mean "no reservation" (the CDK CLI drops null context values);
        # unknown names are refused above, so a misspelt function cannot pass for absent.
        value = block.get(name)
        if value is not None and (type(value) is not int or not 1 <= value <= 1000):
            raise ConfigError(
                f"{key}.{name}", value, "an integer from 1 to 1000, or null for no reservation"
            )
        values[name] = value
    return ReservedConcurrency(**values)


def _workloads(
    raw: Mapping[str, Any], key: str, *, account: str, region: str, endpoints: list[str]
) -> dict[str, Any]:
    """The SageMaker and Bedrock/PHI sections (``platform_config.workloads``)."""
    # Imported here: workloads reuses this module's validation helpers.
    from platform_config.workloads import parse_genai, parse_ml, parse_s3_prefix_list

    return {
        "s3_prefix_list_id": parse_s3_prefix_list(raw, key),
        "ml": parse_ml(raw, key, region=region, endpoints=endpoints),
        "genai": parse_genai(raw, key, account=account, region=region, endpoints=endpoints),
    }


def _data(raw: Mapping[str, Any], key: str, account: str) -> DataConfig:
    data = _get(
        raw, "data", key, dict, "an object with admin_principal_arns, audit_object_lock, buckets"
    )
    _no_unknown(
        data,
        key,
        {"admin_principal_arns", "forward_access_services", "audit_object_lock", "buckets"},
    )
    admins = _str_list(data, "admin_principal_arns", key, min_items=0)
    services = _str_list(data, "forward_access_services", key, min_items=0)
    for service in services:
        if not _SERVICE_PRINCIPAL.match(service):
            raise ConfigError(
                f"{key}.forward_access_services",
                service,
                "an AWS service principal such as athena.amazonaws.com (the services allowed to "
                "reach the data buckets outside the VPC endpoint on a caller's behalf)",
            )
    for arn in admins:
        match = _ROLE_ARN.match(arn)
        if not match or match.group("account") != account:
            raise ConfigError(
                f"{key}.admin_principal_arns",
                arn,
                f"an IAM role ARN of this environment's account, arn:aws:iam::{account}:role/NAME",
            )
    lock_key = f"{key}.audit_object_lock"
    lock_raw = _get(data, "audit_object_lock", lock_key, dict, "an object with mode and days")
    _no_unknown(lock_raw, lock_key, {"mode", "days"})
    mode = _get(lock_raw, "mode", f"{lock_key}.mode", str, "GOVERNANCE or COMPLIANCE")
    if mode not in ("GOVERNANCE", "COMPLIANCE"):
        raise ConfigError(f"{lock_key}.mode", mode, "GOVERNANCE or COMPLIANCE")
    days = _get(lock_raw, "days", f"{lock_key}.days", int, "a number of days, at least 1")
    if days < 1:
        raise ConfigError(f"{lock_key}.days", days, "a number of days, at least 1")
    lock = ObjectLock(mode=mode, days=days)

    buckets_key = f"{key}.buckets"
    buckets_raw = _get(data, "buckets", buckets_key, dict, f"an object with {', '.join(BUCKETS)}")
    _no_unknown(buckets_raw, buckets_key, set(BUCKETS))
    buckets = {name: _bucket(buckets_raw, name, f"{buckets_key}.{name}") for name in BUCKETS}
    problem = object_lock_problem(lock, buckets["audit"].lifecycle)
    if problem:
        raise ConfigError(
            f"{buckets_key}.audit.lifecycle.expiration_days",
            buckets["audit"].lifecycle.expiration_days,
            f"{problem}: keep audit logs at least as long as they are locked",
        )
    if buckets["invocation_logs"].lifecycle.expiration_days is None:
        raise ConfigError(
            f"{buckets_key}.invocation_logs.lifecycle.expiration_days",
            None,
            "a number of days: invocation logs hold prompts and answers (possibly PHI), so they "
            "need a retention after which a deletion request can be honoured",
        )
    seen: dict[str, str] = {}
    for name, bucket in buckets.items():
        if bucket.name is None:
            continue
        if bucket.name in seen:
            raise ConfigError(
                f"{buckets_key}.{name}.name",
                bucket.name,
                f"already used by bucket {seen[bucket.name]}",
            )
        seen[bucket.name] = name
    return DataConfig(
        admin_principal_arns=tuple(admins),
        forward_access_services=tuple(services),
        audit_object_lock=lock,
        **buckets,
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
_ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_MAX_REVIEW_DAYS = 3650  # lambda/access_review accepts 1..3650


def _audit(raw: Mapping[str, Any], key: str) -> AuditConfig:
    audit = _get(raw, "audit", key, dict, f"an object with {', '.join(sorted(_AUDIT_KEYS))}")
    _no_unknown(audit, key, _AUDIT_KEYS)

    services = _str_list(audit, "account_services", key, min_items=0)
    for service in services:
        if service not in ACCOUNT_SERVICES:
            raise ConfigError(
                f"{key}.account_services", service, f"one of {', '.join(ACCOUNT_SERVICES)}"
            )
    disable = _get(audit, "disable_on_delete", f"{key}.disable_on_delete", bool, "true or false")

    org_trail = _get(
        audit, "organization_trail", f"{key}.organization_trail", bool, "true or false"
    )
    org_key = f"{key}.organization_id"
    # null (or absent: the CDK CLI drops null context values) unless organization_trail.
    org_id = audit.get("organization_id")
    if org_trail and (not isinstance(org_id, str) or not _ORGANIZATION_ID.match(org_id)):
        raise ConfigError(
            org_key, org_id, "an organization ID such as o-a1b2c3d4e5 (organization_trail is true)"
        )
    if not org_trail and org_id is not None:
        raise ConfigError(org_key, org_id, "null unless organization_trail is true")

    retention_key = f"{key}.cloudtrail_log_retention_days"
    retention = _get(audit, "cloudtrail_log_retention_days", retention_key, int, "an integer")
    if retention not in LOG_RETENTION_DAYS:
        raise ConfigError(
            retention_key,
            retention,
            f"a CloudWatch Logs retention: {', '.join(map(str, LOG_RETENTION_DAYS))}",
        )

    regions_text = f"a supported region: {', '.join(sorted(REGION_AZ_LETTERS))}"
    global_key = f"{key}.config_global_resources_region"
    global_region = _get(audit, "config_global_resources_region", global_key, str, regions_text)
    if global_region not in REGION_AZ_LETTERS:
        raise ConfigError(global_key, global_region, regions_text)

    frequency = _choice(audit, "config_recording_frequency", key, CONFIG_RECORDING_FREQUENCIES)

    standards = _str_list(audit, "securityhub_standards", key, min_items=0)
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
        cloudtrail_log_retention_days=retention,
        config_global_resources_region=global_region,
        config_recording_frequency=frequency,
        securityhub_standards=tuple(standards),
        findings_severity_threshold=_choice(audit, "findings_severity_threshold", key, SEVERITIES),
        access_review=_access_review(audit, f"{key}.access_review"),
        macie=_macie(audit, f"{key}.macie"),
    )


def _access_review(raw: Mapping[str, Any], key: str) -> AccessReviewConfig:
    names = {"schedule", "max_unused_days", "max_key_age_days"}
    review = _get(raw, "access_review", key, dict, f"an object with {', '.join(sorted(names))}")
    _no_unknown(review, key, names)
    schedule = _get(review, "schedule", f"{key}.schedule", str, "a cron(...) expression")
    problem = cron_problem(schedule)
    if problem:
        raise ConfigError(f"{key}.schedule", schedule, problem)
    days = {}
    for name in ("max_unused_days", "max_key_age_days"):
        allowed = f"a whole number of days, 1-{_MAX_REVIEW_DAYS}"
        value = _get(review, name, f"{key}.{name}", int, allowed)
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
    macie = _get(raw, "macie", key, dict, f"an object with {', '.join(sorted(names))}")
    _no_unknown(macie, key, names)
    sampling_key = f"{key}.sampling_percentage"
    sampling = _get(macie, "sampling_percentage", sampling_key, int, "an integer from 1 to 100")
    if not 1 <= sampling <= 100:
        raise ConfigError(sampling_key, sampling, "an integer from 1 to 100")
    identifiers_key = f"{key}.custom_data_identifiers"
    items = _get(macie, "custom_data_identifiers", identifiers_key, list, "a list of objects")
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
        finding_publishing_frequency=_choice(
            macie, "finding_publishing_frequency", key, MACIE_PUBLISHING_FREQUENCIES
        ),
        discovery_schedule=_choice(macie, "discovery_schedule", key, MACIE_SCHEDULES),
        sampling_percentage=sampling,
        custom_data_identifiers=tuple(identifiers),
    )


def _custom_data_identifier(item: Any, key: str) -> CustomDataIdentifier:
    names = {"name", "description", "regex", "keywords", "maximum_match_distance"}
    if not isinstance(item, dict):
        raise ConfigError(key, item, f"an object with {', '.join(sorted(names))}")
    _no_unknown(item, key, names)
    keywords = _str_list(item, "keywords", key, min_items=0)
    identifier = CustomDataIdentifier(
        name=_get(item, "name", f"{key}.name", str, "a string"),
        description=_get(item, "description", f"{key}.description", str, "a string"),
        regex=_get(item, "regex", f"{key}.regex", str, "a regular expression"),
        keywords=tuple(keywords),
        maximum_match_distance=_get(
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


def _choice(raw: Mapping[str, Any], name: str, key: str, choices: Sequence[str]) -> str:
    allowed = f"one of {', '.join(choices)}"
    value: str = _get(raw, name, f"{key}.{name}", str, allowed)
    if value not in choices:
        raise ConfigError(f"{key}.{name}", value, allowed)
    return value


def _bucket(raw: Mapping[str, Any], name: str, key: str) -> BucketConfig:
    bucket = _get(raw, name, key, dict, "an object with lifecycle and an optional name")
    _no_unknown(bucket, key, {"name", "lifecycle"})
    bucket_name = bucket.get("name")
    if bucket_name is not None:
        if not isinstance(bucket_name, str):
            raise ConfigError(f"{key}.name", bucket_name, "a string (an S3 bucket name)")
        problem = bucket_name_problem(bucket_name)
        if problem:
            raise ConfigError(f"{key}.name", bucket_name, f"an S3 bucket name {problem}")
    return BucketConfig(name=bucket_name, lifecycle=_lifecycle(bucket, f"{key}.lifecycle"))


def _lifecycle(raw: Mapping[str, Any], key: str) -> LifecyclePolicy:
    life = _get(raw, "lifecycle", key, dict, f"an object with {', '.join(sorted(_LIFECYCLE_KEYS))}")
    _no_unknown(life, key, set(_LIFECYCLE_KEYS))
    transitions = []
    for index, item in enumerate(_get(life, "transitions", f"{key}.transitions", list, "a list")):
        item_key = f"{key}.transitions[{index}]"
        if not isinstance(item, dict) or set(item) != {"storage_class", "days"}:
            raise ConfigError(item_key, item, "an object with exactly storage_class and days")
        storage_class = _get(item, "storage_class", f"{item_key}.storage_class", str, "a string")
        days = _get(item, "days", f"{item_key}.days", int, "an integer")
        transitions.append(Transition(storage_class=storage_class, days=days))
    expiration = life.get("expiration_days")
    if expiration is not None and (isinstance(expiration, bool) or not isinstance(expiration, int)):
        raise ConfigError(f"{key}.expiration_days", expiration, "an integer or null (keep forever)")
    policy = LifecyclePolicy(
        transitions=tuple(transitions),
        expiration_days=expiration,
        noncurrent_expiration_days=_get(
            life,
            "noncurrent_expiration_days",
            f"{key}.noncurrent_expiration_days",
            int,
            "an integer",
        ),
        abort_incomplete_multipart_days=_get(
            life,
            "abort_incomplete_multipart_days",
            f"{key}.abort_incomplete_multipart_days",
            int,
            "an integer",
        ),
    )
    problem = lifecycle_problem(policy)
    if problem:
        raise ConfigError(key, life, f"breaks an S3 lifecycle rule: {problem}")
    return policy


def _cidr(raw: Mapping[str, Any], key: str, az_count: int) -> str:
    text: str = _get(raw, "vpc_cidr", key, str, "an IPv4 CIDR such as 10.0.0.0/16")
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise ConfigError(
            key, text, "an IPv4 network in CIDR notation with no host bits, such as 10.0.0.0/16"
        ) from None
    if not isinstance(network, ipaddress.IPv4Network) or not any(
        network.subnet_of(private) for private in _PRIVATE_RANGES
    ):
        raise ConfigError(key, text, "a private IPv4 range inside 10/8, 172.16/12 or 192.168/16")
    if network.prefixlen < 16:
        raise ConfigError(key, text, "a prefix of /16 or longer (the largest VPC AWS allows)")
    needed = DEFAULT_SUBNET_PLAN.addresses_needed(az_count)
    if network.num_addresses < needed:
        largest_prefix = 32 - (needed - 1).bit_length()
        raise ConfigError(
            key,
            text,
            f"too small: {az_count} AZs need {needed} addresses (public /"
            f"{DEFAULT_SUBNET_PLAN.public_mask}, private /{DEFAULT_SUBNET_PLAN.private_mask}, "
            f"isolated /{DEFAULT_SUBNET_PLAN.isolated_mask} per AZ); use /{largest_prefix} "
            "or a shorter prefix",
        )
    return text


def _tags(raw: Mapping[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    tags = _get(raw, "tags", key, dict, f"an object with at least {', '.join(REQUIRED_TAGS)}")
    for required in REQUIRED_TAGS:
        if required not in tags:
            raise ConfigError(f"{key}.{required}", _MISSING, "a required tag")
    for tag_key, value in tags.items():
        if not _TAG_KEY.match(tag_key):
            raise ConfigError(
                f"{key}", tag_key, "tag keys are 1-128 characters and must not start with 'aws:'"
            )
        if not isinstance(value, str) or not 1 <= len(value) <= 256:
            raise ConfigError(f"{key}.{tag_key}", value, "a string of 1-256 characters")
    classification = tags["data-classification"]
    if classification not in DATA_CLASSIFICATIONS:
        raise ConfigError(
            f"{key}.data-classification",
            classification,
            f"one of {', '.join(DATA_CLASSIFICATIONS)}",
        )
    return tuple(sorted(tags.items()))


def _str_list(raw: Mapping[str, Any], name: str, key: str, *, min_items: int) -> list[str]:
    full = f"{key}.{name}"
    items = _get(raw, name, full, list, "a list of strings")
    if len(items) < min_items:
        raise ConfigError(full, items, f"a list of at least {min_items} strings")
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(full, item, "a list of strings")
    duplicates = sorted({item for item in items if items.count(item) > 1})
    if duplicates:
        raise ConfigError(full, duplicates[0], "each entry at most once")
    return list(items)


def _get(
    raw: Mapping[str, Any],
    name: str,
    key: str,
    kind: type | tuple[type, ...],
    allowed: str,
) -> Any:
    if not isinstance(raw, Mapping) or name not in raw:
        raise ConfigError(key, _MISSING, f"required: {allowed}")
    value = raw[name]
    # bool is an int subclass: true must not pass for an integer.
    if kind is int and isinstance(value, bool):
        raise ConfigError(key, value, allowed)
    if not isinstance(value, kind):
        raise ConfigError(key, value, allowed)
    return value


def _no_unknown(raw: Mapping[str, Any], key: str, known: frozenset[str] | set[str]) -> None:
    for name in raw:
        if name not in known:
            raise ConfigError(
                f"{key}.{name}", raw[name], f"unknown key; known: {', '.join(sorted(known))}"
            )


__all__: Sequence[str] = (
    "BUCKETS",
    "CONTEXT_KEY",
    "SELECT_KEY",
    "AccessReviewConfig",
    "AuditConfig",
    "BucketConfig",
    "ConfigError",
    "DataConfig",
    "EnvironmentConfig",
    "MacieConfig",
    "PlatformConfig",
    "load_config",
    "read_cdk_json",
)
