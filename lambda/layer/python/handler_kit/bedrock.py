"""Bedrock behind the platform guardrail: what guarded_invoke and guarded_retrieval share.

Configuration: ``guarded_models`` (``GUARDRAIL_ID``, ``GUARDRAIL_VERSION`` numbered, never
DRAFT, ``DEFAULT_MODEL_ID``, ``ALLOWED_MODEL_IDS``), ``https_url``, ``read_timeout`` and
``client_config`` (botocore's retries off: ``call_with_retries`` alone bounds the attempts).
Requests: ``InvalidRequest`` and its readers; ``rejected`` logs the reason, never the text.
Converse: ``guardrail_config`` (pinned, trace enabled), ``grounded_content`` (``guardContent``
blocks qualified ``grounding_source`` then ``query``), ``converse_answer`` (the caller's answer
and its log line: sizes, tokens, guardrail action, policy names and grounding scores only).

``call_with_retries``: throttling, unavailable, model timeout / not ready, internal errors, other
5xx and network errors are retried (``MAX_ATTEMPTS`` in all, backoff 0.5 s, 1 s, jittered), then
answered ``unavailable``; ValidationException and parameter validation errors (whose message,
quoting the parameters, is dropped) ``rejected``; ModelErrorException and
DependencyFailedException ``unavailable`` at once; anything else (AccessDenied, ResourceNotFound:
the platform is misconfigured) is raised.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from handler_kit.env import bounded_int, matching_str, optional_str
from handler_kit.errors import ConfigurationError, error_code, http_status
from handler_kit.log import log

MAX_ATTEMPTS = 3
BASE_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 4.0
GUARDRAIL_ACTION = "GUARDRAIL_INTERVENED"
GROUNDING_CHARS_LIMIT = 100_000
"""Bedrock's contextual grounding policy takes at most 100,000 characters of grounding source."""
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
UPSTREAM_FAILURES = {
    "ModelErrorException": ("model error", "the model failed to process the request"),
    "DependencyFailedException": ("dependency failed", "a service Bedrock depends on failed"),
}
"""424 errors: the request reached a model or a store that failed on it; not retried."""
NOT_POLICIES = frozenset({"invocationMetrics", "appliedGuardrailDetails"})

GUARDRAIL_ID_RE = re.compile(
    r"[a-z0-9]+|arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+"
)
GUARDRAIL_VERSION_RE = re.compile(r"[1-9][0-9]{0,7}")
MODEL_ID_RE = re.compile(r"\S+")


@dataclass(frozen=True)
class GuardedModels:
    """The pinned guardrail and the models callers may choose."""

    guardrail_id: str
    guardrail_version: str
    default_model_id: str
    allowed_model_ids: frozenset[str]


def guarded_models(env: Mapping[str, str]) -> GuardedModels:
    """The guardrail and model variables (``ConfigurationError`` when one is invalid)."""
    guardrail_id = matching_str(
        env, "GUARDRAIL_ID", GUARDRAIL_ID_RE, "a guardrail ID or ARN (required)"
    )
    version = matching_str(
        env,
        "GUARDRAIL_VERSION",
        GUARDRAIL_VERSION_RE,
        "a published version number (required; not DRAFT, which can change without a deployment)",
    )
    default_model = matching_str(
        env, "DEFAULT_MODEL_ID", MODEL_ID_RE, "a model or inference profile ID (required)"
    )
    raw = env.get("ALLOWED_MODEL_IDS", "")
    allowed = {m.strip() for m in raw.split(",") if m.strip()}
    if any(any(c.isspace() for c in m) for m in allowed):
        raise ConfigurationError(
            f"ALLOWED_MODEL_IDS={raw!r} is invalid; expected comma-separated model IDs"
        )
    return GuardedModels(guardrail_id, version, default_model, frozenset(allowed | {default_model}))


def https_url(env: Mapping[str, str], name: str) -> str | None:
    """An optional ``https://`` (VPC interface) endpoint URL; ``ConfigurationError`` if not."""
    url = optional_str(env, name)
    if url is not None and not url.startswith("https://"):
        raise ConfigurationError(f"{name}={url!r} is invalid; expected an https:// URL")
    return url


def read_timeout(env: Mapping[str, str]) -> int:
    """``BEDROCK_READ_TIMEOUT_SECONDS``: read timeout of one attempt, 1-900, default 60."""
    return bounded_int(env, "BEDROCK_READ_TIMEOUT_SECONDS", 1, 900, default=60)


def client_config(read_timeout_seconds: int) -> BotoConfig:
    """The client configuration: one attempt a call (the retries are ``call_with_retries``'s)."""
    return BotoConfig(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=5,
        read_timeout=read_timeout_seconds,
    )


class InvalidRequest(Exception):
    """The caller's request cannot be served; answered with status ``rejected``."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(error)
        self.reason = reason
        self.error = error


def required_text(event: Mapping[str, Any], name: str, limit: int) -> str:
    """``event[name]``, a non-blank string of at most ``limit`` characters, or InvalidRequest."""
    text = event.get(name)
    if not isinstance(text, str):
        raise InvalidRequest(f"{name}-missing", f"{name} must be a string")
    if not text.strip():
        raise InvalidRequest(f"{name}-empty", f"{name} is empty")
    if len(text) > limit:
        raise InvalidRequest(
            f"{name}-too-long", f"{name} has {len(text)} characters; the limit is {limit}"
        )
    return text


def optional_count(event: Mapping[str, Any], name: str, high: int, reason: str) -> int | None:
    """``event[name]``: None when absent, else an integer in ``1..high`` (or InvalidRequest)."""
    value = event.get(name)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high
    ):
        raise InvalidRequest(reason, f"{name} must be an integer in 1..{high}")
    return value


def allowed_model(event: Mapping[str, Any], default: str, allowed: frozenset[str]) -> str:
    """``event["modelId"]`` if allowed (else InvalidRequest), ``default`` if there is none."""
    model_id = event.get("modelId")
    if model_id is None:
        return default
    if not isinstance(model_id, str) or model_id not in allowed:
        shown = model_id[:200] if isinstance(model_id, str) else type(model_id).__name__
        raise InvalidRequest("model-not-allowed", f"model {shown!r} is not allowed")
    return model_id


def rejected(exc: InvalidRequest, event: Any, text_key: str) -> dict[str, Any]:
    """Log a refused request (reason, event type, ``<text_key>Chars``) and answer ``rejected``."""
    text = event.get(text_key) if isinstance(event, dict) else None
    log(
        "WARNING",
        "request rejected",
        status="rejected",
        reason=exc.reason,
        eventType=type(event).__name__,
        **{f"{text_key}Chars": len(text) if isinstance(text, str) else None},
    )
    return {"status": "rejected", "error": exc.error}


def guardrail_config(guardrail_id: str, guardrail_version: str) -> dict[str, str]:
    """Converse ``guardrailConfig``: the pinned guardrail and version, trace enabled."""
    return {
        "guardrailIdentifier": guardrail_id,
        "guardrailVersion": guardrail_version,
        "trace": "enabled",
    }


def grounded_content(passages: Iterable[str], query: str) -> list[dict[str, Any]]:
    """One ``guardContent`` block qualified ``grounding_source`` a passage, then ``query``'s."""
    named = [*((passage, "grounding_source") for passage in passages), (query, "query")]
    return [{"guardContent": {"text": {"text": t, "qualifiers": [q]}}} for t, q in named]


def backoff_delay(attempt: int, rand: Callable[[], float]) -> float:
    """Delay before the next attempt: exponential from 0.5 s, capped, with jitter in [50%, 100%]."""
    base: float = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2.0 ** (attempt - 1))
    return base * (0.5 + rand() / 2)


@dataclass(frozen=True)
class Outcome:
    """What ``call_with_retries`` got: the response, or (None and) the caller's answer."""

    response: dict[str, Any] | None
    answer: dict[str, Any]
    attempts: int


def call_with_retries(
    call: Callable[[], dict[str, Any]],
    fields: Mapping[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> Outcome:
    """Make one Bedrock call, retrying transient errors; every log line carries ``fields``.

    Raises:
        ClientError: any error that is neither transient nor the request's (the platform's).
    """
    last_error = ""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return Outcome(call(), {}, attempt)
        except ParamValidationError:
            # Its message would quote the parameters (the caller's text): never log or return it.
            log(
                "WARNING",
                "request rejected",
                status="rejected",
                reason="param-validation",
                **fields,
            )
            answer = {"status": "rejected", "error": "the request failed parameter validation"}
            return Outcome(None, answer, attempt)
        except ClientError as exc:
            code, status = error_code(exc), http_status(exc)
            if code == "ValidationException":
                log("WARNING", "request rejected", status="rejected", reason=code, **fields)
                message = exc.response.get("Error", {}).get("Message", "")
                answer = {"status": "rejected", "error": f"Bedrock rejected the request: {message}"}
                return Outcome(None, answer, attempt)
            if code in UPSTREAM_FAILURES:
                message, error = UPSTREAM_FAILURES[code]
                log("ERROR", message, status="unavailable", errorCode=code, **fields)
                return Outcome(None, {"status": "unavailable", "error": error}, attempt)
            if code not in TRANSIENT_ERRORS and status < 500:
                log("ERROR", "Bedrock call failed", errorCode=code, httpStatus=status, **fields)
                raise
            last_error = code or f"HTTP {status}"
        except NETWORK_ERRORS as exc:
            last_error = type(exc).__name__
        log("WARNING", "transient Bedrock error", errorCode=last_error, attempt=attempt, **fields)
        if attempt < MAX_ATTEMPTS:
            sleep(backoff_delay(attempt, rand))
    log(
        "ERROR",
        "Bedrock unavailable",
        status="unavailable",
        errorCode=last_error,
        attempts=MAX_ATTEMPTS,
        **fields,
    )
    error = f"Bedrock unavailable ({last_error}) after {MAX_ATTEMPTS} attempts; retry later"
    return Outcome(None, {"status": "unavailable", "error": error}, MAX_ATTEMPTS)


def output_text(response: Mapping[str, Any]) -> str:
    """The text blocks of ``output.message.content`` joined (other blocks skipped)."""
    content = ((response.get("output") or {}).get("message") or {}).get("content") or []
    return "".join(block["text"] for block in content if isinstance(block.get("text"), str))


def _trace(response: Mapping[str, Any]) -> dict[str, Any]:
    return (response.get("trace") or {}).get("guardrail") or {}


def guardrail_policies(response: Mapping[str, Any]) -> list[str]:
    """Names (never contents) of the guardrail policies that assessed input or output."""
    trace = _trace(response)
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


def grounding_scores(response: Mapping[str, Any]) -> dict[str, float]:
    """Contextual grounding scores by filter type (GROUNDING, RELEVANCE) from the trace."""
    scores: dict[str, float] = {}
    for listed in (_trace(response).get("outputAssessments") or {}).values():
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


def converse_answer(
    response: Mapping[str, Any],
    *,
    model_id: str,
    grounding_checked: bool,
    attempts: int,
    fields: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Log ``request finished`` and shape the caller's answer to a Converse response.

    ``guardrail_intervened`` gives ``blocked`` with the guardrail's output text (its configured
    blocked message); anything else ``ok`` with the answer, ``extra`` (e.g. citations) after it.
    """
    text = output_text(response)
    stop_reason = response.get("stopReason", "")
    usage = response.get("usage") or {}
    intervened = stop_reason == "guardrail_intervened"
    log(
        "INFO",
        "request finished",
        status="blocked" if intervened else "ok",
        stopReason=stop_reason,
        guardrailAction=GUARDRAIL_ACTION if intervened else "NONE",
        guardrailPolicies=guardrail_policies(response),
        groundingScores=grounding_scores(response) if grounding_checked else None,
        answerChars=len(text),
        attempts=attempts,
        inputTokens=usage.get("inputTokens"),
        outputTokens=usage.get("outputTokens"),
        latencyMs=(response.get("metrics") or {}).get("latencyMs"),
        **fields,
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
        **(extra or {}),
        "modelId": model_id,
        "usage": {key: usage.get(key) for key in ("inputTokens", "outputTokens", "totalTokens")},
        "stopReason": stop_reason,
        "groundingChecked": grounding_checked,
    }
