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
``guarded_invoke_request`` (request validation and the ``converse`` parameters); the retries,
error classification, guardContent blocks and answer shaping are ``handler_kit.bedrock``'s,
shared with ``guarded_retrieval``.

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
from guarded_invoke_request import InvalidRequest, converse_params, parse_request
from guarded_invoke_settings import Settings, load_settings
from handler_kit.bedrock import backoff_delay as backoff_delay
from handler_kit.bedrock import call_with_retries, client_config, converse_answer, rejected
from handler_kit.errors import ConfigurationError as ConfigurationError


def make_clients(settings: Settings) -> Any:
    """Create the bedrock-runtime client; retries are done by ``invoke``, not botocore."""
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=settings.endpoint_url,
        config=client_config(settings.read_timeout),
    )


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
        return rejected(exc, event, "prompt")

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
    outcome = call_with_retries(lambda: client.converse(**params), sizes, sleep=sleep, rand=rand)
    if outcome.response is None:
        return outcome.answer
    return converse_answer(
        outcome.response,
        model_id=request.model_id,
        grounding_checked=grounding_checked,
        attempts=outcome.attempts,
        fields=sizes,
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point. Logs never hold the prompt, the system text or the answer."""
    settings = load_settings(os.environ)
    return invoke(event, make_clients(settings), settings)
