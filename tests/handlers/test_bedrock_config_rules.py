"""Tests for the bedrock_config_rules Lambda (five custom AWS Config rules in one function).

Every AWS client is a real botocore client wrapped in a ``Stubber``, which checks each request
against the service model (operation and parameter names) and each canned response against the
output shape. Config ``put_evaluations`` and SQS ``send_message`` are also recorded by a hook, so
the tests read the evaluations and dead-letter bodies exactly as they were sent. The fixture
fails a test that leaves a queued response unused (a call the code should have made).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from tests.handlers.loader import load_handler

mod = load_handler("bedrock_config_rules")
checks = load_handler("bedrock_config_rules", "bedrock_config_rules_checks")
endpoints_mod = load_handler("bedrock_config_rules", "bedrock_config_rules_endpoints")

REGION = "us-east-1"
ACCOUNT = "123456789012"
DLQ = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/bedrock-rules-dlq"
NOW = datetime(2025, 6, 2, 3, 4, 5, tzinfo=UTC)
NOW_TEXT = "2025-06-02T03:04:05.000Z"
CAPTURE = datetime(2025, 6, 2, 2, 59, 1, 250000, tzinfo=UTC)
CAPTURE_TEXT = "2025-06-02T02:59:01.250Z"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bedrock-kb"
BUCKET_ARN = f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/kb-vectors"
INDEX_ARN = f"{BUCKET_ARN}/index/kb-index"
VPC = "vpc-0123456789abcdef0"
ENDPOINT_ID = "vpce-0aaaaaaaaaaaaaaa1"
SERVICES = ("bedrock", "bedrock-runtime", "bedrock-agent", "bedrock-agent-runtime")
LOGGING_PARAMS = {
    "expectedBucket": "invocation-logs-123",
    "expectedPrefix": "bedrock/",
    "expectedLogGroup": "/platform/bedrock/invocations",
}

SESSION = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
)

RESTRICTIVE = {
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": ["bedrock:InvokeModel", "bedrock:Converse"],
            "Resource": "*",
        }
    ]
}
FULL_ACCESS = {"Statement": [{"Action": "*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]}


# --- clients, fixture, events ----------------------------------------------------------------


class Spy:
    """A real client: a Stubber answers, a hook records every request of one operation."""

    def __init__(self, service: str, event_id: str, operation: str) -> None:
        self.client = SESSION.client(service)
        self.calls: list[dict[str, Any]] = []
        self.client.meta.events.register(
            f"before-parameter-build.{event_id}.{operation}", self._record
        )
        self.stubber = Stubber(self.client)
        self.stubber.activate()

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.calls.append(copy.deepcopy(params))


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = SESSION.client(service)
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


@dataclass
class Env:
    bedrock: Any
    bedrock_stub: Stubber
    agent: Any
    agent_stub: Stubber
    s3v: Any
    s3v_stub: Stubber
    ec2: Any
    ec2_stub: Stubber
    config: Spy
    sqs: Spy

    def clients(self, **overrides: Any) -> Any:
        values = {
            "bedrock": self.bedrock,
            "bedrock_agent": self.agent,
            "s3vectors": self.s3v,
            "ec2": self.ec2,
            "config": self.config.client,
            "sqs": self.sqs.client,
        }
        return mod.Clients(**{**values, **overrides})

    def accept(self) -> None:
        self.config.stubber.add_response("put_evaluations", {"FailedEvaluations": []})

    def allow_dlq(self) -> None:
        self.sqs.stubber.add_response("send_message", {"MessageId": "m-1"})

    def run(self, event: Any, region: str = REGION) -> dict[str, Any]:
        return mod.evaluate(event, self.clients(), mod.Settings(dlq_url=DLQ, region=region))

    @property
    def evaluation(self) -> dict[str, Any]:
        (call,) = self.config.calls
        assert call["ResultToken"] == "token-123"
        assert call.get("TestMode", False) is False
        (evaluation,) = call["Evaluations"]
        assert 1 <= len(evaluation["Annotation"]) <= 256
        return evaluation

    def dlq_messages(self) -> list[dict[str, Any]]:
        assert all(c["QueueUrl"] == DLQ for c in self.sqs.calls)
        return [json.loads(c["MessageBody"]) for c in self.sqs.calls]


@pytest.fixture
def env():
    bedrock, bedrock_stub = stubbed("bedrock")
    agent, agent_stub = stubbed("bedrock-agent")
    s3v, s3v_stub = stubbed("s3vectors")
    ec2, ec2_stub = stubbed("ec2")
    config = Spy("config", "config-service", "PutEvaluations")
    sqs = Spy("sqs", "sqs", "SendMessage")
    yield Env(bedrock, bedrock_stub, agent, agent_stub, s3v, s3v_stub, ec2, ec2_stub, config, sqs)
    for stubber in (bedrock_stub, agent_stub, s3v_stub, ec2_stub, config.stubber, sqs.stubber):
        stubber.assert_no_pending_responses()


def scheduled(
    check: str | None = None, parameters: dict[str, Any] | None = None, **overrides: Any
) -> dict[str, Any]:
    params = {"check": check, **(parameters or {})} if check else dict(parameters or {})
    invoking = {
        "awsAccountId": ACCOUNT,
        "notificationCreationTime": NOW_TEXT,
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    }
    event = {
        "invokingEvent": json.dumps(invoking),
        "ruleParameters": json.dumps(params),
        "resultToken": "token-123",
        "eventLeftScope": False,
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/config-role",
        "configRuleArn": f"arn:aws:config:{REGION}:{ACCOUNT}:config-rule/config-rule-abc123",
        "configRuleName": f"bedrock-{check}",
        "configRuleId": "config-rule-abc123",
        "accountId": ACCOUNT,
        "version": "1.0",
    }
    event.update(overrides)
    return event


ENDPOINT_PARAMS = {"vpcId": VPC, "requiredServices": ",".join(SERVICES)}


def change(
    status: str = "OK",
    *,
    oversized: bool = False,
    resource_type: str = "AWS::EC2::VPCEndpoint",
    resource_id: str = ENDPOINT_ID,
    capture: str = CAPTURE_TEXT,
    check: str = "endpoints",
    parameters: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    common = {
        "configurationItemCaptureTime": capture,
        "configurationItemStatus": status,
        "resourceType": resource_type,
        "resourceId": resource_id,
        "awsAccountId": ACCOUNT,
        "awsRegion": REGION,
    }
    if oversized:
        invoking = {
            "configurationItemSummary": {
                "changeType": "UPDATE",
                "configurationItemVersion": "1.3",
                "configurationStateId": 1,
                **common,
            },
            "s3DeliverySummary": {"s3BucketLocation": "config-bucket/path/item.json"},
            "notificationCreationTime": NOW_TEXT,
            "messageType": "OversizedConfigurationItemChangeNotification",
            "recordVersion": "1.0",
        }
    else:
        # The body claims a restrictive policy: the rule must not trust it (it asks EC2).
        item = {**common, "configuration": {"policyDocument": json.dumps(RESTRICTIVE)}}
        invoking = {
            "configurationItemDiff": None,
            "configurationItem": item,
            "notificationCreationTime": NOW_TEXT,
            "messageType": "ConfigurationItemChangeNotification",
            "recordVersion": "1.3",
        }
    params = {"check": check, **(ENDPOINT_PARAMS if parameters is None else parameters)}
    return scheduled(check, invokingEvent=json.dumps(invoking), ruleParameters=json.dumps(params))


# --- response builders (real shapes) ---------------------------------------------------------


def logging_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "s3Config": {"bucketName": "invocation-logs-123", "keyPrefix": "bedrock"},
        "cloudWatchConfig": {
            "logGroupName": "/platform/bedrock/invocations",
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/bedrock-logging",
        },
        "textDataDeliveryEnabled": True,
        "imageDataDeliveryEnabled": False,
        "embeddingDataDeliveryEnabled": False,
    }
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}


def guardrail_summary(guardrail_id: str, version: str = "DRAFT") -> dict[str, Any]:
    return {
        "id": guardrail_id,
        "arn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/{guardrail_id}",
        "status": "READY",
        "name": f"name-{guardrail_id}",
        "version": version,
        "createdAt": NOW,
        "updatedAt": NOW,
    }


def guardrail(
    guardrail_id: str,
    strength: str = "HIGH",
    *,
    filters: list[dict[str, Any]] | None = None,
    **attack: Any,
) -> dict[str, Any]:
    if filters is None:
        filters = [
            {"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"},
            {
                "type": "PROMPT_ATTACK",
                "inputStrength": strength,
                "outputStrength": "NONE",
                **attack,
            },
        ]
    response: dict[str, Any] = {
        "name": f"name-{guardrail_id}",
        "guardrailId": guardrail_id,
        "guardrailArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/{guardrail_id}",
        "version": "DRAFT",
        "status": "READY",
        "createdAt": NOW,
        "updatedAt": NOW,
        "blockedInputMessaging": "Blocked.",
        "blockedOutputsMessaging": "Blocked.",
    }
    if filters:
        response["contentPolicy"] = {"filters": filters}
    return response


def add_guardrail(
    env: Env, guardrail_id: str, versions: tuple[str, ...] = ("DRAFT", "1"), **kwargs: Any
) -> None:
    """Queue GetGuardrail and the version listing of one guardrail."""
    env.bedrock_stub.add_response(
        "get_guardrail", guardrail(guardrail_id, **kwargs), {"guardrailIdentifier": guardrail_id}
    )
    env.bedrock_stub.add_response(
        "list_guardrails",
        {"guardrails": [guardrail_summary(guardrail_id, v) for v in versions]},
        {"guardrailIdentifier": guardrail_id},
    )


def list_guardrails(env: Env, *ids: str) -> None:
    env.bedrock_stub.add_response(
        "list_guardrails", {"guardrails": [guardrail_summary(i) for i in ids]}, {}
    )


def kb_summary(kb_id: str) -> dict[str, Any]:
    return {"knowledgeBaseId": kb_id, "name": f"kb-{kb_id}", "status": "ACTIVE", "updatedAt": NOW}


def s3_vectors_storage(**config: Any) -> dict[str, Any]:
    config = config or {"vectorBucketArn": BUCKET_ARN, "indexArn": INDEX_ARN}
    return {"type": "S3_VECTORS", "s3VectorsConfiguration": config}


OPENSEARCH_STORAGE = {
    "type": "OPENSEARCH_SERVERLESS",
    "opensearchServerlessConfiguration": {
        "collectionArn": f"arn:aws:aoss:{REGION}:{ACCOUNT}:collection/abc",
        "vectorIndexName": "idx",
        "fieldMapping": {"vectorField": "v", "textField": "t", "metadataField": "m"},
    },
}


def knowledge_base(kb_id: str, storage: dict[str, Any] | None) -> dict[str, Any]:
    kb: dict[str, Any] = {
        "knowledgeBaseId": kb_id,
        "name": f"kb-{kb_id}",
        "knowledgeBaseArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{kb_id}",
        "roleArn": ROLE,
        "knowledgeBaseConfiguration": {
            "type": "VECTOR",
            "vectorKnowledgeBaseConfiguration": {
                "embeddingModelArn": (
                    f"arn:aws:bedrock:{REGION}::foundation-model/amazon.titan-embed-text-v2:0"
                )
            },
        },
        "status": "ACTIVE",
        "createdAt": NOW,
        "updatedAt": NOW,
    }
    if storage:
        kb["storageConfiguration"] = storage
    return {"knowledgeBase": kb}


def vector_bucket(encryption: dict[str, Any] | None = None) -> dict[str, Any]:
    bucket: dict[str, Any] = {
        "vectorBucketName": "kb-vectors",
        "vectorBucketArn": BUCKET_ARN,
        "creationTime": NOW,
    }
    bucket["encryptionConfiguration"] = (
        {"sseType": "aws:kms", "kmsKeyArn": KEY} if encryption is None else encryption
    )
    if not bucket["encryptionConfiguration"]:
        del bucket["encryptionConfiguration"]
    return {"vectorBucket": bucket}


def vector_index(encryption: dict[str, Any] | None = None) -> dict[str, Any]:
    index: dict[str, Any] = {
        "vectorBucketName": "kb-vectors",
        "indexName": "kb-index",
        "indexArn": INDEX_ARN,
        "creationTime": NOW,
        "dataType": "float32",
        "dimension": 1024,
        "distanceMetric": "cosine",
    }
    if encryption:
        index["encryptionConfiguration"] = encryption
    return {"index": index}


def ds_summary(kb_id: str, ds_id: str) -> dict[str, Any]:
    return {
        "knowledgeBaseId": kb_id,
        "dataSourceId": ds_id,
        "name": f"ds-{ds_id}",
        "status": "AVAILABLE",
        "updatedAt": NOW,
    }


def data_source(kb_id: str, ds_id: str, key: str | None = KEY) -> dict[str, Any]:
    source: dict[str, Any] = {
        "knowledgeBaseId": kb_id,
        "dataSourceId": ds_id,
        "name": f"ds-{ds_id}",
        "status": "AVAILABLE",
        "dataSourceConfiguration": {
            "type": "S3",
            "s3Configuration": {"bucketArn": "arn:aws:s3:::kb-documents"},
        },
        "createdAt": NOW,
        "updatedAt": NOW,
    }
    if key:
        source["serverSideEncryptionConfiguration"] = {"kmsKeyArn": key}
    return {"dataSource": source}


def add_kb(
    env: Env,
    kb_id: str,
    *,
    storage: dict[str, Any] | None = None,
    sources: tuple[tuple[str, str | None], ...] = (("DS00000001", KEY),),
) -> None:
    """Queue GetKnowledgeBase, ListDataSources and GetDataSource for one knowledge base."""
    storage = s3_vectors_storage() if storage is None else storage
    env.agent_stub.add_response(
        "get_knowledge_base", knowledge_base(kb_id, storage), {"knowledgeBaseId": kb_id}
    )
    env.agent_stub.add_response(
        "list_data_sources",
        {"dataSourceSummaries": [ds_summary(kb_id, ds) for ds, _ in sources]},
        {"knowledgeBaseId": kb_id},
    )
    for ds, key in sources:
        env.agent_stub.add_response(
            "get_data_source",
            data_source(kb_id, ds, key),
            {"knowledgeBaseId": kb_id, "dataSourceId": ds},
        )


def add_vectors(
    env: Env,
    bucket: dict[str, Any] | None = None,
    index: dict[str, Any] | None = None,
    *,
    bucket_arn: str = BUCKET_ARN,
    index_arn: str | None = INDEX_ARN,
) -> None:
    env.s3v_stub.add_response(
        "get_vector_bucket", vector_bucket(bucket), {"vectorBucketArn": bucket_arn}
    )
    if index_arn:
        env.s3v_stub.add_response("get_index", vector_index(index), {"indexArn": index_arn})


def agent_summary(agent_id: str) -> dict[str, Any]:
    return {
        "agentId": agent_id,
        "agentName": f"agent-{agent_id}",
        "agentStatus": "PREPARED",
        "updatedAt": NOW,
    }


def agent(agent_id: str, guardrail_config: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agentId": agent_id,
        "agentName": f"agent-{agent_id}",
        "agentArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:agent/{agent_id}",
        "agentVersion": "DRAFT",
        "agentStatus": "PREPARED",
        "idleSessionTTLInSeconds": 600,
        "agentResourceRoleArn": f"arn:aws:iam::{ACCOUNT}:role/agent-role",
        "createdAt": NOW,
        "updatedAt": NOW,
    }
    if guardrail_config is not None:
        body["guardrailConfiguration"] = guardrail_config
    return {"agent": body}


def endpoint(
    service: str,
    *,
    endpoint_id: str | None = None,
    state: str = "available",
    policy: Any = RESTRICTIVE,
    vpc: str = VPC,
    region: str = REGION,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "VpcEndpointId": endpoint_id or f"vpce-{sum(map(ord, service)):017x}",
        "VpcEndpointType": "Interface",
        "VpcId": vpc,
        "ServiceName": f"com.amazonaws.{region}.{service}",
        "State": state,
        "SubnetIds": ["subnet-a", "subnet-b"],
        "PrivateDnsEnabled": True,
        "OwnerId": ACCOUNT,
    }
    if policy is not None:
        body["PolicyDocument"] = policy if isinstance(policy, str) else json.dumps(policy)
    return body


VPC_FILTER = {"Filters": [{"Name": "vpc-id", "Values": [VPC]}]}


def all_endpoints(**overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """One compliant endpoint per default service; ``overrides`` replace one service's."""
    return [overrides.get(s.replace("-", "_")) or endpoint(s) for s in SERVICES]


# =============================================================================================
# invocation_logging
# =============================================================================================


def test_invocation_logging_compliant(env):
    env.bedrock_stub.add_response(
        "get_model_invocation_logging_configuration", {"loggingConfig": logging_config()}, {}
    )
    env.accept()

    result = env.run(scheduled("invocation_logging", LOGGING_PARAMS))

    assert result["status"] == "evaluated" and result["compliance"] == "COMPLIANT"
    evaluation = env.evaluation
    assert evaluation["ComplianceResourceType"] == "AWS::::Account"
    assert evaluation["ComplianceResourceId"] == ACCOUNT
    assert evaluation["ComplianceType"] == "COMPLIANT"
    assert evaluation["OrderingTimestamp"] == NOW
    assert evaluation["Annotation"] == (
        "Model invocation logging delivers to s3://invocation-logs-123/bedrock "
        "and /platform/bedrock/invocations."
    )


@pytest.mark.parametrize(
    ("config", "params", "reason"),
    [
        pytest.param(None, {}, "model invocation logging is off", id="off"),
        pytest.param(
            logging_config(s3Config={"bucketName": "other-bucket", "keyPrefix": "bedrock"}),
            {},
            "S3 bucket other-bucket is not invocation-logs-123",
            id="wrong-bucket",
        ),
        pytest.param(
            logging_config(s3Config=None),
            {},
            "S3 bucket none is not invocation-logs-123; S3 prefix none is not bedrock",
            id="no-s3",
        ),
        pytest.param(
            logging_config(s3Config={"bucketName": "invocation-logs-123", "keyPrefix": "x/"}),
            {},
            "S3 prefix x is not bedrock",
            id="wrong-prefix",
        ),
        pytest.param(
            logging_config(
                cloudWatchConfig={
                    "logGroupName": "/other",
                    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/r",
                }
            ),
            {},
            "log group /other is not /platform/bedrock/invocations",
            id="wrong-log-group",
        ),
        pytest.param(
            logging_config(cloudWatchConfig=None),
            {},
            "log group none is not /platform/bedrock/invocations",
            id="no-log-group",
        ),
        pytest.param(
            logging_config(textDataDeliveryEnabled=False),
            {},
            "text data delivery off",
            id="text-off",
        ),
        pytest.param(
            logging_config(textDataDeliveryEnabled=None),
            {"requireTextDelivery": "TRUE"},
            "text data delivery off",
            id="text-unset",
        ),
    ],
)
def test_invocation_logging_non_compliance(env, config, params, reason):
    response = {"loggingConfig": config} if config is not None else {}
    env.bedrock_stub.add_response("get_model_invocation_logging_configuration", response)
    env.accept()

    env.run(scheduled("invocation_logging", {**LOGGING_PARAMS, **params}))

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert evaluation["Annotation"] == f"Model invocation logging: {reason}"


def test_invocation_logging_reports_every_reason(env):
    config = logging_config(s3Config={"bucketName": "b-x"}, textDataDeliveryEnabled=False)
    env.bedrock_stub.add_response(
        "get_model_invocation_logging_configuration", {"loggingConfig": config}
    )
    env.accept()

    env.run(scheduled("invocation_logging", LOGGING_PARAMS))

    assert env.evaluation["Annotation"] == (
        "Model invocation logging: S3 bucket b-x is not invocation-logs-123; "
        "S3 prefix none is not bedrock; text data delivery off"
    )


@pytest.mark.parametrize(
    ("config", "params"),
    [
        pytest.param(
            logging_config(
                s3Config={"bucketName": "invocation-logs-123", "keyPrefix": "anything/"},
                cloudWatchConfig=None,
            ),
            {"expectedBucket": "invocation-logs-123"},
            id="prefix-and-log-group-not-required",
        ),
        pytest.param(
            logging_config(textDataDeliveryEnabled=False),
            {**LOGGING_PARAMS, "requireTextDelivery": "false"},
            id="text-not-required",
        ),
        pytest.param(
            logging_config(s3Config={"bucketName": "invocation-logs-123", "keyPrefix": "bedrock/"}),
            {**LOGGING_PARAMS, "expectedPrefix": "bedrock"},
            id="trailing-slash-lenient",
        ),
    ],
)
def test_invocation_logging_optional_parameters(env, config, params):
    env.bedrock_stub.add_response(
        "get_model_invocation_logging_configuration", {"loggingConfig": config}
    )
    env.accept()

    env.run(scheduled("invocation_logging", params))

    assert env.evaluation["ComplianceType"] == "COMPLIANT"


# =============================================================================================
# guardrails
# =============================================================================================


def test_guardrails_compliant_across_pages(env):
    env.bedrock_stub.add_response(
        "list_guardrails", {"guardrails": [guardrail_summary("gr1")], "nextToken": "p2"}, {}
    )
    env.bedrock_stub.add_response(
        "list_guardrails", {"guardrails": [guardrail_summary("gr2")]}, {"nextToken": "p2"}
    )
    add_guardrail(env, "gr1")
    add_guardrail(env, "gr2", strength="HIGH")
    env.accept()

    result = env.run(scheduled("guardrails", {"promptAttackStrength": "HIGH"}))

    assert result["compliance"] == "COMPLIANT"
    evaluation = env.evaluation
    assert evaluation["ComplianceResourceType"] == "AWS::::Account"
    assert evaluation["Annotation"] == (
        "All 2 guardrails block prompt attacks at HIGH or above and are published."
    )


@pytest.mark.parametrize(
    ("required", "actual"), [("MEDIUM", "MEDIUM"), ("LOW", "HIGH"), ("medium", "HIGH")]
)
def test_guardrail_strength_at_or_above_required_complies(env, required, actual):
    list_guardrails(env, "gr1")
    add_guardrail(env, "gr1", strength=actual)
    env.accept()

    env.run(scheduled("guardrails", {"promptAttackStrength": required}))

    assert env.evaluation["ComplianceType"] == "COMPLIANT"


@pytest.mark.parametrize(
    ("kwargs", "versions", "reason"),
    [
        pytest.param({"strength": "LOW"}, ("DRAFT", "1"), "prompt attack LOW < MEDIUM", id="weak"),
        pytest.param(
            {"strength": "NONE"}, ("DRAFT", "1"), "prompt attack NONE < MEDIUM", id="none"
        ),
        pytest.param(
            {"filters": [{"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}]},
            ("DRAFT", "1"),
            "no PROMPT_ATTACK filter",
            id="no-prompt-attack-filter",
        ),
        pytest.param(
            {"filters": []}, ("DRAFT", "1"), "no PROMPT_ATTACK filter", id="no-content-policy"
        ),
        pytest.param(
            {"strength": "HIGH", "inputEnabled": False},
            ("DRAFT", "1"),
            "prompt attack filter does not block input",
            id="input-disabled",
        ),
        pytest.param(
            {"strength": "HIGH", "inputAction": "NONE"},
            ("DRAFT", "1"),
            "prompt attack filter does not block input",
            id="detect-only",
        ),
        pytest.param({"strength": "HIGH"}, ("DRAFT",), "no published version", id="unpublished"),
        pytest.param(
            {"strength": "LOW"},
            ("DRAFT",),
            "prompt attack LOW < MEDIUM, no published version",
            id="both",
        ),
    ],
)
def test_guardrail_non_compliance(env, kwargs, versions, reason):
    list_guardrails(env, "gr-ok", "gr-bad")
    add_guardrail(env, "gr-ok", strength="HIGH")
    add_guardrail(env, "gr-bad", versions, **kwargs)
    env.accept()

    env.run(scheduled("guardrails", {"promptAttackStrength": "MEDIUM"}))

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert evaluation["Annotation"] == f"1 of 2 guardrails fail: gr-bad: {reason}"


def test_guardrail_version_listing_follows_pages_and_stops_at_a_version(env):
    list_guardrails(env, "gr1")
    env.bedrock_stub.add_response("get_guardrail", guardrail("gr1"), {"guardrailIdentifier": "gr1"})
    env.bedrock_stub.add_response(
        "list_guardrails",
        {"guardrails": [guardrail_summary("gr1", "DRAFT")], "nextToken": "v2"},
        {"guardrailIdentifier": "gr1"},
    )
    # The second page holds a version: no third page is requested (none is queued).
    env.bedrock_stub.add_response(
        "list_guardrails",
        {"guardrails": [guardrail_summary("gr1", "3")], "nextToken": "v3"},
        {"guardrailIdentifier": "gr1", "nextToken": "v2"},
    )
    env.accept()

    env.run(scheduled("guardrails", {"promptAttackStrength": "HIGH"}))

    assert env.evaluation["ComplianceType"] == "COMPLIANT"


def test_no_guardrails_is_non_compliant(env):
    list_guardrails(env)
    env.accept()

    env.run(scheduled("guardrails", {"promptAttackStrength": "LOW"}))

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert "the platform always creates one" in evaluation["Annotation"]


def test_many_failing_guardrails_annotation_is_cut_to_256(env, capsys):
    ids = [f"guardrail-with-a-long-id-{i:02d}" for i in range(12)]
    list_guardrails(env, *ids)
    for guardrail_id in ids:
        add_guardrail(env, guardrail_id, ("DRAFT",), strength="LOW")
    env.accept()

    env.run(scheduled("guardrails", {"promptAttackStrength": "HIGH"}))

    annotation = env.evaluation["Annotation"]
    assert len(annotation) == 256 and annotation.endswith("...")
    assert annotation.startswith("12 of 12 guardrails fail: guardrail-with-a-long-id-00: ")
    # The full detail is in the logs.
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    summary = next(line for line in lines if line["message"] == "check evaluated")
    assert len(summary["failures"]) == 12
    assert summary["failures"][11].startswith("guardrail-with-a-long-id-11: prompt attack LOW")
    items = [line for line in lines if line["message"] == "item evaluated"]
    assert [i["item"] for i in items] == ids
    assert items[0]["level"] == "WARNING" and items[0]["name"] == f"name-{ids[0]}"


# =============================================================================================
# knowledge_bases
# =============================================================================================


def list_kbs(env: Env, *ids: str) -> None:
    env.agent_stub.add_response(
        "list_knowledge_bases", {"knowledgeBaseSummaries": [kb_summary(i) for i in ids]}, {}
    )


def test_knowledge_base_s3_vectors_with_kms_complies(env):
    list_kbs(env, "KB00000001")
    add_kb(env, "KB00000001")
    add_vectors(env)  # the index has no encryptionConfiguration: it inherits the bucket's
    env.accept()

    result = env.run(scheduled("knowledge_bases"))

    assert result["compliance"] == "COMPLIANT"
    assert env.evaluation["Annotation"] == (
        "All 1 knowledge bases use S3 Vectors and data sources under KMS keys."
    )


def test_knowledge_base_index_with_its_own_kms_key_complies(env):
    list_kbs(env, "KB00000001")
    add_kb(env, "KB00000001")
    add_vectors(env, index={"sseType": "aws:kms", "kmsKeyArn": KEY})
    env.accept()

    env.run(scheduled("knowledge_bases"))

    assert env.evaluation["ComplianceType"] == "COMPLIANT"


@pytest.mark.parametrize(
    ("bucket", "index", "reason"),
    [
        pytest.param(
            {"sseType": "AES256"},
            None,
            "vector bucket kb-vectors not under a KMS key (sseType AES256)",
            id="bucket-aes256",
        ),
        pytest.param(
            {},
            None,
            "vector bucket kb-vectors not under a KMS key (sseType not set)",
            id="bucket-no-encryption",
        ),
        pytest.param(
            {"sseType": "aws:kms"},
            None,
            "vector bucket kb-vectors not under a KMS key (aws:kms without a key ARN)",
            id="bucket-kms-without-key",
        ),
        pytest.param(
            None,
            {"sseType": "AES256"},
            "index kb-index overrides encryption (sseType AES256)",
            id="index-aes256",
        ),
    ],
)
def test_knowledge_base_vector_encryption_non_compliance(env, bucket, index, reason):
    list_kbs(env, "KB00000001")
    add_kb(env, "KB00000001")
    add_vectors(env, bucket, index)
    env.accept()

    env.run(scheduled("knowledge_bases"))

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert evaluation["Annotation"] == f"1 of 1 knowledge bases fail: kb KB00000001: {reason}"


def test_knowledge_base_other_vector_store_is_non_compliant(env):
    list_kbs(env, "KB00000001")
    add_kb(env, "KB00000001", storage=OPENSEARCH_STORAGE)  # no S3 Vectors call is queued
    env.accept()

    env.run(scheduled("knowledge_bases"))

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert evaluation["Annotation"] == (
        "1 of 1 knowledge bases fail: kb KB00000001: vector store OPENSEARCH_SERVERLESS: "
        "this rule verifies customer-managed keys for S3_VECTORS only"
    )


def test_knowledge_base_without_vector_store_names_its_type(env):
    list_kbs(env, "KB00000001")
    add_kb(env, "KB00000001", storage={}, sources=())
    env.accept()

    env.run(scheduled("knowledge_bases"))

    assert "vector store VECTOR: this rule verifies" in env.evaluation["Annotation"]


def test_data_source_without_kms_key_is_non_compliant(env):
    list_kbs(env, "KB00000001")
    add_kb(env, "KB00000001", sources=(("DS00000001", KEY), ("DS00000002", None)))
    add_vectors(env)
    env.accept()

    env.run(scheduled("knowledge_bases"))

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert evaluation["Annotation"] == (
        "1 of 1 knowledge bases fail: kb KB00000001: data source DS00000002 has no KMS key"
    )


def test_vector_bucket_arn_is_taken_from_the_index_arn(env):
    list_kbs(env, "KB00000001")
    add_kb(env, "KB00000001", storage=s3_vectors_storage(indexArn=INDEX_ARN))
    add_vectors(env)  # expects get_vector_bucket(vectorBucketArn=BUCKET_ARN)
    env.accept()

    env.run(scheduled("knowledge_bases"))

    assert env.evaluation["ComplianceType"] == "COMPLIANT"


def test_index_arn_is_built_from_bucket_arn_and_index_name(env):
    list_kbs(env, "KB00000001")
    storage = s3_vectors_storage(vectorBucketArn=BUCKET_ARN, indexName="kb-index")
    add_kb(env, "KB00000001", storage=storage)
    add_vectors(env, index={"sseType": "AES256"})  # expects get_index(indexArn=INDEX_ARN)
    env.accept()

    env.run(scheduled("knowledge_bases"))

    assert "index kb-index overrides encryption" in env.evaluation["Annotation"]


def test_bucket_without_index_is_checked_alone(env):
    list_kbs(env, "KB00000001")
    add_kb(env, "KB00000001", storage=s3_vectors_storage(vectorBucketArn=BUCKET_ARN))
    add_vectors(env, index_arn=None)
    env.accept()

    env.run(scheduled("knowledge_bases"))

    assert env.evaluation["ComplianceType"] == "COMPLIANT"


def test_s3_vectors_store_without_bucket_is_non_compliant(env):
    list_kbs(env, "KB00000001")
    storage = {"type": "S3_VECTORS", "s3VectorsConfiguration": {"indexName": "kb-index"}}
    add_kb(env, "KB00000001", storage=storage)
    env.accept()

    env.run(scheduled("knowledge_bases"))

    assert env.evaluation["Annotation"].endswith("S3_VECTORS store names no vector bucket")


def test_vector_bucket_and_index_not_found_are_non_compliant(env):
    list_kbs(env, "KB00000001")
    add_kb(env, "KB00000001")
    env.s3v_stub.add_client_error("get_vector_bucket", "NotFoundException", "gone", 404)
    env.s3v_stub.add_client_error("get_index", "NotFoundException", "gone", 404)
    env.accept()

    env.run(scheduled("knowledge_bases"))

    assert env.evaluation["Annotation"] == (
        "1 of 1 knowledge bases fail: kb KB00000001: vector bucket kb-vectors not found, "
        "index kb-index not found"
    )


def test_knowledge_bases_and_data_sources_follow_pages(env):
    env.agent_stub.add_response(
        "list_knowledge_bases",
        {"knowledgeBaseSummaries": [kb_summary("KB00000001")], "nextToken": "k2"},
        {},
    )
    env.agent_stub.add_response(
        "get_knowledge_base", knowledge_base("KB00000001", OPENSEARCH_STORAGE)
    )
    env.agent_stub.add_response(
        "list_data_sources",
        {"dataSourceSummaries": [ds_summary("KB00000001", "DS00000001")], "nextToken": "d2"},
        {"knowledgeBaseId": "KB00000001"},
    )
    env.agent_stub.add_response("get_data_source", data_source("KB00000001", "DS00000001"))
    env.agent_stub.add_response(
        "list_data_sources",
        {"dataSourceSummaries": [ds_summary("KB00000001", "DS00000002")]},
        {"knowledgeBaseId": "KB00000001", "nextToken": "d2"},
    )
    env.agent_stub.add_response("get_data_source", data_source("KB00000001", "DS00000002", None))
    env.agent_stub.add_response(
        "list_knowledge_bases",
        {"knowledgeBaseSummaries": [kb_summary("KB00000002")]},
        {"nextToken": "k2"},
    )
    add_kb(env, "KB00000002")
    add_vectors(env)
    env.accept()

    env.run(scheduled("knowledge_bases"))

    annotation = env.evaluation["Annotation"]
    assert annotation.startswith("1 of 2 knowledge bases fail: kb KB00000001: vector store ")
    assert annotation.endswith("S3_VECTORS only, data source DS00000002 has no KMS key")
    assert "KB00000002" not in annotation


def test_knowledge_base_gone_between_list_and_get_is_skipped(env, capsys):
    list_kbs(env, "KB0000GONE", "KB00000001", "KB0000LATE")
    env.agent_stub.add_client_error(
        "get_knowledge_base",
        "ResourceNotFoundException",
        "gone",
        404,
        expected_params={"knowledgeBaseId": "KB0000GONE"},
    )
    add_kb(env, "KB00000001")
    # Gone between get and listing its data sources: skipped as well.
    env.agent_stub.add_response("get_knowledge_base", knowledge_base("KB0000LATE", None))
    env.agent_stub.add_client_error("list_data_sources", "ResourceNotFoundException", "gone", 404)
    add_vectors(env)
    env.accept()

    env.run(scheduled("knowledge_bases"))

    assert env.evaluation["Annotation"].startswith("All 1 knowledge bases")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    skipped = [line["knowledgeBase"] for line in lines if "vanished" in line["message"]]
    assert skipped == ["KB0000GONE", "KB0000LATE"]


def test_data_source_gone_between_list_and_get_is_skipped(env):
    list_kbs(env, "KB00000001")
    env.agent_stub.add_response(
        "get_knowledge_base", knowledge_base("KB00000001", s3_vectors_storage())
    )
    env.agent_stub.add_response(
        "list_data_sources",
        {"dataSourceSummaries": [ds_summary("KB00000001", "DS0000GONE")]},
    )
    env.agent_stub.add_client_error("get_data_source", "ResourceNotFoundException", "gone", 404)
    add_vectors(env)
    env.accept()

    env.run(scheduled("knowledge_bases"))

    assert env.evaluation["ComplianceType"] == "COMPLIANT"


def test_no_knowledge_bases_is_compliant(env):
    list_kbs(env)
    env.accept()

    env.run(scheduled("knowledge_bases"))

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "COMPLIANT"
    assert evaluation["Annotation"] == "No Bedrock knowledge bases."


# =============================================================================================
# agents
# =============================================================================================


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        pytest.param(None, "no guardrail", id="none"),
        pytest.param({"guardrailVersion": "1"}, "no guardrail", id="no-identifier"),
        pytest.param(
            {"guardrailIdentifier": "gr1"}, "guardrail without a version", id="no-version"
        ),
        pytest.param(
            {"guardrailIdentifier": "gr1", "guardrailVersion": "DRAFT"},
            "guardrail version DRAFT",
            id="draft",
        ),
    ],
)
def test_agent_non_compliance(env, config, reason):
    env.agent_stub.add_response(
        "list_agents",
        {"agentSummaries": [agent_summary("AG00000001"), agent_summary("AG00000002")]},
    )
    env.agent_stub.add_response(
        "get_agent",
        agent("AG00000001", {"guardrailIdentifier": "gr1", "guardrailVersion": "2"}),
        {"agentId": "AG00000001"},
    )
    env.agent_stub.add_response("get_agent", agent("AG00000002", config), {"agentId": "AG00000002"})
    env.accept()

    env.run(scheduled("agents"))

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert evaluation["Annotation"] == f"1 of 2 agents fail: agent AG00000002: {reason}"


def test_agents_compliant_across_pages(env):
    env.agent_stub.add_response(
        "list_agents", {"agentSummaries": [agent_summary("AG00000001")], "nextToken": "a2"}, {}
    )
    env.agent_stub.add_response(
        "get_agent", agent("AG00000001", {"guardrailIdentifier": "gr1", "guardrailVersion": "1"})
    )
    env.agent_stub.add_response(
        "list_agents", {"agentSummaries": [agent_summary("AG00000002")]}, {"nextToken": "a2"}
    )
    env.agent_stub.add_response(
        "get_agent", agent("AG00000002", {"guardrailIdentifier": "gr2", "guardrailVersion": "4"})
    )
    env.accept()

    env.run(scheduled("agents"))

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "COMPLIANT"
    assert evaluation["Annotation"] == "All 2 agents use a published guardrail version."


def test_no_agents_is_compliant(env):
    env.agent_stub.add_response("list_agents", {"agentSummaries": []})
    env.accept()

    env.run(scheduled("agents"))

    assert env.evaluation["ComplianceType"] == "COMPLIANT"
    assert env.evaluation["Annotation"] == "No Bedrock agents."


# =============================================================================================
# endpoints: periodic
# =============================================================================================


def test_endpoints_compliant_across_pages(env):
    found = all_endpoints()
    env.ec2_stub.add_response(
        "describe_vpc_endpoints", {"VpcEndpoints": found[:2], "NextToken": "e2"}, VPC_FILTER
    )
    env.ec2_stub.add_response(
        "describe_vpc_endpoints", {"VpcEndpoints": found[2:]}, {**VPC_FILTER, "NextToken": "e2"}
    )
    env.accept()

    result = env.run(scheduled("endpoints", ENDPOINT_PARAMS))

    assert result["compliance"] == "COMPLIANT"
    evaluation = env.evaluation
    assert evaluation["ComplianceResourceType"] == "AWS::::Account"
    assert evaluation["OrderingTimestamp"] == NOW
    assert evaluation["Annotation"] == (
        f"{VPC}: all 4 Bedrock endpoints available with restrictive policies."
    )


CONDITIONED = {
    "Statement": [
        {
            **FULL_ACCESS["Statement"][0],
            "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}},
        }
    ]
}


@pytest.mark.parametrize(
    ("replacement", "reason"),
    [
        pytest.param(None, "no interface endpoint", id="missing"),
        pytest.param(
            endpoint("bedrock-agent", endpoint_id="vpce-0bbbbbbbbbbbbbbb2", state="deleted"),
            "no interface endpoint",
            id="deleted-is-missing",
        ),
        pytest.param(
            endpoint("bedrock-agent", endpoint_id="vpce-0bbbbbbbbbbbbbbb2", state="pending"),
            "vpce-0bbbbbbbbbbbbbbb2 pending",
            id="pending",
        ),
        pytest.param(
            endpoint("bedrock-agent", endpoint_id="vpce-0bbbbbbbbbbbbbbb2", policy=FULL_ACCESS),
            "vpce-0bbbbbbbbbbbbbbb2 full-access policy",
            id="full-access",
        ),
        pytest.param(
            endpoint("bedrock-agent", endpoint_id="vpce-0bbbbbbbbbbbbbbb2", policy=None),
            "vpce-0bbbbbbbbbbbbbbb2 no policy (full access)",
            id="no-policy",
        ),
        pytest.param(
            endpoint(
                "bedrock-agent", endpoint_id="vpce-0bbbbbbbbbbbbbbb2", state="Failed", policy=None
            ),
            "vpce-0bbbbbbbbbbbbbbb2 Failed, vpce-0bbbbbbbbbbbbbbb2 no policy (full access)",
            id="failed-and-no-policy",
        ),
        pytest.param(
            endpoint("bedrock-agent", vpc="vpc-0fffffffffffffff0", region="us-west-2"),
            "no interface endpoint",
            id="other-region-name",
        ),
    ],
)
def test_endpoint_non_compliance(env, replacement, reason):
    found = [e for e in all_endpoints() if not e["ServiceName"].endswith(".bedrock-agent")]
    if replacement is not None:
        found.append(replacement)
    env.ec2_stub.add_response("describe_vpc_endpoints", {"VpcEndpoints": found}, VPC_FILTER)
    env.accept()

    env.run(scheduled("endpoints", ENDPOINT_PARAMS))

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert evaluation["Annotation"] == f"1 of 4 endpoints in {VPC} fail: bedrock-agent: {reason}"


@pytest.mark.parametrize("state", ["available", "Available", "AVAILABLE"])
def test_endpoint_state_is_compared_case_insensitively(env, state):
    found = [endpoint(s, state=state, policy=CONDITIONED) for s in SERVICES]
    env.ec2_stub.add_response("describe_vpc_endpoints", {"VpcEndpoints": found}, VPC_FILTER)
    env.accept()

    env.run(scheduled("endpoints", ENDPOINT_PARAMS))

    assert env.evaluation["ComplianceType"] == "COMPLIANT"


def test_endpoints_default_services_and_region_from_settings(env):
    found = [endpoint(s, region="eu-west-1") for s in SERVICES]
    env.ec2_stub.add_response("describe_vpc_endpoints", {"VpcEndpoints": found}, VPC_FILTER)
    env.accept()

    env.run(scheduled("endpoints", {"vpcId": VPC}), region="eu-west-1")

    assert env.evaluation["ComplianceType"] == "COMPLIANT"


def test_endpoints_only_required_services_are_checked(env):
    found = [endpoint("bedrock-runtime")]
    env.ec2_stub.add_response("describe_vpc_endpoints", {"VpcEndpoints": found}, VPC_FILTER)
    env.accept()

    env.run(scheduled("endpoints", {"vpcId": VPC, "requiredServices": " bedrock-runtime , "}))

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "COMPLIANT"
    assert "all 1 Bedrock endpoints" in evaluation["Annotation"]


def test_endpoints_all_missing_name_every_service(env):
    env.ec2_stub.add_response("describe_vpc_endpoints", {"VpcEndpoints": []}, VPC_FILTER)
    env.accept()

    env.run(scheduled("endpoints", ENDPOINT_PARAMS))

    assert env.evaluation["Annotation"] == (
        f"4 of 4 endpoints in {VPC} fail: bedrock: no interface endpoint; bedrock-runtime: no "
        "interface endpoint; bedrock-agent: no interface endpoint; bedrock-agent-runtime: no "
        "interface endpoint"
    )


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        pytest.param(None, "no policy (full access)", id="absent"),
        pytest.param("", "no policy (full access)", id="blank"),
        pytest.param(json.dumps(FULL_ACCESS), "full-access policy", id="default"),
        pytest.param(
            json.dumps({"Statement": {**FULL_ACCESS["Statement"][0], "Principal": {"AWS": "*"}}}),
            "full-access policy",
            id="single-statement-aws-star",
        ),
        pytest.param(
            json.dumps(
                {
                    "Statement": [
                        RESTRICTIVE["Statement"][0],
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": ["*"]},
                            "Action": ["bedrock:InvokeModel", "*"],
                            "Resource": ["*"],
                            "Condition": {},
                        },
                    ]
                }
            ),
            "full-access policy",
            id="lists-and-empty-condition",
        ),
        pytest.param("{not json", "policy is not JSON", id="not-json"),
        pytest.param("[]", "policy is not a JSON object", id="json-list"),
        pytest.param(json.dumps(RESTRICTIVE), None, id="restrictive"),
        pytest.param(json.dumps(CONDITIONED), None, id="conditioned"),
        pytest.param(
            json.dumps({"Statement": [{**FULL_ACCESS["Statement"][0], "Effect": "Deny"}]}),
            None,
            id="deny",
        ),
        pytest.param(
            json.dumps({"Statement": [{**FULL_ACCESS["Statement"][0], "Action": "bedrock:*"}]}),
            None,
            id="service-wildcard",
        ),
        pytest.param(
            json.dumps(
                {"Statement": [{**FULL_ACCESS["Statement"][0], "Resource": "arn:aws:bedrock:*"}]}
            ),
            None,
            id="resource-scoped",
        ),
        pytest.param(json.dumps({"Version": "2012-10-17"}), None, id="no-statements"),
    ],
)
def test_policy_problem(policy, problem):
    assert endpoints_mod.policy_problem(policy) == problem


# =============================================================================================
# endpoints: change-triggered
# =============================================================================================


def describe_one(env: Env, *found: dict[str, Any], endpoint_id: str = ENDPOINT_ID) -> None:
    env.ec2_stub.add_response(
        "describe_vpc_endpoints", {"VpcEndpoints": list(found)}, {"VpcEndpointIds": [endpoint_id]}
    )


def test_change_compliant_endpoint(env):
    describe_one(env, endpoint("bedrock-runtime", endpoint_id=ENDPOINT_ID))
    env.accept()

    result = env.run(change())

    assert result["compliance"] == "COMPLIANT"
    evaluation = env.evaluation
    assert evaluation["ComplianceResourceType"] == "AWS::EC2::VPCEndpoint"
    assert evaluation["ComplianceResourceId"] == ENDPOINT_ID
    assert evaluation["ComplianceType"] == "COMPLIANT"
    assert evaluation["OrderingTimestamp"] == CAPTURE
    assert evaluation["Annotation"] == (
        f"bedrock-runtime endpoint {ENDPOINT_ID} has a restrictive policy."
    )


def test_change_full_access_endpoint_is_non_compliant_whatever_the_item_says(env):
    # The configuration item carries a restrictive policy; EC2 says full access.
    describe_one(env, endpoint("bedrock", endpoint_id=ENDPOINT_ID, policy=FULL_ACCESS))
    env.accept()

    env.run(change())

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert evaluation["Annotation"] == f"bedrock endpoint {ENDPOINT_ID}: full-access policy."


def test_change_pending_endpoint_is_judged_by_its_policy_alone(env):
    describe_one(env, endpoint("bedrock-agent", endpoint_id=ENDPOINT_ID, state="pending"))
    env.accept()

    env.run(change())

    assert env.evaluation["ComplianceType"] == "COMPLIANT"


@pytest.mark.parametrize(
    "found",
    [
        pytest.param(endpoint("s3", endpoint_id=ENDPOINT_ID, policy=FULL_ACCESS), id="not-bedrock"),
        pytest.param(
            endpoint("bedrock", endpoint_id=ENDPOINT_ID, vpc="vpc-0fffffffffffffff0"),
            id="other-vpc",
        ),
        pytest.param(endpoint("bedrock-agent-runtime", endpoint_id=ENDPOINT_ID), id="not-required"),
    ],
)
def test_change_endpoint_outside_the_rule_is_not_applicable(env, found):
    describe_one(env, found)
    env.accept()

    params = {"vpcId": VPC, "requiredServices": "bedrock,bedrock-runtime"}
    env.run(change(parameters=params))

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "NOT_APPLICABLE"
    assert evaluation["ComplianceResourceId"] == ENDPOINT_ID
    assert f"is not a required Bedrock endpoint of {VPC}" in evaluation["Annotation"]


@pytest.mark.parametrize("status", ["ResourceDeleted", "ResourceDeletedNotRecorded"])
def test_change_deleted_item_is_not_applicable_without_ec2(env, status):
    env.accept()  # no EC2 response queued: a describe call would fail the test

    env.run(change(status))

    evaluation = env.evaluation
    assert evaluation["ComplianceType"] == "NOT_APPLICABLE"
    assert evaluation["Annotation"] == f"Endpoint {ENDPOINT_ID}: status {status}."
    assert evaluation["OrderingTimestamp"] == CAPTURE


def test_change_event_left_scope_is_not_applicable(env):
    env.accept()
    event = change()
    event["eventLeftScope"] = True

    env.run(event)

    assert env.evaluation["ComplianceType"] == "NOT_APPLICABLE"
    assert "left the rule's scope" in env.evaluation["Annotation"]


@pytest.mark.parametrize("how", ["not-found", "empty", "deleted-state"])
def test_change_endpoint_no_longer_in_ec2_is_not_applicable(env, how):
    if how == "not-found":
        env.ec2_stub.add_client_error(
            "describe_vpc_endpoints",
            "InvalidVpcEndpointId.NotFound",
            "gone",
            400,
            expected_params={"VpcEndpointIds": [ENDPOINT_ID]},
        )
    elif how == "empty":
        describe_one(env)
    else:
        describe_one(env, endpoint("bedrock", endpoint_id=ENDPOINT_ID, state="deleted"))
    env.accept()

    env.run(change())

    assert env.evaluation["ComplianceType"] == "NOT_APPLICABLE"
    assert env.evaluation["Annotation"] == f"Endpoint {ENDPOINT_ID} no longer exists."


def test_oversized_change_uses_the_summary(env):
    describe_one(env, endpoint("bedrock-agent", endpoint_id=ENDPOINT_ID, policy=None))
    env.accept()

    result = env.run(change(oversized=True))

    assert result["resourceType"] == "AWS::EC2::VPCEndpoint"
    evaluation = env.evaluation
    assert evaluation["ComplianceResourceId"] == ENDPOINT_ID
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert evaluation["OrderingTimestamp"] == CAPTURE
    assert evaluation["Annotation"].endswith("no policy (full access).")


def test_oversized_deleted_change_is_not_applicable(env):
    env.accept()

    env.run(change("ResourceDeleted", oversized=True))

    assert env.evaluation["ComplianceType"] == "NOT_APPLICABLE"


def test_change_ec2_throttling_raises(env):
    env.ec2_stub.add_client_error("describe_vpc_endpoints", "RequestLimitExceeded", "slow", 503)

    with pytest.raises(ClientError, match="RequestLimitExceeded"):
        env.run(change())
    assert env.config.calls == [] and env.sqs.calls == []


# =============================================================================================
# malformed events are dead-lettered
# =============================================================================================


def _invoking(**fields: Any) -> str:
    base = {"messageType": "ScheduledNotification", "notificationCreationTime": NOW_TEXT}
    return json.dumps({k: v for k, v in {**base, **fields}.items() if v is not None})


def _params(**params: Any) -> str:
    return json.dumps(params)


MALFORMED = [
    pytest.param(["a", "list"], "event must be an object", id="event-list"),
    pytest.param("text", "event must be an object", id="event-string"),
    pytest.param(
        {k: v for k, v in scheduled("agents").items() if k != "invokingEvent"},
        "invokingEvent is missing",
        id="no-invoking",
    ),
    pytest.param(scheduled("agents", invokingEvent="{oops"), "not valid JSON", id="invoking-bad"),
    pytest.param(scheduled("agents", invokingEvent={"a": 1}), "JSON string", id="invoking-dict"),
    pytest.param(scheduled("agents", invokingEvent="[1]"), "JSON object", id="invoking-list"),
    pytest.param(
        scheduled("agents", invokingEvent=_invoking(messageType="Foo")),
        "messageType 'Foo' is not one of ScheduledNotification",
        id="unknown-message-type",
    ),
    pytest.param(
        change(check="guardrails", parameters={"promptAttackStrength": "HIGH"}),
        "messageType 'ConfigurationItemChangeNotification' is not accepted by check 'guardrails'",
        id="change-for-guardrails",
    ),
    pytest.param(
        change(oversized=True, check="knowledge_bases", parameters={}),
        "is not accepted by check 'knowledge_bases'",
        id="oversized-for-knowledge-bases",
    ),
    pytest.param(
        {k: v for k, v in scheduled("agents").items() if k != "resultToken"},
        "resultToken is missing",
        id="no-token",
    ),
    pytest.param(scheduled("agents", resultToken=""), "resultToken is missing", id="empty-token"),
    pytest.param(
        scheduled("agents", invokingEvent=_invoking(notificationCreationTime="yesterday")),
        "notificationCreationTime 'yesterday' is not an ISO 8601 time",
        id="bad-time",
    ),
    pytest.param(
        scheduled("agents", invokingEvent=_invoking(notificationCreationTime=None)),
        "notificationCreationTime None",
        id="no-time",
    ),
    pytest.param(scheduled("agents", accountId="12345"), "account ID", id="bad-account"),
    pytest.param(
        change(capture="soon"), "configurationItemCaptureTime 'soon'", id="bad-capture-time"
    ),
    pytest.param(
        change(resource_type="AWS::EC2::Instance", resource_id="i-0123"),
        "configuration item type 'AWS::EC2::Instance' is not AWS::EC2::VPCEndpoint",
        id="not-an-endpoint",
    ),
    pytest.param(
        change(resource_id="../etc"),
        "configuration item ID '../etc' is no endpoint ID",
        id="bad-id",
    ),
    pytest.param(
        scheduled(
            "endpoints",
            invokingEvent=_invoking(messageType="ConfigurationItemChangeNotification"),
            ruleParameters=_params(check="endpoints", vpcId=VPC),
        ),
        "configurationItem is missing",
        id="change-without-item",
    ),
    pytest.param(scheduled("agents", ruleParameters="{oops"), "ruleParameters", id="params-bad"),
    pytest.param(scheduled("agents", ruleParameters="[]"), "JSON object", id="params-list"),
    pytest.param(scheduled(None), "rule parameter check=None is invalid", id="no-check"),
    pytest.param(
        scheduled("everything"),
        "check='everything' is invalid; allowed: invocation_logging",
        id="unknown-check",
    ),
    pytest.param(
        scheduled("agents", {"promptAttackStrength": "HIGH"}),
        "rule parameters promptAttackStrength are not used by check 'agents'; allowed: none",
        id="unknown-parameter",
    ),
    pytest.param(
        scheduled("invocation_logging", {**LOGGING_PARAMS, "expectedPrefx": "x"}),
        "expectedPrefx are not used",
        id="misspelt-optional-parameter",
    ),
    pytest.param(
        scheduled("invocation_logging", {}),
        "rule parameter expectedBucket is required",
        id="no-bucket",
    ),
    pytest.param(
        scheduled("invocation_logging", {"expectedBucket": "s3://bucket"}),
        "expectedBucket='s3://bucket' is invalid",
        id="bad-bucket",
    ),
    pytest.param(
        scheduled("invocation_logging", {"expectedBucket": 5}),
        "rule parameter expectedBucket must be a string",
        id="bucket-not-string",
    ),
    pytest.param(
        scheduled("invocation_logging", {"expectedBucket": "b-1", "requireTextDelivery": "yes"}),
        "requireTextDelivery='yes' is invalid; allowed: true, false",
        id="bad-flag",
    ),
    pytest.param(
        scheduled("invocation_logging", {"expectedBucket": "b-1", "expectedLogGroup": "a b"}),
        "expectedLogGroup='a b' is invalid",
        id="bad-log-group",
    ),
    pytest.param(
        scheduled("guardrails"),
        "promptAttackStrength is required: LOW, MEDIUM, HIGH",
        id="no-strength",
    ),
    pytest.param(
        scheduled("guardrails", {"promptAttackStrength": "EXTREME"}),
        "promptAttackStrength='EXTREME' is invalid; allowed: LOW, MEDIUM, HIGH",
        id="bad-strength",
    ),
    pytest.param(scheduled("endpoints"), "rule parameter vpcId is required", id="no-vpc"),
    pytest.param(
        scheduled("endpoints", {"vpcId": "vpc-xyz"}), "vpcId='vpc-xyz' is invalid", id="bad-vpc"
    ),
    pytest.param(
        scheduled("endpoints", {"vpcId": VPC, "requiredServices": "bedrock,com.amazonaws.x y"}),
        "requiredServices holds 'com.amazonaws.x y'",
        id="bad-service",
    ),
]


@pytest.mark.parametrize(("event", "reason"), MALFORMED)
def test_malformed_event_is_dead_lettered(env, event, reason):
    env.allow_dlq()  # no Config or service response queued: any such call fails the test

    result = env.run(event)

    assert result["status"] == "dead_lettered"
    assert reason in result["reason"]
    (message,) = env.dlq_messages()
    assert reason in message["reason"]
    assert message["event"] == event
    assert env.config.calls == []


def test_dead_letter_is_logged_as_error(env, capsys):
    env.allow_dlq()

    env.run(scheduled("guardrails", {"promptAttackStrength": "EXTREME"}))

    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (last["level"], last["message"]) == ("ERROR", "event dead-lettered")
    assert "EXTREME" in last["reason"]


def test_dead_letter_send_failure_raises(env):
    env.sqs.stubber.add_client_error("send_message", "ServiceUnavailable", "down", 503)

    with pytest.raises(ClientError, match="ServiceUnavailable"):
        env.run("not an event")


# =============================================================================================
# transient and access errors raise; Config outcomes
# =============================================================================================


def _raise_logging(env: Env) -> None:
    env.bedrock_stub.add_client_error(
        "get_model_invocation_logging_configuration", "ThrottlingException", "slow", 429
    )


def _raise_list_guardrails(env: Env) -> None:
    env.bedrock_stub.add_client_error("list_guardrails", "InternalServerException", "boom", 500)


def _raise_get_guardrail(env: Env) -> None:
    list_guardrails(env, "gr1")
    env.bedrock_stub.add_client_error("get_guardrail", "AccessDeniedException", "no", 403)


def _raise_guardrail_versions(env: Env) -> None:
    list_guardrails(env, "gr1")
    env.bedrock_stub.add_response("get_guardrail", guardrail("gr1"))
    env.bedrock_stub.add_client_error("list_guardrails", "ThrottlingException", "slow", 429)


def _raise_list_kbs(env: Env) -> None:
    env.agent_stub.add_client_error("list_knowledge_bases", "AccessDeniedException", "no", 403)


def _raise_get_kb(env: Env) -> None:
    list_kbs(env, "KB00000001")
    env.agent_stub.add_client_error("get_knowledge_base", "ThrottlingException", "slow", 429)


def _raise_vector_bucket(env: Env) -> None:
    list_kbs(env, "KB00000001")
    add_kb(env, "KB00000001")
    env.s3v_stub.add_client_error("get_vector_bucket", "AccessDeniedException", "no", 403)


def _raise_index(env: Env) -> None:
    list_kbs(env, "KB00000001")
    add_kb(env, "KB00000001")
    env.s3v_stub.add_response("get_vector_bucket", vector_bucket())
    env.s3v_stub.add_client_error("get_index", "ServiceUnavailableException", "down", 503)


def _raise_data_source(env: Env) -> None:
    list_kbs(env, "KB00000001")
    env.agent_stub.add_response("get_knowledge_base", knowledge_base("KB00000001", None))
    env.agent_stub.add_response(
        "list_data_sources", {"dataSourceSummaries": [ds_summary("KB00000001", "DS00000001")]}
    )
    env.agent_stub.add_client_error("get_data_source", "AccessDeniedException", "no", 403)


def _raise_list_agents(env: Env) -> None:
    env.agent_stub.add_client_error("list_agents", "InternalServerException", "boom", 500)


def _raise_get_agent(env: Env) -> None:
    env.agent_stub.add_response("list_agents", {"agentSummaries": [agent_summary("AG00000001")]})
    env.agent_stub.add_client_error("get_agent", "ResourceNotFoundException", "gone", 404)


def _raise_endpoints(env: Env) -> None:
    env.ec2_stub.add_client_error("describe_vpc_endpoints", "UnauthorizedOperation", "no", 403)


RAISES = [
    pytest.param("invocation_logging", _raise_logging, "ThrottlingException", id="logging"),
    pytest.param("guardrails", _raise_list_guardrails, "InternalServerException", id="list-gr"),
    pytest.param("guardrails", _raise_get_guardrail, "AccessDeniedException", id="get-gr"),
    pytest.param("guardrails", _raise_guardrail_versions, "ThrottlingException", id="gr-versions"),
    pytest.param("knowledge_bases", _raise_list_kbs, "AccessDeniedException", id="list-kb"),
    pytest.param("knowledge_bases", _raise_get_kb, "ThrottlingException", id="get-kb"),
    pytest.param("knowledge_bases", _raise_vector_bucket, "AccessDeniedException", id="bucket"),
    pytest.param("knowledge_bases", _raise_index, "ServiceUnavailableException", id="index"),
    pytest.param("knowledge_bases", _raise_data_source, "AccessDeniedException", id="data-source"),
    pytest.param("agents", _raise_list_agents, "InternalServerException", id="list-agents"),
    pytest.param("agents", _raise_get_agent, "ResourceNotFoundException", id="get-agent"),
    pytest.param("endpoints", _raise_endpoints, "UnauthorizedOperation", id="endpoints"),
]
CHECK_PARAMS = {
    "invocation_logging": LOGGING_PARAMS,
    "guardrails": {"promptAttackStrength": "HIGH"},
    "knowledge_bases": {},
    "agents": {},
    "endpoints": ENDPOINT_PARAMS,
}


@pytest.mark.parametrize(("check", "setup", "code"), RAISES)
def test_aws_errors_raise(env, check, setup, code):
    setup(env)

    with pytest.raises(ClientError) as info:
        env.run(scheduled(check, CHECK_PARAMS[check]))
    assert info.value.response["Error"]["Code"] == code
    assert env.config.calls == []
    assert env.sqs.calls == []


def test_network_error_raises(env):
    class Unreachable:
        def get_model_invocation_logging_configuration(self) -> Any:
            raise EndpointConnectionError(endpoint_url="https://bedrock.us-east-1.amazonaws.com")

    clients = env.clients(bedrock=Unreachable())
    with pytest.raises(EndpointConnectionError):
        mod.evaluate(
            scheduled("invocation_logging", LOGGING_PARAMS),
            clients,
            mod.Settings(dlq_url=DLQ, region=REGION),
        )
    assert env.config.calls == [] and env.sqs.calls == []


def _agents_compliant(env: Env) -> None:
    env.agent_stub.add_response("list_agents", {"agentSummaries": []})


def test_failed_evaluations_raise(env):
    _agents_compliant(env)
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
        env.run(scheduled("agents"))
    assert env.sqs.calls == []


def test_put_evaluations_throttling_raises(env):
    _agents_compliant(env)
    env.config.stubber.add_client_error("put_evaluations", "ThrottlingException", "slow", 400)

    with pytest.raises(ClientError, match="ThrottlingException"):
        env.run(scheduled("agents"))
    assert env.sqs.calls == []


@pytest.mark.parametrize(
    "code", ["InvalidResultTokenException", "NoSuchConfigRuleException", "ValidationException"]
)
def test_config_permanent_rejection_is_dead_lettered(env, code):
    _agents_compliant(env)
    env.config.stubber.add_client_error("put_evaluations", code, "rejected", 400)
    env.allow_dlq()
    event = scheduled("agents")

    result = env.run(event)

    assert result == {
        "status": "dead_lettered",
        "reason": f"Config rejected the evaluations: {code}",
    }
    (message,) = env.dlq_messages()
    assert message["event"] == event


def test_result_and_summary_log(env, capsys):
    _agents_compliant(env)
    env.accept()

    result = env.run(scheduled("agents"))

    assert result == {
        "status": "evaluated",
        "check": "agents",
        "resourceType": "AWS::::Account",
        "resourceId": ACCOUNT,
        "compliance": "COMPLIANT",
        "annotation": "No Bedrock agents.",
        "putEvaluationsCalls": 1,
    }
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert last["message"] == "evaluations sent"
    assert (last["rule"], last["check"], last["compliance"]) == (
        "bedrock-agents",
        "agents",
        "COMPLIANT",
    )


# =============================================================================================
# settings, handler, clients
# =============================================================================================


def test_settings():
    s = mod.load_settings({"DLQ_URL": DLQ, "AWS_REGION": "eu-central-1"})
    assert s == mod.Settings(dlq_url=DLQ, region="eu-central-1")
    assert mod.load_settings({"DLQ_URL": DLQ, "AWS_REGION": "us-gov-west-1"}).region == (
        "us-gov-west-1"
    )


@pytest.mark.parametrize(
    ("env_vars", "message"),
    [
        (
            {"AWS_REGION": REGION},
            "DLQ_URL='' is invalid; expected https://sqs.<region>.amazonaws.com/<account>/<queue>",
        ),
        ({"DLQ_URL": "queue", "AWS_REGION": REGION}, "DLQ_URL='queue' is invalid"),
        (
            {"DLQ_URL": DLQ},
            "AWS_REGION='' is invalid; expected an AWS Region such as us-east-1 (Lambda sets it)",
        ),
        ({"DLQ_URL": DLQ, "AWS_REGION": "US-EAST-1"}, "AWS_REGION='US-EAST-1' is invalid"),
        ({"DLQ_URL": DLQ, "AWS_REGION": "moon"}, "AWS_REGION='moon' is invalid"),
    ],
)
def test_invalid_settings_raise(env_vars, message):
    with pytest.raises(mod.ConfigurationError) as info:
        mod.load_settings(env_vars)
    assert str(info.value).startswith(message)


def test_handler_reads_env_and_builds_clients(env, monkeypatch):
    monkeypatch.setenv("DLQ_URL", DLQ)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setattr(mod, "make_clients", env.clients)
    env.agent_stub.add_response("list_agents", {"agentSummaries": [agent_summary("AG00000001")]})
    env.agent_stub.add_response("get_agent", agent("AG00000001", None))
    env.accept()

    result = mod.handler(scheduled("agents"), None)

    assert result["compliance"] == "NON_COMPLIANT"
    assert env.evaluation["Annotation"] == "1 of 1 agents fail: agent AG00000001: no guardrail"


def test_handler_without_env_raises_configuration_error(monkeypatch):
    monkeypatch.delenv("DLQ_URL", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    with pytest.raises(mod.ConfigurationError, match="DLQ_URL"):
        mod.handler(scheduled("agents"), None)


def test_make_clients_builds_the_six_services(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clients = mod.make_clients()
    names = {
        field: getattr(clients, field).meta.service_model.service_name
        for field in ("bedrock", "bedrock_agent", "s3vectors", "ec2", "config", "sqs")
    }
    assert names == {
        "bedrock": "bedrock",
        "bedrock_agent": "bedrock-agent",
        "s3vectors": "s3vectors",
        "ec2": "ec2",
        "config": "config",
        "sqs": "sqs",
    }
    assert clients.config.meta.config.retries["mode"] == "standard"


def test_items_result_annotation_helpers():
    ok = checks.items_result("agents", "agents", 3, [], "x" * 300)
    assert ok.compliant and len(ok.annotation) == 256
    bad = checks.items_result("agents", "agents", 3, ["a: b", "c: d"], "unused")
    assert not bad.compliant
    assert bad.annotation == "2 of 3 agents fail: a: b; c: d"
    assert bad.failures == ("a: b", "c: d")
