"""The knowledge base, guarded retrieval, batch inference and the Bedrock Config rules.

Permissions are proven with the policy evaluator (``tests/unit/iam_eval.py``) on the synthesized
policies: the knowledge base's service role (identity policy and the curated bucket's policy),
the functions' roles, the invocation role, the batch roles.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest

from platform_config import CONTEXT_KEY, load_config
from platform_config.catalogue import EMBEDDING_MODELS
from secure_constructs.core.managed_policy_role import flatten_reference
from secure_constructs.genai.batch_inference import batch_submitter_role_name
from secure_constructs.genai.bedrock_config_rules import BEDROCK_ENDPOINT_SERVICES, READ_ACTIONS
from secure_constructs.genai.knowledge_base import (
    INGESTION_ACTIONS,
    MAX_RECEIVE_COUNT,
    knowledge_base_role_name,
    vector_bucket_name,
)
from stacks.stage import PlatformStage
from tests.conftest import Synthesized, dumps, new_app, raw_platform, resources_of
from tests.unit.iam_eval import Request, allowed, decide, role_logical_id, role_statements
from tests.unit.test_genai_stack import GenAi, _one


@pytest.fixture
def genai(synthesized: Synthesized, env_name: str) -> GenAi:
    return GenAi(synthesized, env_name)


def _granted(statements: list[dict[str, Any]]) -> set[str]:
    return {
        action
        for s in statements
        if s["Effect"] == "Allow"
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }


def _curated_id(genai: GenAi) -> str:
    return next(
        lid
        for lid, r in resources_of(genai.data, "AWS::S3::Bucket").items()
        if "/Data/Curated/Bucket/" in r["Metadata"]["aws:cdk:path"]
    )


def _kb_role(genai: GenAi) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    lid = role_logical_id(genai.raw, "/KnowledgeBase/ServiceRole/Resource")
    return lid, genai.raw["Resources"][lid], role_statements(genai.raw, lid)


def _curated_export(genai: GenAi) -> str:
    """How the genai template names the curated bucket's ARN (an export of the data stack)."""
    (export,) = {
        flatten_reference(s["Resource"]).split("/", 1)[0]
        for s in role_statements(genai.raw, _kb_role(genai)[0])
        if s.get("Action") == ["s3:GetObject", "s3:GetObjectVersion"]
    }
    return export


# --- vector store and knowledge base -------------------------------------------------------


def test_vector_store_is_s3_vectors_encrypted_with_the_data_key_and_retained(
    genai: GenAi,
) -> None:
    knowledge = genai.env.genai.knowledge_base
    assert knowledge is not None
    prefix = f"secure-ml-{genai.env.name}"
    _, bucket = _one(genai.raw, "AWS::S3Vectors::VectorBucket")
    assert bucket["Properties"]["VectorBucketName"] == vector_bucket_name(prefix)
    encryption = bucket["Properties"]["EncryptionConfiguration"]
    assert encryption["SseType"] == "aws:kms" and "DataKey" in dumps(encryption["KmsKeyArn"])
    _, index = _one(genai.raw, "AWS::S3Vectors::Index")
    assert index["Properties"]["Dimension"] == knowledge.dimensions
    assert (index["Properties"]["DataType"], index["Properties"]["DistanceMetric"]) == (
        "float32",
        "cosine",
    )
    assert index["Properties"]["MetadataConfiguration"] == {
        "NonFilterableMetadataKeys": ["AMAZON_BEDROCK_TEXT", "AMAZON_BEDROCK_METADATA"]
    }
    for resource in (bucket, index):
        assert resource["DeletionPolicy"] == "Retain"


def test_data_key_admits_s3_vectors_indexing_for_this_vector_bucket_only(genai: GenAi) -> None:
    (key,) = [
        k
        for k in resources_of(genai.keys, "AWS::KMS::Key").values()
        if "DataKey" in k["Metadata"]["aws:cdk:path"]
    ]
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "indexing.s3vectors.amazonaws.com"}
    ]
    vectors = (
        f"arn:aws:s3vectors:{genai.env.region}:{genai.env.account}:bucket/"
        f"{vector_bucket_name(f'secure-ml-{genai.env.name}')}"
    )
    assert statement["Action"] == "kms:Decrypt"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": genai.env.account},
        "ArnLike": {"aws:SourceArn": [vectors, f"{vectors}/*"]},
        "ForAnyValue:StringEquals": {
            "kms:EncryptionContextKeys": ["aws:s3vectors:arn", "aws:s3vectors:resource-id"]
        },
    }


def test_knowledge_base_embeds_with_the_allow_listed_model_into_its_index(genai: GenAi) -> None:
    knowledge = genai.env.genai.knowledge_base
    assert knowledge is not None and knowledge.embedding_model_id in EMBEDDING_MODELS
    kb_id, kb = _one(genai.raw, "AWS::Bedrock::KnowledgeBase")
    props = kb["Properties"]
    vector = props["KnowledgeBaseConfiguration"]["VectorKnowledgeBaseConfiguration"]
    assert vector["EmbeddingModelArn"] == genai.model_arn(knowledge.embedding_model_id)
    assert vector["EmbeddingModelConfiguration"] == {
        "BedrockEmbeddingModelConfiguration": {
            "Dimensions": knowledge.dimensions,
            "EmbeddingDataType": "FLOAT32",
        }
    }
    storage = props["StorageConfiguration"]
    index_id, _ = _one(genai.raw, "AWS::S3Vectors::Index")
    assert storage["Type"] == "S3_VECTORS"
    assert storage["S3VectorsConfiguration"]["IndexArn"] == {"Fn::GetAtt": [index_id, "IndexArn"]}
    role_id, _, _ = _kb_role(genai)
    assert props["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    # Bedrock checks the role at creation: its policies exist first.
    policies = [
        lid
        for lid, p in resources_of(genai.raw, "AWS::IAM::ManagedPolicy").items()
        if {"Ref": role_id} in p["Properties"].get("Roles", [])
    ]
    assert policies and set(policies) <= set(kb["DependsOn"])
    _, source = _one(genai.raw, "AWS::Bedrock::DataSource")
    source_props = source["Properties"]
    assert source_props["KnowledgeBaseId"] == {"Fn::GetAtt": [kb_id, "KnowledgeBaseId"]}
    assert source_props["DataSourceConfiguration"]["S3Configuration"]["InclusionPrefixes"] == [
        knowledge.prefix
    ]
    assert "CuratedBucket" in dumps(source_props["DataSourceConfiguration"])
    assert "DataKey" in dumps(source_props["ServerSideEncryptionConfiguration"]["KmsKeyArn"])
    assert source_props["DataDeletionPolicy"] == "RETAIN"
    chunking = source_props["VectorIngestionConfiguration"]["ChunkingConfiguration"]
    assert chunking == {
        "ChunkingStrategy": "FIXED_SIZE",
        "FixedSizeChunkingConfiguration": {
            "MaxTokens": knowledge.chunk_max_tokens,
            "OverlapPercentage": knowledge.chunk_overlap_percentage,
        },
    }


# --- the knowledge base's service role ---------------------------------------------------------


def test_service_role_is_trusted_by_bedrock_for_this_accounts_knowledge_bases(
    genai: GenAi,
) -> None:
    _, role, _ = _kb_role(genai)
    props = role["Properties"]
    assert props["RoleName"] == knowledge_base_role_name(f"secure-ml-{genai.env.name}")
    (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": genai.env.account},
        "ArnLike": {
            "aws:SourceArn": f"arn:aws:bedrock:{genai.env.region}:{genai.env.account}:"
            "knowledge-base/*"
        },
    }


def test_service_role_reads_the_knowledge_prefix_only(genai: GenAi) -> None:
    knowledge = genai.env.genai.knowledge_base
    assert knowledge is not None
    _, _, statements = _kb_role(genai)
    bucket = _curated_export(genai)
    s3 = f"s3.{genai.env.region}.amazonaws.com"
    assert allowed(statements, Request("s3:GetObject", f"{bucket}/{knowledge.prefix}doc.txt"))
    for key in (f"{genai.env.genai.phi.curated_prefix}note.txt", "training/x.csv", "doc.txt"):
        assert not allowed(statements, Request("s3:GetObject", f"{bucket}/{key}")), key
    assert not allowed(statements, Request("s3:PutObject", f"{bucket}/{knowledge.prefix}x"))
    listing = Request("s3:ListBucket", bucket, {"s3:prefix": knowledge.prefix})
    assert allowed(statements, listing)
    assert not allowed(statements, Request("s3:ListBucket", bucket, {"s3:prefix": "training/"}))
    data_key = next(
        flatten_reference(s["Resource"])
        for s in statements
        if s.get("Sid") == "DataKeyThroughS3Vectors"
    )
    assert allowed(statements, Request("kms:Decrypt", data_key, {"kms:ViaService": s3}))
    assert not allowed(statements, Request("kms:Decrypt", data_key))


def test_service_role_embeds_and_writes_only_its_own_index(genai: GenAi) -> None:
    knowledge = genai.env.genai.knowledge_base
    assert knowledge is not None
    _, _, statements = _kb_role(genai)
    assert allowed(
        statements, Request("bedrock:InvokeModel", genai.model_arn(knowledge.embedding_model_id))
    )
    for model in genai.env.genai.allowed_model_ids:
        assert not allowed(statements, Request("bedrock:InvokeModel", genai.model_arn(model)))
    index_id, _ = _one(genai.raw, "AWS::S3Vectors::Index")
    own = f"<{index_id}.IndexArn>"
    other = f"arn:aws:s3vectors:{genai.env.region}:{genai.env.account}:bucket/x/index/y"
    for action in ("s3vectors:PutVectors", "s3vectors:QueryVectors", "s3vectors:DeleteVectors"):
        assert allowed(statements, Request(action, own)), action
        assert not allowed(statements, Request(action, other)), action
    assert _granted(statements) == {
        "bedrock:InvokeModel",
        "s3vectors:GetIndex",
        "s3vectors:PutVectors",
        "s3vectors:GetVectors",
        "s3vectors:QueryVectors",
        "s3vectors:ListVectors",
        "s3vectors:DeleteVectors",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",
    }


def test_curated_bucket_confines_the_service_role_to_the_knowledge_prefix(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    knowledge = env.genai.knowledge_base
    assert knowledge is not None
    data = synthesized.raw(env_name, "data")
    curated = next(
        lid
        for lid, r in resources_of(data, "AWS::S3::Bucket").items()
        if "/Data/Curated/Bucket/" in r["Metadata"]["aws:cdk:path"]
    )
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources_of(data, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": curated}
    ]
    kb_role = f"arn:aws:iam::{env.account}:role/secure-ml-{env.name}-knowledge-base"
    other = f"arn:aws:iam::{env.account}:role/someone"
    bucket = f"<{curated}.Arn>"

    def from_bedrock(principal: str, action: str, resource: str, **context: Any) -> str:
        # Bedrock reads from its own network: no aws:SourceVpce in the request.
        return decide(
            policy,
            Request(
                action,
                resource,
                {"aws:PrincipalArn": principal, "aws:SecureTransport": "true", **context},
            ),
        )

    inside = f"{bucket}/{knowledge.prefix}doc.txt"
    assert from_bedrock(kb_role, "s3:GetObject", inside) != "Deny"
    assert from_bedrock(other, "s3:GetObject", inside) == "Deny"  # the endpoint deny holds
    for key in (f"{env.genai.phi.curated_prefix}note.txt", "training/x.csv"):
        assert from_bedrock(kb_role, "s3:GetObject", f"{bucket}/{key}") == "Deny", key
    assert from_bedrock(kb_role, "s3:PutObject", inside) == "Deny"
    assert from_bedrock(kb_role, "s3:DeleteObject", inside) == "Deny"
    assert (
        from_bedrock(kb_role, "s3:ListBucket", bucket, **{"s3:prefix": knowledge.prefix}) != "Deny"
    )
    assert from_bedrock(kb_role, "s3:ListBucket", bucket, **{"s3:prefix": "training/"}) == "Deny"
    assert from_bedrock(kb_role, "s3:ListBucket", bucket) == "Deny"  # no prefix: everything
    # The other data buckets do not exempt it.
    raw_bucket = next(
        lid
        for lid, r in resources_of(data, "AWS::S3::Bucket").items()
        if "/Data/Raw/Bucket/" in r["Metadata"]["aws:cdk:path"]
    )
    assert kb_role not in dumps(
        [
            p
            for p in resources_of(data, "AWS::S3::BucketPolicy").values()
            if p["Properties"]["Bucket"] == {"Ref": raw_bucket}
        ]
    )


# --- ingestion ---------------------------------------------------------------------------------


def test_changes_under_the_prefix_reach_one_throttled_consumer(
    genai: GenAi, synthesized: Synthesized
) -> None:
    knowledge = genai.env.genai.knowledge_base
    assert knowledge is not None
    _, rule = _one(genai.raw, "AWS::Events::Rule", "/KnowledgeBase/")
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created", "Object Deleted"]
    assert pattern["detail"]["object"] == {"key": [{"prefix": knowledge.prefix}]}
    assert "CuratedBucket" in dumps(pattern["detail"]["bucket"])
    (target,) = rule["Properties"]["Targets"]
    buffer_id = target["Arn"]["Fn::GetAtt"][0]
    assert "Buffer" in buffer_id
    assert "DeadLetterQueue" in dumps(target["DeadLetterConfig"])
    buffer = genai.raw["Resources"][buffer_id]["Properties"]
    assert "DataKey" in dumps(buffer["KmsMasterKeyId"])
    assert buffer["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT
    assert "IngestionDeadLetterQueue" in dumps(buffer["RedrivePolicy"]["deadLetterTargetArn"])
    assert buffer["VisibilityTimeout"] == 6 * 60 + knowledge.ingestion_window_seconds
    _, mapping = _one(genai.raw, "AWS::Lambda::EventSourceMapping", "/KnowledgeBase/")
    props = mapping["Properties"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": [buffer_id, "Arn"]}
    assert props["BatchSize"] == 100
    assert props["MaximumBatchingWindowInSeconds"] == knowledge.ingestion_window_seconds
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["ScalingConfig"] == {"MaximumConcurrency": 2}
    # S3 sends the curated bucket's events to EventBridge.
    data = synthesized.raw(genai.env.name, "data")
    curated = data["Resources"][_curated_id(genai)]["Properties"]
    assert curated["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


def test_ingestion_function_starts_jobs_of_this_knowledge_base_only(genai: GenAi) -> None:
    kb_id, _ = _one(genai.raw, "AWS::Bedrock::KnowledgeBase")
    statements = genai.role("/KnowledgeBase/Ingestion/Role/Resource")
    own = f"<{kb_id}.KnowledgeBaseArn>"
    other = f"arn:aws:bedrock:{genai.env.region}:{genai.env.account}:knowledge-base/OTHER12345"
    for action in INGESTION_ACTIONS:
        assert allowed(statements, Request(action, own)), action
        assert not allowed(statements, Request(action, other)), action
    assert not allowed(statements, Request("bedrock:DeleteKnowledgeBase", own))
    assert not allowed(statements, Request("bedrock:Retrieve", own))
    _, function = _one(genai.raw, "AWS::Lambda::Function", "/KnowledgeBase/Ingestion/")
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["KNOWLEDGE_BASE_ID"] == {"Fn::GetAtt": [kb_id, "KnowledgeBaseId"]}
    assert variables["KNOWLEDGE_PREFIX"] == genai.env.genai.knowledge_base.prefix  # type: ignore[union-attr]
    assert "DATA_SOURCE_ID" in variables and "DLQ_URL" in variables


# --- guarded retrieval and the invocation role -------------------------------------------------


def test_retrieval_function_retrieves_from_its_knowledge_base_and_converses_pinned(
    genai: GenAi,
) -> None:
    kb_id, _ = _one(genai.raw, "AWS::Bedrock::KnowledgeBase")
    statements = genai.role("/GuardedRetrieval/Role/Resource")
    assert allowed(statements, Request("bedrock:Retrieve", f"<{kb_id}.KnowledgeBaseArn>"))
    other = f"arn:aws:bedrock:{genai.env.region}:{genai.env.account}:knowledge-base/OTHER12345"
    assert not allowed(statements, Request("bedrock:Retrieve", other))
    assert not allowed(statements, Request("bedrock:RetrieveAndGenerate", "*"))
    default = genai.env.genai.default_model_id
    assert allowed(statements, genai.invoke(default, genai.pinned))
    assert decide(statements, genai.invoke(default, None)) == "Deny"
    _, function = _one(genai.raw, "AWS::Lambda::Function", "/GuardedRetrieval/")
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["GUARDRAIL_VERSION"] == {"Fn::GetAtt": [genai.version_id, "Version"]}
    assert variables["KNOWLEDGE_BASE_ID"] == {"Fn::GetAtt": [kb_id, "KnowledgeBaseId"]}


def test_applications_may_retrieve_and_call_the_guarded_function_never_retrieve_and_generate(
    genai: GenAi,
) -> None:
    kb_id, _ = _one(genai.raw, "AWS::Bedrock::KnowledgeBase")
    statements = genai.role("/InvocationRole/Resource")
    assert allowed(statements, Request("bedrock:Retrieve", f"<{kb_id}.KnowledgeBaseArn>"))
    assert decide(statements, Request("bedrock:RetrieveAndGenerate", "*")) == "Deny"
    (retrieval_id, _) = _one(genai.raw, "AWS::Lambda::Function", "/GuardedRetrieval/")
    assert allowed(statements, Request("lambda:InvokeFunction", f"<{retrieval_id}.Arn>"))
    assert not allowed(statements, Request("bedrock:InvokeAgent", "*"))


# --- batch inference ----------------------------------------------------------------------------


def test_batch_service_role_reads_redacted_input_writes_its_output(genai: GenAi) -> None:
    batch = genai.env.genai.batch_inference
    assert batch is not None
    lid = role_logical_id(genai.raw, "/BatchInference/ServiceRole/Resource")
    (trust,) = genai.raw["Resources"][lid]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert trust["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:bedrock:{genai.env.region}:{genai.env.account}:"
        "model-invocation-job/*"
    }
    statements = role_statements(genai.raw, lid)
    bucket = _curated_export(genai)
    assert allowed(statements, Request("s3:GetObject", f"{bucket}/{batch.input_prefix}in.jsonl"))
    assert allowed(statements, Request("s3:PutObject", f"{bucket}/{batch.output_prefix}o.jsonl"))
    assert not allowed(statements, Request("s3:PutObject", f"{bucket}/{batch.input_prefix}x"))
    phi = genai.env.genai.phi.curated_prefix
    assert not allowed(statements, Request("s3:GetObject", f"{bucket}/{phi}note.txt"))
    eni = f"arn:aws:ec2:{genai.env.region}:{genai.env.account}:network-interface/eni-1"
    job = f"arn:aws:bedrock:{genai.env.region}:{genai.env.account}:model-invocation-job/j1"
    tagged = {
        "aws:RequestTag/BedrockManaged": "true",
        "aws:RequestTag/BedrockModelInvocationJobArn": job,
    }
    assert allowed(statements, Request("ec2:CreateNetworkInterface", eni, tagged))
    assert not allowed(statements, Request("ec2:CreateNetworkInterface", eni))
    assert not allowed(statements, Request("bedrock:InvokeModel", "*"))


def test_batch_jobs_run_in_the_vpc_with_https_to_s3_only(genai: GenAi) -> None:
    group_id, group = _one(genai.raw, "AWS::EC2::SecurityGroup", "/BatchInference/")
    egress = [
        r["Properties"]
        for r in resources_of(genai.raw, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    assert egress == [
        {
            "Description": "S3 gateway endpoint",
            "DestinationPrefixListId": genai.env.s3_prefix_list_id,
            "FromPort": 443,
            "GroupId": {"Fn::GetAtt": [group_id, "GroupId"]},
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    assert "SecurityGroupEgress" not in group["Properties"]
    assert "SecurityGroupIngress" not in group["Properties"]
    assert not [
        r
        for r in resources_of(genai.raw, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    assert {"BatchServiceRoleArn", "BatchSubmitterRoleArn", "BatchSecurityGroupId"} <= set(
        genai.raw["Outputs"]
    )


def test_batch_submitter_creates_jobs_with_allow_listed_models_and_passes_only_its_role(
    genai: GenAi,
) -> None:
    batch = genai.env.genai.batch_inference
    assert batch is not None
    lid = role_logical_id(genai.raw, "/BatchInference/SubmitterRole/Resource")
    role = genai.raw["Resources"][lid]["Properties"]
    assert role["RoleName"] == batch_submitter_role_name(f"secure-ml-{genai.env.name}")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": list(batch.submitter_role_arns)}
    }
    statements = role_statements(genai.raw, lid)
    haiku = genai.model_arn(genai.env.genai.default_model_id)
    assert allowed(statements, Request("bedrock:CreateModelInvocationJob", haiku))
    other = genai.model_arn("anthropic.claude-3-opus-20240229-v1:0")
    assert not allowed(statements, Request("bedrock:CreateModelInvocationJob", other))
    service_role = role_logical_id(genai.raw, "/BatchInference/ServiceRole/Resource")
    to_bedrock = {"iam:PassedToService": "bedrock.amazonaws.com"}
    assert allowed(statements, Request("iam:PassRole", f"<{service_role}.Arn>", to_bedrock))
    assert not allowed(statements, Request("iam:PassRole", f"<{service_role}.Arn>"))
    kb_role = role_logical_id(genai.raw, "/KnowledgeBase/ServiceRole/Resource")
    assert not allowed(statements, Request("iam:PassRole", f"<{kb_role}.Arn>", to_bedrock))


def test_the_organizations_batch_scp_exempts_exactly_the_submitter_roles(
    org_synthesized: Synthesized,
) -> None:
    policies = org_synthesized.raw("management", "policies")
    (statement,) = [
        s
        for p in resources_of(policies, "AWS::Organizations::Policy").values()
        for s in p["Properties"]["Content"].get("Statement", [])
        if s.get("Sid") == "DenyBatchInferenceOutsideThePlatform"
    ][:1]
    exempt = statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    for env in org_synthesized.config.environments:
        name = batch_submitter_role_name(f"secure-ml-{env.name}")
        arn = f"arn:aws:iam::{env.account}:role/{name}"
        assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in exempt), arn
    assert not any(
        fnmatch.fnmatchcase("arn:aws:iam::111111111111:role/secure-ml-dev-GenAi-x", p)
        for p in exempt
    )


# --- Bedrock Config rules --------------------------------------------------------------------


def test_five_bedrock_config_rules_with_their_parameters(genai: GenAi) -> None:
    rules = {
        r["Properties"]["ConfigRuleName"]: r["Properties"]
        for r in resources_of(genai.raw, "AWS::Config::ConfigRule").values()
    }
    prefix = f"secure-ml-{genai.env.name}-bedrock-"
    assert sorted(rules) == sorted(
        prefix + name
        for name in ("invocation-logging", "guardrails", "knowledge-bases", "agents", "endpoints")
    )
    (function_id, _) = _one(genai.raw, "AWS::Lambda::Function", "/BedrockConfigRules/")
    for name, rule in rules.items():
        source = rule["Source"]
        assert source["Owner"] == "CUSTOM_LAMBDA"
        assert source["SourceIdentifier"] == {"Fn::GetAtt": [function_id, "Arn"]}
        periodic = [
            d for d in source["SourceDetails"] if d["MessageType"] == "ScheduledNotification"
        ]
        assert periodic == [
            {
                "EventSource": "aws.config",
                "MessageType": "ScheduledNotification",
                "MaximumExecutionFrequency": "TwentyFour_Hours",
            }
        ], name
        assert rule["InputParameters"]["check"] == name[len(prefix) :].replace("-", "_")
    strength = next(
        f.input_strength
        for f in genai.env.genai.guardrail.content_filters
        if f.type == "PROMPT_ATTACK"
    )
    assert rules[prefix + "guardrails"]["InputParameters"]["promptAttackStrength"] == strength
    endpoints = rules[prefix + "endpoints"]
    assert endpoints["Scope"] == {"ComplianceResourceTypes": ["AWS::EC2::VPCEndpoint"]}
    assert {d["MessageType"] for d in endpoints["Source"]["SourceDetails"]} == {
        "ScheduledNotification",
        "ConfigurationItemChangeNotification",
        "OversizedConfigurationItemChangeNotification",
    }
    required = endpoints["InputParameters"]["requiredServices"].split(",")
    assert required == [s for s in genai.env.interface_endpoints if s in BEDROCK_ENDPOINT_SERVICES]
    assert set(required) == set(BEDROCK_ENDPOINT_SERVICES)  # the shipped config has all four
    logging = rules[prefix + "invocation-logging"]["InputParameters"]
    assert "InvocationLogsBucket" in dumps(logging["expectedBucket"])
    assert logging["expectedPrefix"] == genai.env.genai.invocation_logging.s3_prefix
    assert logging["requireTextDelivery"] == "true"
    (permission,) = [
        p["Properties"]
        for p in resources_of(genai.raw, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    assert permission["Principal"] == "config.amazonaws.com"
    assert permission["SourceAccount"] == genai.env.account


def test_bedrock_config_rules_function_reads_only(genai: GenAi) -> None:
    statements = genai.role("/BedrockConfigRules/Function/Role/Resource")
    expected = {a for actions in READ_ACTIONS.values() for a in actions}
    granted = _granted(statements)
    assert expected | {"config:PutEvaluations"} <= granted
    writes = {
        a for a in granted if a.split(":")[1].startswith(("Create", "Delete", "Update", "Put"))
    }
    assert writes <= {
        "config:PutEvaluations",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
    } | {a for a in granted if a.startswith(("logs:", "sqs:", "xray:", "kms:"))}
    assert any(
        "bedrock-config-rules-dead-letters" in dumps(a["Properties"].get("AlarmName"))
        for a in resources_of(genai.raw, "AWS::CloudWatch::Alarm").values()
    )


# --- the knowledge base switched off --------------------------------------------------------


@pytest.mark.slow
def test_without_knowledge_base_or_batch_nothing_of_them_is_built(tmp_path: Path) -> None:
    platform = raw_platform()
    dev = platform["environments"]["dev"]
    dev["genai"]["knowledge_base"] = None
    dev["genai"]["batch_inference"] = None
    env = load_config({CONTEXT_KEY: platform}, "dev").environments[0]
    app = new_app(tmp_path)
    stage = PlatformStage(app, project="secure-ml", environment=env)
    app.synth()
    genai = stage.genai
    assert genai.knowledge_base is None and genai.guarded_retrieval is None and genai.batch is None
    from aws_cdk.assertions import Template

    raw = Template.from_stack(genai).to_json()
    for kind in (
        "AWS::Bedrock::KnowledgeBase",
        "AWS::Bedrock::DataSource",
        "AWS::S3Vectors::VectorBucket",
        "AWS::S3Vectors::Index",
        "AWS::Lambda::EventSourceMapping",
    ):
        assert not resources_of(raw, kind), kind
    assert "bedrock:Retrieve" not in dumps(raw)
    assert "knowledge-base" not in dumps(Template.from_stack(stage.data).to_json())
    # The Config rules stay: they watch whatever Bedrock resources the account has.
    assert len(resources_of(raw, "AWS::Config::ConfigRule")) == 5


def test_no_role_of_the_platform_may_pass_the_knowledge_base_role(
    synthesized: Synthesized, env_name: str
) -> None:
    """The trust names knowledge-base/* of the account: only the deployment passes the role."""
    env = synthesized.env(env_name)
    kb_role = f"arn:aws:iam::{env.account}:role/{knowledge_base_role_name(f'secure-ml-{env_name}')}"
    to_bedrock = Request("iam:PassRole", kb_role, {"iam:PassedToService": "bedrock.amazonaws.com"})
    checked = 0
    for artifact in synthesized.artifacts:
        if artifact.stage != env_name:
            continue
        template = artifact.template()
        for lid in resources_of(template, "AWS::IAM::Role"):
            assert not allowed(role_statements(template, lid), to_bedrock), (
                artifact.stack_name,
                lid,
            )
            checked += 1
    assert checked > 20


def test_data_key_serves_the_vector_store_and_ingestion(genai: GenAi) -> None:
    """The key policy lets IAM use the data key through S3 Vectors and Bedrock, and the service
    role (by ARN) for ingestion's transient data under this account's knowledge-base context."""
    (key,) = [
        k
        for k in resources_of(genai.keys, "AWS::KMS::Key").values()
        if "DataKey" in k["Metadata"]["aws:cdk:path"]
    ]
    policy = key["Properties"]["KeyPolicy"]["Statement"]
    account, region = genai.env.account, genai.env.region
    (via,) = [s for s in policy if s.get("Sid") == "AllowUseThroughNamedServicesOnly"]
    services = via["Condition"]["StringEquals"]["kms:ViaService"]
    assert {f"s3vectors.{region}.amazonaws.com", f"bedrock.{region}.amazonaws.com"} <= set(services)
    kb_role = (
        f"arn:aws:iam::{account}:role/{knowledge_base_role_name(f'secure-ml-{genai.env.name}')}"
    )
    context = f"arn:aws:bedrock:{region}:{account}:knowledge-base/ABCDEFGHIJ"

    def ask(principal: str, **extra: Any) -> str:
        return decide(
            policy,
            Request(
                "kms:GenerateDataKey",
                "*",
                {"aws:PrincipalArn": principal, "aws:PrincipalAccount": account, **extra},
            ),
        )

    assert ask(kb_role, **{"kms:EncryptionContext:aws:bedrock:arn": context}) == "Allow"
    assert ask(kb_role) != "Allow"  # no knowledge-base context: only through a named service
    other = f"arn:aws:iam::{account}:role/someone"
    assert ask(other, **{"kms:EncryptionContext:aws:bedrock:arn": context}) != "Allow"
    assert ask(other, **{"kms:ViaService": f"s3vectors.{region}.amazonaws.com",
                         "kms:CallerAccount": account}) == "Allow"  # fmt: skip
