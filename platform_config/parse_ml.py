"""``environments.<env>.ml``: Studio users, job rules, log groups, registry, card, monitoring."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from platform_config.model import (
    PERSONAS,
    SAGEMAKER_LOG_GROUP_MODES,
    MlConfig,
    MonitoringConfig,
    UserProfile,
)
from platform_config.readers import (
    ConfigError,
    get,
    no_unknown,
    require_endpoints,
    retention,
    str_list,
    text,
)
from secure_constructs.ml.model_card_rules import (
    MODEL_CARD_STATUSES,
    ModelCardError,
    load_model_card,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
"""Relative ``model_card_file`` paths are read from here (not the working directory)."""

ML_ENDPOINTS: tuple[str, ...] = (
    "sagemaker.api",
    "sagemaker.runtime",
    "sts",
    "logs",
    "ecr.api",
    "ecr.dkr",
)
"""Interface endpoints Studio in VPC-only mode and VPC jobs need (SageMaker developer guide)."""

_PROFILE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")

_SCHEDULE = re.compile(r"^cron\(.+\)$")

_ANALYZER_IMAGE = re.compile(
    r"^[0-9]{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"sagemaker-model-monitor-analyzer(:[\w.-]+)?$"
)


def resolve_repo_path(text: str) -> Path:
    """A config path: absolute as given, relative ones from the repository root."""
    path = Path(text)
    return path if path.is_absolute() else REPO_ROOT / path


def parse_ml(
    env_raw: Mapping[str, Any], env_key: str, *, region: str, endpoints: Sequence[str]
) -> MlConfig:
    """Validate ``<env>.ml``."""
    key = f"{env_key}.ml"
    raw = get(env_raw, "ml", key, dict, "an object (the SageMaker section)")
    no_unknown(
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
    require_endpoints(
        endpoints,
        ML_ENDPOINTS,
        env_key,
        "Studio in VPC-only mode and VPC jobs reach SageMaker, STS, ECR and Logs only "
        "through interface endpoints",
    )
    profiles_key = f"{key}.user_profiles"
    profiles_raw = get(raw, "user_profiles", profiles_key, list, "a list of {name, persona}")
    profiles: list[UserProfile] = []
    for index, item in enumerate(profiles_raw):
        item_key = f"{profiles_key}[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(item_key, item, "an object with name and persona")
        no_unknown(item, item_key, {"name", "persona"})
        name = text(item, "name", item_key)
        if not _PROFILE_NAME.match(name):
            raise ConfigError(f"{item_key}.name", name, "1-63 letters, digits and single hyphens")
        if any(p.name == name for p in profiles):
            raise ConfigError(f"{item_key}.name", name, "each user profile name at most once")
        persona = text(item, "persona", item_key)
        if persona not in PERSONAS:
            raise ConfigError(f"{item_key}.persona", persona, f"one of {', '.join(PERSONAS)}")
        profiles.append(UserProfile(name=name, persona=persona))

    instance_types = str_list(raw, "job_instance_types", key, min_items=1)
    for instance_type in instance_types:
        if not _INSTANCE_TYPE.match(instance_type):
            raise ConfigError(
                f"{key}.job_instance_types",
                instance_type,
                "a SageMaker instance type such as ml.m5.xlarge",
            )

    group = text(raw, "model_package_group_name", key)
    if not _PROFILE_NAME.match(group):
        raise ConfigError(
            f"{key}.model_package_group_name", group, "1-63 letters, digits and single hyphens"
        )

    card_file = text(raw, "model_card_file", key)
    try:
        card = load_model_card(resolve_repo_path(card_file))
    except ModelCardError as err:
        raise ConfigError(
            f"{key}.model_card_file",
            card_file,
            f"a model card following governance/README.md; {err}",
        ) from None
    status = text(raw, "model_card_status", key)
    if status not in MODEL_CARD_STATUSES:
        raise ConfigError(
            f"{key}.model_card_status", status, f"one of {', '.join(MODEL_CARD_STATUSES)}"
        )

    log_groups = text(raw, "sagemaker_log_groups", key)
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
        log_retention_days=retention(raw, "log_retention_days", key),
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
    no_unknown(
        monitoring,
        key,
        {"endpoint_name", "schedule_expression", "instance_type", "analyzer_image_uri"},
    )
    endpoint = text(monitoring, "endpoint_name", key)
    if not _PROFILE_NAME.match(endpoint):
        raise ConfigError(
            f"{key}.endpoint_name",
            endpoint,
            "a SageMaker endpoint name: 1-63 letters, digits, hyphens",
        )
    schedule = text(monitoring, "schedule_expression", key)
    if not _SCHEDULE.match(schedule):
        raise ConfigError(
            f"{key}.schedule_expression", schedule, "a cron expression such as cron(0 * ? * * *)"
        )
    instance_type = text(monitoring, "instance_type", key)
    if instance_type not in instance_types:
        raise ConfigError(
            f"{key}.instance_type",
            instance_type,
            f"one of job_instance_types ({', '.join(instance_types)})",
        )
    image = text(monitoring, "analyzer_image_uri", key)
    match = _ANALYZER_IMAGE.match(image)
    if not match or match.group("region") != region:
        raise ConfigError(
            f"{key}.analyzer_image_uri",
            image,
            f"the Model Monitor analyzer image of {region}: <registry account>.dkr.ecr.{region}"
            ".amazonaws.com/sagemaker-model-monitor-analyzer (SageMaker developer guide)",
        )
    return MonitoringConfig(endpoint, schedule, instance_type, image)
