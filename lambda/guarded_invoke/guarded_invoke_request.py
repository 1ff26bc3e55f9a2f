"""The caller's request: validation (``InvalidRequest``) and the exact ``converse`` parameters.

See ``guarded_invoke.py`` for the request shape and what contextual grounding needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guarded_invoke_settings import Settings
from handler_kit.bedrock import InvalidRequest as InvalidRequest
from handler_kit.bedrock import (
    allowed_model,
    grounded_content,
    guardrail_config,
    optional_count,
    required_text,
)

# A platform bound on passages (one guardContent block each), not a documented Bedrock limit.
MAX_GROUNDING_PASSAGES = 50


@dataclass(frozen=True)
class Request:
    """A validated caller request."""

    prompt: str
    model_id: str
    max_tokens: int | None
    system: str | None
    grounding_source: tuple[str, ...] | None = None


def parse_grounding_source(event: dict[str, Any], settings: Settings) -> tuple[str, ...] | None:
    """The grounding passages of a request, or None when it sends none.

    Raises:
        InvalidRequest: groundingSource is malformed, or the request uses ``grounding_source``.
    """
    if "grounding_source" in event:
        raise InvalidRequest(
            "grounding-source-misnamed",
            "grounding_source is not a request field; send the grounding text as groundingSource",
        )
    raw = event.get("groundingSource")
    if raw is None:
        return None
    if isinstance(raw, str):
        named = [("groundingSource", raw)]
    elif isinstance(raw, list):
        if not raw:
            raise InvalidRequest("grounding-source-empty", "groundingSource is an empty list")
        if len(raw) > MAX_GROUNDING_PASSAGES:
            raise InvalidRequest(
                "grounding-source-too-many",
                f"groundingSource has {len(raw)} passages; the limit is {MAX_GROUNDING_PASSAGES}",
            )
        named = [(f"groundingSource[{index}]", item) for index, item in enumerate(raw)]
    else:
        raise InvalidRequest(
            "grounding-source-invalid", "groundingSource must be a string or a list of strings"
        )
    for name, passage in named:
        if not isinstance(passage, str):
            raise InvalidRequest("grounding-source-invalid", f"{name} must be a string")
        if not passage.strip():
            raise InvalidRequest("grounding-source-empty", f"{name} is empty")
    total = sum(len(passage) for _, passage in named)
    if total > settings.max_grounding_chars:
        raise InvalidRequest(
            "grounding-source-too-long",
            f"groundingSource has {total} characters; the limit is {settings.max_grounding_chars}",
        )
    return tuple(passage for _, passage in named)


def parse_request(event: Any, settings: Settings) -> Request:
    """Validate the caller's event.

    Raises:
        InvalidRequest: the request cannot be served.
    """
    if not isinstance(event, dict):
        raise InvalidRequest("not-an-object", "the request must be a JSON object")
    prompt = required_text(event, "prompt", settings.max_prompt_chars)
    system = event.get("system")
    if system is not None:
        if not isinstance(system, str):
            raise InvalidRequest("system-invalid", "system must be a string")
        if len(system) > settings.max_prompt_chars:
            raise InvalidRequest(
                "system-too-long",
                f"system has {len(system)} characters; the limit is {settings.max_prompt_chars}",
            )
        system = system if system.strip() else None
    max_tokens = optional_count(
        event, "maxTokens", settings.max_output_tokens, "max-tokens-invalid"
    )
    model_id = allowed_model(event, settings.default_model_id, settings.allowed_model_ids)
    return Request(
        prompt=prompt,
        model_id=model_id,
        max_tokens=max_tokens,
        system=system,
        grounding_source=parse_grounding_source(event, settings),
    )


def converse_params(request: Request, settings: Settings) -> dict[str, Any]:
    """The exact ``converse`` parameters for a request.

    Without a grounding source the prompt is a plain text block (the guardrail assesses the whole
    message); with one, each passage is a ``grounding_source`` guardContent block and the prompt
    a ``query`` guardContent block, so the contextual grounding check has what it needs.
    """
    content: list[dict[str, Any]]
    if request.grounding_source is None:
        content = [{"text": request.prompt}]
    else:
        content = grounded_content(request.grounding_source, request.prompt)
    params: dict[str, Any] = {
        "modelId": request.model_id,
        "messages": [{"role": "user", "content": content}],
        "guardrailConfig": guardrail_config(settings.guardrail_id, settings.guardrail_version),
    }
    if request.system is not None:
        params["system"] = [{"text": request.system}]
    if request.max_tokens is not None:
        params["inferenceConfig"] = {"maxTokens": request.max_tokens}
    return params
