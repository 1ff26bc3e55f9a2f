"""Tests for the sagemaker_isolation_rule Config rule Lambda.

SageMaker training jobs and SQS run on moto. Processing jobs use a Stubber on a real SageMaker
client, because moto's processing job drops ``ProcessingResources`` (so the volume KMS key check
could not be exercised). Config ``put_evaluations`` uses a Stubber plus a parameter capture on a
real Config client: moto's put_evaluations only accepts ``TestMode=True`` and stores nothing.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from tests.handlers.loader import load_handler

mod = load_handler("sagemaker_isolation_rule")
checks = load_handler("sagemaker_isolation_rule", "sagemaker_isolation_rule_checks")
member = load_handler("sagemaker_isolation_rule", "sagemaker_isolation_rule_member")

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-exec"
VPC = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-a", "subnet-b"]}
NOW = datetime.now(UTC).replace(microsecond=0)

MESSAGES = checks.CHECK_MESSAGES

# One session for the whole module: moto resets boto3's default session on every start, and
# re-parsing the SageMaker service model for each client would make the tests slow.
SESSION = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


class ConfigSpy:
    """A real Config client: a Stubber answers, a hook records every PutEvaluations request."""

    def __init__(self, client: Any = None) -> None:
        self.client = client or SESSION.client("config")
        self.calls: list[dict[str, Any]] = []
        self.client.meta.events.register(
            "before-parameter-build.config-service.PutEvaluations", self._record
        )
        self.stubber = Stubber(self.client)
        self.stubber.activate()

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.calls.append(copy.deepcopy(params))

    def accept(self, calls: int = 1) -> None:
        for _ in range(calls):
            self.stubber.add_response("put_evaluations", {"FailedEvaluations": []})

    @property
    def evaluations(self) -> list[dict[str, Any]]:
        return [e for call in self.calls for e in call["Evaluations"]]


@dataclass
class Env:
    sagemaker: Any
    config: ConfigSpy
    sqs: Any
    dlq_url: str

    def clients(self, sagemaker: Any = None) -> Any:
        return mod.Clients(
            sagemaker=sagemaker or self.sagemaker, config=self.config.client, sqs=self.sqs
        )

    def dlq_messages(self) -> list[dict[str, Any]]:
        out = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in out.get("Messages", [])]


@pytest.fixture
def env():
    with mock_aws():
        sqs = SESSION.client("sqs")
        url = sqs.create_queue(QueueName="rule-dlq")["QueueUrl"]
        yield Env(SESSION.client("sagemaker"), ConfigSpy(), sqs, url)


def settings(env: Env, scope: str = "account", hours: int = 24) -> Any:
    return mod.Settings(dlq_url=env.dlq_url, lookback_hours=hours, scope=scope)


def rule_event(
    parameters: dict[str, Any] | None = None, when: datetime = NOW, **overrides: Any
) -> dict[str, Any]:
    invoking = {
        "awsAccountId": ACCOUNT,
        "notificationCreationTime": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    }
    event = {
        "invokingEvent": json.dumps(invoking),
        "ruleParameters": json.dumps(parameters or {}),
        "resultToken": "token-123",
        "eventLeftScope": False,
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/config-role",
        "configRuleArn": f"arn:aws:config:{REGION}:{ACCOUNT}:config-rule/config-rule-0123456",
        "configRuleName": "sagemaker-job-isolation",
        "configRuleId": "config-rule-0123456",
        "accountId": ACCOUNT,
        "version": "1.0",
    }
    event.update(overrides)
    return event


def create_training_job(
    sm: Any,
    name: str,
    *,
    isolation: bool = True,
    vpc: dict[str, Any] | None = VPC,
    encryption: bool = True,
    volume_key: str | None = "alias/ml-volume",
    output_key: str | None = "alias/ml-output",
) -> None:
    resource = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10}
    output = {"S3OutputPath": "s3://ml-bucket/out"}
    if volume_key:
        resource["VolumeKmsKeyId"] = volume_key
    if output_key:
        output["KmsKeyId"] = output_key
    kwargs: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "OutputDataConfig": output,
        "ResourceConfig": resource,
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "EnableNetworkIsolation": isolation,
        "EnableInterContainerTrafficEncryption": encryption,
    }
    if vpc:
        kwargs["VpcConfig"] = vpc
    sm.create_training_job(**kwargs)


def processing_description(
    name: str,
    *,
    isolation: bool = True,
    vpc: dict[str, Any] | None = VPC,
    encryption: bool = True,
    volume_key: str | None = "alias/ml-volume",
    output_key: str | None = "alias/ml-output",
    network: bool = True,
) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "InstanceCount": 1,
        "InstanceType": "ml.m5.large",
        "VolumeSizeInGB": 10,
    }
    if volume_key:
        cluster["VolumeKmsKeyId"] = volume_key
    output: dict[str, Any] = {
        "Outputs": [
            {
                "OutputName": "out",
                "S3Output": {
                    "S3Uri": "s3://ml-bucket/out",
                    "LocalPath": "/opt/ml/processing/output",
                    "S3UploadMode": "EndOfJob",
                },
            }
        ]
    }
    if output_key:
        output["KmsKeyId"] = output_key
    job: dict[str, Any] = {
        "ProcessingJobName": name,
        "ProcessingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{name}",
        "ProcessingJobStatus": "Completed",
        "CreationTime": NOW,
        "AppSpecification": {"ImageUri": "img:1"},
        "RoleArn": ROLE,
        "ProcessingResources": {"ClusterConfig": cluster},
        "ProcessingOutputConfig": output,
    }
    if network:
        job["NetworkConfig"] = {
            "EnableNetworkIsolation": isolation,
            "EnableInterContainerTrafficEncryption": encryption,
        }
        if vpc:
            job["NetworkConfig"]["VpcConfig"] = vpc
    return job


def processing_summary(name: str) -> dict[str, Any]:
    return {
        "ProcessingJobName": name,
        "ProcessingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{name}",
        "CreationTime": NOW,
        "ProcessingJobStatus": "Completed",
    }


def stubbed_sagemaker(
    processing: list[dict[str, Any]], since: datetime | None = None
) -> tuple[Any, Stubber]:
    """A SageMaker client answering: no training jobs, then the given processing jobs."""
    client = SESSION.client("sagemaker")
    stubber = Stubber(client)
    expected = {"CreationTimeAfter": since or NOW - timedelta(hours=24), "MaxResults": 100}
    stubber.add_response("list_training_jobs", {"TrainingJobSummaries": []}, expected)
    stubber.add_response(
        "list_processing_jobs",
        {
            "ProcessingJobSummaries": [
                processing_summary(j["ProcessingJobName"]) for j in processing
            ]
        },
        expected,
    )
    for job in processing:
        stubber.add_response(
            "describe_processing_job", job, {"ProcessingJobName": job["ProcessingJobName"]}
        )
    stubber.activate()
    return client, stubber


def assert_annotation_ok(evaluation: dict[str, Any]) -> None:
    assert 1 <= len(evaluation["Annotation"]) <= 256


# --- compliant jobs --------------------------------------------------------------------------


def test_compliant_training_job_account_scope(env):
    create_training_job(env.sagemaker, "train-ok")
    env.config.accept()

    result = mod.evaluate(rule_event(), env.clients(), settings(env))

    assert result["status"] == "evaluated"
    assert result["jobs"] == 1 and result["nonCompliantJobs"] == 0
    assert env.config.calls[0]["ResultToken"] == "token-123"
    (evaluation,) = env.config.evaluations
    assert evaluation["ComplianceResourceType"] == "AWS::::Account"
    assert evaluation["ComplianceResourceId"] == ACCOUNT
    assert evaluation["ComplianceType"] == "COMPLIANT"
    assert evaluation["OrderingTimestamp"] == NOW
    assert "All 1 SageMaker jobs" in evaluation["Annotation"]
    env.config.stubber.assert_no_pending_responses()


def test_compliant_training_job_job_scope(env):
    create_training_job(env.sagemaker, "train-ok")
    env.config.accept()

    mod.evaluate(rule_event(), env.clients(), settings(env, scope="job"))

    (evaluation,) = env.config.evaluations
    assert evaluation["ComplianceResourceType"] == "AWS::SageMaker::TrainingJob"
    assert evaluation["ComplianceResourceId"] == "train-ok"
    assert evaluation["ComplianceType"] == "COMPLIANT"
    assert evaluation["OrderingTimestamp"] == NOW
    assert_annotation_ok(evaluation)


def test_compliant_processing_job(env):
    sagemaker, stubber = stubbed_sagemaker([processing_description("proc-ok")])
    env.config.accept()

    mod.evaluate(rule_event(), env.clients(sagemaker), settings(env, scope="job"))

    stubber.assert_no_pending_responses()
    (evaluation,) = env.config.evaluations
    assert evaluation["ComplianceResourceType"] == "AWS::SageMaker::ProcessingJob"
    assert evaluation["ComplianceResourceId"] == "proc-ok"
    assert evaluation["ComplianceType"] == "COMPLIANT"


# --- each non-compliance kind, separately ----------------------------------------------------

NON_COMPLIANCE = [
    pytest.param("network-isolation", {"isolation": False}, id="network-isolation"),
    pytest.param("vpc", {"vpc": None}, id="no-vpc"),
    pytest.param("inter-container-encryption", {"encryption": False}, id="no-ice"),
    pytest.param("volume-kms", {"volume_key": None}, id="no-volume-kms"),
    pytest.param("output-kms", {"output_key": None}, id="no-output-kms"),
]


@pytest.mark.parametrize(("check", "overrides"), NON_COMPLIANCE)
def test_training_job_non_compliance(env, check, overrides):
    create_training_job(env.sagemaker, "train-bad", **overrides)
    env.config.accept()

    result = mod.evaluate(rule_event(), env.clients(), settings(env, scope="job"))

    assert result["nonCompliantJobs"] == 1
    (evaluation,) = env.config.evaluations
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert evaluation["ComplianceResourceId"] == "train-bad"
    assert MESSAGES[check] in evaluation["Annotation"]
    others = [m for code, m in MESSAGES.items() if code != check]
    assert not any(m in evaluation["Annotation"] for m in others)
    assert_annotation_ok(evaluation)


@pytest.mark.parametrize(("check", "overrides"), NON_COMPLIANCE)
def test_processing_job_non_compliance(env, check, overrides):
    sagemaker, _ = stubbed_sagemaker([processing_description("proc-bad", **overrides)])
    env.config.accept()

    mod.evaluate(rule_event(), env.clients(sagemaker), settings(env, scope="job"))

    (evaluation,) = env.config.evaluations
    assert evaluation["ComplianceResourceType"] == "AWS::SageMaker::ProcessingJob"
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert MESSAGES[check] in evaluation["Annotation"]
    others = [m for code, m in MESSAGES.items() if code != check]
    assert not any(m in evaluation["Annotation"] for m in others)


def test_processing_job_without_network_config_fails_all_network_checks(env):
    sagemaker, _ = stubbed_sagemaker([processing_description("proc-bare", network=False)])
    env.config.accept()

    mod.evaluate(rule_event(), env.clients(sagemaker), settings(env, scope="job"))

    annotation = env.config.evaluations[0]["Annotation"]
    for check in ("network-isolation", "vpc", "inter-container-encryption"):
        assert MESSAGES[check] in annotation
    assert MESSAGES["volume-kms"] not in annotation


def test_non_compliant_job_makes_account_non_compliant(env):
    create_training_job(env.sagemaker, "train-ok")
    create_training_job(env.sagemaker, "train-open", isolation=False, vpc=None)
    env.config.accept()

    result = mod.evaluate(rule_event(), env.clients(), settings(env))

    assert result["jobs"] == 2 and result["nonCompliantJobs"] == 1
    (evaluation,) = env.config.evaluations
    assert evaluation["ComplianceResourceType"] == "AWS::::Account"
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert "1 of 2 jobs" in evaluation["Annotation"]
    assert "training train-open [network-isolation,vpc]" in evaluation["Annotation"]
    assert "train-ok" not in evaluation["Annotation"]


# --- allowedSubnetIds ------------------------------------------------------------------------


def test_subnet_outside_allowed_subnets(env):
    create_training_job(env.sagemaker, "train-subnet")
    env.config.accept()

    event = rule_event({"allowedSubnetIds": "subnet-a, subnet-c"})
    mod.evaluate(event, env.clients(), settings(env, scope="job"))

    (evaluation,) = env.config.evaluations
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert evaluation["Annotation"] == "Failed: subnets not in allowedSubnetIds: subnet-b"


def test_processing_subnet_outside_allowed_subnets(env):
    sagemaker, _ = stubbed_sagemaker([processing_description("proc-subnet")])
    env.config.accept()

    event = rule_event({"allowedSubnetIds": "subnet-b"})
    mod.evaluate(event, env.clients(sagemaker), settings(env, scope="job"))

    assert env.config.evaluations[0]["ComplianceType"] == "NON_COMPLIANT"
    assert env.config.evaluations[0]["Annotation"].endswith("allowedSubnetIds: subnet-a")


@pytest.mark.parametrize("allowed", ["subnet-a,subnet-b", "subnet-b, subnet-a, subnet-z", ""])
def test_subnets_inside_allowed_subnets_or_no_restriction(env, allowed):
    create_training_job(env.sagemaker, "train-subnet")
    env.config.accept()

    mod.evaluate(rule_event({"allowedSubnetIds": allowed}), env.clients(), settings(env, "job"))

    assert env.config.evaluations[0]["ComplianceType"] == "COMPLIANT"


# --- no jobs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["account", "job"])
def test_no_jobs_reports_account_compliant(env, scope):
    env.config.accept()

    result = mod.evaluate(rule_event(), env.clients(), settings(env, scope=scope))

    assert result["jobs"] == 0
    (evaluation,) = env.config.evaluations
    assert evaluation["ComplianceResourceType"] == "AWS::::Account"
    assert evaluation["ComplianceResourceId"] == ACCOUNT
    assert evaluation["ComplianceType"] == "COMPLIANT"
    assert "No SageMaker training or processing jobs" in evaluation["Annotation"]


def test_lookback_window_is_sent_to_list_calls(env):
    # The stub's expected params fail the test if CreationTimeAfter is not notification - 6 h.
    sagemaker, stubber = stubbed_sagemaker([], since=NOW - timedelta(hours=6))
    env.config.accept()

    mod.evaluate(rule_event(), env.clients(sagemaker), settings(env, hours=6))

    stubber.assert_no_pending_responses()
    assert env.config.evaluations[0]["Annotation"].endswith("in the last 6 h.")


# --- malformed events go to the DLQ ----------------------------------------------------------

MALFORMED = [
    pytest.param(rule_event(invokingEvent="{not json"), "not valid JSON", id="invoking-not-json"),
    pytest.param(rule_event(invokingEvent={"messageType": "x"}), "JSON string", id="invoking-dict"),
    pytest.param(rule_event(invokingEvent="[]"), "JSON object", id="invoking-list"),
    pytest.param(
        {k: v for k, v in rule_event().items() if k != "invokingEvent"},
        "invokingEvent is missing",
        id="no-invoking",
    ),
    pytest.param(
        {k: v for k, v in rule_event().items() if k != "resultToken"},
        "resultToken is missing",
        id="no-result-token",
    ),
    pytest.param(rule_event(resultToken=""), "resultToken is missing", id="empty-result-token"),
    pytest.param(
        rule_event(
            invokingEvent=json.dumps(
                {
                    "configurationItem": {"resourceType": "AWS::EC2::Instance"},
                    "notificationCreationTime": "2016-02-17T01:36:34.043Z",
                    "messageType": "ConfigurationItemChangeNotification",
                }
            )
        ),
        "ConfigurationItemChangeNotification",
        id="wrong-message-type",
    ),
    pytest.param(rule_event(ruleParameters="{oops"), "ruleParameters", id="params-not-json"),
    pytest.param(
        rule_event(ruleParameters=json.dumps({"allowedSubnetIds": 7})),
        "allowedSubnetIds",
        id="subnets-not-string",
    ),
    pytest.param(
        rule_event(
            invokingEvent=json.dumps(
                {"messageType": "ScheduledNotification", "notificationCreationTime": "yesterday"}
            )
        ),
        "notificationCreationTime",
        id="bad-time",
    ),
    pytest.param(rule_event(accountId="12345"), "account ID", id="bad-account"),
    pytest.param(["not", "a", "dict"], "event must be an object", id="event-list"),
    pytest.param("just text", "event must be an object", id="event-string"),
]


@pytest.mark.parametrize(("event", "reason"), MALFORMED)
def test_malformed_event_is_dead_lettered(env, event, reason):
    # No Config responses are queued: a put_evaluations call would fail the test.
    result = mod.evaluate(event, env.clients(), settings(env))

    assert result["status"] == "dead_lettered"
    assert reason in result["reason"]
    (message,) = env.dlq_messages()
    assert reason in message["reason"]
    assert message["event"] == event
    assert env.config.calls == []


def test_malformed_event_is_logged(env, capsys):
    mod.evaluate(rule_event(resultToken=None), env.clients(), settings(env))

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"level": "ERROR", "message": "event dead-lettered"}.items() <= lines[-1].items()
    assert lines[-1]["reason"] == "resultToken is missing"


# --- pagination and batching -----------------------------------------------------------------


def test_training_job_pagination_reads_every_page(env):
    list_calls: list[dict[str, Any]] = []
    env.sagemaker.meta.events.register(
        "before-parameter-build.sagemaker.ListTrainingJobs",
        lambda params, **_: list_calls.append(dict(params)),
    )
    for i in range(3):
        create_training_job(env.sagemaker, f"train-{i}", encryption=i != 1)
    env.config.accept()

    result = mod.evaluate(rule_event(), env.clients(), settings(env, "job"), page_size=1)

    assert len(list_calls) >= 3
    assert all(c["MaxResults"] == 1 for c in list_calls)
    assert "NextToken" in list_calls[1]
    assert result["jobs"] == 3
    by_name = {e["ComplianceResourceId"]: e["ComplianceType"] for e in env.config.evaluations}
    assert by_name == {
        "train-0": "COMPLIANT",
        "train-1": "NON_COMPLIANT",
        "train-2": "COMPLIANT",
    }


def test_processing_job_pagination_follows_next_token(env):
    client = SESSION.client("sagemaker")
    stubber = Stubber(client)
    since = NOW - timedelta(hours=24)
    stubber.add_response("list_training_jobs", {"TrainingJobSummaries": []})
    stubber.add_response(
        "list_processing_jobs",
        {"ProcessingJobSummaries": [processing_summary("p1")], "NextToken": "page-2"},
        {"CreationTimeAfter": since, "MaxResults": 100},
    )
    stubber.add_response("describe_processing_job", processing_description("p1"))
    stubber.add_response(
        "list_processing_jobs",
        {"ProcessingJobSummaries": [processing_summary("p2")]},
        {"CreationTimeAfter": since, "MaxResults": 100, "NextToken": "page-2"},
    )
    stubber.add_response("describe_processing_job", processing_description("p2", vpc=None))
    stubber.activate()
    env.config.accept()

    mod.evaluate(rule_event(), env.clients(client), settings(env, "job"))

    stubber.assert_no_pending_responses()
    assert [(e["ComplianceResourceId"], e["ComplianceType"]) for e in env.config.evaluations] == [
        ("p1", "COMPLIANT"),
        ("p2", "NON_COMPLIANT"),
    ]


def test_more_than_100_evaluations_are_sent_in_two_batches(env):
    for i in range(101):
        create_training_job(env.sagemaker, f"train-{i:03d}")
    env.config.accept(2)

    result = mod.evaluate(rule_event(), env.clients(), settings(env, scope="job"))

    assert result["putEvaluationsCalls"] == 2
    assert [len(c["Evaluations"]) for c in env.config.calls] == [100, 1]
    assert all(c["ResultToken"] == "token-123" for c in env.config.calls)
    assert len({e["ComplianceResourceId"] for e in env.config.evaluations}) == 101
    env.config.stubber.assert_no_pending_responses()


def test_send_evaluations_splits_exactly_at_100():
    calls = []

    class FakeConfig:
        def put_evaluations(self, **kwargs):
            calls.append(len(kwargs["Evaluations"]))
            return {"FailedEvaluations": []}

    assert mod.send_evaluations(FakeConfig(), [{}] * 100, "t") == 1
    assert mod.send_evaluations(FakeConfig(), [{}] * 250, "t") == 3
    assert calls == [100, 100, 100, 50]


# --- annotations stay within 256 characters --------------------------------------------------


def test_account_annotation_is_truncated_to_256():
    results = [
        mod.JobResult("training", f"a-very-long-training-job-name-number-{i:03d}", ("vpc",))
        for i in range(30)
    ]
    text = mod.account_annotation(results, 24)
    assert len(text) == 256
    assert text.startswith("30 of 30 jobs in last 24 h fail: training a-very-long")
    assert text.endswith("...")


def test_job_annotation_with_every_failure_is_truncated_to_256():
    subnets = tuple(f"subnet-{i:017d}" for i in range(20))
    result = mod.JobResult("processing", "p", tuple(MESSAGES), subnets)
    text = mod.job_annotation(result)
    assert len(text) <= 256
    assert text.startswith("Failed: network isolation off; not in a VPC")


# --- transient and permanent failures --------------------------------------------------------


def test_put_evaluations_throttling_raises(env):
    env.config.stubber.add_client_error(
        "put_evaluations", "ThrottlingException", "Rate exceeded", 400
    )
    with pytest.raises(ClientError) as info:
        mod.evaluate(rule_event(), env.clients(), settings(env))
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert env.dlq_messages() == []


@pytest.mark.parametrize(
    ("code", "status"),
    [("ServiceUnavailable", 503), ("InternalFailure", 500), ("ThrottlingException", 400)],
)
def test_sagemaker_transient_errors_raise(env, code, status):
    client = SESSION.client("sagemaker")
    stubber = Stubber(client)
    stubber.add_client_error("list_training_jobs", code, "try later", status)
    stubber.activate()

    with pytest.raises(ClientError) as info:
        mod.evaluate(rule_event(), env.clients(client), settings(env))
    assert info.value.response["Error"]["Code"] == code
    assert env.config.calls == []
    assert env.dlq_messages() == []


def test_sagemaker_access_denied_raises(env):
    client = SESSION.client("sagemaker")
    stubber = Stubber(client)
    stubber.add_response("list_training_jobs", {"TrainingJobSummaries": []})
    stubber.add_client_error("list_processing_jobs", "AccessDeniedException", "no", 400)
    stubber.activate()

    with pytest.raises(ClientError):
        mod.evaluate(rule_event(), env.clients(client), settings(env))
    assert env.dlq_messages() == []


@pytest.mark.parametrize(
    "code", ["InvalidParameterValueException", "InvalidResultTokenException", "ValidationException"]
)
def test_config_permanent_rejection_is_dead_lettered(env, code):
    env.config.stubber.add_client_error("put_evaluations", code, "rejected", 400)
    event = rule_event()

    result = mod.evaluate(event, env.clients(), settings(env))

    assert result == {
        "status": "dead_lettered",
        "reason": f"Config rejected the evaluations: {code}",
    }
    (message,) = env.dlq_messages()
    assert message["event"] == event


def test_failed_evaluations_raise(env):
    env.config.stubber.add_response(
        "put_evaluations",
        {
            "FailedEvaluations": [
                {
                    "ComplianceResourceType": "AWS::::Account",
                    "ComplianceResourceId": ACCOUNT,
                    "ComplianceType": "COMPLIANT",
                    "OrderingTimestamp": NOW,
                }
            ]
        },
    )
    with pytest.raises(mod.EvaluationDeliveryError, match=ACCOUNT):
        mod.evaluate(rule_event(), env.clients(), settings(env))


def test_job_gone_before_describe_is_skipped(env):
    client = SESSION.client("sagemaker")
    stubber = Stubber(client)
    stubber.add_response(
        "list_training_jobs",
        {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": "gone",
                    "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/gone",
                    "CreationTime": NOW,
                    "TrainingJobStatus": "Failed",
                }
            ]
        },
    )
    stubber.add_client_error("describe_training_job", "ResourceNotFound", "not found", 400)
    stubber.add_response("list_processing_jobs", {"ProcessingJobSummaries": []})
    stubber.activate()
    env.config.accept()

    result = mod.evaluate(rule_event(), env.clients(client), settings(env))

    assert result["jobs"] == 0
    assert env.config.evaluations[0]["ComplianceType"] == "COMPLIANT"


def test_job_results_are_logged_as_json(env, capsys):
    create_training_job(env.sagemaker, "train-log", output_key=None)
    env.config.accept()

    mod.evaluate(rule_event(), env.clients(), settings(env))

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    job_line = next(line for line in lines if line["message"] == "job evaluated")
    assert job_line["job"] == "train-log"
    assert job_line["failedChecks"] == ["output-kms"]
    assert job_line["level"] == "WARNING"
    assert lines[-1]["message"] == "evaluations sent"


# --- configuration ---------------------------------------------------------------------------

DLQ = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/rule-dlq"


def test_settings_defaults():
    s = mod.load_settings({"DLQ_URL": DLQ})
    assert s == mod.Settings(dlq_url=DLQ, lookback_hours=24, scope="account")
    assert s.member_role_name is None


@pytest.mark.parametrize("value", ["platform-org-config-member", " a+b=c,d.e@f_g-h ", "r" * 64])
def test_settings_member_role_name(value):
    s = mod.load_settings({"DLQ_URL": DLQ, "MEMBER_ROLE_NAME": value})
    assert s.member_role_name == value.strip()


def test_settings_blank_member_role_name_is_single_account():
    assert mod.load_settings({"DLQ_URL": DLQ, "MEMBER_ROLE_NAME": "  "}).member_role_name is None


def test_settings_overrides():
    s = mod.load_settings({"DLQ_URL": DLQ, "LOOKBACK_HOURS": "6", "EVALUATION_SCOPE": "job"})
    assert (s.lookback_hours, s.scope) == (6, "job")


@pytest.mark.parametrize(
    ("env_vars", "name"),
    [
        ({}, "DLQ_URL"),
        ({"DLQ_URL": "not-a-url"}, "DLQ_URL"),
        ({"DLQ_URL": DLQ, "LOOKBACK_HOURS": "abc"}, "LOOKBACK_HOURS"),
        ({"DLQ_URL": DLQ, "LOOKBACK_HOURS": "0"}, "LOOKBACK_HOURS"),
        ({"DLQ_URL": DLQ, "LOOKBACK_HOURS": "9000"}, "LOOKBACK_HOURS"),
        ({"DLQ_URL": DLQ, "EVALUATION_SCOPE": "resource"}, "EVALUATION_SCOPE"),
        ({"DLQ_URL": DLQ, "MEMBER_ROLE_NAME": "path/role"}, "MEMBER_ROLE_NAME"),
        ({"DLQ_URL": DLQ, "MEMBER_ROLE_NAME": "r" * 65}, "MEMBER_ROLE_NAME"),
        ({"DLQ_URL": DLQ, "MEMBER_ROLE_NAME": "arn:aws:iam::1:role/x"}, "MEMBER_ROLE_NAME"),
    ],
)
def test_invalid_settings_raise(env_vars, name):
    with pytest.raises(mod.ConfigurationError, match=name):
        mod.load_settings(env_vars)


def test_handler_reads_env_and_builds_clients(env, monkeypatch):
    monkeypatch.setenv("DLQ_URL", env.dlq_url)
    monkeypatch.setenv("EVALUATION_SCOPE", "job")
    monkeypatch.setattr(mod, "make_clients", env.clients)
    create_training_job(env.sagemaker, "train-h", isolation=False)
    env.config.accept()

    result = mod.handler(rule_event(), None)

    assert result["status"] == "evaluated"
    assert env.config.evaluations[0]["ComplianceType"] == "NON_COMPLIANT"


def test_handler_without_env_raises_configuration_error(monkeypatch):
    monkeypatch.delenv("DLQ_URL", raising=False)
    with pytest.raises(mod.ConfigurationError, match="DLQ_URL"):
        mod.handler(rule_event(), None)


def test_make_clients_builds_the_three_services():
    clients = mod.make_clients()
    assert clients.sagemaker.meta.service_model.service_name == "sagemaker"
    assert clients.config.meta.service_model.service_name == "config"
    assert clients.sqs.meta.service_model.service_name == "sqs"


# --- organization mode: MEMBER_ROLE_NAME --------------------------------------------------------

SECURITY_ACCOUNT = "999999999999"
MEMBER_ROLE = "platform-org-config-member"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{SECURITY_ACCOUNT}:function:org-isolation-evaluator"
CONTEXT = SimpleNamespace(invoked_function_arn=FUNCTION_ARN)
MEMBER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{MEMBER_ROLE}"
ASSUMED = member.MemberCredentials(
    access_key_id="ASIAMEMBEREXAMPLE01",
    secret_access_key="member-secret",
    session_token="member-session-token",
)


def org_settings(env: Env, scope: str = "account") -> Any:
    return mod.Settings(
        dlq_url=env.dlq_url, lookback_hours=24, scope=scope, member_role_name=MEMBER_ROLE
    )


def assume_role_response(role_arn: str = MEMBER_ROLE_ARN) -> dict[str, Any]:
    return {
        "Credentials": {
            "AccessKeyId": ASSUMED.access_key_id,
            "SecretAccessKey": ASSUMED.secret_access_key,
            "SessionToken": ASSUMED.session_token,
            "Expiration": NOW + timedelta(minutes=15),
        },
        "AssumedRoleUser": {
            "AssumedRoleId": "AROAMEMBEREXAMPLE:config-isolation-" + ACCOUNT,
            "Arn": role_arn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")
            + f"/config-isolation-{ACCOUNT}",
        },
    }


def expected_assume(role_arn: str = MEMBER_ROLE_ARN, account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "RoleArn": role_arn,
        "RoleSessionName": f"config-isolation-{account}",
        "DurationSeconds": 900,
    }


class Factory:
    """A ClientFactory recording what it was asked for; ``own``/``sts``/``member`` optional."""

    def __init__(
        self, env: Env, *, own: Any = None, sts: Any = None, member_clients: Any = None
    ) -> None:
        self.env = env
        self.own_clients = own
        self.sts_client = sts
        self.member_clients = member_clients
        self.calls: list[tuple[str, Any]] = []

    def own(self) -> Any:
        self.calls.append(("own", None))
        assert self.own_clients is not None, "single-account clients built in organization mode"
        return self.own_clients

    def sqs(self) -> Any:
        self.calls.append(("sqs", None))
        return self.env.sqs

    def sts(self, region: str) -> Any:
        self.calls.append(("sts", region))
        assert self.sts_client is not None, "STS client built"
        return self.sts_client

    def member(self, credentials: Any, region: str) -> Any:
        self.calls.append(("member", (credentials, region)))
        assert self.member_clients is not None, "member clients built"
        return self.member_clients

    def build(self) -> Any:
        return mod.ClientFactory(own=self.own, sqs=self.sqs, sts=self.sts, member=self.member)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def stubbed_sts() -> tuple[Any, Stubber]:
    client = SESSION.client("sts")
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


@pytest.mark.parametrize(
    ("function_arn", "region", "role_arn"),
    [
        pytest.param(FUNCTION_ARN, REGION, MEMBER_ROLE_ARN, id="aws"),
        pytest.param(
            f"arn:aws-us-gov:lambda:us-gov-west-1:{SECURITY_ACCOUNT}:function:eval:live",
            "us-gov-west-1",
            f"arn:aws-us-gov:iam::{ACCOUNT}:role/{MEMBER_ROLE}",
            id="gov-cloud-alias",
        ),
    ],
)
def test_member_role_is_assumed_and_its_clients_used(env, capsys, function_arn, region, role_arn):
    create_training_job(env.sagemaker, "train-member", isolation=False)
    sts, sts_stubber = stubbed_sts()
    sts_stubber.add_response(
        "assume_role", assume_role_response(role_arn), expected_assume(role_arn)
    )
    member_config = ConfigSpy()
    member_config.accept()
    factory = Factory(
        env, sts=sts, member_clients=member.MemberClients(env.sagemaker, member_config.client)
    )
    event = rule_event()

    result = mod.run(
        event,
        SimpleNamespace(invoked_function_arn=function_arn),
        org_settings(env),
        factory.build(),
    )

    sts_stubber.assert_no_pending_responses()
    assert result["status"] == "evaluated" and result["nonCompliantJobs"] == 1
    assert factory.names() == ["sqs", "sts", "member"]
    assert factory.calls[1] == ("sts", region)
    credentials, member_region = factory.calls[2][1]
    assert credentials == ASSUMED
    assert member_region == region
    assert "member-secret" not in repr(credentials)
    # PutEvaluations went to the member account's Config client, with the member's token.
    assert [c["ResultToken"] for c in member_config.calls] == ["token-123"]
    (evaluation,) = member_config.evaluations
    assert evaluation["ComplianceResourceId"] == ACCOUNT
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert env.config.calls == []  # the security account's Config client was never used
    member_config.stubber.assert_no_pending_responses()
    assert env.dlq_messages() == []
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assumed = next(line for line in lines if line["message"] == "member role assumed")
    assert assumed == {
        "level": "INFO",
        "message": "member role assumed",
        "account": ACCOUNT,
        "roleArn": role_arn,
    }


def test_member_role_access_denied_is_dead_lettered(env, capsys):
    sts, sts_stubber = stubbed_sts()
    sts_stubber.add_client_error(
        "assume_role",
        "AccessDenied",
        f"User: arn:aws:sts::{SECURITY_ACCOUNT}:assumed-role/evaluator/fn is not authorized to "
        f"perform: sts:AssumeRole on resource: {MEMBER_ROLE_ARN}",
        403,
        expected_params=expected_assume(),
    )
    factory = Factory(env, sts=sts)
    event = rule_event()

    result = mod.run(event, CONTEXT, org_settings(env), factory.build())

    sts_stubber.assert_no_pending_responses()
    assert result["status"] == "dead_lettered"
    assert f"cannot assume {MEMBER_ROLE_ARN} (AccessDenied)" in result["reason"]
    assert "not authorized to perform: sts:AssumeRole" in result["reason"]
    assert factory.names() == ["sqs", "sts"]  # no member clients, no evaluation
    (message,) = env.dlq_messages()
    assert message["reason"] == result["reason"]
    assert (message["account"], message["roleArn"], message["errorCode"]) == (
        ACCOUNT,
        MEMBER_ROLE_ARN,
        "AccessDenied",
    )
    assert message["event"] == event
    assert env.config.calls == []
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert {"level": "ERROR", "message": "event dead-lettered"}.items() <= line.items()
    assert line["roleArn"] == MEMBER_ROLE_ARN and line["errorCode"] == "AccessDenied"


@pytest.mark.parametrize(
    ("code", "status"),
    [("Throttling", 400), ("ServiceUnavailable", 503), ("InternalFailure", 500)],
)
def test_member_role_transient_sts_errors_raise(env, code, status):
    sts, sts_stubber = stubbed_sts()
    sts_stubber.add_client_error(
        "assume_role", code, "try later", status, expected_params=expected_assume()
    )
    factory = Factory(env, sts=sts)

    with pytest.raises(ClientError) as info:
        mod.run(rule_event(), CONTEXT, org_settings(env), factory.build())

    assert info.value.response["Error"]["Code"] == code
    assert "member" not in factory.names()
    assert env.dlq_messages() == []
    assert env.config.calls == []


@pytest.mark.parametrize("account", ["12345", "1234567890123", "12345678901a", 123456789012])
def test_malformed_account_is_dead_lettered_before_any_sts_call(env, account):
    factory = Factory(env)  # an STS or member client request would fail the test
    event = rule_event(accountId=account)

    result = mod.run(event, CONTEXT, org_settings(env), factory.build())

    assert result["status"] == "dead_lettered"
    assert "is not a 12-digit account ID" in result["reason"]
    assert factory.names() == ["sqs"]
    (message,) = env.dlq_messages()
    assert message["event"] == event


@pytest.mark.parametrize("mode", ["single-account", "organization"])
def test_malformed_event_builds_only_the_dlq_client(env, mode):
    factory = Factory(env)  # own, sts and member clients would fail the test
    chosen = settings(env) if mode == "single-account" else org_settings(env)

    result = mod.run(rule_event(resultToken=""), CONTEXT, chosen, factory.build())

    assert result["status"] == "dead_lettered"
    assert factory.names() == ["sqs"]


def test_without_member_role_name_no_sts_call_is_made(env):
    create_training_job(env.sagemaker, "train-local")
    env.config.accept()
    factory = Factory(env, own=env.clients())  # sts/member would fail the test

    result = mod.run(rule_event(), None, settings(env), factory.build())

    assert result["status"] == "evaluated"
    assert factory.names() == ["own"]
    assert env.config.calls[0]["ResultToken"] == "token-123"


def test_handler_without_member_role_name_never_builds_sts(env, monkeypatch):
    monkeypatch.setenv("DLQ_URL", env.dlq_url)
    monkeypatch.delenv("MEMBER_ROLE_NAME", raising=False)
    monkeypatch.setattr(mod, "make_clients", env.clients)

    def no_sts(region: str) -> Any:
        raise AssertionError("STS client built in single-account mode")

    monkeypatch.setattr(mod, "make_sts_client", no_sts)
    env.config.accept()

    assert mod.handler(rule_event(), CONTEXT)["status"] == "evaluated"


@pytest.mark.parametrize(
    "context",
    [
        None,
        SimpleNamespace(invoked_function_arn=None),
        SimpleNamespace(invoked_function_arn="arn:aws:iam::999999999999:role/x"),
    ],
)
def test_member_mode_without_function_arn_raises_configuration_error(env, context):
    factory = Factory(env)
    with pytest.raises(mod.ConfigurationError, match="invoked_function_arn"):
        mod.run(rule_event(), context, org_settings(env), factory.build())
    assert "sts" not in factory.names()


def test_handler_in_organization_mode_acts_in_the_member_account(env, monkeypatch):
    """End to end on moto: the assumed credentials reach SageMaker (moto maps them to the
    member account, so only the member's job is seen) and Config."""
    member_account = "111122223333"
    monkeypatch.setenv("DLQ_URL", env.dlq_url)
    monkeypatch.setenv("MEMBER_ROLE_NAME", MEMBER_ROLE)
    create_training_job(env.sagemaker, "train-in-security-account", isolation=False)
    built: list[Any] = []
    real_member_clients = mod.make_member_clients

    def member_clients(credentials: Any, region: str) -> Any:
        clients = real_member_clients(credentials, region)
        spy = ConfigSpy(clients.config)  # moto stores no evaluations: stub the real client
        spy.accept()
        built.append((credentials, clients, spy))
        return clients

    monkeypatch.setattr(mod, "make_member_clients", member_clients)
    sts = boto3.client("sts", region_name=REGION)
    role_arn = f"arn:aws:iam::{member_account}:role/{MEMBER_ROLE}"
    # The member account's own job, created with that account's (assumed) credentials.
    seed = sts.assume_role(RoleArn=role_arn, RoleSessionName="seed")["Credentials"]
    member_sagemaker = boto3.client(
        "sagemaker",
        region_name=REGION,
        aws_access_key_id=seed["AccessKeyId"],
        aws_secret_access_key=seed["SecretAccessKey"],
        aws_session_token=seed["SessionToken"],
    )
    create_training_job(member_sagemaker, "train-in-member-account")
    event = rule_event(accountId=member_account)

    result = mod.handler(event, CONTEXT)

    assert result["status"] == "evaluated" and result["jobs"] == 1
    assert result["nonCompliantJobs"] == 0  # the security account's failing job is not seen
    ((credentials, clients, spy),) = built
    assert credentials.access_key_id.startswith("ASIA")
    frozen = clients.sagemaker._request_signer._credentials.get_frozen_credentials()
    assert (frozen.access_key, frozen.token) == (
        credentials.access_key_id,
        credentials.session_token,
    )
    assert clients.sagemaker.meta.region_name == REGION
    (evaluation,) = spy.evaluations
    assert evaluation["ComplianceResourceId"] == member_account
    assert evaluation["ComplianceType"] == "COMPLIANT"
    assert env.config.calls == []


@pytest.mark.parametrize(
    ("region", "endpoint"),
    [
        ("us-east-1", "https://sts.us-east-1.amazonaws.com"),
        ("eu-west-1", "https://sts.eu-west-1.amazonaws.com"),
        ("cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_sts_client_uses_the_regional_endpoint_even_if_legacy_is_configured(
    monkeypatch, region, endpoint
):
    monkeypatch.setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy")
    client = mod.make_sts_client(region)
    assert client.meta.endpoint_url == endpoint
    assert client.meta.region_name == region


def test_member_clients_are_signed_with_the_assumed_credentials():
    clients = mod.make_member_clients(ASSUMED, "eu-west-1")
    for client, service in ((clients.sagemaker, "sagemaker"), (clients.config, "config")):
        assert client.meta.service_model.service_name == service
        assert client.meta.region_name == "eu-west-1"
        frozen = client._request_signer._credentials.get_frozen_credentials()
        assert (frozen.access_key, frozen.secret_key, frozen.token) == (
            ASSUMED.access_key_id,
            ASSUMED.secret_access_key,
            ASSUMED.session_token,
        )


def test_function_location_reads_partition_and_region():
    location = member.function_location(
        SimpleNamespace(invoked_function_arn=f"arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:f:3")
    )
    assert (location.partition, location.region) == ("aws-cn", "cn-north-1")
