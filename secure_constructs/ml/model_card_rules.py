"""The model card document kept in the repository, and its schema check (pure Python).

A model card is a governance record: what the model is for, what can go wrong, where its data
comes from and under which licences, and how it was evaluated. The platform keeps it as a
reviewed JSON file (``governance/model_card.json``; format in ``governance/README.md``) and
deploys it as a SageMaker model card (``AWS::SageMaker::ModelCard``). ``parse_model_card`` checks
the file against the schema below and the limits of the CloudFormation resource, and returns a
``ModelCard``; the first problem raises ``ModelCardError`` naming the field.

Schema (every string non-empty; ``?`` marks an optional field)::

    {
      "schema_version": 1,
      "model_name": str (1-63: letters, digits, hyphens),
      "overview": {"description", "owner", "creator", "problem_type", "algorithm_type"},
      "intended_use": {"purpose", "intended_uses", "out_of_scope",
                       "risk_rating": "High" | "Medium" | "Low" | "Unknown",
                       "risk_rating_explanation"},
      "risks": {"known_risks", "ethical_considerations", "caveats_and_recommendations"},
      "business": {"problem", "stakeholders", "line_of_business"},
      "data_origin": {"sources": [str, ...], "collection", "processing",
                      "licences": [{"name", "terms"}, ...]},
      "training": {"datasets": [str, ...], "observations"},
      "evaluation": [{"name", "datasets": [str, ...], "observation",
                      "metrics": [{"name", "value": number, "notes"?}, ...]}, ...]
    }
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
RISK_RATINGS: tuple[str, ...] = ("High", "Medium", "Low", "Unknown")
MODEL_CARD_STATUSES: tuple[str, ...] = ("Draft", "PendingReview", "Approved", "Archived")
MAX_CONTENT_CHARS = 100_000  # AWS::SageMaker::ModelCard Content maxLength
_MODEL_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

_TOP_KEYS = (
    "schema_version",
    "model_name",
    "overview",
    "intended_use",
    "risks",
    "business",
    "data_origin",
    "training",
    "evaluation",
)


class ModelCardError(ValueError):
    """The model card file breaks the schema: ``path`` (dotted field), ``value``, ``allowed``."""

    def __init__(self, path: str, value: Any, allowed: str) -> None:
        self.path = path
        self.value = value
        self.allowed = allowed
        super().__init__(f"{path} = {json.dumps(value, default=str)[:200]}: {allowed}")


@dataclass(frozen=True)
class Licence:
    """A licence or terms of use that applies to the model's data or weights."""

    name: str
    terms: str


@dataclass(frozen=True)
class Metric:
    """One numeric evaluation result."""

    name: str
    value: float
    notes: str | None = None


@dataclass(frozen=True)
class Evaluation:
    """One evaluation: datasets, what was observed and the metrics."""

    name: str
    datasets: tuple[str, ...]
    observation: str
    metrics: tuple[Metric, ...]


@dataclass(frozen=True)
class ModelCard:
    """A validated model card document (field meanings: see the module docstring)."""

    model_name: str
    overview: Mapping[str, str]
    intended_use: Mapping[str, str]
    risks: Mapping[str, str]
    business: Mapping[str, str]
    data_sources: tuple[str, ...]
    data_collection: str
    data_processing: str
    licences: tuple[Licence, ...]
    training_datasets: tuple[str, ...]
    training_observations: str
    evaluations: tuple[Evaluation, ...]


def _object(
    raw: Any, path: str, keys: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ModelCardError(path, raw, f"an object with {', '.join(keys)}")
    for key in raw:
        if key not in keys and key not in optional:
            raise ModelCardError(
                f"{path}.{key}" if path else key,
                raw[key],
                f"unknown field; known: {', '.join(sorted((*keys, *optional)))}",
            )
    for key in keys:
        if key not in raw:
            raise ModelCardError(f"{path}.{key}" if path else key, "(missing)", "required")
    return raw


def _text(raw: Any, path: str, limit: int) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ModelCardError(path, raw, f"a non-empty string of at most {limit} characters")
    if len(raw) > limit:
        raise ModelCardError(path, raw, f"at most {limit} characters (has {len(raw)})")
    return raw


def _texts(raw: Any, path: str, limit: int, max_items: int) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise ModelCardError(path, raw, f"a list of 1-{max_items} strings")
    if len(raw) > max_items:
        raise ModelCardError(path, len(raw), f"at most {max_items} entries")
    return tuple(_text(item, f"{path}[{i}]", limit) for i, item in enumerate(raw))


def _section(
    raw: Mapping[str, Any], name: str, fields: tuple[str, ...], limit: int
) -> dict[str, str]:
    section = _object(raw[name], name, fields)
    return {key: _text(section[key], f"{name}.{key}", limit) for key in fields}


def _evaluations(raw: Any) -> tuple[Evaluation, ...]:
    if not isinstance(raw, list) or not raw:
        raise ModelCardError("evaluation", raw, "a list of at least one evaluation")
    found: list[Evaluation] = []
    for index, item in enumerate(raw):
        path = f"evaluation[{index}]"
        entry = _object(item, path, ("name", "datasets", "observation", "metrics"))
        name = _text(entry["name"], f"{path}.name", 63)
        metrics_raw = entry["metrics"]
        if not isinstance(metrics_raw, list) or not metrics_raw:
            raise ModelCardError(f"{path}.metrics", metrics_raw, "a list of at least one metric")
        metrics: list[Metric] = []
        for m_index, metric in enumerate(metrics_raw):
            m_path = f"{path}.metrics[{m_index}]"
            values = _object(metric, m_path, ("name", "value"), optional=("notes",))
            value = values["value"]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ModelCardError(f"{m_path}.value", value, "a number")
            notes = values.get("notes")
            metrics.append(
                Metric(
                    name=_text(values["name"], f"{m_path}.name", 255),
                    value=float(value),
                    notes=None if notes is None else _text(notes, f"{m_path}.notes", 1024),
                )
            )
        found.append(
            Evaluation(
                name=name,
                datasets=_texts(entry["datasets"], f"{path}.datasets", 1024, 10),
                observation=_text(entry["observation"], f"{path}.observation", 2096),
                metrics=tuple(metrics),
            )
        )
    return tuple(found)


def parse_model_card(raw: Any) -> ModelCard:
    """Validate a decoded model card document.

    Raises:
        ModelCardError: the first field that breaks the schema.
    """
    doc = _object(raw, "", _TOP_KEYS)
    version = doc["schema_version"]
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise ModelCardError("schema_version", version, f"{SCHEMA_VERSION}")
    name = doc["model_name"]
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        raise ModelCardError("model_name", name, "1-63 letters, digits and single hyphens")
    overview = _section(
        doc, "overview", ("description", "owner", "creator", "problem_type", "algorithm_type"), 1024
    )
    intended = _object(
        doc["intended_use"],
        "intended_use",
        ("purpose", "intended_uses", "out_of_scope", "risk_rating", "risk_rating_explanation"),
    )
    if intended["risk_rating"] not in RISK_RATINGS:
        raise ModelCardError(
            "intended_use.risk_rating", intended["risk_rating"], f"one of {', '.join(RISK_RATINGS)}"
        )
    intended_use = {
        key: _text(intended[key], f"intended_use.{key}", 2048)
        for key in ("purpose", "intended_uses", "out_of_scope", "risk_rating_explanation")
    }
    intended_use["risk_rating"] = intended["risk_rating"]
    risks = _section(
        doc, "risks", ("known_risks", "ethical_considerations", "caveats_and_recommendations"), 2048
    )
    business = _section(doc, "business", ("problem", "stakeholders", "line_of_business"), 2048)
    origin = _object(
        doc["data_origin"], "data_origin", ("sources", "collection", "processing", "licences")
    )
    licences_raw = origin["licences"]
    if not isinstance(licences_raw, list) or not licences_raw:
        raise ModelCardError("data_origin.licences", licences_raw, "a list of at least one licence")
    licences = []
    for index, item in enumerate(licences_raw):
        path = f"data_origin.licences[{index}]"
        entry = _object(item, path, ("name", "terms"))
        licences.append(
            Licence(
                _text(entry["name"], f"{path}.name", 200),
                _text(entry["terms"], f"{path}.terms", 800),
            )
        )
    training = _object(doc["training"], "training", ("datasets", "observations"))
    card = ModelCard(
        model_name=name,
        overview=overview,
        intended_use=intended_use,
        risks=risks,
        business=business,
        data_sources=_texts(origin["sources"], "data_origin.sources", 1024, 15),
        data_collection=_text(origin["collection"], "data_origin.collection", 1024),
        data_processing=_text(origin["processing"], "data_origin.processing", 1024),
        licences=tuple(licences),
        training_datasets=_texts(training["datasets"], "training.datasets", 1024, 15),
        training_observations=_text(training["observations"], "training.observations", 1024),
        evaluations=_evaluations(doc["evaluation"]),
    )
    # Custom details hold the data origin, licences and risks: each at most 1024 characters.
    for key, value in custom_details(card).items():
        if len(value) > 1024:
            raise ModelCardError(
                _CUSTOM_DETAIL_SOURCES[key], len(value), "at most 1024 characters in all"
            )
    size = len(json.dumps(raw))
    if size > MAX_CONTENT_CHARS:
        raise ModelCardError("", size, f"a document of at most {MAX_CONTENT_CHARS} characters")
    return card


def load_model_card(path: Path) -> ModelCard:
    """Read and validate a model card file.

    Raises:
        ModelCardError: unreadable, not JSON, or breaking the schema.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelCardError("", str(path), "an existing model card file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelCardError("", str(path), f"a readable JSON document ({err})") from None
    return parse_model_card(raw)


def custom_details(card: ModelCard) -> dict[str, str]:
    """The model card's custom details: data origin, licences and known risks, one string each."""
    return {
        "data_sources": "; ".join(card.data_sources),
        "data_collection": card.data_collection,
        "data_processing": card.data_processing,
        "licences": "; ".join(f"{lic.name}: {lic.terms}" for lic in card.licences),
        "known_risks": card.risks["known_risks"],
        "out_of_scope_uses": card.intended_use["out_of_scope"],
    }


_CUSTOM_DETAIL_SOURCES = {
    "data_sources": "data_origin.sources",
    "data_collection": "data_origin.collection",
    "data_processing": "data_origin.processing",
    "licences": "data_origin.licences",
    "known_risks": "risks.known_risks",
    "out_of_scope_uses": "intended_use.out_of_scope",
}
