"""Custom AWS Config rules (CUSTOM_LAMBDA): Bedrock logging, guardrails, KBs, agents, endpoints.

One function backs five custom rules. Each rule sets the rule parameter ``check`` to select what
this invocation verifies; the other rule parameters are the check's own (any other key is
refused, so a misspelt optional parameter cannot silently weaken a check). Rule parameters are
strings, as Config passes them; a blank value counts as unset.

Checks and their rule parameters:

- ``invocation_logging`` (``bedrock:GetModelInvocationLoggingConfiguration``): model invocation
  logging is on (``loggingConfig``) and ``s3Config.bucketName`` is ``expectedBucket``
  (required); when set, ``s3Config.keyPrefix`` is ``expectedPrefix`` (compared without trailing
  ``/``) and ``cloudWatchConfig.logGroupName`` is ``expectedLogGroup``; with
  ``requireTextDelivery`` ``true`` (default; ``true``/``false``) ``textDataDeliveryEnabled`` is
  true.
- ``guardrails``: every guardrail (``ListGuardrails``, all pages) has, in its DRAFT
  (``GetGuardrail``), a ``PROMPT_ATTACK`` content filter whose ``inputStrength`` is at least
  ``promptAttackStrength`` (required: LOW, MEDIUM or HIGH, any case; NONE < LOW < MEDIUM < HIGH)
  and that blocks input (neither ``inputEnabled`` false nor ``inputAction`` NONE); and at least
  one published version (``ListGuardrails`` with ``guardrailIdentifier``: a ``version`` other
  than DRAFT). No guardrail at all is NON_COMPLIANT: the platform always creates one.
- ``knowledge_bases`` (no parameters): every knowledge base (``ListKnowledgeBases``,
  ``GetKnowledgeBase``) stores vectors in ``S3_VECTORS`` whose vector bucket
  (``s3vectors:GetVectorBucket``; its ARN, or the one in the index ARN) has ``sseType``
  ``aws:kms`` with a ``kmsKeyArn``, and whose index, when the knowledge base names one
  (``indexArn``, or ``indexName`` in the bucket), does not override that (``GetIndex``: an
  ``encryptionConfiguration`` with an ``sseType`` must be ``aws:kms`` with a key; none inherits
  the bucket's). Any other store is NON_COMPLIANT: "vector store <type>: this rule verifies
  customer-managed keys for S3_VECTORS only" (no store: the knowledge base type). Every data
  source (``ListDataSources``, ``GetDataSource``) has
  ``serverSideEncryptionConfiguration.kmsKeyArn``. No knowledge bases: COMPLIANT.
- ``agents`` (no parameters): every agent (``ListAgents``, ``GetAgent``) has
  ``guardrailConfiguration`` with a ``guardrailIdentifier`` and a ``guardrailVersion`` other than
  DRAFT. No agents: COMPLIANT.
- ``endpoints``: ``vpcId`` (required, ``vpc-...``) and ``requiredServices`` (short names,
  comma-separated; default ``bedrock,bedrock-runtime,bedrock-agent,bedrock-agent-runtime``).
  Periodic: ``ec2:DescribeVpcEndpoints`` filtered on the VPC (all pages); for each service the
  interface endpoint ``com.amazonaws.<AWS_REGION>.<service>`` exists, and every endpoint of it
  (deleted ones aside) is ``available`` (any case) and has a restrictive ``PolicyDocument``.
  A policy is not restrictive when absent (the full-access default), not a JSON object, or when
  any statement is ``Allow`` to ``Principal`` ``"*"`` or ``{"AWS": "*"}``, ``Action`` ``"*"``
  and ``Resource`` ``"*"`` (each a string or a list holding ``"*"``) without a ``Condition``.

Event: the standard Config custom-rule event (``invokingEvent`` and ``ruleParameters`` are JSON
strings; ``resultToken``, ``accountId``, ``configRuleName``, ``eventLeftScope`` at the top level),
validated by ``handler_kit.config_rule``. Every check accepts ``ScheduledNotification``; only
``endpoints`` also accepts ``ConfigurationItemChangeNotification`` and
``OversizedConfigurationItemChangeNotification`` (scope ``AWS::EC2::VPCEndpoint``).

Evaluations (``config.put_evaluations``, ``TestMode`` left false: real results):

- Periodic runs send ONE evaluation, ``AWS::::Account`` / the account ID, COMPLIANT or
  NON_COMPLIANT, ``OrderingTimestamp`` = ``notificationCreationTime``, with an annotation of at
  most 256 characters naming the failing items (each item's full result is logged). Why: Config
  records no Bedrock resource type (guardrails, knowledge bases, agents, the logging setting),
  so there is no recorded resource to report on; ``AWS::::Account`` is the type Config documents
  for account-level results, as the SageMaker isolation rule's ``account`` scope.
- A change of one VPC endpoint sends ONE evaluation, ``AWS::EC2::VPCEndpoint`` / its ID,
  ``OrderingTimestamp`` = the item's ``configurationItemCaptureTime``. The endpoint is described
  again by ID (``DescribeVpcEndpoints``; the item's body is not trusted). NOT_APPLICABLE when the
  item's status is ResourceDeleted or ResourceDeletedNotRecorded, ``eventLeftScope`` is true, EC2
  no longer knows it (or reports it deleted), or it is not an endpoint of a required service of
  ``vpcId``; otherwise COMPLIANT or NON_COMPLIANT by the policy test alone.

Environment:
    DLQ_URL: SQS queue URL for unprocessable events (required).
    AWS_REGION: the Region (set by Lambda; required), used in the endpoint service names.

Modules (this folder plus the ``handler_kit`` layer): ``bedrock_config_rules_settings``
(``Settings``), ``bedrock_config_rules_event`` (the event, the check, its parameters),
``bedrock_config_rules_checks`` (logging, guardrails, knowledge bases, agents),
``bedrock_config_rules_endpoints`` (the endpoints check, periodic and per change).

IAM actions the code calls (all of them, nothing else):
    ``bedrock:GetModelInvocationLoggingConfiguration``, ``bedrock:ListGuardrails``,
    ``bedrock:GetGuardrail``, ``bedrock:ListKnowledgeBases``, ``bedrock:GetKnowledgeBase``,
    ``bedrock:ListDataSources``, ``bedrock:GetDataSource``, ``bedrock:ListAgents``,
    ``bedrock:GetAgent``, ``s3vectors:GetVectorBucket``, ``s3vectors:GetIndex``,
    ``ec2:DescribeVpcEndpoints``, ``config:PutEvaluations``, ``sqs:SendMessage`` (the DLQ).
    A guardrail or agent encrypted with a customer managed key may also need ``kms:Decrypt`` on
    that key for Get calls to succeed (Bedrock decrypts on the caller's behalf; the code calls no
    KMS API): without it they fail AccessDenied and the run raises.

Failure modes:
    Dead-lettered, handler returns normally (no retry would help): event not an object,
    invokingEvent missing or not a JSON object string, messageType not accepted by the selected
    check (a change notification for a Bedrock check), missing resultToken, missing or invalid
    notificationCreationTime / configurationItemCaptureTime or account ID, a change item that is
    not an ``AWS::EC2::VPCEndpoint`` with a ``vpce-`` ID, ruleParameters not a JSON object
    string, ``check`` missing or unknown, a parameter unknown to the check, not a string, missing
    when required or invalid (promptAttackStrength EXTREME, vpcId not a VPC ID); Config rejecting
    the evaluations permanently (InvalidParameterValueException, InvalidResultTokenException,
    NoSuchConfigRuleException, ValidationException).
    Raised, so Lambda's async retries run and then the function's DLQ receives the event:
    throttling, 5xx and network errors from Bedrock, S3 Vectors, EC2, Config or SQS (after
    botocore's own retries); AccessDenied and every other AWS error (a misconfigured role), except
    that a knowledge base or data source gone between list and get (ResourceNotFoundException) is
    skipped and logged, a vector bucket or index not found is a NON_COMPLIANT reason, and an
    endpoint EC2 no longer knows is NOT_APPLICABLE; Config returning FailedEvaluations.
    Re-running is safe: a later run overwrites the same evaluation.
    ``ConfigurationError``: a missing or invalid environment variable (raised).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
from bedrock_config_rules_checks import (
    CheckResult,
    check_agents,
    check_guardrails,
    check_invocation_logging,
    check_knowledge_bases,
)
from bedrock_config_rules_endpoints import check_endpoints, judge_endpoint_change
from bedrock_config_rules_event import (
    KNOWLEDGE_BASES,
    VPC_ENDPOINT_RESOURCE_TYPE,
    EndpointParameters,
    GuardrailParameters,
    LoggingParameters,
    RuleEvent,
    parse_event,
)
from bedrock_config_rules_settings import Settings, load_settings
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from handler_kit.config_rule import (
    ACCOUNT_RESOURCE_TYPE,
    PERMANENT_CONFIG_ERRORS,
    MalformedEventError,
    send_evaluations,
)
from handler_kit.config_rule import EvaluationDeliveryError as EvaluationDeliveryError
from handler_kit.dlq import send_to_dlq
from handler_kit.errors import ConfigurationError as ConfigurationError
from handler_kit.errors import error_code
from handler_kit.log import log


@dataclass(frozen=True)
class Clients:
    """The boto3 clients the rules use."""

    bedrock: Any
    bedrock_agent: Any
    s3vectors: Any
    ec2: Any
    config: Any
    sqs: Any


def make_clients() -> Clients:
    """Create the boto3 clients (standard retry mode: throttling is retried before raising)."""
    boto_config = BotoConfig(retries={"mode": "standard", "max_attempts": 5})
    return Clients(
        bedrock=boto3.client("bedrock", config=boto_config),
        bedrock_agent=boto3.client("bedrock-agent", config=boto_config),
        s3vectors=boto3.client("s3vectors", config=boto_config),
        ec2=boto3.client("ec2", config=boto_config),
        config=boto3.client("config", config=boto_config),
        sqs=boto3.client("sqs", config=boto_config),
    )


def run_check(rule_event: RuleEvent, clients: Clients, region: str) -> CheckResult:
    """Run the periodic check the event selects."""
    parameters = rule_event.parameters
    if isinstance(parameters, LoggingParameters):
        return check_invocation_logging(clients.bedrock, parameters)
    if isinstance(parameters, GuardrailParameters):
        return check_guardrails(clients.bedrock, parameters)
    if isinstance(parameters, EndpointParameters):
        return check_endpoints(clients.ec2, parameters, region)
    if rule_event.check == KNOWLEDGE_BASES:
        return check_knowledge_bases(clients.bedrock_agent, clients.s3vectors)
    return check_agents(clients.bedrock_agent)


def dead_letter(sqs: Any, dlq_url: str, reason: str, event: Any) -> dict[str, Any]:
    """Send the original event with the reason to the DLQ, log it, and say so."""
    send_to_dlq(sqs, dlq_url, reason, event, level="ERROR")
    return {"status": "dead_lettered", "reason": reason}


def _periodic(rule_event: RuleEvent, clients: Clients, region: str) -> dict[str, Any]:
    invocation = rule_event.invocation
    result = run_check(rule_event, clients, region)
    log(
        "INFO" if result.compliant else "WARNING",
        "check evaluated",
        check=result.check,
        checked=result.checked,
        compliant=result.compliant,
        failures=list(result.failures),
    )
    return {
        "ComplianceResourceType": ACCOUNT_RESOURCE_TYPE,
        "ComplianceResourceId": invocation.account_id,
        "ComplianceType": "COMPLIANT" if result.compliant else "NON_COMPLIANT",
        "Annotation": result.annotation,
        "OrderingTimestamp": invocation.ordering_time,
    }


def _change(rule_event: RuleEvent, clients: Clients, region: str) -> dict[str, Any] | None:
    invocation, parameters = rule_event.invocation, rule_event.parameters
    if invocation.item is None or not isinstance(parameters, EndpointParameters):
        return None
    verdict = judge_endpoint_change(
        clients.ec2,
        invocation.item,
        parameters,
        region,
        left_scope=invocation.event_left_scope,
    )
    log(
        "WARNING" if verdict.compliance == "NON_COMPLIANT" else "INFO",
        "endpoint evaluated",
        check=rule_event.check,
        endpoint=verdict.endpoint_id,
        compliance=verdict.compliance,
        annotation=verdict.annotation,
    )
    return {
        "ComplianceResourceType": VPC_ENDPOINT_RESOURCE_TYPE,
        "ComplianceResourceId": verdict.endpoint_id,
        "ComplianceType": verdict.compliance,
        "Annotation": verdict.annotation,
        "OrderingTimestamp": invocation.ordering_time,
    }


def evaluate(event: Any, clients: Clients, settings: Settings) -> dict[str, Any]:
    """Run the check the event selects and report its one evaluation to Config."""
    try:
        rule_event = parse_event(event)
    except MalformedEventError as exc:
        return dead_letter(clients.sqs, settings.dlq_url, str(exc), event)
    evaluation = _change(rule_event, clients, settings.region) or _periodic(
        rule_event, clients, settings.region
    )
    invocation = rule_event.invocation
    try:
        calls = send_evaluations(clients.config, [evaluation], invocation.result_token)
    except ClientError as exc:
        code = error_code(exc)
        if code not in PERMANENT_CONFIG_ERRORS:
            raise
        return dead_letter(
            clients.sqs, settings.dlq_url, f"Config rejected the evaluations: {code}", event
        )
    log(
        "INFO",
        "evaluations sent",
        rule=invocation.rule_name,
        check=rule_event.check,
        messageType=invocation.message_type,
        resourceType=evaluation["ComplianceResourceType"],
        resourceId=evaluation["ComplianceResourceId"],
        compliance=evaluation["ComplianceType"],
        calls=calls,
    )
    return {
        "status": "evaluated",
        "check": rule_event.check,
        "resourceType": evaluation["ComplianceResourceType"],
        "resourceId": evaluation["ComplianceResourceId"],
        "compliance": evaluation["ComplianceType"],
        "annotation": evaluation["Annotation"],
        "putEvaluationsCalls": calls,
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    settings = load_settings(os.environ)
    return evaluate(event, make_clients(), settings)
