"""Least privilege in behaviour: assume each role the templates define and try calls against moto.

``MATRIX`` (``offline.matrix``) is the table: each row names a role, a call, whether IAM must
allow or deny it, and why. ``run_matrix`` assumes every role once (before enforcement, since our
roles trust AWS services, not the account), switches moto's IAM enforcement on, makes every call
with the role's credentials and compares the outcome with the row.

What moto's enforcement can prove (moto 5.2.5), and so what rows are allowed to claim:

* S3, SQS, IAM and STS calls are checked against the real resource ARN: allow and deny rows are
  both meaningful there;
* other services are checked against resource ``*``: a *deny* row (the action is not granted on
  any resource) is meaningful, an *allow* row for a resource-scoped grant is not, so there are
  none;
* conditions in identity policies and all resource policies (bucket, key) are ignored: those are
  proven by template assertions and the compliance gates instead;
* CloudWatch Logs ``CreateLogStream`` and ``PutLogEvents`` are checked against ``*`` by moto;
  during the matrix the harness tells moto the stream's ARN
  (``arn:aws:logs:REGION:ACCOUNT:log-group:GROUP:log-stream:STREAM``, the resource AWS
  authorises), and the deploy step gives log-group ``Arn`` attributes in policies their real
  ``:*`` suffix (``offline/template_prep.py``), so "writes its own log group and no other" rows
  are meaningful: a grant on ``<Arn>:log-stream:*`` fails them, as it fails in AWS.

Two control rows use a probe role the harness creates with a known policy: one allowed, one
denied. They fail if enforcement is off or if allowed calls cannot succeed, so a matrix of denies
cannot pass vacuously.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from offline.matrix import (
    BATCH_INPUT_KEY,
    KNOWLEDGE_KEY,
    PROBE_KEY,
    PROBE_ROLE,
    REDACTED_KEY,
    TRAINING_KEY,
)
from offline.matrix import MATRIX as MATRIX
from offline.matrix import Check as Check
from offline.matrix import Targets as Targets
from offline.reports import StackReport

DENIED_CODES = {"AccessDenied", "AccessDeniedException", "403", "UnauthorizedOperation"}


# How to find each matrix role among the deployed stacks: (stack kind, logical-ID prefix).
ROLE_FINDERS: dict[str, tuple[str, str]] = {
    "flow-logs": ("network", "NetworkFlowLogRole"),
    "sg-restrictor": ("network", "CustomVpcRestrictDefaultSGCustomResourceProviderRole"),
    "findings-router": ("findings", "FindingsRouterRole"),
    "access-review": ("findings", "AccessReviewRole"),
    "config-rule": ("audit", "SageMakerIsolationRuleRole"),
    "phi-redaction": ("genai", "PhiRedactionRole"),
    "guarded-invoke": ("genai", "GuardedInvokeRole"),
    "audit-calls": ("audit", "SdkCallsRole"),
    "genai-calls": ("genai", "InvocationLoggingConfigurationRole"),
    "invocation-log-delivery": ("genai", "InvocationLoggingDeliveryRole"),
    "training-job": ("ml", "RolesTrainingJobRole"),
    "bedrock-invoker": ("genai", "InvocationRole"),
    "knowledge-base": ("genai", "KnowledgeBaseServiceRole"),
    "knowledge-ingestion": ("genai", "KnowledgeBaseIngestionRole"),
    "guarded-retrieval": ("genai", "GuardedRetrievalRole"),
    "batch-inference": ("genai", "BatchInferenceServiceRole"),
    "bedrock-config-rules": ("genai", "BedrockConfigRulesFunctionRole"),
}

# The log group each role writes: (stack kind, logical-ID prefix).
LOG_GROUP_FINDERS: dict[str, tuple[str, str]] = {
    "flow-logs": ("network", "NetworkFlowLogGroup"),
    "findings-router": ("findings", "FindingsRouterLogGroup"),
    "access-review": ("findings", "AccessReviewLogGroup"),
    "config-rule": ("audit", "SageMakerIsolationRuleLogGroup"),
    "audit-calls": ("audit", "SdkCallsLogGroup"),
    "genai-calls": ("genai", "InvocationLoggingProviderLogGroup"),
    "invocation-log-delivery": ("genai", "InvocationLoggingLogGroup"),
    "phi-redaction": ("genai", "PhiRedactionLogGroup"),
    "guarded-invoke": ("genai", "GuardedInvokeLogGroup"),
    "knowledge-ingestion": ("genai", "KnowledgeBaseIngestionLogGroup"),
    "guarded-retrieval": ("genai", "GuardedRetrievalLogGroup"),
    "bedrock-config-rules": ("genai", "BedrockConfigRulesFunctionLogGroup"),
}

# Each function role's dead-letter queue: (stack kind, logical-ID prefix).
QUEUE_FINDERS: dict[str, tuple[str, str]] = {
    "findings-router": ("findings", "FindingsRouterDeadLetterQueue"),
    "access-review": ("findings", "AccessReviewDeadLetterQueue"),
    "config-rule": ("audit", "SageMakerIsolationRuleDeadLetterQueue"),
    "phi-redaction": ("genai", "PhiRedactionDeadLetterQueue"),
    "guarded-invoke": ("genai", "GuardedInvokeDeadLetterQueue"),
    "knowledge-ingestion": ("genai", "KnowledgeBaseIngestionDeadLetterQueue"),
    "guarded-retrieval": ("genai", "GuardedRetrievalDeadLetterQueue"),
    "bedrock-config-rules": ("genai", "BedrockConfigRulesFunctionDeadLetterQueue"),
}


@dataclass(frozen=True)
class Outcome:
    """One row's result."""

    check: Check
    actual: Literal["allow", "deny"]
    detail: str

    @property
    def passed(self) -> bool:
        """Whether IAM behaved as the row says."""
        return self.actual == self.check.expect


def find(
    reports: dict[str, StackReport], finders: dict[str, tuple[str, str]], resource_type: str
) -> dict[str, str]:
    """Matrix key -> physical ID of the one ``resource_type`` resource each finder names."""
    found = {}
    for key, (kind, prefix) in finders.items():
        report = reports[kind]
        ids = [
            report.physical_ids[lid]
            for lid, kind_ in report.resource_types.items()
            if kind_ == resource_type and lid.startswith(prefix) and lid in report.physical_ids
        ]
        if len(ids) != 1:
            raise LookupError(
                f"matrix {key!r}: expected one {prefix}* {resource_type} in {kind}, got {ids}"
            )
        found[key] = ids[0]
    return found


def role_names(reports: dict[str, StackReport]) -> dict[str, str]:
    """Matrix role key -> deployed role name (plus the harness's probe role)."""
    return {**find(reports, ROLE_FINDERS, "AWS::IAM::Role"), "probe": PROBE_ROLE}


def _create_probe(iam: Any, s3: Any, targets: Targets) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{targets.account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName=PROBE_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{targets.buckets['raw']}/clinical/*",
            }
        ],
    }
    iam.put_role_policy(RoleName=PROBE_ROLE, PolicyName="probe", PolicyDocument=json.dumps(policy))
    for family in ("raw", "audit"):
        s3.put_object(Bucket=targets.buckets[family], Key=PROBE_KEY, Body=b"probe")
    for key in (TRAINING_KEY, KNOWLEDGE_KEY, REDACTED_KEY, BATCH_INPUT_KEY):
        s3.put_object(Bucket=targets.buckets["curated"], Key=key, Body=b"probe")


LOG_STREAM_ACTIONS = frozenset({"CreateLogStream", "PutLogEvents"})


def _log_stream_resource(response: Any) -> str:
    """The ARN AWS authorises a CreateLogStream/PutLogEvents call against (else ``*``)."""
    if response._get_action() not in LOG_STREAM_ACTIONS:
        return "*"
    return (
        f"arn:aws:logs:{response.region}:{response.current_account}:log-group:"
        f"{response._get_param('logGroupName')}:log-stream:{response._get_param('logStreamName')}"
    )


@contextmanager
def iam_enforcement() -> Iterator[None]:
    """Switch moto's IAM enforcement on for the block (every request is authorised).

    Log-stream writes are authorised against the stream's ARN meanwhile (see the module notes).
    """
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.logs.responses import LogsResponse

    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0
    LogsResponse._determine_resource = _log_stream_resource  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del LogsResponse._determine_resource  # type: ignore[attr-defined]
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved


def run_matrix(
    reports: dict[str, StackReport],
    targets: Targets,
    admin: Callable[[str], Any],
    matrix: Sequence[Check] = MATRIX,
) -> list[Outcome]:
    """Run every row; ``admin(service)`` is an unrestricted client used for set-up only."""
    names = role_names(reports)
    _create_probe(admin("iam"), admin("s3"), targets)
    sts = admin("sts")
    credentials = {}
    for key, name in names.items():
        issued = sts.assume_role(
            RoleArn=f"arn:aws:iam::{targets.account}:role/{name}", RoleSessionName=f"matrix-{key}"
        )["Credentials"]
        credentials[key] = {
            "aws_access_key_id": issued["AccessKeyId"],
            "aws_secret_access_key": issued["SecretAccessKey"],
            "aws_session_token": issued["SessionToken"],
        }
    outcomes = []
    with iam_enforcement():
        for check in matrix:
            try:
                check.run(targets, credentials[check.role])
                outcomes.append(Outcome(check, "allow", "ok"))
            except ClientError as err:
                code = str(err.response.get("Error", {}).get("Code", ""))
                status = str(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
                if code in DENIED_CODES or status == "403":
                    outcomes.append(Outcome(check, "deny", code or status))
                else:
                    # Authorised, then failed for another reason (e.g. an invalid ciphertext):
                    # IAM allowed the call.
                    outcomes.append(Outcome(check, "allow", f"authorised, then {code}"))
    return outcomes
