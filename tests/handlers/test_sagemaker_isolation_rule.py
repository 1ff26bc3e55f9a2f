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
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from tests.handlers.loader import load_handler

mod = load_handler("sagemaker_isolation_rule")
checks = load_handler("sagemaker_isolation_rule", "sagemaker_isolation_rule_checks")

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

    def __init__(self) -> None:
        self.client = SESSION.client("config")
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
