"""Guarded retrieval: an answer from the platform knowledge base, generated behind the guardrail.

Applications call this Lambda synchronously (``lambda:InvokeFunction``, RequestResponse) with::

    {"question": str, "modelId": str?, "maxTokens": int?, "numberOfResults": int?}
                                                                            (? = optional)

Flow:
    1. Validate: any other key is refused; the question must be a non-blank string of at most
       MAX_QUESTION_CHARS; the model ``DEFAULT_MODEL_ID`` (when none is named) or one of
       ``ALLOWED_MODEL_IDS``; maxTokens an integer 1..MAX_OUTPUT_TOKENS (default
       MAX_OUTPUT_TOKENS); numberOfResults an integer 1..MAX_RESULTS (default NUMBER_OF_RESULTS).
    2. bedrock-agent-runtime ``retrieve(knowledgeBaseId=KNOWLEDGE_BASE_ID, retrievalQuery=
       {"text": question}, retrievalConfiguration={"vectorSearchConfiguration":
       {"numberOfResults": n}})``. Kept: results with non-blank ``content.text`` whose
       ``location.s3Location.uri`` is ``s3://KNOWLEDGE_BUCKET/<key>`` with the key under
       KNOWLEDGE_PREFIX; anything else is dropped and logged as a warning (defence in depth).
       The kept passages, highest score first, are cut to 100,000 characters in all (the
       contextual grounding policy's limit): lower-scored passages beyond it are dropped.
    3. No passage left: ``no_sources``, without calling a model (the platform answers only from
       its sources).
    4. bedrock-runtime ``converse`` on the model with one user message: each passage as a
       ``guardContent`` block qualified ``grounding_source``, then the question as a
       ``guardContent`` block qualified ``query``; ``system`` is the fixed instruction to answer
       only from the sources and to say it does not know otherwise; ``inferenceConfig``
       ``{"maxTokens": maxTokens}``; ``guardrailConfig`` ``{"guardrailIdentifier": GUARDRAIL_ID,
       "guardrailVersion": GUARDRAIL_VERSION, "trace": "enabled"}``: the pinning the IAM policy
       requires (``bedrock:GuardrailIdentifier`` on ``bedrock:InvokeModel``, which authorises
       Converse), as in ``guarded_invoke``.

What the guardrail covers here: the guarded version runs on the Converse call, on the question
(the ``query`` block) and the answer, contextual grounding and relevance included (the answer
scored against the passages and the question; below the version's thresholds it is blocked).
What it does not cover: ``Retrieve`` itself, which returns stored passages of the knowledge
prefix (text the PHI pipeline has already redacted) and is sent no guardrail by this function;
IAM cannot demand one there, because ``bedrock:GuardrailIdentifier`` is not evaluated on
``Retrieve`` or ``RetrieveAndGenerate``. That is why applications get ``Retrieve`` and this
function, never ``RetrieveAndGenerate`` (the invocation role denies it): generation happens only
here, through Converse, where the pin holds. Passages qualified ``grounding_source`` are the
grounding check's reference; the model's answer is what the guardrail's output policies judge.

Responses (the function never raises for a bad request or an unavailable service):

- ``{"status": "ok", "answer", "citations": [{"key": <object key>, "score": float | None}],
  "modelId", "usage", "stopReason", "groundingChecked": true}``: citations are the passages'
  object keys, each once, in order of relevance.
- ``{"status": "blocked", "message": <the guardrail's blocked message>, "action":
  "GUARDRAIL_INTERVENED", "groundingChecked": true}``: any intervention, ungrounded or
  irrelevant answers included.
- ``{"status": "no_sources", "message": NO_SOURCES_MESSAGE}``: nothing usable was retrieved.
- ``{"status": "rejected", "error"}``: event not an object; an unknown key; question missing,
  blank or too long; maxTokens or numberOfResults not an integer in range; model not allowed;
  Bedrock ValidationException (of either call).
- ``{"status": "unavailable", "error"}``: throttling, 5xx and network errors of either call still
  failing after 3 attempts (backoff 0.5 s then 1 s, jittered; the clients' own retries are off);
  ModelErrorException or DependencyFailedException (not retried).

Being synchronous, it dead-letters nothing (no DLQ is used): the caller gets the answer and each
request is logged. Logs never hold the question, the passages or the answer (they may hold PHI):
only lengths, counts (results, passages kept and dropped, distinct keys), model ID, status, stop
reason, token counts, attempts, the guardrail action, the names of the guardrail policies that
assessed the request and the grounding / relevance scores.

Environment:
    KNOWLEDGE_BASE_ID: knowledge base ID (10 letters or digits) or ARN (required).
    KNOWLEDGE_BUCKET: bucket of the knowledge base's S3 data source (required).
    KNOWLEDGE_PREFIX: its key prefix, ending with "/" (required).
    GUARDRAIL_ID: guardrail ID or ARN (required).
    GUARDRAIL_VERSION: published guardrail version number (required; DRAFT is refused).
    DEFAULT_MODEL_ID: model (or inference profile) ID used when the event names none (required).
    ALLOWED_MODEL_IDS: comma-separated further model IDs callers may choose (optional).
    MAX_QUESTION_CHARS: longest question, default 4000, at most 20000 (Retrieve's query limit).
    MAX_OUTPUT_TOKENS: largest maxTokens, and the default, default 1024.
    NUMBER_OF_RESULTS: passages retrieved when the event asks none, default 5 (<= MAX_RESULTS).
    MAX_RESULTS: most passages a caller may ask for, default 20, at most 100.
    BEDROCK_READ_TIMEOUT_SECONDS: read timeout per attempt, default 60 (the function's timeout
        should exceed 6 times this plus 4 s of backoff: two calls of up to 3 attempts).
    BEDROCK_ENDPOINT_URL, BEDROCK_AGENT_RUNTIME_ENDPOINT_URL: https URLs of the bedrock-runtime
        and bedrock-agent-runtime VPC interface endpoints (optional; with private DNS on the
        endpoints the default URLs already resolve to them).

IAM (the actions this code calls):
    bedrock:Retrieve on ``arn:${Partition}:bedrock:${Region}:${Account}:knowledge-base/
        ${KnowledgeBaseId}`` (condition keys: ``aws:ResourceTag/${TagKey}`` only).
    bedrock:InvokeModel (authorises Converse) on the allow-listed
        ``arn:${Partition}:bedrock:${Region}::foundation-model/${ResourceId}`` and
        ``arn:${Partition}:bedrock:${Region}:${Account}:inference-profile/${ResourceId}``, with
        ``bedrock:GuardrailIdentifier`` = ``<guardrail ARN>:<version>``.
    bedrock:ApplyGuardrail on ``arn:${Partition}:bedrock:${Region}:${Account}:guardrail/
        ${GuardrailId}`` (Bedrock checks it when Converse names a guardrail).

Modules (this folder plus the ``handler_kit`` layer): ``guarded_retrieval_settings``
(``Settings``), ``guarded_retrieval_request`` (validation, the ``retrieve`` and ``converse``
parameters), ``guarded_retrieval_sources`` (which passages ground the answer, citations);
retries, error classification and answer shaping are ``handler_kit.bedrock``'s.

Failure modes:
    Raised (the caller sees a function error and the Errors metric counts it): a missing or
    invalid environment variable (``ConfigurationError``); AccessDeniedException,
    ResourceNotFoundException or any other non-transient client error from either call (the
    platform is misconfigured, not the request).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from guarded_retrieval_request import (
    InvalidRequest,
    converse_params,
    parse_request,
    retrieve_params,
)
from guarded_retrieval_settings import Settings, load_settings
from guarded_retrieval_sources import citations, select_passages
from handler_kit.bedrock import call_with_retries, client_config, converse_answer, rejected
from handler_kit.errors import ConfigurationError as ConfigurationError
from handler_kit.log import log

NO_SOURCES_MESSAGE = (
    "No source in the knowledge base answers this question, so the platform cannot answer it."
)


@dataclass(frozen=True)
class Clients:
    """The two Bedrock clients of one invocation."""

    runtime: Any
    agent_runtime: Any


def make_clients(settings: Settings) -> Clients:
    """Create the bedrock-runtime and bedrock-agent-runtime clients (botocore retries off)."""
    config = client_config(settings.read_timeout)
    return Clients(
        runtime=boto3.client("bedrock-runtime", endpoint_url=settings.endpoint_url, config=config),
        agent_runtime=boto3.client(
            "bedrock-agent-runtime",
            endpoint_url=settings.agent_runtime_endpoint_url,
            config=config,
        ),
    )


def answer(
    event: Any,
    clients: Clients,
    settings: Settings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> dict[str, Any]:
    """Serve one request: validate, retrieve, converse behind the guardrail, shape the answer."""
    try:
        request = parse_request(event, settings)
    except InvalidRequest as exc:
        return rejected(exc, event, "question")

    sizes: dict[str, Any] = {
        "modelId": request.model_id,
        "questionChars": len(request.question),
        "maxTokens": request.max_tokens,
        "numberOfResults": request.number_of_results,
    }
    pacing: dict[str, Any] = {"sleep": sleep, "rand": rand}
    params = retrieve_params(request, settings)
    retrieved = call_with_retries(
        lambda: clients.agent_runtime.retrieve(**params), {**sizes, "call": "retrieve"}, **pacing
    )
    if retrieved.response is None:
        return retrieved.answer
    selection = select_passages(retrieved.response.get("retrievalResults") or [], settings)
    cited = citations(selection.passages)
    sizes.update(
        retrieveAttempts=retrieved.attempts,
        results=selection.results,
        passages=len(selection.passages),
        groundingChars=selection.chars,
        blankDropped=selection.blank,
        overLimitDropped=selection.over_limit,
        citedKeys=len(cited),
    )
    if selection.foreign:
        log(
            "WARNING",
            "retrieval results outside the knowledge prefix dropped",
            foreignDropped=selection.foreign,
            **sizes,
        )
    if not selection.passages:
        log("INFO", "request finished", status="no_sources", **sizes)
        return {"status": "no_sources", "message": NO_SOURCES_MESSAGE}

    passages = [passage.text for passage in selection.passages]
    converse = converse_params(request, passages, settings)
    conversed = call_with_retries(
        lambda: clients.runtime.converse(**converse), {**sizes, "call": "converse"}, **pacing
    )
    if conversed.response is None:
        return conversed.answer
    return converse_answer(
        conversed.response,
        model_id=request.model_id,
        grounding_checked=True,
        attempts=conversed.attempts,
        fields=sizes,
        extra={"citations": cited},
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point. Logs never hold the question, the passages or the answer."""
    settings = load_settings(os.environ)
    return answer(event, make_clients(settings), settings)
