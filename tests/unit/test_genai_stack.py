"""The GenAI stack, in every environment: guardrail, invocation role, logging, functions, PHI.

Permissions are checked by evaluating the synthesized policies (``tests/unit/iam_eval.py``)
against concrete requests: an allow-listed model with the guardrail, the same without it,
another model, other Bedrock actions, other buckets.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from secure_constructs.core.managed_policy_role import flatten_reference
from secure_constructs.core.secure_function import RUNTIME
from secure_constructs.genai.bedrock_rules import CONTENT_FILTER_TYPES
from tests.conftest import Synthesized, dumps, resources_of
from tests.unit.iam_eval import Request, allowed, decide, role_logical_id, role_statements


def _one(raw: dict[str, Any], kind: str, path_part: str = "") -> tuple[str, dict[str, Any]]:
    (found,) = [
        (lid, r)
        for lid, r in resources_of(raw, kind).items()
        if path_part in r.get("Metadata", {}).get("aws:cdk:path", "")
    ]
    return found


class GenAi:
    """One environment's GenAI template and the identifiers requests need."""

    def __init__(self, synthesized: Synthesized, env_name: str) -> None:
        self.env = synthesized.env(env_name)
        self.raw = synthesized.raw(env_name, "genai")
        self.data = synthesized.raw(env_name, "data")
        self.keys = synthesized.raw(env_name, "keys")
        self.guardrail_id, self.guardrail = _one(self.raw, "AWS::Bedrock::Guardrail")
        self.version_id, self.version = _one(self.raw, "AWS::Bedrock::GuardrailVersion")
        self.guardrail_arn = f"<{self.guardrail_id}.GuardrailArn>"
        self.pinned = f"{self.guardrail_arn}:<{self.version_id}.Version>"
        region = self.env.region
        self.model_arn = lambda m: f"arn:aws:bedrock:{region}::foundation-model/{m}"

    def role(self, suffix: str) -> list[dict[str, Any]]:
        return role_statements(self.raw, role_logical_id(self.raw, suffix))

    def invoke(
        self, model: str, guardrail: str | None, action: str = "bedrock:InvokeModel"
    ) -> Request:
        context = {} if guardrail is None else {"bedrock:GuardrailIdentifier": guardrail}
        return Request(action, self.model_arn(model), context)


@pytest.fixture
def genai(synthesized: Synthesized, env_name: str) -> GenAi:
    return GenAi(synthesized, env_name)


# --- guardrail ------------------------------------------------------------------------------


def test_guardrail_policies_come_from_config(genai: GenAi) -> None:
    spec = genai.env.genai.guardrail
    props = genai.guardrail["Properties"]
    assert props["Name"] == f"secure-ml-{genai.env.name}-platform"
    assert props["BlockedInputMessaging"] == spec.blocked_input_message
    filters = {f["Type"]: f for f in props["ContentPolicyConfig"]["FiltersConfig"]}
    assert set(filters) == set(CONTENT_FILTER_TYPES)
    for item in spec.content_filters:
        assert (filters[item.type]["InputStrength"], filters[item.type]["OutputStrength"]) == (
            item.input_strength,
            item.output_strength,
        )
    assert filters["PROMPT_ATTACK"]["InputStrength"] == "HIGH"
    topics = props["TopicPolicyConfig"]["TopicsConfig"]
    assert [(t["Name"], t["Type"]) for t in topics] == [
        (t.name, "DENY") for t in spec.denied_topics
    ]
    pii = {
        e["Type"]: e["Action"]
        for e in props["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"]
    }
    assert pii == {
        **dict.fromkeys(spec.pii_block, "BLOCK"),
        **dict.fromkeys(spec.pii_anonymize, "ANONYMIZE"),
    }
    assert pii["US_SOCIAL_SECURITY_NUMBER"] == "BLOCK" and pii["NAME"] == "ANONYMIZE"
    regexes = props["SensitiveInformationPolicyConfig"]["RegexesConfig"]
    assert [(r["Name"], r["Pattern"], r["Action"]) for r in regexes] == [
        (r.name, r.pattern, r.action) for r in spec.regexes
    ]
    words = props["WordPolicyConfig"]
    assert [w["Text"] for w in words["WordsConfig"]] == list(spec.words)
    assert words["ManagedWordListsConfig"] == [{"Type": "PROFANITY"}]
    grounding = {
        f["Type"]: f["Threshold"] for f in props["ContextualGroundingPolicyConfig"]["FiltersConfig"]
    }
    assert grounding == {
        "GROUNDING": spec.grounding_threshold,
        "RELEVANCE": spec.relevance_threshold,
    }


def test_a_published_version_is_pinned_and_kept(genai: GenAi) -> None:
    assert genai.version["Properties"]["GuardrailIdentifier"] == {
        "Fn::GetAtt": [genai.guardrail_id, "GuardrailArn"]
    }
    assert genai.version["DeletionPolicy"] == "Retain"
    assert "config" in genai.version["Properties"]["Description"]
    enforced = resources_of(genai.raw, "AWS::Bedrock::EnforcedGuardrailConfiguration")
    if genai.env.genai.enforce_guardrail_in_account:
        (config,) = enforced.values()
        assert config["Properties"]["GuardrailVersion"] == {
            "Fn::GetAtt": [genai.version_id, "Version"]
        }
    else:
        assert not enforced


# --- invocation role ------------------------------------------------------------------------


def test_invocation_role_trusts_only_the_configured_roles(genai: GenAi) -> None:
    (_, role) = _one(genai.raw, "AWS::IAM::Role", "/InvocationRole/")
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{genai.env.account}:root"}
    assert statement["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": list(genai.env.genai.invoker_role_arns)}
    }
    assert role["Properties"]["MaxSessionDuration"] == 3600


def test_invocation_role_invokes_only_allow_listed_models_with_the_guardrail(genai: GenAi) -> None:
    statements = genai.role("/InvocationRole/Resource")
    for model in genai.env.genai.allowed_model_ids:
        for action in ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"):
            assert allowed(statements, genai.invoke(model, genai.pinned, action)), (model, action)
            assert decide(statements, genai.invoke(model, None, action)) == "Deny"
            other_guardrail = f"arn:aws:bedrock:us-east-1:{genai.env.account}:guardrail/other:1"
            assert decide(statements, genai.invoke(model, other_guardrail, action)) == "Deny"
            draft = f"{genai.guardrail_arn}:DRAFT"
            assert decide(statements, genai.invoke(model, draft, action)) == "Deny"
    for model in ("anthropic.claude-3-opus-20240229-v1:0", "meta.llama3-70b-instruct-v1:0"):
        assert not allowed(statements, genai.invoke(model, genai.pinned)), model


def test_invocation_role_has_nothing_else_in_bedrock(genai: GenAi) -> None:
    statements = genai.role("/InvocationRole/Resource")
    assert allowed(statements, Request("bedrock:ApplyGuardrail", genai.guardrail_arn))
    assert not allowed(
        statements, Request("bedrock:ApplyGuardrail", "arn:aws:bedrock:us-east-1:1:guardrail/x")
    )
    for action in (
        "bedrock:CreateGuardrail",
        "bedrock:UpdateGuardrail",
        "bedrock:DeleteModelInvocationLoggingConfiguration",
        "bedrock:InvokeAgent",
        "bedrock:GetFoundationModel",
        "bedrock:CreateModelCustomizationJob",
    ):
        assert not allowed(statements, Request(action, "*")), action
    granted = {
        a
        for s in statements
        if s["Effect"] == "Allow"
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert granted == {
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
        "bedrock:ApplyGuardrail",
        "lambda:InvokeFunction",
        "bedrock:Retrieve",  # the knowledge base only (tests/unit/test_knowledge_base.py)
    }


def test_guarded_function_may_only_converse(genai: GenAi) -> None:
    statements = genai.role("/GuardedInvoke/Role/Resource")
    default = genai.env.genai.default_model_id
    assert allowed(statements, genai.invoke(default, genai.pinned))
    assert not allowed(
        statements, genai.invoke(default, genai.pinned, "bedrock:InvokeModelWithResponseStream")
    )
    assert decide(statements, genai.invoke(default, None)) == "Deny"
    assert not allowed(
        statements, genai.invoke("anthropic.claude-3-opus-20240229-v1:0", genai.pinned)
    )


# --- invocation logging -----------------------------------------------------------------------


def _join(value: Any) -> str:
    """A Fn::Join'ed string with each intrinsic rendered as ``<...>`` (literals untouched)."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return str(delimiter).join(_join(p) for p in parts)
    return flatten_reference(value)


def test_invocation_logging_configuration_call(genai: GenAi) -> None:
    (_, resource) = _one(genai.raw, "Custom::BedrockInvocationLogging")
    call = json.loads(_join(resource["Properties"]["Create"]))
    assert (call["service"], call["action"]) == (
        "bedrock",
        "PutModelInvocationLoggingConfiguration",
    )
    logging = call["parameters"]["loggingConfig"]
    assert "InvocationLogsBucket" in logging["s3Config"]["bucketName"]
    assert logging["s3Config"]["keyPrefix"] == genai.env.genai.invocation_logging.s3_prefix.rstrip(
        "/"
    )
    log_group, _ = _one(genai.raw, "AWS::Logs::LogGroup", "/InvocationLogging/LogGroup/")
    assert logging["cloudWatchConfig"]["logGroupName"] == f"<{log_group}>"
    assert logging["textDataDeliveryEnabled"] is genai.env.genai.invocation_logging.text_data
    assert logging["imageDataDeliveryEnabled"] is False
    assert resource["Properties"]["Update"] == resource["Properties"]["Create"]
    delete = json.loads(resource["Properties"]["Delete"])
    assert delete["action"] == "DeleteModelInvocationLoggingConfiguration"


def test_invocation_log_group_and_delivery_role(genai: GenAi) -> None:
    _, group = _one(genai.raw, "AWS::Logs::LogGroup", "/InvocationLogging/LogGroup/")
    assert (
        group["Properties"]["RetentionInDays"]
        == genai.env.genai.invocation_logging.log_retention_days
    )
    assert "LogsKey" in dumps(group["Properties"]["KmsKeyId"])
    assert group["DeletionPolicy"] == "Retain"
    _, role = _one(genai.raw, "AWS::IAM::Role", "/InvocationLogging/DeliveryRole/")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": genai.env.account}
    statements = genai.role("/InvocationLogging/DeliveryRole/Resource")
    assert [s["Action"] for s in statements] == [["logs:CreateLogStream", "logs:PutLogEvents"]]
    assert flatten_reference(statements[0]["Resource"]).endswith(
        ":log-stream:aws/bedrock/modelinvocations"
    )


def test_configuration_role_names_exact_actions(genai: GenAi) -> None:
    statements = genai.role("/InvocationLogging/ConfigurationRole/Resource")
    assert allowed(statements, Request("bedrock:PutModelInvocationLoggingConfiguration", "*"))
    assert allowed(statements, Request("bedrock:DeleteModelInvocationLoggingConfiguration", "*"))
    assert not allowed(statements, Request("bedrock:InvokeModel", "*"))
    delivery = role_logical_id(genai.raw, "/InvocationLogging/DeliveryRole/Resource")
    to_bedrock = {"iam:PassedToService": "bedrock.amazonaws.com"}
    assert allowed(statements, Request("iam:PassRole", f"<{delivery}.Arn>", to_bedrock))
    assert not allowed(
        statements,
        Request("iam:PassRole", f"<{delivery}.Arn>", {"iam:PassedToService": "ec2.amazonaws.com"}),
    )
    assert not allowed(statements, Request("iam:PassRole", "arn:aws:iam::1:role/Admin", to_bedrock))


def test_invocation_logs_bucket_and_data_key_admit_bedrock_for_this_account_only(
    genai: GenAi,
) -> None:
    env = genai.env
    source = {
        "StringEquals": {"aws:SourceAccount": env.account},
        "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:{env.region}:{env.account}:*"},
    }
    statements = [
        s
        for p in resources_of(genai.data, "AWS::S3::BucketPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "AmazonBedrockModelInvocationLogsWrite"
    ]
    (statement,) = statements
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert statement["Action"] == "s3:PutObject" and statement["Condition"] == source
    prefix = env.genai.invocation_logging.s3_prefix
    assert flatten_reference(statement["Resource"]).endswith(
        f"/{prefix}AWSLogs/{env.account}/BedrockModelInvocationLogs/*"
    )
    assert "InvocationLogsBucket" in flatten_reference(statement["Resource"])
    (data_key,) = [
        k
        for k in resources_of(genai.keys, "AWS::KMS::Key").values()
        if "/DataKey/" in k["Metadata"]["aws:cdk:path"]
    ]
    (key_statement,) = [
        s
        for s in data_key["Properties"]["KeyPolicy"]["Statement"]
        if s["Sid"] == "AmazonBedrockModelInvocationLogsEncrypt"
    ]
    assert key_statement["Action"] == "kms:GenerateDataKey" and key_statement["Condition"] == source


# --- functions ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["GuardedInvoke", "PhiRedaction"])
def test_functions_follow_the_lambda_house_rules(genai: GenAi, name: str) -> None:
    lid, function = _one(genai.raw, "AWS::Lambda::Function", f"/{name}/")
    props = function["Properties"]
    assert props["Runtime"] == RUNTIME.name == "python3.14"
    module = "guarded_invoke" if name == "GuardedInvoke" else "phi_redaction"
    assert props["Handler"] == f"{module}.handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["ReservedConcurrentExecutions"] >= 1
    assert all("privateSubnet" in flatten_reference(s) for s in props["VpcConfig"]["SubnetIds"])
    assert "DataKey" in dumps(props["KmsKeyArn"])
    queue_id = props["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]
    assert props["Environment"]["Variables"]["DLQ_URL"] == {"Ref": queue_id}
    (invoke_config,) = [
        c["Properties"]
        for c in resources_of(genai.raw, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": lid}
    ]
    assert invoke_config["MaximumRetryAttempts"] == 2
    assert invoke_config["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [queue_id, "Arn"]
    }
    queue = genai.raw["Resources"][queue_id]
    assert "DataKey" in dumps(queue["Properties"]["KmsMasterKeyId"])
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["DeletionPolicy"] == "Retain"
    (queue_policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources_of(genai.raw, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in queue_policy
    )
    log_group = genai.raw["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Properties"]["RetentionInDays"] == genai.env.genai.log_retention_days
    assert "LogsKey" in dumps(log_group["Properties"]["KmsKeyId"])
    # egress only to the endpoints (and S3 for the PHI function), never the internet
    sg_id = props["VpcConfig"]["SecurityGroupIds"][0]["Fn::GetAtt"][0]
    rules = genai.raw["Resources"][sg_id]["Properties"].get("SecurityGroupEgress", []) + [
        r["Properties"]
        for r in resources_of(genai.raw, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    ]
    assert rules and all("CidrIp" not in r for r in rules)
    targets = {
        dumps(r.get("DestinationSecurityGroupId") or r.get("DestinationPrefixListId"))
        for r in rules
    }
    assert any("EndpointSecurityGroup" in t for t in targets)
    assert (genai.env.s3_prefix_list_id in dumps(rules)) is (name == "PhiRedaction")


def test_guarded_invoke_environment_pins_model_and_guardrail(genai: GenAi) -> None:
    _, function = _one(genai.raw, "AWS::Lambda::Function", "/GuardedInvoke/")
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["GUARDRAIL_ID"] == {"Fn::GetAtt": [genai.guardrail_id, "GuardrailArn"]}
    assert variables["GUARDRAIL_VERSION"] == {"Fn::GetAtt": [genai.version_id, "Version"]}
    assert variables["DEFAULT_MODEL_ID"] == genai.env.genai.default_model_id
    others = [m for m in genai.env.genai.allowed_model_ids if m != genai.env.genai.default_model_id]
    assert variables["ALLOWED_MODEL_IDS"] == ",".join(others)
    timeout = function["Properties"]["Timeout"]
    assert timeout > 3 * int(variables["BEDROCK_READ_TIMEOUT_SECONDS"]) + 2


# --- PHI ---------------------------------------------------------------------------------------


def test_phi_trigger_is_the_raw_buckets_clinical_prefix(genai: GenAi) -> None:
    _, rule = _one(genai.raw, "AWS::Events::Rule", "/PhiRedaction/")
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert "RawBucket" in dumps(pattern["detail"]["bucket"]["name"])
    assert pattern["detail"]["object"]["key"] == [{"prefix": genai.env.genai.phi.clinical_prefix}]
    (target,) = rule["Properties"]["Targets"]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 2}
    assert "PhiRedactionDeadLetterQueue" in dumps(target["DeadLetterConfig"])
    (raw_bucket,) = [
        b
        for b in resources_of(genai.data, "AWS::S3::Bucket").values()
        if "/Data/Raw/Bucket/" in b["Metadata"]["aws:cdk:path"]
    ]
    assert raw_bucket["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


def _bucket_object(template: dict[str, Any], bucket: str, key: str) -> str:
    text = json.dumps(template)
    export = next(
        part
        for part in text.split('"')
        if ":ExportsOutputFnGetAtt" in part and f"{bucket}Bucket" in part
    )
    return f"{export}/{key}"


def test_phi_function_reads_clinical_writes_redacted_and_nothing_else(genai: GenAi) -> None:
    statements = genai.role("/PhiRedaction/Redaction/Role/Resource")
    phi = genai.env.genai.phi
    raw = lambda key: _bucket_object(genai.raw, "Raw", key)  # noqa: E731
    curated = lambda key: _bucket_object(genai.raw, "Curated", key)  # noqa: E731
    assert allowed(statements, Request("s3:GetObject", raw(f"{phi.clinical_prefix}note.txt")))
    assert not allowed(statements, Request("s3:GetObject", raw("other/note.txt")))
    assert not allowed(statements, Request("s3:PutObject", raw(f"{phi.clinical_prefix}note.txt")))
    assert allowed(statements, Request("s3:PutObject", curated(f"{phi.curated_prefix}note.txt")))
    assert not allowed(statements, Request("s3:PutObject", curated("training/note.txt")))
    assert not allowed(
        statements, Request("s3:GetObject", curated(f"{phi.curated_prefix}note.txt"))
    )
    assert not allowed(
        statements, Request("s3:DeleteObject", raw(f"{phi.clinical_prefix}note.txt"))
    )
    assert allowed(statements, Request("comprehendmedical:DetectPHI", "*"))
    assert not allowed(statements, Request("comprehendmedical:StartPHIDetectionJob", "*"))
    # the audit bucket (and the logs key protecting it) appear nowhere in its policies
    text = json.dumps(statements)
    assert "AuditBucket" not in text and "LogsKey" not in text and "ModelArtifacts" not in text
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if any(a.startswith("kms:") for a in actions):
            assert "kms:ViaService" in statement["Condition"]["StringEquals"]


def test_data_key_admits_eventbridge_for_the_phi_rule_only(genai: GenAi) -> None:
    env = genai.env
    (data_key,) = [
        k
        for k in resources_of(genai.keys, "AWS::KMS::Key").values()
        if "workload data" in k["Properties"]["Description"]
    ]
    statements = {s["Sid"]: s for s in data_key["Properties"]["KeyPolicy"]["Statement"]}
    events = statements["EventBridgeDeadLettersOfThePhiRule"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert events["Condition"] == {
        "StringEquals": {
            "aws:SourceAccount": env.account,
            "kms:ViaService": f"sqs.{env.region}.amazonaws.com",
        },
        "ArnEquals": {
            "aws:SourceArn": f"arn:aws:events:{env.region}:{env.account}:rule/secure-ml-{env.name}-phi-clinical-object-created"
        },
    }
    via = statements["AllowUseThroughNamedServicesOnly"]["Condition"]["StringEquals"][
        "kms:ViaService"
    ]
    knowledge = ["bedrock", "s3vectors"] if env.genai.knowledge_base else []
    assert sorted(v.split(".")[0] for v in via) == sorted(
        ["elasticfilesystem", "lambda", "s3", "sagemaker", "sqs", *knowledge]
    )
    grants = statements["AllowGrantsForAwsResourcesOnly"]
    assert grants["Action"] == "kms:CreateGrant"
    granting = grants["Condition"]["StringEquals"]["kms:ViaService"]
    assert sorted(v.split(".")[0] for v in granting) == ["elasticfilesystem", "lambda", "sagemaker"]
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


def test_no_inline_policies_and_outputs(genai: GenAi) -> None:
    assert not resources_of(genai.raw, "AWS::IAM::Policy")
    for role in resources_of(genai.raw, "AWS::IAM::Role").values():
        assert (
            "Policies" not in role["Properties"] and "ManagedPolicyArns" not in role["Properties"]
        )
    assert {
        "GuardrailArn",
        "GuardrailVersion",
        "InvocationRoleArn",
        "GuardedInvokeFunctionArn",
    } <= set(genai.raw["Outputs"])
