"""Detection and redaction: split text for DetectPHI, collect entities, replace them.

See ``phi_redaction.py`` for the DetectPHI input limit, the re-split of truncated results and
the score policy.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from handler_kit.errors import error_code
from handler_kit.log import log
from phi_redaction_settings import Settings

DETECT_PHI_MAX_BYTES = 20_000
"""Documented DetectPHI limit: Text must contain fewer than 20,000 bytes (max length 20000)."""

MAX_RESPLIT_DEPTH = 3
FINDINGS_SCHEMA_VERSION = 1

PERMANENT_CM_ERRORS = frozenset(
    {"InvalidRequestException", "TextSizeLimitExceededException", "InvalidEncodingException"}
)
"""Comprehend Medical errors that the same input reproduces on every retry."""

_PLACEHOLDER_RE = re.compile(r"[^A-Z0-9_]")
_MIN_CHUNK_BYTES = 8  # room for one 4-byte character under a strict "fewer than" limit


class PermanentError(Exception):
    """The object can never be processed as it is: dead-letter it, do not retry."""

    def __init__(self, reason: str, error_code: str | None = None) -> None:
        """Record a short machine-readable reason and, optionally, the service error code."""
        super().__init__(reason if error_code is None else f"{reason} ({error_code})")
        self.reason = reason
        self.error_code = error_code


@dataclass(frozen=True)
class PhiEntity:
    """One PHI entity, offsets in code points of the full text (end exclusive)."""

    type: str
    category: str
    begin: int
    end: int
    score: float


def _break_point(text: str, start: int, end: int) -> int:
    """Where to cut ``text[start:end]``: after a late line break, else after whitespace."""
    newline = text.rfind("\n", start, end)
    if newline >= start + (end - start) // 2:
        return newline + 1
    for index in range(end - 1, start - 1, -1):
        if text[index].isspace():
            return index + 1
    return end


def split_text(text: str, max_bytes: int = DETECT_PHI_MAX_BYTES) -> list[tuple[int, str]]:
    """Split ``text`` into ``(offset, chunk)`` pieces of fewer than ``max_bytes`` UTF-8 bytes.

    Cuts fall after a line break in the second half of the window, else after the last
    whitespace, else (a run with no whitespace) at the last whole character that fits. Cuts are
    between code points, so a multi-byte character is never split. Offsets are code-point
    indexes into ``text``; ``"".join(chunks) == text``.

    Raises:
        ValueError: ``max_bytes`` is too small to hold one 4-byte character.
    """
    if max_bytes < _MIN_CHUNK_BYTES:
        raise ValueError(f"max_bytes must be at least {_MIN_CHUNK_BYTES}, got {max_bytes}")
    budget = max_bytes - 1  # the documented limit is strict: "fewer than"
    chunks: list[tuple[int, str]] = []
    start = 0
    length = len(text)
    while start < length:
        window = text[start : start + budget]  # never more bytes than characters
        fit = len(window.encode("utf-8")[:budget].decode("utf-8", "ignore"))
        end = start + fit
        if end < length:
            end = _break_point(text, start, end)
        chunks.append((start, text[start:end]))
        start = end
    return chunks


def _entities_of(response: dict[str, Any], chunk: str, offset: int) -> list[PhiEntity]:
    found: list[PhiEntity] = []
    for raw in response.get("Entities", []):
        begin, end = raw.get("BeginOffset"), raw.get("EndOffset")
        if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin < end <= len(chunk)):
            raise PermanentError("invalid_entity_offsets")
        found.append(
            PhiEntity(
                type=str(raw.get("Type") or raw.get("Category") or "PHI"),
                category=str(raw.get("Category") or "PROTECTED_HEALTH_INFORMATION"),
                begin=begin + offset,
                end=end + offset,
                score=float(raw.get("Score", 0.0)),
            )
        )
    return found


def _detect_chunk(cm: Any, chunk: str, offset: int, depth: int = 0) -> tuple[list[PhiEntity], int]:
    """Entities of one chunk (full-text offsets) and the number of DetectPHI calls made."""
    try:
        response = cm.detect_phi(Text=chunk)
    except ClientError as exc:
        code = error_code(exc, "Unknown")
        if code in PERMANENT_CM_ERRORS:
            raise PermanentError("comprehend_medical_rejected", code) from exc
        raise
    if not response.get("PaginationToken"):
        return _entities_of(response, chunk, offset), 1
    size = len(chunk.encode("utf-8"))
    if depth >= MAX_RESPLIT_DEPTH or size // 2 < _MIN_CHUNK_BYTES:
        raise PermanentError("detect_phi_result_truncated")
    log("WARNING", "DetectPHI result truncated; re-splitting chunk", chunk_bytes=size, depth=depth)
    entities: list[PhiEntity] = []
    calls = 1
    for sub_offset, sub_chunk in split_text(chunk, size // 2 + 1):
        if sub_chunk.strip():
            sub_entities, sub_calls = _detect_chunk(cm, sub_chunk, offset + sub_offset, depth + 1)
            entities.extend(sub_entities)
            calls += sub_calls
    return entities, calls


def detect_phi(
    cm: Any, text: str, max_bytes: int = DETECT_PHI_MAX_BYTES
) -> tuple[list[PhiEntity], int, int]:
    """Run DetectPHI over ``text`` chunk by chunk.

    Returns:
        The entities in full-text coordinates, the number of chunks and of DetectPHI calls.

    Raises:
        PermanentError: Comprehend Medical rejected the input, or returned unusable results.
        ClientError: any other service error (transient: the caller lets it propagate).
    """
    entities: list[PhiEntity] = []
    chunks = split_text(text, max_bytes)
    calls = 0
    for offset, chunk in chunks:
        if not chunk.strip():
            continue
        chunk_entities, chunk_calls = _detect_chunk(cm, chunk, offset)
        entities.extend(chunk_entities)
        calls += chunk_calls
    return entities, len(chunks), calls


def _placeholder(entity_type: str) -> str:
    return f"[{_PLACEHOLDER_RE.sub('_', entity_type.upper()) or 'PHI'}]"


def should_redact(entity: PhiEntity, settings: Settings) -> bool:
    """Apply the score policy (see the module docstring)."""
    return entity.score >= settings.min_score or settings.redact_low_score


def redact(text: str, entities: list[PhiEntity], settings: Settings) -> str:
    """Replace each entity chosen by the score policy with ``[<TYPE>]``; merge overlaps."""
    spans: list[list[Any]] = []
    for entity in sorted(entities, key=lambda e: (e.begin, -e.end)):
        if not should_redact(entity, settings):
            continue
        if spans and entity.begin < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], entity.end)
            continue
        spans.append([entity.begin, entity.end, entity.type])
    parts: list[str] = []
    position = 0
    for begin, end, entity_type in spans:
        parts.append(text[position:begin])
        parts.append(_placeholder(entity_type))
        position = end
    parts.append(text[position:])
    return "".join(parts)


def findings_record(entities: list[PhiEntity], settings: Settings, **header: Any) -> dict[str, Any]:
    """The findings record written next to the redacted object (never any text)."""
    ordered = sorted(entities, key=lambda e: (e.begin, e.end))
    return {
        "schema_version": FINDINGS_SCHEMA_VERSION,
        **header,
        "min_score": settings.min_score,
        "redact_low_score": settings.redact_low_score,
        "offsets": "code points of the original text, end exclusive",
        "entity_count": len(ordered),
        "redacted_count": sum(1 for e in ordered if should_redact(e, settings)),
        "counts_by_type": dict(sorted(Counter(e.type for e in ordered).items())),
        "entities": [
            {
                "type": e.type,
                "category": e.category,
                "begin_offset": e.begin,
                "end_offset": e.end,
                "score": e.score,
                "redacted": should_redact(e, settings),
            }
            for e in ordered
        ],
    }
