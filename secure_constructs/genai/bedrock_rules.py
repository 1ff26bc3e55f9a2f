"""Amazon Bedrock's rules for guardrails and model identifiers (pure Python, no CDK import).

Both the config loader (to stop synth with a one-line message) and the Bedrock constructs (to
fail fast when used alone) call these. Limits and enumerations come from the Bedrock API model
(``CreateGuardrail``) and the CloudFormation schema of ``AWS::Bedrock::Guardrail``; where the two
differ (a topic definition: 200 characters in the API, 1000 in the schema) the stricter wins.

``*_problem`` functions return ``None`` for a valid input, or a ``Problem``: the dotted path of
the offending field (relative to the object checked), the value, and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

CONTENT_FILTER_TYPES = ("HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK")
"""Every content filter a guardrail offers; the platform requires all six to be configured."""

FILTER_STRENGTHS: tuple[str, ...] = ("NONE", "LOW", "MEDIUM", "HIGH")

PII_ENTITY_TYPES: frozenset[str] = frozenset(
    {
        "ADDRESS",
        "AGE",
        "AWS_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "CA_HEALTH_NUMBER",
        "CA_SOCIAL_INSURANCE_NUMBER",
        "CREDIT_DEBIT_CARD_CVV",
        "CREDIT_DEBIT_CARD_EXPIRY",
        "CREDIT_DEBIT_CARD_NUMBER",
        "DRIVER_ID",
        "EMAIL",
        "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
        "IP_ADDRESS",
        "LICENSE_PLATE",
        "MAC_ADDRESS",
        "NAME",
        "PASSWORD",
        "PHONE",
        "PIN",
        "SWIFT_CODE",
        "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
        "UK_NATIONAL_INSURANCE_NUMBER",
        "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
        "URL",
        "USERNAME",
        "US_BANK_ACCOUNT_NUMBER",
        "US_BANK_ROUTING_NUMBER",
        "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
        "US_PASSPORT_NUMBER",
        "US_SOCIAL_SECURITY_NUMBER",
        "VEHICLE_IDENTIFICATION_NUMBER",
    }
)
"""PII entity types a guardrail's sensitive-information policy knows (API enum)."""

SENSITIVE_ACTIONS: tuple[str, ...] = ("BLOCK", "ANONYMIZE")
"""What the platform lets a PII type or regex do (``NONE`` would configure nothing)."""

MAX_TOPICS = 30
MAX_TOPIC_EXAMPLES = 5
MAX_REGEXES = 30
MAX_WORDS = 10_000
MAX_MESSAGE_CHARS = 500
MAX_REGEX_PATTERN_CHARS = 500
MAX_GROUNDING_THRESHOLD = 0.99

_TOPIC_NAME = re.compile(r"^[0-9a-zA-Z\-_ !?.]{1,100}$")
_GUARDRAIL_NAME = re.compile(r"^[0-9a-zA-Z\-_]{1,50}$")

# Inference-profile geography prefixes and the region-name prefixes each routes within.
# "global" profiles route to any commercial region, which data residency cannot allow.
PROFILE_GEOGRAPHIES: dict[str, tuple[str, ...]] = {
    "us": ("us-",),
    "eu": ("eu-",),
    "apac": ("ap-",),
    "ca": ("ca-",),
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "au": ("ap-southeast-2", "ap-southeast-4"),
}
_MODEL_ID = re.compile(r"^[a-z0-9-]{1,63}\.[a-z0-9][a-z0-9.:-]{0,127}$")


class Problem(NamedTuple):
    """Why a value is invalid: field path (relative), the value, what is allowed."""

    path: str
    value: Any
    allowed: str


@dataclass(frozen=True)
class DeniedTopic:
    """A topic the guardrail refuses, in input and output."""

    name: str
    definition: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContentFilter:
    """Strength of one content filter on prompts (input) and answers (output)."""

    type: str
    input_strength: str
    output_strength: str


@dataclass(frozen=True)
class RegexFilter:
    """A custom sensitive-information pattern and what to do when it matches."""

    name: str
    pattern: str
    action: str
    description: str = ""


@dataclass(frozen=True)
class GuardrailSpec:
    """Everything a guardrail does, validated by ``guardrail_problem``.

    ``content_filters`` must name each of ``CONTENT_FILTER_TYPES`` once; ``PROMPT_ATTACK`` applies
    to input only (its output strength must be ``NONE``). ``pii_block``/``pii_anonymize`` are PII
    entity types from ``PII_ENTITY_TYPES`` (disjoint). ``grounding_threshold`` and
    ``relevance_threshold`` (0-0.99) turn on contextual grounding checks; ``None`` leaves one off.
    """

    blocked_input_message: str
    blocked_output_message: str
    content_filters: tuple[ContentFilter, ...]
    denied_topics: tuple[DeniedTopic, ...] = ()
    pii_block: tuple[str, ...] = ()
    pii_anonymize: tuple[str, ...] = ()
    regexes: tuple[RegexFilter, ...] = ()
    words: tuple[str, ...] = ()
    profanity_filter: bool = True
    grounding_threshold: float | None = None
    relevance_threshold: float | None = None
    description: str = field(default="Platform guardrail")


def _text_problem(path: str, value: str, low: int, high: int) -> Problem | None:
    if not low <= len(value) <= high:
        return Problem(path, value, f"a string of {low}-{high} characters")
    return None


def guardrail_name_problem(name: str) -> Problem | None:
    """A guardrail name: 1-50 letters, digits, hyphens or underscores."""
    if not _GUARDRAIL_NAME.match(name):
        return Problem("name", name, "1-50 letters, digits, hyphens or underscores")
    return None


def _threshold_problem(path: str, value: float | None) -> Problem | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Problem(path, value, f"a number from 0 to {MAX_GROUNDING_THRESHOLD}, or null")
    if not 0 <= value <= MAX_GROUNDING_THRESHOLD:
        return Problem(path, value, f"a number from 0 to {MAX_GROUNDING_THRESHOLD}, or null")
    return None


def _filters_problem(filters: Sequence[ContentFilter]) -> Problem | None:
    seen: set[str] = set()
    for item in filters:
        path = f"content_filters.{item.type}"
        if item.type not in CONTENT_FILTER_TYPES:
            return Problem(
                "content_filters", item.type, f"a filter type: {', '.join(CONTENT_FILTER_TYPES)}"
            )
        if item.type in seen:
            return Problem("content_filters", item.type, "each filter type at most once")
        seen.add(item.type)
        for side, strength in (("input", item.input_strength), ("output", item.output_strength)):
            if strength not in FILTER_STRENGTHS:
                return Problem(
                    f"{path}.{side}", strength, f"a filter strength: {', '.join(FILTER_STRENGTHS)}"
                )
        if item.type == "PROMPT_ATTACK" and item.output_strength != "NONE":
            return Problem(
                f"{path}.output",
                item.output_strength,
                "NONE: prompt-attack filtering applies to input only",
            )
    missing = [t for t in CONTENT_FILTER_TYPES if t not in seen]
    if missing:
        return Problem(
            "content_filters",
            sorted(seen),
            f"all six filters configured; missing {', '.join(missing)}",
        )
    return None


def _topics_problem(topics: Sequence[DeniedTopic]) -> Problem | None:
    if len(topics) > MAX_TOPICS:
        return Problem("denied_topics", len(topics), f"at most {MAX_TOPICS} topics")
    names: set[str] = set()
    for index, topic in enumerate(topics):
        path = f"denied_topics[{index}]"
        if not _TOPIC_NAME.match(topic.name):
            return Problem(
                f"{path}.name",
                topic.name,
                "1-100 characters: letters, digits, spaces and - _ ! ? .",
            )
        if topic.name in names:
            return Problem(f"{path}.name", topic.name, "each topic name at most once")
        names.add(topic.name)
        problem = _text_problem(f"{path}.definition", topic.definition, 1, 200)
        if problem:
            return problem
        if len(topic.examples) > MAX_TOPIC_EXAMPLES:
            return Problem(
                f"{path}.examples", len(topic.examples), f"at most {MAX_TOPIC_EXAMPLES} examples"
            )
        for example in topic.examples:
            problem = _text_problem(f"{path}.examples", example, 1, 100)
            if problem:
                return problem
    return None


def _pii_problem(block: Sequence[str], anonymize: Sequence[str]) -> Problem | None:
    known = ", ".join(sorted(PII_ENTITY_TYPES))
    for name, types in (("pii_block", block), ("pii_anonymize", anonymize)):
        for entity in types:
            if entity not in PII_ENTITY_TYPES:
                return Problem(name, entity, f"a PII entity type: {known}")
        duplicates = sorted({t for t in types if list(types).count(t) > 1})
        if duplicates:
            return Problem(name, duplicates[0], "each entity type at most once")
    both = sorted(set(block) & set(anonymize))
    if both:
        return Problem("pii_anonymize", both[0], "an entity type not already in pii_block")
    return None


def _regex_problem(regexes: Sequence[RegexFilter]) -> Problem | None:
    if len(regexes) > MAX_REGEXES:
        return Problem("regexes", len(regexes), f"at most {MAX_REGEXES} patterns")
    names: set[str] = set()
    for index, regex in enumerate(regexes):
        path = f"regexes[{index}]"
        problem = _text_problem(f"{path}.name", regex.name, 1, 100)
        if problem:
            return problem
        if regex.name in names:
            return Problem(f"{path}.name", regex.name, "each pattern name at most once")
        names.add(regex.name)
        problem = _text_problem(f"{path}.pattern", regex.pattern, 1, MAX_REGEX_PATTERN_CHARS)
        if problem:
            return problem
        try:
            re.compile(regex.pattern)
        except re.error as err:
            return Problem(f"{path}.pattern", regex.pattern, f"a valid regular expression ({err})")
        if regex.action not in SENSITIVE_ACTIONS:
            return Problem(f"{path}.action", regex.action, " or ".join(SENSITIVE_ACTIONS))
        if regex.description:
            problem = _text_problem(f"{path}.description", regex.description, 1, 1000)
            if problem:
                return problem
    return None


def _words_problem(words: Sequence[str]) -> Problem | None:
    if len(words) > MAX_WORDS:
        return Problem("words", len(words), f"at most {MAX_WORDS} words")
    seen: set[str] = set()
    for word in words:
        problem = _text_problem("words", word, 1, 100)
        if problem:
            return problem
        if word.lower() in seen:
            return Problem("words", word, "each word at most once (case-insensitive)")
        seen.add(word.lower())
    return None


def guardrail_problem(spec: GuardrailSpec) -> Problem | None:
    """The first rule ``spec`` breaks, or ``None``."""
    for path, text in (
        ("blocked_input_message", spec.blocked_input_message),
        ("blocked_output_message", spec.blocked_output_message),
    ):
        problem = _text_problem(path, text, 1, MAX_MESSAGE_CHARS)
        if problem:
            return problem
    problem = _text_problem("description", spec.description, 1, 200)
    return (
        problem
        or _filters_problem(spec.content_filters)
        or _topics_problem(spec.denied_topics)
        or _pii_problem(spec.pii_block, spec.pii_anonymize)
        or _regex_problem(spec.regexes)
        or _words_problem(spec.words)
        or _threshold_problem("grounding_threshold", spec.grounding_threshold)
        or _threshold_problem("relevance_threshold", spec.relevance_threshold)
    )


# --------------------------------------------------------------------------- model identifiers


def profile_geography(model_id: str) -> str | None:
    """The geography prefix of a system-defined inference profile ID (``us.``...), or ``None``."""
    head = model_id.split(".", 1)[0]
    return head if head in PROFILE_GEOGRAPHIES or head == "global" else None


def foundation_model_of(model_id: str) -> str:
    """The foundation model an ID names: the ID itself, or the profile's model."""
    return model_id.split(".", 1)[1] if profile_geography(model_id) else model_id


def _in_geography(region: str, geography: str) -> bool:
    return any(region.startswith(prefix) for prefix in PROFILE_GEOGRAPHIES[geography])


def model_id_problem(model_id: str, region: str) -> str | None:
    """Why ``model_id`` cannot be allow-listed in ``region``, or ``None``.

    Accepted: a foundation model ID (``provider.model[:version]``) or a system-defined
    inference profile of the region's own geography (``us.``, ``eu.``, ``apac.``...). ``global.``
    profiles route to any commercial region and are refused (data residency).
    """
    geography = profile_geography(model_id)
    if geography == "global":
        return "global inference profiles route to any region; data residency forbids them"
    if geography is not None and not _in_geography(region, geography):
        return f"a {geography}. inference profile does not serve {region}"
    if not _MODEL_ID.match(foundation_model_of(model_id)):
        return (
            "a foundation model ID such as anthropic.claude-3-haiku-20240307-v1:0, or an "
            "inference profile ID such as us.amazon.nova-pro-v1:0"
        )
    return None


@dataclass(frozen=True)
class ModelGrants:
    """IAM resources that let a principal invoke an allow-list of model IDs.

    ``foundation_models``: foundation-model ARNs invoked directly in the environment's region.
    ``profiles``: inference-profile ARNs. ``profile_models``: foundation-model ARNs the profiles
    route to, restricted to the allowed regions of the profile's geography; grant them only with
    the condition ``bedrock:InferenceProfileArn`` equal to one of ``profiles``.
    """

    foundation_models: tuple[str, ...]
    profiles: tuple[str, ...]
    profile_models: tuple[str, ...]


def model_grants(
    model_ids: Sequence[str],
    *,
    partition: str,
    region: str,
    account: str,
    allowed_regions: Sequence[str],
) -> ModelGrants:
    """Resource ARNs for ``model_ids`` (validated with ``model_id_problem``).

    Raises:
        ValueError: an ID is not valid in ``region``.
    """
    direct: list[str] = []
    profiles: list[str] = []
    routed: list[str] = []
    for model_id in model_ids:
        problem = model_id_problem(model_id, region)
        if problem:
            raise ValueError(f"model {model_id!r}: {problem}")
        geography = profile_geography(model_id)
        if geography is None:
            direct.append(f"arn:{partition}:bedrock:{region}::foundation-model/{model_id}")
            continue
        profiles.append(f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{model_id}")
        model = foundation_model_of(model_id)
        routed.extend(
            f"arn:{partition}:bedrock:{destination}::foundation-model/{model}"
            for destination in allowed_regions
            if _in_geography(destination, geography)
        )
    return ModelGrants(tuple(direct), tuple(profiles), tuple(dict.fromkeys(routed)))
