"""The permission matrix: one row per (role, call, allow or deny, why), and what rows call.

``MATRIX`` is the table ``offline.permissions.run_matrix`` runs; each ``Check`` names a matrix role
(a key of ``offline.permissions.ROLE_FINDERS``, or the harness's probe role ``PROBE_ROLE``), the
call it attempts against the deployed ``Targets`` with that role's credentials, the outcome IAM
must give and the reason. What moto's enforcement lets a row claim is in ``offline.permissions``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

PROBE_ROLE = "offline-harness-probe"
PROBE_KEY = "clinical/probe.txt"
TRAINING_KEY = "training/probe.txt"
KNOWLEDGE_KEY = "knowledge/probe.txt"
REDACTED_KEY = "clinical-redacted/probe.txt"
BATCH_INPUT_KEY = "clinical-redacted/batch-input/probe.jsonl"


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


def _curated(key: str) -> Call:
    return lambda t, c: _s3(t, c).get_object(Bucket=t.buckets["curated"], Key=key)


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
    Check("bedrock-invoker", "s3:GetObject curated/knowledge/probe.txt", "deny",
          "applications get passages through Retrieve and the guarded function, never from S3",
          _curated(KNOWLEDGE_KEY)),
    # The knowledge base's service role (Bedrock ingestion): the knowledge prefix, nothing else.
    Check("knowledge-base", "s3:GetObject curated/knowledge/probe.txt", "allow",
          "ingestion reads the documents under the knowledge prefix", _curated(KNOWLEDGE_KEY)),
    Check("knowledge-base", "s3:GetObject curated/clinical-redacted/probe.txt", "deny",
          "redacted notes and their PHI findings records are not retrievable unless published "
          "under the knowledge prefix", _curated(REDACTED_KEY)),
    Check("knowledge-base", "s3:GetObject curated/training/probe.txt", "deny",
          "other curated prefixes stay out of the knowledge base", _curated(TRAINING_KEY)),
    Check("knowledge-base", "s3:GetObject raw/clinical/probe.txt", "deny",
          "raw (unredacted) clinical notes never reach the vector store",
          lambda t, c: _s3(t, c).get_object(Bucket=t.buckets["raw"], Key=PROBE_KEY)),
    Check("knowledge-base", "s3:PutObject curated/knowledge/poison.txt", "deny",
          "the knowledge base reads its sources; it cannot write (poison) them",
          lambda t, c: _s3(t, c).put_object(
              Bucket=t.buckets["curated"], Key="knowledge/poison.txt", Body=b"x")),
    Check("knowledge-base", "kms:Decrypt with the logs key", "deny",
          "its key grants are the data key's, through S3 and S3 Vectors only",
          lambda t, c: t.client("kms", c).decrypt(
              CiphertextBlob=b"\x01" * 32, KeyId=t.keys["logs"])),
    Check("knowledge-base", "iam:CreateUser", "deny", "no IAM changes",
          lambda t, c: t.client("iam", c).create_user(UserName="escalation")),
    Check("knowledge-base", "sqs:SendMessage to the knowledge-ingestion dead-letter queue", "deny",
          "a service role of Bedrock reaches no queue of the platform",
          _send("knowledge-ingestion")),
    # The ingestion function: starts jobs, reads no document.
    *_function_rows("knowledge-ingestion", "guarded-retrieval", "it starts ingestion jobs"),
    *_log_rows("knowledge-ingestion", "guarded-retrieval"),
    Check("knowledge-ingestion", "s3:GetObject curated/knowledge/probe.txt", "deny",
          "Bedrock reads the documents with its own role; the function only starts the job",
          _curated(KNOWLEDGE_KEY)),
    # The guarded retrieval function: passages come from Retrieve, not from S3.
    *_function_rows("guarded-retrieval", "knowledge-ingestion", "it retrieves and generates"),
    *_log_rows("guarded-retrieval", "knowledge-ingestion"),
    Check("guarded-retrieval", "s3:GetObject curated/knowledge/probe.txt", "deny",
          "it sees passages only through Retrieve on its knowledge base", _curated(KNOWLEDGE_KEY)),
    # Bedrock batch inference's service role: redacted input in, its own output prefix out.
    Check("batch-inference", "s3:GetObject curated/clinical-redacted/batch-input/probe.jsonl",
          "allow", "a batch job reads its (redacted) input prefix", _curated(BATCH_INPUT_KEY)),
    Check("batch-inference", "s3:GetObject curated/clinical-redacted/probe.txt", "deny",
          "only the batch input prefix, not every redacted note", _curated(REDACTED_KEY)),
    Check("batch-inference", "s3:GetObject raw/clinical/probe.txt", "deny",
          "guardrails do not apply to batch jobs: unredacted notes are out of its reach",
          lambda t, c: _s3(t, c).get_object(Bucket=t.buckets["raw"], Key=PROBE_KEY)),
    Check("batch-inference", "s3:PutObject curated/batch-output/out.jsonl", "allow",
          "a batch job writes its results under its output prefix",
          lambda t, c: _s3(t, c).put_object(
              Bucket=t.buckets["curated"], Key="batch-output/out.jsonl", Body=b"{}")),
    Check("batch-inference", "s3:PutObject curated/clinical-redacted/batch-input/x.jsonl", "deny",
          "a job cannot rewrite its own input",
          lambda t, c: _s3(t, c).put_object(
              Bucket=t.buckets["curated"], Key="clinical-redacted/batch-input/x.jsonl", Body=b"x")),
    Check("batch-inference", "iam:CreateUser", "deny", "no IAM changes",
          lambda t, c: t.client("iam", c).create_user(UserName="escalation")),
    # The Bedrock Config rules' function: reads configuration, never data.
    *_function_rows("bedrock-config-rules", "guarded-retrieval", "it reads Bedrock settings"),
    *_log_rows("bedrock-config-rules", "guarded-retrieval"),
)  # fmt: skip
