"""Least privilege in behaviour: assume each role the templates define and try calls against moto.

``MATRIX`` is the table: each row names a role, a call, whether IAM must allow or deny it, and
why. ``run_matrix`` assumes every role once (before enforcement, since our roles trust AWS
services, not the account), switches moto's IAM enforcement on, makes every call with the role's
credentials and compares the outcome with the row.

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
  ``:*`` suffix (``offline/deploy.py``), so "writes its own log group and no other" rows are
  meaningful: a grant on ``<Arn>:log-stream:*`` fails them, as it fails in AWS.

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

from offline.deploy import StackReport

PROBE_ROLE = "offline-harness-probe"
PROBE_KEY = "clinical/probe.txt"
TRAINING_KEY = "training/probe.txt"
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "403", "UnauthorizedOperation"}


@dataclass
class Targets:
    """Names of deployed things the matrix calls, and a client factory for a role's session."""

    buckets: dict[str, str]  # family -> bucket name
    queues: dict[str, str]  # matrix role key -> URL of that function's dead-letter queue
    keys: dict[str, str]  # "data" / "logs" -> key ARN
    log_groups: dict[str, str]  # matrix role key -> name of the log group that role writes
    account: str
    region: str
    client: Callable[[str, dict[str, str]], Any]  # (service, credentials) -> client


Call = Callable[[Targets, dict[str, str]], Any]


@dataclass(frozen=True)
class Check:
    """One row of the matrix."""

    role: str  # a key of ROLE_FINDERS
    call: str  # what is attempted, for people
    expect: Literal["allow", "deny"]
    why: str
    run: Call


def _s3(t: Targets, c: dict[str, str]) -> Any:
    return t.client("s3", c)


def _send(queue_of: str) -> Call:
    return lambda t, c: t.client("sqs", c).send_message(
        QueueUrl=t.queues[queue_of], MessageBody='{"matrix": "probe"}'
    )


def _logs(t: Targets, c: dict[str, str]) -> Any:
    return t.client("logs", c)


def _log_rows(role: str, other: str, stream: str = "matrix-probe") -> tuple[Check, ...]:
    """A role writes log events to its own log group (``stream`` in it) and not to ``other``'s."""

    def create(t: Targets, c: dict[str, str]) -> Any:
        return _logs(t, c).create_log_stream(logGroupName=t.log_groups[role], logStreamName=stream)

    def put(group_of: str) -> Call:
        return lambda t, c: _logs(t, c).put_log_events(
            logGroupName=t.log_groups[group_of],
            logStreamName=stream,
            logEvents=[{"timestamp": 1767225600000, "message": '{"matrix": "probe"}'}],
        )

    return (
        Check(role, f"logs:CreateLogStream {stream} in its own log group", "allow",
              "it must be able to log at all (a grant matching no stream ARN fails here)", create),
        Check(role, "logs:PutLogEvents to its own log group", "allow",
              "its log lines reach its own encrypted log group", put(role)),
        Check(role, f"logs:PutLogEvents to the {other} log group", "deny",
              "it cannot write into (or forge) another component's logs", put(other)),
    )  # fmt: skip


def _function_rows(role: str, other: str, purpose: str) -> tuple[Check, ...]:
    """Rows every audit function role shares: its own DLQ yes; another's, data, IAM no."""
    return (
        Check(role, "sqs:SendMessage to its own dead-letter queue", "allow",
              "what it cannot process goes to its dead-letter queue", _send(role)),
        Check(role, f"sqs:SendMessage to the {other} dead-letter queue", "deny",
              "each function reaches only its own queue", _send(other)),
        Check(role, "s3:GetObject raw/clinical/probe.txt", "deny",
              f"{purpose}: it never reads data", lambda t, c: _s3(t, c).get_object(
                  Bucket=t.buckets["raw"], Key=PROBE_KEY)),
        Check(role, "iam:CreateUser", "deny", "no IAM changes",
              lambda t, c: t.client("iam", c).create_user(UserName="escalation")),
    )  # fmt: skip


MATRIX: tuple[Check, ...] = (
    # Controls: prove enforcement is on and that an allowed call really succeeds.
    Check(
        "probe",
        "s3:GetObject raw/clinical/probe.txt",
        "allow",
        "control: the probe role is granted exactly this object prefix",
        lambda t, c: _s3(t, c).get_object(Bucket=t.buckets["raw"], Key=PROBE_KEY),
    ),
    Check(
        "probe",
        "s3:GetObject audit/clinical/probe.txt",
        "deny",
        "control: the same call on another bucket is outside the grant",
        lambda t, c: _s3(t, c).get_object(Bucket=t.buckets["audit"], Key=PROBE_KEY),
    ),
    # VPC flow-log delivery role: writes flow logs to its own log group and nothing else.
    Check(
        "flow-logs",
        "s3:GetObject raw/clinical/probe.txt",
        "deny",
        "the delivery role has no S3 access: flow logs go to CloudWatch Logs",
        lambda t, c: _s3(t, c).get_object(Bucket=t.buckets["raw"], Key=PROBE_KEY),
    ),
    Check(
        "flow-logs",
        "s3:PutObject audit/tampered.log",
        "deny",
        "it must not be able to write (or overwrite) audit evidence",
        lambda t, c: _s3(t, c).put_object(Bucket=t.buckets["audit"], Key="tampered.log", Body=b"x"),
    ),
    Check(
        "flow-logs",
        "s3:ListBucket curated",
        "deny",
        "no listing of data buckets",
        lambda t, c: _s3(t, c).list_objects_v2(Bucket=t.buckets["curated"]),
    ),
    Check(
        "flow-logs",
        "kms:Decrypt with the data key",
        "deny",
        "no data-key use: log encryption is done by CloudWatch Logs with the logs key",
        lambda t, c: t.client("kms", c).decrypt(CiphertextBlob=b"\x01" * 32, KeyId=t.keys["data"]),
    ),
    Check(
        "flow-logs",
        "logs:DeleteLogGroup on the flow-log group",
        "deny",
        "it can add log events but never delete the evidence",
        lambda t, c: t.client("logs", c).delete_log_group(logGroupName=t.log_groups["flow-logs"]),
    ),
    *_log_rows("flow-logs", "findings-router"),
    Check(
        "flow-logs",
        "iam:CreateUser",
        "deny",
        "no IAM changes from a delivery role",
        lambda t, c: t.client("iam", c).create_user(UserName="escalation"),
    ),
    Check(
        "flow-logs",
        "sts:AssumeRole into the probe role",
        "deny",
        "no role chaining",
        lambda t, c: t.client("sts", c).assume_role(
            RoleArn=f"arn:aws:iam::{t.account}:role/{PROBE_ROLE}", RoleSessionName="chain"
        ),
    ),
    # CDK's default-security-group restrictor (a custom resource's role in the network stack):
    # EC2 security-group calls on the default group only.
    Check(
        "sg-restrictor",
        "s3:GetObject raw/clinical/probe.txt",
        "deny",
        "a deployment-time helper must not read data",
        lambda t, c: _s3(t, c).get_object(Bucket=t.buckets["raw"], Key=PROBE_KEY),
    ),
    Check(
        "sg-restrictor",
        "iam:CreateUser",
        "deny",
        "no IAM changes from a deployment-time helper",
        lambda t, c: t.client("iam", c).create_user(UserName="escalation"),
    ),
    *_function_rows("findings-router", "access-review", "it normalises findings events"),
    *_log_rows("findings-router", "access-review"),
    *_function_rows("access-review", "findings-router", "it reads IAM metadata, not data"),
    *_log_rows("access-review", "findings-router"),
    Check(
        "access-review",
        "iam:ListRoles",
        "allow",
        "the review lists roles to find unused ones",
        lambda t, c: t.client("iam", c).list_roles(MaxItems=1),
    ),
    *_function_rows("config-rule", "findings-router", "it inspects SageMaker job settings"),
    *_log_rows("config-rule", "audit-calls"),
    # The deploy-time AwsCustomResource providers (Macie/Inspector calls; invocation logging).
    *_log_rows("audit-calls", "config-rule"),
    *_log_rows("genai-calls", "guarded-invoke"),
    # Bedrock's delivery role for invocation logs: the one stream Bedrock writes, nothing else.
    *_log_rows("invocation-log-delivery", "guarded-invoke", stream="aws/bedrock/modelinvocations"),
    Check("invocation-log-delivery", "logs:CreateLogStream another in its log group", "deny",
          "Bedrock writes one named stream; no other stream can be created",
          lambda t, c: _logs(t, c).create_log_stream(
              logGroupName=t.log_groups["invocation-log-delivery"], logStreamName="another")),
    # PHI redaction: reads raw clinical notes, writes only redacted copies, never the audit trail.
    Check("phi-redaction", "s3:GetObject raw/clinical/probe.txt", "allow",
          "it reads the clinical notes it must redact",
          lambda t, c: _s3(t, c).get_object(Bucket=t.buckets["raw"], Key=PROBE_KEY)),
    Check("phi-redaction", "s3:GetObject audit/clinical/probe.txt", "deny",
          "the PHI function cannot read the audit bucket",
          lambda t, c: _s3(t, c).get_object(Bucket=t.buckets["audit"], Key=PROBE_KEY)),
    Check("phi-redaction", "s3:PutObject curated/clinical-redacted/note.txt", "allow",
          "it writes the redacted copy and its findings record",
          lambda t, c: _s3(t, c).put_object(
              Bucket=t.buckets["curated"], Key="clinical-redacted/note.txt", Body=b"[NAME]")),
    Check("phi-redaction", "s3:PutObject curated/training/note.txt", "deny",
          "redacted text lands only under its own prefix",
          lambda t, c: _s3(t, c).put_object(
              Bucket=t.buckets["curated"], Key="training/note.txt", Body=b"x")),
    Check("phi-redaction", "s3:DeleteObject raw/clinical/probe.txt", "deny",
          "the source note stays untouched, whatever happens",
          lambda t, c: _s3(t, c).delete_object(Bucket=t.buckets["raw"], Key=PROBE_KEY)),
    Check("phi-redaction", "sqs:SendMessage to its own dead-letter queue", "allow",
          "objects it cannot process go to its dead-letter queue", _send("phi-redaction")),
    Check("phi-redaction", "sqs:SendMessage to the guarded-invoke dead-letter queue", "deny",
          "each function reaches only its own queue", _send("guarded-invoke")),
    *_log_rows("phi-redaction", "guarded-invoke"),
    *_log_rows("guarded-invoke", "phi-redaction"),
    # SageMaker training jobs: curated training data in, experiment artifacts out; no raw PHI.
    Check("training-job", "s3:GetObject curated/training/probe.txt", "allow",
          "training reads its curated input prefix",
          lambda t, c: _s3(t, c).get_object(Bucket=t.buckets["curated"], Key=TRAINING_KEY)),
    Check("training-job", "s3:GetObject raw/clinical/probe.txt", "deny",
          "training never sees raw (unredacted) clinical data",
          lambda t, c: _s3(t, c).get_object(Bucket=t.buckets["raw"], Key=PROBE_KEY)),
    Check("training-job", "s3:PutObject model_artifacts/experiments/model.tar.gz", "allow",
          "training writes its artifacts",
          lambda t, c: _s3(t, c).put_object(
              Bucket=t.buckets["model_artifacts"], Key="experiments/model.tar.gz", Body=b"m")),
    Check("training-job", "s3:PutObject curated/training/poison.csv", "deny",
          "a job cannot rewrite its own training data (poisoning)",
          lambda t, c: _s3(t, c).put_object(
              Bucket=t.buckets["curated"], Key="training/poison.csv", Body=b"x")),
    # Bedrock invocation role: models and the guardrail only (model scoping is proven by the
    # policy evaluator in tests/unit: moto checks Bedrock calls against resource "*").
    Check("bedrock-invoker", "s3:GetObject raw/clinical/probe.txt", "deny",
          "calling models gives no access to data",
          lambda t, c: _s3(t, c).get_object(Bucket=t.buckets["raw"], Key=PROBE_KEY)),
    Check("bedrock-invoker", "iam:CreateUser", "deny", "no IAM changes",
          lambda t, c: t.client("iam", c).create_user(UserName="escalation")),
)  # fmt: skip


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
}

# Each function role's dead-letter queue: (stack kind, logical-ID prefix).
QUEUE_FINDERS: dict[str, tuple[str, str]] = {
    "findings-router": ("findings", "FindingsRouterDeadLetterQueue"),
    "access-review": ("findings", "AccessReviewDeadLetterQueue"),
    "config-rule": ("audit", "SageMakerIsolationRuleDeadLetterQueue"),
    "phi-redaction": ("genai", "PhiRedactionDeadLetterQueue"),
    "guarded-invoke": ("genai", "GuardedInvokeDeadLetterQueue"),
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
    s3.put_object(Bucket=targets.buckets["curated"], Key=TRAINING_KEY, Body=b"probe")


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
