"""The ML (SageMaker) and GenAI (Bedrock, PHI redaction) sections of an environment's config.

Called by ``platform_config.loader`` for ``environments.<env>.ml`` and ``.genai``; every bad
value raises ``ConfigError`` with a one-line message (key path, value, what is allowed). The
rules of the services themselves live next to the constructs (``secure_constructs.*_rules``)
so a construct used alone enforces the same limits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platform_config.loader import ConfigError, _get, _no_unknown, _str_list
from secure_constructs.bedrock_rules import (
    CONTENT_FILTER_TYPES,
    ContentFilter,
    DeniedTopic,
    GuardrailSpec,
    RegexFilter,
    guardrail_problem,
    model_id_problem,
)
from secure_constructs.model_card_rules import (
    MODEL_CARD_STATUSES,
    ModelCard,
    ModelCardError,
    load_model_card,
)
from secure_constructs.sizing import LOG_RETENTION_DAYS

REPO_ROOT = Path(__file__).resolve().parent.parent
"""Relative ``model_card_file`` paths are read from here (not the working directory)."""

PERSONAS: tuple[str, ...] = ("data_scientist", "mlops_engineer")
"""SageMaker Role Manager-style personas a Studio user profile can take."""

ML_ENDPOINTS: tuple[str, ...] = (
    "sagemaker.api",
    "sagemaker.runtime",
    "sts",
    "logs",
    "ecr.api",
    "ecr.dkr",
)
"""Interface endpoints Studio in VPC-only mode and VPC jobs need (SageMaker developer guide)."""

GUARDED_INVOKE_ENDPOINTS: tuple[str, ...] = ("bedrock-runtime",)
PHI_ENDPOINTS: tuple[str, ...] = ("comprehendmedical", "sqs")
"""The PHI function calls DetectPHI and sends dead letters itself, from a subnet with no
internet route for its security group."""

_PROFILE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_ROLE_ARN = re.compile(r"^arn:aws:iam::(?P<account>[0-9]{12}):role/[\w+=,.@/-]{1,512}$")
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9!_.()-]*(/[a-z0-9][a-z0-9!_.()-]*)*/$")
_PREFIX_LIST = re.compile(r"^pl-[0-9a-f]{8,17}$")
_SCHEDULE = re.compile(r"^cron\(.+\)$")
_ANALYZER_IMAGE = re.compile(
    r"^[0-9]{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"sagemaker-model-monitor-analyzer(:[\w.-]+)?$"
)


SAGEMAKER_LOG_GROUP_MODES = ("create", "adopt")
"""``ml.sagemaker_log_groups``: create SageMaker's fixed-name log groups, or adopt existing ones."""


@dataclass(frozen=True)
class UserProfile:
    """A Studio user profile and the persona whose execution role it runs with."""

    name: str
    persona: str


@dataclass(frozen=True)
class MonitoringConfig:
    """Hourly (or other cron) data-quality monitoring of one existing endpoint."""

    endpoint_name: str
    schedule_expression: str
    instance_type: str
    analyzer_image_uri: str


@dataclass(frozen=True)
class MlConfig:
    """SageMaker: Studio users, job rules, registry, model card, optional monitoring."""

    sagemaker_log_groups: str
    user_profiles: tuple[UserProfile, ...]
    job_instance_types: tuple[str, ...]
    log_retention_days: int
    model_package_group_name: str
    model_card_file: str
    model_card: ModelCard
    model_card_status: str
    monitoring: MonitoringConfig | None


@dataclass(frozen=True)
class InvocationLoggingConfig:
    """Where and what Bedrock model invocation logging records."""

    s3_prefix: str
    log_retention_days: int
    text_data: bool
    image_data: bool
    embedding_data: bool


@dataclass(frozen=True)
class GuardedInvokeConfig:
    """Limits of the guarded-invoke function."""

    max_prompt_chars: int
    max_output_tokens: int


@dataclass(frozen=True)
class PhiConfig:
    """The PHI redaction pipeline: where it reads and writes, and its score policy."""

    clinical_prefix: str
    curated_prefix: str
    min_score: float
    redact_low_score: bool
    max_object_bytes: int


@dataclass(frozen=True)
class GenAiConfig:
    """Bedrock (guardrail, invocation role, logging, guarded invoke) and PHI redaction."""

    allowed_model_ids: tuple[str, ...]
    default_model_id: str
    invoker_role_arns: tuple[str, ...]
    guardrail: GuardrailSpec
    enforce_guardrail_in_account: bool
    log_retention_days: int
    invocation_logging: InvocationLoggingConfig
    guarded_invoke: GuardedInvokeConfig
    phi: PhiConfig


# --------------------------------------------------------------------------- small readers


def _int(raw: Mapping[str, Any], name: str, key: str, low: int, high: int) -> int:
    full = f"{key}.{name}"
    value: int = _get(raw, name, full, int, f"an integer from {low} to {high}")
    if not low <= value <= high:
        raise ConfigError(full, value, f"an integer from {low} to {high}")
    return value


def _number(raw: Mapping[str, Any], name: str, key: str, low: float, high: float) -> float:
    full = f"{key}.{name}"
    value = _get(raw, name, full, (int, float), f"a number from {low} to {high}")
    if isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(full, value, f"a number from {low} to {high}")
    return float(value)


def _bool(raw: Mapping[str, Any], name: str, key: str) -> bool:
    value: bool = _get(raw, name, f"{key}.{name}", bool, "true or false")
    return value


def _text(raw: Mapping[str, Any], name: str, key: str) -> str:
    value: str = _get(raw, name, f"{key}.{name}", str, "a string")
    return value


def _retention(raw: Mapping[str, Any], name: str, key: str) -> int:
    full = f"{key}.{name}"
    value: int = _get(raw, name, full, int, "an integer")
    if value not in LOG_RETENTION_DAYS:
        raise ConfigError(
            full, value, f"a CloudWatch Logs retention: {', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    return value


def _prefix(raw: Mapping[str, Any], name: str, key: str) -> str:
    full = f"{key}.{name}"
    value: str = _get(raw, name, full, str, "an S3 key prefix")
    if not _PREFIX.match(value) or len(value) > 256:
        raise ConfigError(
            full,
            value,
            "an S3 key prefix of lowercase path segments ending with '/', such as clinical/ "
            "(no leading '/', no wildcard)",
        )
    return value


def _require_endpoints(
    endpoints: Sequence[str], needed: Sequence[str], env_key: str, why: str
) -> None:
    missing = [name for name in needed if name not in endpoints]
    if missing:
        raise ConfigError(
            f"{env_key}.interface_endpoints",
            list(endpoints),
            f"must include {', '.join(missing)}: {why}",
        )


def _role_arns(raw: Mapping[str, Any], name: str, key: str, account: str) -> tuple[str, ...]:
    arns = _str_list(raw, name, key, min_items=1)
    for arn in arns:
        match = _ROLE_ARN.match(arn)
        if not match or match.group("account") != account:
            raise ConfigError(
                f"{key}.{name}",
                arn,
                f"an IAM role ARN of this environment's account, arn:aws:iam::{account}:role/NAME",
            )
    return tuple(arns)


# --------------------------------------------------------------------------- ml


def resolve_repo_path(text: str) -> Path:
    """A config path: absolute as given, relative ones from the repository root."""
    path = Path(text)
    return path if path.is_absolute() else REPO_ROOT / path


def parse_ml(
    env_raw: Mapping[str, Any], env_key: str, *, region: str, endpoints: Sequence[str]
) -> MlConfig:
    """Validate ``<env>.ml``."""
    key = f"{env_key}.ml"
    raw = _get(env_raw, "ml", key, dict, "an object (the SageMaker section)")
    _no_unknown(
        raw,
        key,
        {
            "user_profiles",
            "job_instance_types",
            "log_retention_days",
            "model_package_group_name",
            "model_card_file",
            "model_card_status",
            "monitoring",
            "sagemaker_log_groups",
        },
    )
    _require_endpoints(
        endpoints,
        ML_ENDPOINTS,
        env_key,
        "Studio in VPC-only mode and VPC jobs reach SageMaker, STS, ECR and Logs only "
        "through interface endpoints",
    )
    profiles_key = f"{key}.user_profiles"
    profiles_raw = _get(raw, "user_profiles", profiles_key, list, "a list of {name, persona}")
    profiles: list[UserProfile] = []
    for index, item in enumerate(profiles_raw):
        item_key = f"{profiles_key}[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(item_key, item, "an object with name and persona")
        _no_unknown(item, item_key, {"name", "persona"})
        name = _text(item, "name", item_key)
        if not _PROFILE_NAME.match(name):
            raise ConfigError(f"{item_key}.name", name, "1-63 letters, digits and single hyphens")
        if any(p.name == name for p in profiles):
            raise ConfigError(f"{item_key}.name", name, "each user profile name at most once")
        persona = _text(item, "persona", item_key)
        if persona not in PERSONAS:
            raise ConfigError(f"{item_key}.persona", persona, f"one of {', '.join(PERSONAS)}")
        profiles.append(UserProfile(name=name, persona=persona))

    instance_types = _str_list(raw, "job_instance_types", key, min_items=1)
    for instance_type in instance_types:
        if not _INSTANCE_TYPE.match(instance_type):
            raise ConfigError(
                f"{key}.job_instance_types",
                instance_type,
                "a SageMaker instance type such as ml.m5.xlarge",
            )

    group = _text(raw, "model_package_group_name", key)
    if not _PROFILE_NAME.match(group):
        raise ConfigError(
            f"{key}.model_package_group_name", group, "1-63 letters, digits and single hyphens"
        )

    card_file = _text(raw, "model_card_file", key)
    try:
        card = load_model_card(resolve_repo_path(card_file))
    except ModelCardError as err:
        raise ConfigError(
            f"{key}.model_card_file",
            card_file,
            f"a model card following governance/README.md; {err}",
        ) from None
    status = _text(raw, "model_card_status", key)
    if status not in MODEL_CARD_STATUSES:
        raise ConfigError(
            f"{key}.model_card_status", status, f"one of {', '.join(MODEL_CARD_STATUSES)}"
        )

    log_groups = _text(raw, "sagemaker_log_groups", key)
    if log_groups not in SAGEMAKER_LOG_GROUP_MODES:
        raise ConfigError(
            f"{key}.sagemaker_log_groups",
            log_groups,
            "create (the ML stack creates /aws/sagemaker/* encrypted; they must not exist yet) "
            "or adopt (they already exist in the account: only referenced)",
        )
    return MlConfig(
        sagemaker_log_groups=log_groups,
        user_profiles=tuple(profiles),
        job_instance_types=tuple(instance_types),
        log_retention_days=_retention(raw, "log_retention_days", key),
        model_package_group_name=group,
        model_card_file=card_file,
        model_card=card,
        model_card_status=status,
        monitoring=_monitoring(raw, f"{key}.monitoring", region, instance_types),
    )


def _monitoring(
    raw: Mapping[str, Any], key: str, region: str, instance_types: Sequence[str]
) -> MonitoringConfig | None:
    # Absent and null both mean "no monitoring" (the CDK CLI drops null context values).
    monitoring = raw.get("monitoring")
    if monitoring is None:
        return None
    if not isinstance(monitoring, dict):
        raise ConfigError(key, monitoring, "null, or an object with endpoint_name, ...")
    _no_unknown(
        monitoring,
        key,
        {"endpoint_name", "schedule_expression", "instance_type", "analyzer_image_uri"},
    )
    endpoint = _text(monitoring, "endpoint_name", key)
    if not _PROFILE_NAME.match(endpoint):
        raise ConfigError(
            f"{key}.endpoint_name",
            endpoint,
            "a SageMaker endpoint name: 1-63 letters, digits, hyphens",
        )
    schedule = _text(monitoring, "schedule_expression", key)
    if not _SCHEDULE.match(schedule):
        raise ConfigError(
            f"{key}.schedule_expression", schedule, "a cron expression such as cron(0 * ? * * *)"
        )
    instance_type = _text(monitoring, "instance_type", key)
    if instance_type not in instance_types:
        raise ConfigError(
            f"{key}.instance_type",
            instance_type,
            f"one of job_instance_types ({', '.join(instance_types)})",
        )
    image = _text(monitoring, "analyzer_image_uri", key)
    match = _ANALYZER_IMAGE.match(image)
    if not match or match.group("region") != region:
        raise ConfigError(
            f"{key}.analyzer_image_uri",
            image,
            f"the Model Monitor analyzer image of {region}: <registry account>.dkr.ecr.{region}"
            ".amazonaws.com/sagemaker-model-monitor-analyzer (SageMaker developer guide)",
        )
    return MonitoringConfig(endpoint, schedule, instance_type, image)


# --------------------------------------------------------------------------- genai


def parse_genai(
    env_raw: Mapping[str, Any],
    env_key: str,
    *,
    account: str,
    region: str,
    endpoints: Sequence[str],
) -> GenAiConfig:
    """Validate ``<env>.genai``."""
    key = f"{env_key}.genai"
    raw = _get(env_raw, "genai", key, dict, "an object (the Bedrock and PHI section)")
    _no_unknown(
        raw,
        key,
        {
            "allowed_model_ids",
            "default_model_id",
            "invoker_role_arns",
            "guardrail",
            "enforce_guardrail_in_account",
            "log_retention_days",
            "invocation_logging",
            "guarded_invoke",
            "phi",
        },
    )
    _require_endpoints(
        endpoints,
        GUARDED_INVOKE_ENDPOINTS,
        env_key,
        "the guarded-invoke function reaches Bedrock only through PrivateLink",
    )
    _require_endpoints(
        endpoints,
        PHI_ENDPOINTS,
        env_key,
        "the PHI function calls Comprehend Medical and SQS from the VPC with no internet route",
    )
    models = _str_list(raw, "allowed_model_ids", key, min_items=1)
    for model_id in models:
        problem = model_id_problem(model_id, region)
        if problem:
            raise ConfigError(f"{key}.allowed_model_ids", model_id, problem)
    default = _text(raw, "default_model_id", key)
    if default not in models:
        raise ConfigError(
            f"{key}.default_model_id", default, f"one of allowed_model_ids ({', '.join(models)})"
        )
    return GenAiConfig(
        allowed_model_ids=tuple(models),
        default_model_id=default,
        invoker_role_arns=_role_arns(raw, "invoker_role_arns", key, account),
        guardrail=_guardrail(raw, f"{key}.guardrail"),
        enforce_guardrail_in_account=_bool(raw, "enforce_guardrail_in_account", key),
        log_retention_days=_retention(raw, "log_retention_days", key),
        invocation_logging=_invocation_logging(raw, f"{key}.invocation_logging"),
        guarded_invoke=_guarded_invoke(raw, f"{key}.guarded_invoke"),
        phi=_phi(raw, f"{key}.phi"),
    )


def _invocation_logging(raw: Mapping[str, Any], key: str) -> InvocationLoggingConfig:
    logging = _get(raw, "invocation_logging", key, dict, "an object")
    _no_unknown(
        logging,
        key,
        {"s3_prefix", "log_retention_days", "text_data", "image_data", "embedding_data"},
    )
    return InvocationLoggingConfig(
        s3_prefix=_prefix(logging, "s3_prefix", key),
        log_retention_days=_retention(logging, "log_retention_days", key),
        text_data=_bool(logging, "text_data", key),
        image_data=_bool(logging, "image_data", key),
        embedding_data=_bool(logging, "embedding_data", key),
    )


def _guarded_invoke(raw: Mapping[str, Any], key: str) -> GuardedInvokeConfig:
    invoke = _get(raw, "guarded_invoke", key, dict, "an object")
    _no_unknown(invoke, key, {"max_prompt_chars", "max_output_tokens"})
    return GuardedInvokeConfig(
        max_prompt_chars=_int(invoke, "max_prompt_chars", key, 1, 1_000_000),
        max_output_tokens=_int(invoke, "max_output_tokens", key, 1, 1_000_000),
    )


def _phi(raw: Mapping[str, Any], key: str) -> PhiConfig:
    phi = _get(raw, "phi", key, dict, "an object")
    _no_unknown(
        phi,
        key,
        {
            "clinical_prefix",
            "curated_prefix",
            "min_score",
            "redact_low_score",
            "max_object_bytes",
        },
    )
    return PhiConfig(
        clinical_prefix=_prefix(phi, "clinical_prefix", key),
        curated_prefix=_prefix(phi, "curated_prefix", key),
        min_score=_number(phi, "min_score", key, 0.0, 1.0),
        redact_low_score=_bool(phi, "redact_low_score", key),
        max_object_bytes=_int(phi, "max_object_bytes", key, 1, 100_000_000),
    )


def _guardrail(raw: Mapping[str, Any], key: str) -> GuardrailSpec:
    guard = _get(raw, "guardrail", key, dict, "an object")
    _no_unknown(
        guard,
        key,
        {
            "blocked_input_message",
            "blocked_output_message",
            "content_filters",
            "denied_topics",
            "pii",
            "regexes",
            "words",
            "profanity_filter",
            "contextual_grounding",
        },
    )
    filters_key = f"{key}.content_filters"
    filters_raw = _get(
        guard,
        "content_filters",
        filters_key,
        dict,
        f"an object with {', '.join(CONTENT_FILTER_TYPES)}",
    )
    filters = []
    for name, strengths in filters_raw.items():
        item_key = f"{filters_key}.{name}"
        if not isinstance(strengths, dict) or set(strengths) != {"input", "output"}:
            raise ConfigError(item_key, strengths, "an object with exactly input and output")
        filters.append(ContentFilter(name, strengths["input"], strengths["output"]))

    topics = []
    for index, item in enumerate(
        _get(guard, "denied_topics", f"{key}.denied_topics", list, "a list")
    ):
        item_key = f"{key}.denied_topics[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(item_key, item, "an object with name, definition, examples")
        _no_unknown(item, item_key, {"name", "definition", "examples"})
        topics.append(
            DeniedTopic(
                name=_text(item, "name", item_key),
                definition=_text(item, "definition", item_key),
                examples=tuple(_str_list(item, "examples", item_key, min_items=0)),
            )
        )

    pii_key = f"{key}.pii"
    pii = _get(guard, "pii", pii_key, dict, "an object with block and anonymize")
    _no_unknown(pii, pii_key, {"block", "anonymize"})
    block = _str_list(pii, "block", pii_key, min_items=0)
    anonymize = _str_list(pii, "anonymize", pii_key, min_items=0)

    regexes = []
    for index, item in enumerate(_get(guard, "regexes", f"{key}.regexes", list, "a list")):
        item_key = f"{key}.regexes[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(item_key, item, "an object with name, pattern, action, description")
        _no_unknown(item, item_key, {"name", "pattern", "action", "description"})
        regexes.append(
            RegexFilter(
                name=_text(item, "name", item_key),
                pattern=_text(item, "pattern", item_key),
                action=_text(item, "action", item_key),
                description=_text(item, "description", item_key),
            )
        )

    grounding_key = f"{key}.contextual_grounding"
    grounding = _get(
        guard, "contextual_grounding", grounding_key, dict, "an object with two thresholds"
    )
    _no_unknown(grounding, grounding_key, {"grounding_threshold", "relevance_threshold"})

    spec = GuardrailSpec(
        blocked_input_message=_text(guard, "blocked_input_message", key),
        blocked_output_message=_text(guard, "blocked_output_message", key),
        content_filters=tuple(filters),
        denied_topics=tuple(topics),
        pii_block=tuple(block),
        pii_anonymize=tuple(anonymize),
        regexes=tuple(regexes),
        words=tuple(_str_list(guard, "words", key, min_items=0)),
        profanity_filter=_bool(guard, "profanity_filter", key),
        # absent or null: that check is off (the CDK CLI drops null context values)
        grounding_threshold=grounding.get("grounding_threshold"),
        relevance_threshold=grounding.get("relevance_threshold"),
    )
    problem = guardrail_problem(spec)
    if problem:
        path = problem.path
        if path.startswith(("grounding_threshold", "relevance_threshold")):
            path = f"contextual_grounding.{path}"
        elif path.startswith(("pii_block", "pii_anonymize")):
            path = path.replace("pii_block", "pii.block").replace("pii_anonymize", "pii.anonymize")
        raise ConfigError(f"{key}.{path}", problem.value, problem.allowed)
    return spec


def parse_s3_prefix_list(env_raw: Mapping[str, Any], env_key: str) -> str:
    """``<env>.s3_prefix_list_id``: the region's S3 managed prefix list (for security groups)."""
    full = f"{env_key}.s3_prefix_list_id"
    value: str = _get(
        env_raw, "s3_prefix_list_id", full, str, "a prefix list ID such as pl-63a5400a"
    )
    if not _PREFIX_LIST.match(value):
        raise ConfigError(
            full,
            value,
            "the ID of the region's com.amazonaws.<region>.s3 managed prefix list, such as "
            "pl-63a5400a (aws ec2 describe-managed-prefix-lists)",
        )
    return value
