"""The ML and GenAI stacks deployed into moto, checked through boto3.

moto creates their IAM roles and managed policies, security groups, Lambda functions, SQS
queues, log groups and the EventBridge rule; SageMaker and Bedrock resources are skipped or
stood in (``offline/expected_coverage.json``) and checked by the unit tests and the gates.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.offline.test_deploy_moto import Deployed, _bucket_names, _export
from tests.offline.test_deploy_moto import deployed as deployed


def _functions(deployed: Deployed) -> dict[str, dict[str, Any]]:
    client = deployed.client("lambda")
    names = deployed.reports["genai"].ids_of_type("AWS::Lambda::Function")
    found = {}
    for name in names:
        config = client.get_function_configuration(FunctionName=name)
        if config.get("Handler", "").endswith(".handler") and "Runtime" in config:
            found[config["Handler"].split(".")[0]] = config
    return found


ENDPOINT_FUNCTIONS = ("guarded_invoke", "phi_redaction", "knowledge_ingestion", "guarded_retrieval")


def test_functions_run_in_the_private_subnets_with_their_queue_and_key(deployed: Deployed) -> None:
    functions = _functions(deployed)
    assert {*ENDPOINT_FUNCTIONS, "bedrock_config_rules"} <= set(functions)
    private = {
        pid
        for lid, pid in deployed.reports["network"].physical_ids.items()
        if lid.startswith("NetworkVpcprivateSubnet") and pid.startswith("subnet-")
    }
    data_key = _export(deployed, "DataKey")
    sqs = deployed.client("sqs")
    for name in ENDPOINT_FUNCTIONS:
        config = functions[name]
        assert config["Runtime"] == "python3.14"
        assert set(config["VpcConfig"]["SubnetIds"]) == private, name
        # (moto 5.2 ignores TracingConfig from CloudFormation: asserted in the unit tests)
        queue_url = config["Environment"]["Variables"]["DLQ_URL"]
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])[
            "Attributes"
        ]
        assert attributes["KmsMasterKeyId"] == data_key
        assert attributes["MessageRetentionPeriod"] == str(14 * 24 * 3600)
        assert attributes["QueueArn"].endswith(queue_url.rsplit("/", 1)[1])


def test_phi_function_is_wired_to_the_deployed_buckets_and_key(deployed: Deployed) -> None:
    variables = _functions(deployed)["phi_redaction"]["Environment"]["Variables"]
    names = _bucket_names(deployed)
    phi = deployed.env.genai.phi
    assert variables["RAW_BUCKET"] == names["raw"]
    assert variables["CURATED_BUCKET"] == names["curated"]
    assert (variables["CLINICAL_PREFIX"], variables["CURATED_PREFIX"]) == (
        phi.clinical_prefix,
        phi.curated_prefix,
    )
    assert variables["DATA_KEY_ARN"] == _export(deployed, "DataKey")


def test_eventbridge_rule_matches_the_deployed_raw_bucket(deployed: Deployed) -> None:
    events = deployed.client("events")
    name = f"secure-ml-{deployed.env.name}-phi-clinical-object-created"
    rule = events.describe_rule(Name=name)
    pattern = json.loads(rule["EventPattern"])
    assert pattern["detail"]["bucket"]["name"] == [_bucket_names(deployed)["raw"]]
    (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
    assert target["Arn"].endswith(_functions(deployed)["phi_redaction"]["FunctionName"])


@pytest.mark.parametrize("kind", ["ml", "genai"])
def test_roles_carry_only_customer_managed_policies(deployed: Deployed, kind: str) -> None:
    iam = deployed.client("iam")
    roles = deployed.reports[kind].ids_of_type("AWS::IAM::Role")
    assert roles
    for role in roles:
        assert not iam.list_role_policies(RoleName=role)["PolicyNames"], role
        attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
        assert attached, role
        assert all(":aws:policy/" not in p["PolicyArn"] for p in attached), role


def test_log_groups_are_encrypted_and_kept_as_configured(deployed: Deployed) -> None:
    logs = deployed.client("logs")
    logs_key = _export(deployed, "LogsKey")
    groups = set(deployed.reports["genai"].ids_of_type("AWS::Logs::LogGroup"))
    described = [g for g in logs.describe_log_groups()["logGroups"] if g["logGroupName"] in groups]
    # guarded invoke, PHI, logging provider, invocation logs; ingestion, retrieval, Config rules
    assert len(described) == len(groups) == 7
    for group in described:
        assert group["kmsKeyId"] == logs_key
        assert group["retentionInDays"] in (
            deployed.env.genai.log_retention_days,
            deployed.env.genai.invocation_logging.log_retention_days,
        )


def test_knowledge_changes_reach_the_ingestion_function_through_the_buffer(
    deployed: Deployed,
) -> None:
    """The rule, the buffer queue and the event source mapping, as moto deployed them."""
    events = deployed.client("events")
    name = f"secure-ml-{deployed.env.name}-knowledge-object-changed"
    pattern = json.loads(events.describe_rule(Name=name)["EventPattern"])
    assert pattern["detail"]["bucket"]["name"] == [_bucket_names(deployed)["curated"]]
    knowledge = deployed.env.genai.knowledge_base
    assert knowledge is not None
    assert pattern["detail"]["object"]["key"] == [{"prefix": knowledge.prefix}]
    (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
    sqs = deployed.client("sqs")
    buffer_url = sqs.get_queue_url(QueueName=target["Arn"].rsplit(":", 1)[1])["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=buffer_url, AttributeNames=["All"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == _export(deployed, "DataKey")
    function = _functions(deployed)["knowledge_ingestion"]
    redrive = json.loads(attributes["RedrivePolicy"])
    dead_letters = function["Environment"]["Variables"]["DLQ_URL"].rsplit("/", 1)[1]
    assert redrive["deadLetterTargetArn"].endswith(f":{dead_letters}")
    assert target["DeadLetterConfig"]["Arn"].endswith(f":{dead_letters}")
    (mapping,) = deployed.client("lambda").list_event_source_mappings(
        FunctionName=function["FunctionName"]
    )["EventSourceMappings"]
    assert mapping["EventSourceArn"] == target["Arn"]
    assert mapping["BatchSize"] == 100
