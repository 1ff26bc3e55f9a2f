"""Tests for ``org_isolation_rule``: the organization entry point of the isolation rule (a layer).

The module lives in ``lambda/org_isolation_layer/python`` and runs the unchanged single-account
folder ``lambda/sagemaker_isolation_rule`` (``evaluate``) with the member account's clients. STS
and Config use Stubbers on real clients (Config's ``put_evaluations`` is also recorded: moto's
only accepts ``TestMode=True``); SageMaker and SQS run on moto, and one test runs the handler end
to end on moto with real assumed-role credentials.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from tests.handlers.loader import LAMBDA_ROOT, load_handler, load_layer_module

LAYER = "org_isolation_layer"
FUNCTION = "sagemaker_isolation_rule"
mod = load_layer_module(LAYER, "org_isolation_rule", function=FUNCTION)
member = load_layer_module(LAYER, "org_isolation_rule_member", function=FUNCTION)
rule = load_handler(FUNCTION)
rule_settings = load_handler(FUNCTION, "sagemaker_isolation_rule_settings")

REGION = "us-east-1"
ACCOUNT = "123456789012"
SECURITY_ACCOUNT = "999999999999"
MEMBER_ROLE = "platform-org-config-member"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{SECURITY_ACCOUNT}:function:org-isolation-evaluator"
CONTEXT = SimpleNamespace(invoked_function_arn=FUNCTION_ARN)
MEMBER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{MEMBER_ROLE}"
EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-exec"
VPC = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-a", "subnet-b"]}
NOW = datetime.now(UTC).replace(microsecond=0)
DLQ = f"https://sqs.{REGION}.amazonaws.com/{SECURITY_ACCOUNT}/rule-dlq"
ASSUMED = member.MemberCredentials(
    access_key_id="ASIAMEMBEREXAMPLE01",
    secret_access_key="member-secret",
    session_token="member-session-token",
)

# The single-account handler folder is the code asset of the single-account templates: it must
# stay byte for byte as it is. A deliberate change to the rule updates these digests.
SINGLE_ACCOUNT_FILES = {
    "sagemaker_isolation_rule.py": (
        "e9dde6a3c0815c1e629111abdf7e6b43c586d18c6fac61ccd7fe7e34220023a2"
    ),
    "sagemaker_isolation_rule_checks.py": (
        "ffe909883e5938467fad1c4b0b580fff24a9870eb4b5002b58275721a1cdec69"
    ),
    "sagemaker_isolation_rule_event.py": (
        "ad1169ea54fa6cee2014ef0941c23740e3f3aee1f8a6967d76aa2b428d285200"
    ),
    "sagemaker_isolation_rule_settings.py": (
        "18650b2e28e69b409b3da3892b34f615b16d76e2c64563da66a2548979681036"
    ),
}

# One session for the module: moto resets boto3's default session on every start, and parsing
# the SageMaker service model for each client would make the tests slow.
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
    for key in ("AWS_PROFILE", "DLQ_URL", "LOOKBACK_HOURS", "EVALUATION_SCOPE", "MEMBER_ROLE_NAME"):
        monkeypatch.delenv(key, raising=False)


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

    def accept(self) -> None:
        self.stubber.add_response("put_evaluations", {"FailedEvaluations": []})

    @property
    def evaluations(self) -> list[dict[str, Any]]:
        return [e for call in self.calls for e in call["Evaluations"]]


@dataclass
class Env:
    sagemaker: Any
    sqs: Any
    dlq_url: str

    def dlq_messages(self) -> list[dict[str, Any]]:
        out = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in out.get("Messages", [])]


@pytest.fixture
def env():
    with mock_aws():
        sqs = SESSION.client("sqs")
        url = sqs.create_queue(QueueName="rule-dlq")["QueueUrl"]
        yield Env(SESSION.client("sagemaker"), sqs, url)


def org_settings(env: Env, scope: str = "account") -> Any:
    return mod.Settings(
        dlq_url=env.dlq_url, lookback_hours=24, scope=scope, member_role_name=MEMBER_ROLE
    )


def rule_event(**overrides: Any) -> dict[str, Any]:
    invoking = {
        "awsAccountId": ACCOUNT,
        "notificationCreationTime": NOW.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    }
    event = {
        "invokingEvent": json.dumps(invoking),
        "ruleParameters": "{}",
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


def create_training_job(sm: Any, name: str, *, isolation: bool = True) -> None:
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": "img:1", "TrainingInputMode": "File"},
        RoleArn=EXEC_ROLE,
        OutputDataConfig={"S3OutputPath": "s3://ml-bucket/out", "KmsKeyId": "alias/ml-output"},
        ResourceConfig={
            "InstanceType": "ml.m5.large",
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
            "VolumeKmsKeyId": "alias/ml-volume",
        },
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        EnableNetworkIsolation=isolation,
        EnableInterContainerTrafficEncryption=True,
        VpcConfig=VPC,
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
    """A ClientFactory recording what it was asked for; ``sts``/``member`` optional."""

    def __init__(self, env: Env, *, sts: Any = None, member_clients: Any = None) -> None:
        self.env = env
        self.sts_client = sts
        self.member_clients = member_clients
        self.calls: list[tuple[str, Any]] = []

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
        return mod.ClientFactory(sqs=self.sqs, sts=self.sts, member=self.member)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def stubbed_sts() -> tuple[Any, Stubber]:
    client = SESSION.client("sts")
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


# --- the single-account handler stays as it is -----------------------------------------------


def test_the_single_account_folder_holds_no_organization_code():
    folder = LAMBDA_ROOT / FUNCTION
    files = sorted(p.name for p in folder.iterdir() if p.name != "__pycache__")
    assert files == sorted(SINGLE_ACCOUNT_FILES)
    for name, digest in SINGLE_ACCOUNT_FILES.items():
        data = (folder / name).read_bytes()
        for marker in (b"MEMBER_ROLE_NAME", b"assume_role", b"org_isolation"):
            assert marker not in data, f"{name} holds organization code ({marker!r})"
        assert hashlib.sha256(data).hexdigest() == digest, f"{name} changed"


def test_the_entry_point_runs_the_original_evaluation():
    assert mod.evaluate is rule.evaluate
    assert mod.Clients is rule.Clients
    assert mod.ConfigurationError is rule.ConfigurationError
    assert issubclass(mod.Settings, rule_settings.Settings)
    assert [f.name for f in fields(mod.ClientFactory)] == ["sqs", "sts", "member"]


def test_load_layer_module_returns_the_loaded_module_and_refuses_a_missing_one():
    again = load_layer_module(LAYER, "org_isolation_rule", function=FUNCTION)
    assert again is mod
    assert (LAMBDA_ROOT / LAYER / "python" / "org_isolation_rule.py").samefile(mod.__file__)
    with pytest.raises(ImportError, match="no layer module"):
        load_layer_module(LAYER, "org_isolation_rule_missing", function=FUNCTION)
    with pytest.raises(ImportError, match="no function folder"):
        load_layer_module(LAYER, "org_isolation_rule", function="no_such_function")


# --- the member role ---------------------------------------------------------------------------


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

    result = mod.run(
        rule_event(),
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
    assert evaluation["ComplianceResourceType"] == "AWS::::Account"
    assert evaluation["ComplianceResourceId"] == ACCOUNT
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
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
    assert lines[-1]["message"] == "evaluations sent"


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
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert {"level": "ERROR", "message": "event dead-lettered"}.items() <= line.items()
    assert line["account"] == ACCOUNT
    assert line["roleArn"] == MEMBER_ROLE_ARN and line["errorCode"] == "AccessDenied"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("Throttling", 400),
        ("ServiceUnavailable", 503),
        ("InternalFailure", 500),
        ("RegionDisabledException", 403),
    ],
)
def test_other_sts_errors_raise(env, code, status):
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


def test_config_rejection_in_the_member_account_goes_to_the_functions_own_dlq(env):
    sts, sts_stubber = stubbed_sts()
    sts_stubber.add_response("assume_role", assume_role_response(), expected_assume())
    member_config = ConfigSpy()
    member_config.stubber.add_client_error(
        "put_evaluations", "InvalidResultTokenException", "token expired", 400
    )
    factory = Factory(
        env, sts=sts, member_clients=member.MemberClients(env.sagemaker, member_config.client)
    )
    event = rule_event()

    result = mod.run(event, CONTEXT, org_settings(env), factory.build())

    assert result == {
        "status": "dead_lettered",
        "reason": "Config rejected the evaluations: InvalidResultTokenException",
    }
    (message,) = env.dlq_messages()
    assert message["event"] == event


# --- malformed events and configuration --------------------------------------------------------


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
    assert "roleArn" not in message


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        pytest.param(rule_event(resultToken=""), "resultToken is missing", id="no-token"),
        pytest.param(["not", "a", "dict"], "event must be an object", id="not-a-dict"),
        pytest.param(
            rule_event(invokingEvent=json.dumps({"messageType": "ConfigurationItemChange"})),
            "is not ScheduledNotification",
            id="change-triggered",
        ),
    ],
)
@pytest.mark.parametrize("context", [CONTEXT, None], ids=["on-lambda", "no-function-arn"])
def test_malformed_event_builds_only_the_dlq_client(env, event, reason, context):
    factory = Factory(env)  # STS and member clients would fail the test

    result = mod.run(event, context, org_settings(env), factory.build())

    assert result["status"] == "dead_lettered"
    assert reason in result["reason"]
    assert factory.names() == ["sqs"]
    (message,) = env.dlq_messages()
    assert message["event"] == event


@pytest.mark.parametrize(
    "context",
    [
        None,
        SimpleNamespace(invoked_function_arn=None),
        SimpleNamespace(invoked_function_arn="arn:aws:iam::999999999999:role/x"),
        SimpleNamespace(invoked_function_arn=FUNCTION_ARN + " "),
    ],
)
def test_without_a_function_arn_raises_configuration_error(env, context):
    factory = Factory(env)
    with pytest.raises(mod.ConfigurationError, match="invoked_function_arn"):
        mod.run(rule_event(), context, org_settings(env), factory.build())
    assert "sts" not in factory.names()
    assert env.dlq_messages() == []


def test_function_location_reads_partition_and_region():
    location = member.function_location(
        SimpleNamespace(invoked_function_arn=f"arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:f:3")
    )
    assert (location.partition, location.region) == ("aws-cn", "cn-north-1")


@pytest.mark.parametrize("value", ["platform-org-config-member", " a+b=c,d.e@f_g-h ", "r" * 64])
def test_settings_member_role_name(value):
    s = mod.load_settings({"DLQ_URL": DLQ, "MEMBER_ROLE_NAME": value})
    assert s.member_role_name == value.strip()
    assert (s.dlq_url, s.lookback_hours, s.scope) == (DLQ, 24, "account")


def test_settings_keep_the_rules_own_settings():
    s = mod.load_settings(
        {
            "DLQ_URL": DLQ,
            "LOOKBACK_HOURS": "6",
            "EVALUATION_SCOPE": "job",
            "MEMBER_ROLE_NAME": MEMBER_ROLE,
        }
    )
    assert s == mod.Settings(
        dlq_url=DLQ, lookback_hours=6, scope="job", member_role_name=MEMBER_ROLE
    )
    assert isinstance(s, rule_settings.Settings)


@pytest.mark.parametrize(
    ("env_vars", "name"),
    [
        ({"DLQ_URL": DLQ}, "MEMBER_ROLE_NAME"),
        ({"DLQ_URL": DLQ, "MEMBER_ROLE_NAME": "  "}, "MEMBER_ROLE_NAME"),
        ({"DLQ_URL": DLQ, "MEMBER_ROLE_NAME": "path/role"}, "MEMBER_ROLE_NAME"),
        ({"DLQ_URL": DLQ, "MEMBER_ROLE_NAME": "r" * 65}, "MEMBER_ROLE_NAME"),
        ({"DLQ_URL": DLQ, "MEMBER_ROLE_NAME": "arn:aws:iam::1:role/x"}, "MEMBER_ROLE_NAME"),
        ({"DLQ_URL": DLQ, "MEMBER_ROLE_NAME": "rôle"}, "MEMBER_ROLE_NAME"),
        ({"MEMBER_ROLE_NAME": MEMBER_ROLE}, "DLQ_URL"),
        (
            {"DLQ_URL": DLQ, "MEMBER_ROLE_NAME": MEMBER_ROLE, "LOOKBACK_HOURS": "0"},
            "LOOKBACK_HOURS",
        ),
        (
            {"DLQ_URL": DLQ, "MEMBER_ROLE_NAME": MEMBER_ROLE, "EVALUATION_SCOPE": "x"},
            "EVALUATION_SCOPE",
        ),
    ],
)
def test_invalid_settings_raise(env_vars, name):
    with pytest.raises(mod.ConfigurationError, match=name):
        mod.load_settings(env_vars)


def test_handler_without_member_role_name_raises_configuration_error(env, monkeypatch):
    monkeypatch.setenv("DLQ_URL", env.dlq_url)
    with pytest.raises(mod.ConfigurationError, match="MEMBER_ROLE_NAME"):
        mod.handler(rule_event(), CONTEXT)
    assert env.dlq_messages() == []


# --- the real clients --------------------------------------------------------------------------


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


def test_the_dlq_client_uses_the_functions_own_credentials():
    client = mod.make_sqs_client()
    assert client.meta.service_model.service_name == "sqs"
    assert client.meta.region_name == REGION
    assert client._request_signer._credentials.get_frozen_credentials().access_key == "testing"


def test_handler_acts_in_the_member_account(env, monkeypatch):
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
    assert env.dlq_messages() == []
