"""Organization entry point of the SageMaker isolation rule (Lambda handler setting).

Handler: ``org_isolation_rule.handler``. This module ships in a layer (``/opt/python``) next to
the ``handler_kit`` layer; the function's code is the single-account folder
``lambda/sagemaker_isolation_rule`` as it is (``/var/task``), whose evaluation this module runs
unchanged: ``sagemaker_isolation_rule.evaluate`` (the checks, the evaluations, their batches and
every Config failure mode are described there).

The function runs in the security (delegated administrator) account and AWS Config of each
member account invokes it; the result token belongs to that member's rule. So each call:

1. reads the settings: the rule's own (``sagemaker_isolation_rule_settings.load_settings``) plus
   ``MEMBER_ROLE_NAME`` (required here);
2. validates the event (``sagemaker_isolation_rule_event.parse_event``); a malformed one is
   dead-lettered before any STS call;
3. takes partition and region from ``context.invoked_function_arn``;
4. assumes ``arn:<partition>:iam::<event accountId>:role/<MEMBER_ROLE_NAME>`` through the regional
   STS endpoint (session ``config-isolation-<account>``, 900 s; ``org_isolation_rule_member``);
5. runs ``evaluate`` with the member's SageMaker and Config clients (the function's region) and
   the function's own SQS client (the DLQ lives in the security account).

Environment:
    DLQ_URL, LOOKBACK_HOURS, EVALUATION_SCOPE: as for ``sagemaker_isolation_rule``.
    MEMBER_ROLE_NAME: IAM role name (no path, 1-64 of ``A-Za-z0-9+=,.@_-``) to assume in the
        event's account (required).

IAM: the function's role needs ``sts:AssumeRole`` on the member role ARNs and
``sqs:SendMessage`` on its DLQ, nothing else; each member role needs what the single-account
function role needs (list and describe training and processing jobs, ``config:PutEvaluations``)
and must trust the function's role.

Failure modes:
    Dead-lettered, handler returns normally: every malformed event of ``parse_event`` (an
    account ID that is not 12 digits included: no role is assumed); STS AccessDenied on the
    member role (missing, or its trust does not allow this function): the message and the log
    line carry ``account``, ``roleArn`` and ``errorCode``; Config rejecting the evaluations
    permanently (as ``evaluate``).
    Raised, so Lambda's async retries run and then the platform DLQ receives the event:
    throttling, 5xx and network errors from STS, SageMaker, Config or SQS; any other STS error;
    SageMaker AccessDenied (the member role lacks a permission); Config FailedEvaluations.
    ``ConfigurationError``: a missing or invalid environment variable, or no Lambda function ARN
    in the context (raised).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import boto3
from handler_kit.dlq import send_to_dlq
from handler_kit.env import matching_str
from handler_kit.errors import ConfigurationError as ConfigurationError
from handler_kit.log import log
from org_isolation_rule_member import (
    MemberClients,
    MemberCredentials,
    MemberRoleDeniedError,
    assume_member_role,
    function_location,
    make_member_clients,
    make_sts_client,
    member_role_arn,
    retry_config,
)
from sagemaker_isolation_rule import Clients, evaluate
from sagemaker_isolation_rule_event import MalformedEventError, parse_event
from sagemaker_isolation_rule_settings import Settings as RuleSettings
from sagemaker_isolation_rule_settings import load_settings as load_rule_settings

ROLE_NAME_RE = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
"""An IAM role name (no path): 1-64 ASCII letters, digits and ``+=,.@_-`` (matched in full)."""
ROLE_NAME_EXPECTED = "an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-, no path)"


@dataclass(frozen=True)
class Settings(RuleSettings):
    """The rule's validated settings plus the member role every event's account provides."""

    member_role_name: str


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment (``os.environ`` when None).

    Raises:
        ConfigurationError: a variable is missing or invalid (the rule's own first).
    """
    env = os.environ if env is None else env
    rule = load_rule_settings(env)
    role = matching_str(env, "MEMBER_ROLE_NAME", ROLE_NAME_RE, ROLE_NAME_EXPECTED)
    return Settings(**{f.name: getattr(rule, f.name) for f in fields(rule)}, member_role_name=role)


def make_sqs_client() -> Any:
    """The dead-letter queue's client, on the function's own credentials."""
    return boto3.client("sqs", config=retry_config())


@dataclass(frozen=True)
class ClientFactory:
    """How ``run`` builds its clients; tests replace any of them.

    ``sqs``: the DLQ client (function credentials); ``sts``: region -> STS client (function
    credentials); ``member``: (assumed-role credentials, region) -> member clients.
    """

    sqs: Callable[[], Any]
    sts: Callable[[str], Any]
    member: Callable[[MemberCredentials, str], MemberClients]


def default_factory() -> ClientFactory:
    """The real factories (looked up at call time, so a patched ``make_*`` is used)."""
    return ClientFactory(sqs=make_sqs_client, sts=make_sts_client, member=make_member_clients)


def dead_letter(
    sqs: Any, dlq_url: str, reason: str, event: Any, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Send the original event with the reason to the DLQ, log it, and say so."""
    send_to_dlq(sqs, dlq_url, reason, event, details=details, level="ERROR")
    return {"status": "dead_lettered", "reason": reason}


def run(
    event: Any,
    context: Any,
    settings: Settings,
    factory: ClientFactory,
    *,
    page_size: int = 100,
) -> dict[str, Any]:
    """Validate the event, assume its account's member role, evaluate with that role."""
    try:
        rule_event = parse_event(event)
    except MalformedEventError as exc:
        return dead_letter(factory.sqs(), settings.dlq_url, str(exc), event)
    location = function_location(context)
    account = rule_event.account_id
    role_arn = member_role_arn(location.partition, account, settings.member_role_name)
    sqs = factory.sqs()
    try:
        credentials = assume_member_role(factory.sts(location.region), role_arn, account)
    except MemberRoleDeniedError as exc:
        details = {"account": account, "roleArn": role_arn, "errorCode": exc.code}
        return dead_letter(sqs, settings.dlq_url, str(exc), event, details)
    member = factory.member(credentials, location.region)
    log("INFO", "member role assumed", account=account, roleArn=role_arn)
    clients = Clients(sagemaker=member.sagemaker, config=member.config, sqs=sqs)
    return evaluate(event, clients, settings, page_size=page_size)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (handler setting ``org_isolation_rule.handler``)."""
    settings = load_settings(os.environ)
    return run(event, context, settings, default_factory())
