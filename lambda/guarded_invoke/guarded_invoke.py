"""Guarded Bedrock invocation: one prompt through Converse, always behind the platform guardrail.

Applications call this Lambda synchronously (``lambda:InvokeFunction``, RequestResponse) with::

    {"prompt": str, "modelId": str?, "maxTokens": int?, "system": str?,
     "groundingSource": str | [str, ...]?}                                  (? = optional)

It calls Bedrock Runtime ``converse`` with ``guardrailConfig`` ``{"guardrailIdentifier":
GUARDRAIL_ID, "guardrailVersion": GUARDRAIL_VERSION, "trace": "enabled"}`` on the model the event
names when that model is in ``ALLOWED_MODEL_IDS`` (or is ``DEFAULT_MODEL_ID``), on
``DEFAULT_MODEL_ID`` when the event names none, and refuses any other model. The answer is the
text of ``output.message.content[]``; when ``stopReason`` is ``guardrail_intervened`` the same
field holds the guardrail's configured blocked message.

Contextual grounding: the guardrail's grounding and relevance thresholds only act when the
request marks a grounding source and a query. Without ``groundingSource`` the user message is one
plain text block (``{"text": prompt}``) and the guardrail checks no grounding. With it (one text,
or a list of passages that the guardrail evaluates together) the user message is one
``guardContent`` block per passage with the qualifier ``grounding_source``, then the prompt as a
``guardContent`` block with the qualifier ``query`` (shapes ``GuardrailConverseContentBlock`` /
``GuardrailConverseTextBlock``); the model sees the passages and the question, and the guardrail
scores the answer against them. ``groundingChecked`` in the response says which of the two was
sent (true: the answer went through the guarded version's grounding and relevance thresholds;
a version whose thresholds are unset checks nothing either way). The key ``grounding_source``
(the qualifier's spelling) is refused rather than ignored, so a caller cannot lose the check to
a typo.

Responses (the function never raises for a bad request or an unavailable model):

- ``{"status": "ok", "answer", "modelId", "usage", "stopReason", "groundingChecked"}``
- ``{"status": "blocked", "message": <guardrail output text>, "action": "GUARDRAIL_INTERVENED",
  "groundingChecked"}``: any guardrail intervention, ungrounded or irrelevant answers included.
- ``{"status": "rejected", "error"}``: event not an object; prompt missing, empty or longer than
  MAX_PROMPT_CHARS; system not a string or too long; maxTokens not an integer in
  1..MAX_OUTPUT_TOKENS; model not allowed; groundingSource not a string or list of strings, an
  empty list, a blank passage, more than 50 passages or more than MAX_GROUNDING_CHARS characters
  in all; a ``grounding_source`` key; Bedrock ValidationException.
- ``{"status": "unavailable", "error"}``: ThrottlingException, ServiceUnavailableException,
  ModelTimeoutException, ModelNotReadyException, InternalServerException, other 5xx or network
  errors still failing after 3 attempts in total (exponential backoff 0.5 s then 1 s, with
  jitter; the client's own retries are off so the bound holds); ModelErrorException (not retried).

Being synchronous, it dead-letters nothing: the caller gets the answer and each request is
logged. Logs never hold the prompt, the system text or the answer (they may hold PHI): only
lengths, model ID, status, stop reason, token counts, attempts and the guardrail action, the
names of the guardrail policies that assessed the request and (grounding requests) the
grounding and relevance scores.

Environment:
    GUARDRAIL_ID: guardrail ID or ARN (required).
    GUARDRAIL_VERSION: published guardrail version number (required; DRAFT is refused because it
        can change without a deployment).
    DEFAULT_MODEL_ID: model (or inference profile) ID used when the event names none (required).
    ALLOWED_MODEL_IDS: comma-separated further model IDs callers may choose (optional).
    MAX_PROMPT_CHARS: longest prompt (and system text) accepted, default 20000.
    MAX_GROUNDING_CHARS: most characters of groundingSource (all passages together), default and
        maximum 100000 (the contextual grounding policy's limit for a grounding source).
    MAX_OUTPUT_TOKENS: largest maxTokens a caller may ask for, default 4096.
    BEDROCK_ENDPOINT_URL: https URL of the bedrock-runtime VPC interface endpoint (optional;
        with private DNS on the endpoint the default URL already resolves to it).
    BEDROCK_READ_TIMEOUT_SECONDS: read timeout per attempt, default 60 (the function's timeout
        should exceed 3 times this plus 2 s of backoff).

Failure modes:
    Raised (the caller sees a function error and the Errors metric counts it): a missing or
    invalid environment variable (``ConfigurationError``); AccessDeniedException or
    ResourceNotFoundException from Bedrock (the platform is misconfigured, not the request).
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

MAX_ATTEMPTS = 3
BASE_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 4.0
GUARDRAIL_ACTION = "GUARDRAIL_INTERVENED"
# Bedrock's contextual grounding policy takes at most 100,000 characters of grounding source.
GROUNDING_CHARS_LIMIT = 100_000
# A platform bound on passages (one guardContent block each), not a documented Bedrock limit.
MAX_GROUNDING_PASSAGES = 50
TRANSIENT_ERRORS = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "ModelTimeoutException",
        "ModelNotReadyException",
        "InternalServerException",
    }
)
NETWORK_ERRORS = (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
GUARDRAIL_ID_RE = re.compile(
    r"^([a-z0-9]+|arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+)$"
)
GUARDRAIL_VERSION_RE = re.compile(r"^[1-9][0-9]{0,7}$")
NOT_POLICIES = frozenset({"invocationMetrics", "appliedGuardrailDetails"})


class ConfigurationError(Exception):
    """An environment variable is missing or invalid."""


class InvalidRequest(Exception):
    """The caller's request cannot be served; answered with status ``rejected``."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(error)
        self.reason = reason
        self.error = error


def log(level: str, message: str, **fields: Any) -> None:
    """Print one JSON log line to stdout. Never pass prompt, system or answer text."""
    record = {"level": level, "message": message, **fields}
    sys.stdout.write(json.dumps(record, default=str, sort_keys=True) + "\n")


@dataclass(frozen=True)
class Settings:
    """Validated environment configuration."""

    guardrail_id: str
    guardrail_version: str
    default_model_id: str
    allowed_model_ids: frozenset[str]
    max_prompt_chars: int
    max_output_tokens: int
    max_grounding_chars: int
    endpoint_url: str | None
    read_timeout: int


def _int_env(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigurationError(f"{name}={raw!r}: must be a whole number in {low}..{high}")
    return value


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read and validate the environment.

    Raises:
        ConfigurationError: a variable is missing or invalid.
    """
    guardrail_id = env.get("GUARDRAIL_ID", "").strip()
    if not GUARDRAIL_ID_RE.match(guardrail_id):
        raise ConfigurationError(f"GUARDRAIL_ID={guardrail_id!r}: required, a guardrail ID or ARN")
    version = env.get("GUARDRAIL_VERSION", "").strip()
    if not GUARDRAIL_VERSION_RE.match(version):
        raise ConfigurationError(
            f"GUARDRAIL_VERSION={version!r}: required, a published version number (not DRAFT)"
        )
    default_model = env.get("DEFAULT_MODEL_ID", "").strip()
    if not default_model or any(c.isspace() for c in default_model):
        raise ConfigurationError(f"DEFAULT_MODEL_ID={default_model!r}: required, a model ID")
    allowed = {m.strip() for m in env.get("ALLOWED_MODEL_IDS", "").split(",") if m.strip()}
    if any(any(c.isspace() for c in m) for m in allowed):
        raise ConfigurationError(
            f"ALLOWED_MODEL_IDS={env.get('ALLOWED_MODEL_IDS')!r}: comma-separated model IDs"
        )
    endpoint = env.get("BEDROCK_ENDPOINT_URL", "").strip() or None
    if endpoint is not None and not endpoint.startswith("https://"):
        raise ConfigurationError(f"BEDROCK_ENDPOINT_URL={endpoint!r}: must be an https:// URL")
    return Settings(
        guardrail_id=guardrail_id,
        guardrail_version=version,
        default_model_id=default_model,
        allowed_model_ids=frozenset(allowed | {default_model}),
        max_prompt_chars=_int_env(env, "MAX_PROMPT_CHARS", 20000, 1, 1_000_000),
        max_output_tokens=_int_env(env, "MAX_OUTPUT_TOKENS", 4096, 1, 1_000_000),
        max_grounding_chars=_int_env(
            env, "MAX_GROUNDING_CHARS", GROUNDING_CHARS_LIMIT, 1, GROUNDING_CHARS_LIMIT
        ),
        endpoint_url=endpoint,
        read_timeout=_int_env(env, "BEDROCK_READ_TIMEOUT_SECONDS", 60, 1, 900),
    )


def make_clients(settings: Settings) -> Any:
    """Create the bedrock-runtime client; retries are done by ``invoke``, not botocore."""
    boto_config = BotoConfig(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=5,
        read_timeout=settings.read_timeout,
    )
    return boto3.client("bedrock-runtime", endpoint_url=settings.endpoint_url, config=boto_config)


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
    prompt = event.get("prompt")
    if not isinstance(prompt, str):
        raise InvalidRequest("prompt-missing", "prompt must be a string")
    if not prompt.strip():
        raise InvalidRequest("prompt-empty", "prompt is empty")
    if len(prompt) > settings.max_prompt_chars:
        raise InvalidRequest(
            "prompt-too-long",
            f"prompt has {len(prompt)} characters; the limit is {settings.max_prompt_chars}",
        )
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
    max_tokens = event.get("maxTokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool)
        or not isinstance(max_tokens, int)
        or not 1 <= max_tokens <= settings.max_output_tokens
    ):
        raise InvalidRequest(
            "max-tokens-invalid",
            f"maxTokens must be an integer in 1..{settings.max_output_tokens}",
        )
    model_id = event.get("modelId")
    if model_id is None:
        model_id = settings.default_model_id
    elif not isinstance(model_id, str) or model_id not in settings.allowed_model_ids:
        shown = model_id[:200] if isinstance(model_id, str) else type(model_id).__name__
        raise InvalidRequest("model-not-allowed", f"model {shown!r} is not allowed")
    return Request(
        prompt=prompt,
        model_id=model_id,
        max_tokens=max_tokens,
        system=system,
        grounding_source=parse_grounding_source(event, settings),
    )


def _guard_text(text: str, qualifier: str) -> dict[str, Any]:
    """A ``guardContent`` content block (GuardrailConverseTextBlock) with one qualifier."""
    return {"guardContent": {"text": {"text": text, "qualifiers": [qualifier]}}}


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
        content = [_guard_text(passage, "grounding_source") for passage in request.grounding_source]
        content.append(_guard_text(request.prompt, "query"))
    params: dict[str, Any] = {
        "modelId": request.model_id,
        "messages": [{"role": "user", "content": content}],
        "guardrailConfig": {
            "guardrailIdentifier": settings.guardrail_id,
            "guardrailVersion": settings.guardrail_version,
            "trace": "enabled",
        },
    }
    if request.system is not None:
        params["system"] = [{"text": request.system}]
    if request.max_tokens is not None:
        params["inferenceConfig"] = {"maxTokens": request.max_tokens}
    return params


def backoff_delay(attempt: int, rand: Callable[[], float]) -> float:
    """Delay before the next attempt: exponential from 0.5 s, capped, with jitter in [50%, 100%]."""
    base: float = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2.0 ** (attempt - 1))
    return base * (0.5 + rand() / 2)


def _text(response: dict[str, Any]) -> str:
    content = ((response.get("output") or {}).get("message") or {}).get("content") or []
    return "".join(block["text"] for block in content if isinstance(block.get("text"), str))


def _guardrail_policies(response: dict[str, Any]) -> list[str]:
    """Names (never contents) of the guardrail policies that assessed input or output."""
    trace = (response.get("trace") or {}).get("guardrail") or {}
    assessments: list[Any] = list((trace.get("inputAssessment") or {}).values())
    for listed in (trace.get("outputAssessments") or {}).values():
        assessments.extend(listed or [])
    names = {
        key
        for assessment in assessments
        if isinstance(assessment, dict)
        for key in assessment
        if key not in NOT_POLICIES
    }
    return sorted(names)


def _grounding_scores(response: dict[str, Any]) -> dict[str, float]:
    """Contextual grounding scores by filter type (GROUNDING, RELEVANCE) from the trace."""
    trace = (response.get("trace") or {}).get("guardrail") or {}
    scores: dict[str, float] = {}
    for listed in (trace.get("outputAssessments") or {}).values():
        for assessment in listed or []:
            policy = (
                assessment.get("contextualGroundingPolicy")
                if isinstance(assessment, dict)
                else None
            )
            for item in (policy or {}).get("filters") or []:
                if isinstance(item, dict) and isinstance(item.get("score"), int | float):
                    scores[str(item.get("type"))] = float(item["score"])
    return scores


def _error_code(exc: ClientError) -> tuple[str, int]:
    error = exc.response.get("Error", {}).get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return str(error), int(status or 0)


def invoke(
    event: Any,
    client: Any,
    settings: Settings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> dict[str, Any]:
    """Serve one request: validate, call Converse behind the guardrail, shape the answer."""
    try:
        request = parse_request(event, settings)
    except InvalidRequest as exc:
        prompt = event.get("prompt") if isinstance(event, dict) else None
        log(
            "WARNING",
            "request rejected",
            status="rejected",
            reason=exc.reason,
            eventType=type(event).__name__,
            promptChars=len(prompt) if isinstance(prompt, str) else None,
        )
        return {"status": "rejected", "error": exc.error}

    params = converse_params(request, settings)
    grounding = request.grounding_source or ()
    grounding_checked = request.grounding_source is not None
    sizes = {
        "modelId": request.model_id,
        "promptChars": len(request.prompt),
        "systemChars": len(request.system or ""),
        "maxTokens": request.max_tokens,
        "groundingChecked": grounding_checked,
        "groundingPassages": len(grounding),
        "groundingChars": sum(len(passage) for passage in grounding),
    }
    last_error = ""
    response: dict[str, Any] | None = None
    attempts = 0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        attempts = attempt
        try:
            response = client.converse(**params)
            break
        except ParamValidationError:
            # Its message would quote the parameters (the prompt): never log or return it.
            log(
                "WARNING", "request rejected", status="rejected", reason="param-validation", **sizes
            )
            return {"status": "rejected", "error": "the request failed parameter validation"}
        except ClientError as exc:
            code, status = _error_code(exc)
            if code == "ValidationException":
                log("WARNING", "request rejected", status="rejected", reason=code, **sizes)
                message = exc.response.get("Error", {}).get("Message", "")
                return {"status": "rejected", "error": f"Bedrock rejected the request: {message}"}
            if code == "ModelErrorException":
                log("ERROR", "model error", status="unavailable", errorCode=code, **sizes)
                return {"status": "unavailable", "error": "the model failed to process the request"}
            if code not in TRANSIENT_ERRORS and status < 500:
                log("ERROR", "Bedrock call failed", errorCode=code, httpStatus=status, **sizes)
                raise
            last_error = code or f"HTTP {status}"
        except NETWORK_ERRORS as exc:
            last_error = type(exc).__name__
        log("WARNING", "transient Bedrock error", errorCode=last_error, attempt=attempt, **sizes)
        if attempt < MAX_ATTEMPTS:
            sleep(backoff_delay(attempt, rand))

    if response is None:
        log(
            "ERROR",
            "Bedrock unavailable",
            status="unavailable",
            errorCode=last_error,
            attempts=attempts,
            **sizes,
        )
        return {
            "status": "unavailable",
            "error": f"Bedrock unavailable ({last_error}) after {attempts} attempts; retry later",
        }

    text = _text(response)
    stop_reason = response.get("stopReason", "")
    usage = response.get("usage") or {}
    intervened = stop_reason == "guardrail_intervened"
    log(
        "INFO",
        "request finished",
        status="blocked" if intervened else "ok",
        stopReason=stop_reason,
        guardrailAction=GUARDRAIL_ACTION if intervened else "NONE",
        guardrailPolicies=_guardrail_policies(response),
        groundingScores=_grounding_scores(response) if grounding_checked else None,
        answerChars=len(text),
        attempts=attempts,
        inputTokens=usage.get("inputTokens"),
        outputTokens=usage.get("outputTokens"),
        latencyMs=(response.get("metrics") or {}).get("latencyMs"),
        **sizes,
    )
    if intervened:
        return {
            "status": "blocked",
            "message": text,
            "action": GUARDRAIL_ACTION,
            "groundingChecked": grounding_checked,
        }
    return {
        "status": "ok",
        "answer": text,
        "modelId": request.model_id,
        "usage": {
            "inputTokens": usage.get("inputTokens"),
            "outputTokens": usage.get("outputTokens"),
            "totalTokens": usage.get("totalTokens"),
        },
        "stopReason": stop_reason,
        "groundingChecked": grounding_checked,
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    settings = load_settings(os.environ)
    return invoke(event, make_clients(settings), settings)
