"""The account-wide Bedrock checks: invocation logging, guardrails, knowledge bases, agents.

Each returns a ``CheckResult``: how many items were examined, one readable line per failing item
(``<item>: <reason>, <reason>``) and the account annotation (at most 256 characters). Every item
is also logged with its full result. See ``bedrock_config_rules.py`` for what each check requires;
the ``endpoints`` check lives in ``bedrock_config_rules_endpoints``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bedrock_config_rules_event import (
    AGENTS,
    GUARDRAILS,
    INVOCATION_LOGGING,
    KNOWLEDGE_BASES,
    GuardrailParameters,
    LoggingParameters,
)
from botocore.exceptions import ClientError
from handler_kit.config_rule import clip_annotation
from handler_kit.errors import error_code
from handler_kit.log import log

STRENGTH_ORDER = {"NONE": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}
DRAFT = "DRAFT"
S3_VECTORS = "S3_VECTORS"
KMS_SSE = "aws:kms"
NOT_FOUND_CODES = frozenset({"ResourceNotFoundException", "NotFoundException"})


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check for the account (no failures: compliant)."""

    check: str
    checked: int
    failures: tuple[str, ...]
    annotation: str

    @property
    def compliant(self) -> bool:
        """True when no item failed."""
        return not self.failures


def items_result(
    check: str, noun: str, checked: int, failures: list[str], ok_text: str
) -> CheckResult:
    """A result whose annotation names the failing items (``2 of 5 <noun> fail: ...``)."""
    if not failures:
        return CheckResult(check, checked, (), clip_annotation(ok_text))
    text = f"{len(failures)} of {checked} {noun} fail: " + "; ".join(failures)
    return CheckResult(check, checked, tuple(failures), clip_annotation(text))


def pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every item under ``key`` of every page of ``operation`` (botocore's paginator)."""
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(key) or []


def is_not_found(exc: ClientError) -> bool:
    """True for the not-found errors of Bedrock (``ResourceNotFoundException``) and S3 Vectors."""
    return error_code(exc) in NOT_FOUND_CODES


def _log_item(check: str, item: str, reasons: list[str], **fields: Any) -> None:
    log(
        "WARNING" if reasons else "INFO",
        "item evaluated",
        check=check,
        item=item,
        compliant=not reasons,
        reasons=reasons,
        **fields,
    )


# --- invocation_logging ----------------------------------------------------------------------


def logging_reasons(config: Any, expected: LoggingParameters) -> list[str]:
    """Why a ``loggingConfig`` (None: logging off) does not match the expected one."""
    if not isinstance(config, dict) or not config:
        return ["model invocation logging is off"]
    reasons: list[str] = []
    s3 = config.get("s3Config") or {}
    bucket = s3.get("bucketName")
    if bucket != expected.bucket:
        reasons.append(f"S3 bucket {bucket or 'none'} is not {expected.bucket}")
    if expected.prefix is not None:
        prefix = str(s3.get("keyPrefix") or "").rstrip("/")
        if prefix != expected.prefix.rstrip("/"):
            reasons.append(f"S3 prefix {prefix or 'none'} is not {expected.prefix.rstrip('/')}")
    if expected.log_group is not None:
        group = (config.get("cloudWatchConfig") or {}).get("logGroupName")
        if group != expected.log_group:
            reasons.append(f"log group {group or 'none'} is not {expected.log_group}")
    if expected.require_text and config.get("textDataDeliveryEnabled") is not True:
        reasons.append("text data delivery off")
    return reasons


def check_invocation_logging(bedrock: Any, expected: LoggingParameters) -> CheckResult:
    """Model invocation logging goes to the expected bucket (prefix, log group) with text data."""
    config = bedrock.get_model_invocation_logging_configuration().get("loggingConfig")
    reasons = logging_reasons(config, expected)
    _log_item(INVOCATION_LOGGING, "model-invocation-logging", reasons)
    if reasons:
        text = "Model invocation logging: " + "; ".join(reasons)
        return CheckResult(INVOCATION_LOGGING, 1, tuple(reasons), clip_annotation(text))
    target = f"s3://{expected.bucket}/{(expected.prefix or '').strip('/')}"
    text = f"Model invocation logging delivers to {target}" + (
        f" and {expected.log_group}" if expected.log_group else ""
    )
    return CheckResult(INVOCATION_LOGGING, 1, (), clip_annotation(text + "."))


# --- guardrails ------------------------------------------------------------------------------


def guardrail_reasons(guardrail: dict[str, Any], required: str) -> list[str]:
    """Why a GetGuardrail response (the DRAFT) lacks a strong enough prompt-attack filter."""
    filters = (guardrail.get("contentPolicy") or {}).get("filters") or []
    attack = [f for f in filters if f.get("type") == "PROMPT_ATTACK"]
    if not attack:
        return ["no PROMPT_ATTACK filter"]
    reasons: list[str] = []
    strength = str(attack[0].get("inputStrength") or "NONE")
    if STRENGTH_ORDER.get(strength, 0) < STRENGTH_ORDER[required]:
        reasons.append(f"prompt attack {strength} < {required}")
    if attack[0].get("inputEnabled") is False or attack[0].get("inputAction") == "NONE":
        reasons.append("prompt attack filter does not block input")
    return reasons


def has_published_version(bedrock: Any, guardrail_id: str) -> bool:
    """True when the guardrail has a version other than DRAFT (stops at the first one)."""
    versions = pages(bedrock, "list_guardrails", "guardrails", guardrailIdentifier=guardrail_id)
    return any(v.get("version") != DRAFT for v in versions)


def check_guardrails(bedrock: Any, expected: GuardrailParameters) -> CheckResult:
    """Every guardrail filters prompt attacks at the strength required and has a version."""
    ids: list[str] = []
    for summary in pages(bedrock, "list_guardrails", "guardrails"):
        if summary["id"] not in ids:
            ids.append(summary["id"])
    if not ids:
        log("WARNING", "no guardrails", check=GUARDRAILS)
        text = "No Bedrock guardrails: the platform always creates one (deleted or not deployed)."
        return CheckResult(GUARDRAILS, 0, ("no guardrails",), text)
    required = expected.prompt_attack_strength
    failures: list[str] = []
    for guardrail_id in ids:
        draft = bedrock.get_guardrail(guardrailIdentifier=guardrail_id)
        reasons = guardrail_reasons(draft, required)
        if not has_published_version(bedrock, guardrail_id):
            reasons.append("no published version")
        _log_item(GUARDRAILS, guardrail_id, reasons, name=draft.get("name"))
        if reasons:
            failures.append(f"{guardrail_id}: {', '.join(reasons)}")
    ok = f"All {len(ids)} guardrails block prompt attacks at {required} or above and are published."
    return items_result(GUARDRAILS, "guardrails", len(ids), failures, ok)


# --- knowledge_bases -------------------------------------------------------------------------


def _after(arn: str, marker: str) -> str:
    return arn.split(marker, 1)[1].split("/", 1)[0] if marker in arn else arn


def vector_arns(config: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(vector bucket ARN, index ARN)`` of an ``s3VectorsConfiguration``, each possibly None.

    The bucket ARN is taken from the index ARN when only that is set; the index ARN is built
    from the bucket ARN and ``indexName`` when only those are set.
    """
    bucket_arn, index_arn = config.get("vectorBucketArn"), config.get("indexArn")
    if not bucket_arn and index_arn and "/index/" in index_arn:
        bucket_arn = index_arn.split("/index/", 1)[0]
    if not index_arn and bucket_arn and config.get("indexName"):
        index_arn = f"{bucket_arn}/index/{config['indexName']}"
    return bucket_arn or None, index_arn or None


def _kms_problem(encryption: dict[str, Any]) -> str | None:
    sse = encryption.get("sseType")
    if sse == KMS_SSE and encryption.get("kmsKeyArn"):
        return None
    return f"sseType {sse or 'not set'}" if sse != KMS_SSE else "aws:kms without a key ARN"


def vector_store_reasons(s3vectors: Any, knowledge_base: dict[str, Any]) -> list[str]:
    """Why a knowledge base's vector store is not S3 Vectors under a customer-managed key."""
    storage = knowledge_base.get("storageConfiguration") or {}
    kind = storage.get("type") or (knowledge_base.get("knowledgeBaseConfiguration") or {}).get(
        "type", "none"
    )
    if kind != S3_VECTORS:
        return [
            f"vector store {kind}: this rule verifies customer-managed keys for S3_VECTORS only"
        ]
    bucket_arn, index_arn = vector_arns(storage.get("s3VectorsConfiguration") or {})
    if bucket_arn is None:
        return ["S3_VECTORS store names no vector bucket"]
    reasons: list[str] = []
    bucket = _after(bucket_arn, ":bucket/")
    try:
        found = s3vectors.get_vector_bucket(vectorBucketArn=bucket_arn)["vectorBucket"]
    except ClientError as exc:
        if not is_not_found(exc):
            raise
        reasons.append(f"vector bucket {bucket} not found")
    else:
        problem = _kms_problem(found.get("encryptionConfiguration") or {})
        if problem:
            reasons.append(f"vector bucket {bucket} not under a KMS key ({problem})")
    if index_arn is not None:
        index = _after(index_arn, "/index/")
        try:
            found = s3vectors.get_index(indexArn=index_arn)["index"]
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            reasons.append(f"index {index} not found")
        else:
            encryption = found.get("encryptionConfiguration") or {}
            problem = _kms_problem(encryption) if encryption.get("sseType") else None
            if problem:  # an index without its own setting inherits the bucket's
                reasons.append(f"index {index} overrides encryption ({problem})")
    return reasons


def data_source_reasons(agent: Any, knowledge_base_id: str) -> list[str]:
    """The data sources of a knowledge base without a KMS key (vanished ones are skipped)."""
    reasons: list[str] = []
    summaries = pages(
        agent, "list_data_sources", "dataSourceSummaries", knowledgeBaseId=knowledge_base_id
    )
    for summary in summaries:
        source_id = summary["dataSourceId"]
        try:
            source = agent.get_data_source(
                knowledgeBaseId=knowledge_base_id, dataSourceId=source_id
            )["dataSource"]
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            log("WARNING", "data source vanished before get", dataSource=source_id)
            continue
        if not (source.get("serverSideEncryptionConfiguration") or {}).get("kmsKeyArn"):
            reasons.append(f"data source {source_id} has no KMS key")
    return reasons


def _knowledge_base_reasons(agent: Any, s3vectors: Any, kb_id: str) -> list[str] | None:
    """The reasons one knowledge base fails; None when it vanished before it was read."""
    try:
        knowledge_base = agent.get_knowledge_base(knowledgeBaseId=kb_id)["knowledgeBase"]
        sources = data_source_reasons(agent, kb_id)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        log("WARNING", "knowledge base vanished before get", knowledgeBase=kb_id)
        return None
    return vector_store_reasons(s3vectors, knowledge_base) + sources


def check_knowledge_bases(agent: Any, s3vectors: Any) -> CheckResult:
    """Every knowledge base stores vectors in S3 Vectors under a KMS key, data sources too."""
    checked = 0
    failures: list[str] = []
    for summary in pages(agent, "list_knowledge_bases", "knowledgeBaseSummaries"):
        kb_id = summary["knowledgeBaseId"]
        reasons = _knowledge_base_reasons(agent, s3vectors, kb_id)
        if reasons is None:
            continue
        checked += 1
        _log_item(KNOWLEDGE_BASES, kb_id, reasons, name=summary.get("name"))
        if reasons:
            failures.append(f"kb {kb_id}: {', '.join(reasons)}")
    ok = (
        f"All {checked} knowledge bases use S3 Vectors and data sources under KMS keys."
        if checked
        else "No Bedrock knowledge bases."
    )
    return items_result(KNOWLEDGE_BASES, "knowledge bases", checked, failures, ok)


# --- agents ----------------------------------------------------------------------------------


def agent_reasons(agent: dict[str, Any]) -> list[str]:
    """Why a GetAgent ``agent`` lacks a guardrail pinned to a published version."""
    guardrail = agent.get("guardrailConfiguration") or {}
    if not guardrail.get("guardrailIdentifier"):
        return ["no guardrail"]
    version = guardrail.get("guardrailVersion")
    if not version:
        return ["guardrail without a version"]
    return ["guardrail version DRAFT"] if version == DRAFT else []


def check_agents(agent_client: Any) -> CheckResult:
    """Every agent uses a guardrail at a published (numbered) version."""
    checked = 0
    failures: list[str] = []
    for summary in pages(agent_client, "list_agents", "agentSummaries"):
        agent_id = summary["agentId"]
        agent = agent_client.get_agent(agentId=agent_id)["agent"]
        checked += 1
        reasons = agent_reasons(agent)
        _log_item(AGENTS, agent_id, reasons, name=agent.get("agentName"))
        if reasons:
            failures.append(f"agent {agent_id}: {', '.join(reasons)}")
    ok = (
        f"All {checked} agents use a published guardrail version."
        if checked
        else "No Bedrock agents."
    )
    return items_result(AGENTS, "agents", checked, failures, ok)
