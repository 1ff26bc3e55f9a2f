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

Modules (this folder plus the ``handler_kit`` layer): ``guarded_invoke_settings`` (``Settings``),
``guarded_invoke_request`` (request validation and the ``converse`` parameters).

Failure modes:
    Raised (the caller sees a function error and the Errors metric counts it): a missing or
    invalid environment variable (``ConfigurationError``); AccessDeniedException or
    ResourceNotFoundException from Bedrock (the platform is misconfigured, not the request).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
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
from guarded_invoke_request import InvalidRequest, converse_params, parse_request
from guarded_invoke_settings import Settings, load_settings
from handler_kit.errors import ConfigurationError as ConfigurationError
from handler_kit.errors import error_code, http_status
from handler_kit.log import log

MAX_ATTEMPTS = 3
BASE_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 4.0
GUARDRAIL_ACTION = "GUARDRAIL_INTERVENED"
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
NOT_POLICIES = frozenset({"invocationMetrics", "appliedGuardrailDetails"})


def make_clients(settings: Settings) -> Any:
    """Create the bedrock-runtime client; retries are done by ``invoke``, not botocore."""
    boto_config = BotoConfig(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=5,
        read_timeout=settings.read_timeout,
    )
    return boto3.client("bedrock-runtime", endpoint_url=settings.endpoint_url, config=boto_config)


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
            code, status = error_code(exc), http_status(exc)
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
    """Lambda entry point. Logs never hold the prompt, the system text or the answer."""
    settings = load_settings(os.environ)
    return invoke(event, make_clients(settings), settings)
