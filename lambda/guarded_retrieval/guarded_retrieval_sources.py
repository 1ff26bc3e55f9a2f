"""The passages ``Retrieve`` returned that may ground an answer, and the citations they give.

A result is kept when its ``content.text`` is not blank and its ``location.s3Location.uri`` is
``s3://<KNOWLEDGE_BUCKET>/<key>`` with the key under ``KNOWLEDGE_PREFIX``. Results from anywhere
else (another bucket or prefix, a web or other location, no location) are dropped and counted:
the knowledge base should never return them (defence in depth). The kept passages, highest score
first, are then cut to ``GROUNDING_CHARS_LIMIT`` characters in all (the contextual grounding
limit): the first passage that would pass it is dropped with every lower-scored one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guarded_retrieval_settings import Settings
from handler_kit.bedrock import GROUNDING_CHARS_LIMIT

S3_SCHEME = "s3://"


@dataclass(frozen=True)
class Passage:
    """A retrieved passage from the knowledge prefix."""

    text: str
    key: str
    score: float | None


@dataclass(frozen=True)
class Selection:
    """The passages to send, highest score first, and how many results were dropped, and why."""

    passages: tuple[Passage, ...]
    results: int
    blank: int
    foreign: int
    over_limit: int

    @property
    def chars(self) -> int:
        """Characters of grounding source sent."""
        return sum(len(passage.text) for passage in self.passages)


def object_key(result: dict[str, Any], settings: Settings) -> str | None:
    """The key of a result's S3 object when it lies under the knowledge prefix, else None."""
    location = result.get("location")
    s3 = location.get("s3Location") if isinstance(location, dict) else None
    uri = s3.get("uri") if isinstance(s3, dict) else None
    if not isinstance(uri, str) or not uri.startswith(S3_SCHEME):
        return None
    bucket, _, key = uri[len(S3_SCHEME) :].partition("/")
    if bucket != settings.knowledge_bucket or not key.startswith(settings.knowledge_prefix):
        return None
    return key


def _score(result: dict[str, Any]) -> float | None:
    score = result.get("score")
    return float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None


def select_passages(
    results: list[Any], settings: Settings, limit: int = GROUNDING_CHARS_LIMIT
) -> Selection:
    """Keep the results that may ground an answer, highest score first, ``limit`` chars in all."""
    kept: list[Passage] = []
    blank = foreign = 0
    for result in results:
        if not isinstance(result, dict):
            foreign += 1
            continue
        key = object_key(result, settings)
        if key is None:
            foreign += 1
            continue
        content = result.get("content")
        text = content.get("text") if isinstance(content, dict) else None
        if not isinstance(text, str) or not text.strip():
            blank += 1
            continue
        kept.append(Passage(text=text, key=key, score=_score(result)))
    # Stable: equal scores keep Retrieve's order; passages without a score come last.
    kept.sort(key=lambda p: (p.score is None, -(p.score or 0.0)))
    total = 0
    sent = len(kept)
    for index, passage in enumerate(kept):
        if total + len(passage.text) > limit:
            sent = index
            break
        total += len(passage.text)
    return Selection(
        passages=tuple(kept[:sent]),
        results=len(results),
        blank=blank,
        foreign=foreign,
        over_limit=len(kept) - sent,
    )


def citations(passages: tuple[Passage, ...]) -> list[dict[str, Any]]:
    """One citation per object key, in the order of the passages (relevance), best score kept."""
    seen: dict[str, float | None] = {}
    for passage in passages:
        seen.setdefault(passage.key, passage.score)
    return [{"key": key, "score": score} for key, score in seen.items()]
