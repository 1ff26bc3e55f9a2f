"""The caller's request: validation (``InvalidRequest``) and the exact Bedrock parameters.

See ``guarded_retrieval.py`` for the request shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from guarded_retrieval_settings import Settings
from handler_kit.bedrock import InvalidRequest as InvalidRequest
from handler_kit.bedrock import (
    allowed_model,
    grounded_content,
    guardrail_config,
    optional_count,
    required_text,
)

REQUEST_FIELDS = ("question", "modelId", "maxTokens", "numberOfResults")
SYSTEM_PROMPT = (
    "Answer the user's question using only the information in the sources provided with it. "
    "If the sources do not contain the answer, say that you do not know; do not guess and do "
    "not use any other knowledge."
)
"""The fixed instruction sent as ``system``: the answer comes from the sources or not at all."""


@dataclass(frozen=True)
class Request:
    """A validated caller request."""

    question: str
    model_id: str
    max_tokens: int
    number_of_results: int


def parse_request(event: Any, settings: Settings) -> Request:
    """Validate the caller's event.

    Raises:
        InvalidRequest: the request cannot be served.
    """
    if not isinstance(event, dict):
        raise InvalidRequest("not-an-object", "the request must be a JSON object")
    unknown = sorted(str(key)[:100] for key in event if key not in REQUEST_FIELDS)
    if unknown:
        shown = ", ".join(repr(key) for key in unknown[:5])
        raise InvalidRequest(
            "unknown-field",
            f"unknown request field(s) {shown}; allowed: {', '.join(REQUEST_FIELDS)}",
        )
    question = required_text(event, "question", settings.max_question_chars)
    max_tokens = optional_count(
        event, "maxTokens", settings.max_output_tokens, "max-tokens-invalid"
    )
    results = optional_count(
        event, "numberOfResults", settings.max_results, "number-of-results-invalid"
    )
    return Request(
        question=question,
        model_id=allowed_model(event, settings.default_model_id, settings.allowed_model_ids),
        max_tokens=settings.max_output_tokens if max_tokens is None else max_tokens,
        number_of_results=settings.number_of_results if results is None else results,
    )


def retrieve_params(request: Request, settings: Settings) -> dict[str, Any]:
    """The exact bedrock-agent-runtime ``retrieve`` parameters (no guardrail: see the entry)."""
    return {
        "knowledgeBaseId": settings.knowledge_base_id,
        "retrievalQuery": {"text": request.question},
        "retrievalConfiguration": {
            "vectorSearchConfiguration": {"numberOfResults": request.number_of_results}
        },
    }


def converse_params(
    request: Request, passages: Sequence[str], settings: Settings
) -> dict[str, Any]:
    """The exact ``converse`` parameters: passages as grounding sources, the question as query."""
    return {
        "modelId": request.model_id,
        "messages": [{"role": "user", "content": grounded_content(passages, request.question)}],
        "system": [{"text": SYSTEM_PROMPT}],
        "inferenceConfig": {"maxTokens": request.max_tokens},
        "guardrailConfig": guardrail_config(settings.guardrail_id, settings.guardrail_version),
    }
