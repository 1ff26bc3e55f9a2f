"""Deploy readiness (issue: what a real account would reject): each defect has a test here.

Every test reads the synthesized templates (or config) and fails on the defect it names: log
grants that match no log-stream ARN, reservations not taken from config, fixed-name log groups
that cannot be adopted, the enforced guardrail's content guarding, invocation logs under the
audit bucket's lock, CloudTrail's Bucket Key decrypt, the data perimeter's forward-access
exemption, and Config results the platform expects but would e-mail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from gates.nag import read_findings, register_packs
from platform_config import CONTEXT_KEY, RESERVED_FUNCTIONS, load_config
from secure_constructs.core.managed_policy_role import flatten_reference
from secure_constructs.ml.sagemaker_rules import SAGEMAKER_LOG_GROUPS
from stacks.stage import PlatformStage
from tests.conftest import Synthesized, dumps, new_app, raw_platform, resources_of
from tests.unit.iam_eval import Request, decide

LOG_WRITE_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}

# Construct path of each function -> its key in ``reserved_concurrency``.
FUNCTION_PATHS = {
    "/Findings/FindingsRouter/Function/Resource": "findings_router",
    "/Findings/AccessReview/Function/Resource": "access_review",
    "/Audit/SageMakerIsolationRule/Function/Resource": "sagemaker_isolation_rule",
    "/Audit/AWS679f53fac002430cb0da5b7982bd2287/Resource": "audit_deploy_calls",
    "/GenAi/AWS679f53fac002430cb0da5b7982bd2287/Resource": "genai_deploy_calls",
    "/GenAi/GuardedInvoke/Function/Resource": "guarded_invoke",
    "/GenAi/PhiRedaction/Redaction/Function/Resource": "phi_redaction",
    "/GenAi/KnowledgeBase/Ingestion/Function/Resource": "knowledge_ingestion",
    "/GenAi/GuardedRetrieval/Function/Resource": "guarded_retrieval",
    "/GenAi/BedrockConfigRules/Function/Function/Resource": "bedrock_config_rules",
}


def _path(resource: dict[str, Any]) -> str:
    return str(resource.get("Metadata", {}).get("aws:cdk:path", ""))


def _all_templates(synthesized: Synthesized, env: str) -> dict[str, dict[str, Any]]:
    return {a.stack_name: a.template() for a in synthesized.artifacts if a.stage == env}


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for resource in template["Resources"].values():
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            found.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return found


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement.get("Action", [])
    return set(action if isinstance(action, list) else [action])


# --- log writes that match nothing -----------------------------------------------------------


def _log_group_arn_suffixes(resource: Any, groups: set[str]) -> list[str]:
    """What follows a ``GetAtt <LogGroup>.Arn`` inside a ``Fn::Join`` resource ('' if alone)."""
    if isinstance(resource, dict) and resource.get("Fn::GetAtt", [None])[0] in groups:
        return [""]
    if isinstance(resource, dict) and "Fn::Join" in resource:
        parts = resource["Fn::Join"][1]
        return [
            str(parts[i + 1]) if i + 1 < len(parts) else ""
            for i, part in enumerate(parts)
            if isinstance(part, dict) and part.get("Fn::GetAtt", [None])[0] in groups
        ]
    return []


def test_no_log_grant_appends_to_a_log_group_arn(synthesized: Synthesized, env_name: str) -> None:
    """``GetAtt LogGroup.Arn`` ends in ``:*``; anything appended matches no ARN at all."""
    checked = 0
    for name, template in _all_templates(synthesized, env_name).items():
        groups = set(resources_of(template, "AWS::Logs::LogGroup"))
        for statement in _statements(template):
            if not LOG_WRITE_ACTIONS & _actions(statement):
                continue
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                suffixes = _log_group_arn_suffixes(resource, groups)
                assert suffixes in ([], [""]), (name, statement.get("Sid"), resource)
                checked += bool(suffixes)
    assert checked >= 7  # flow logs, 3 audit/findings functions, 2 providers, 2 workload functions


def test_each_function_role_writes_its_own_log_group(
    synthesized: Synthesized, env_name: str
) -> None:
    for template in _all_templates(synthesized, env_name).values():
        functions = resources_of(template, "AWS::Lambda::Function")
        for function in functions.values():
            logging = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
            if logging is None:
                continue  # CDK's default-SG restrictor logs to /aws/lambda/<name>
            group = logging["Ref"]
            role = function["Properties"]["Role"]["Fn::GetAtt"][0]
            grants = [
                s
                for r in template["Resources"].values()
                if r["Type"] == "AWS::IAM::ManagedPolicy"
                and {"Ref": role} in r["Properties"].get("Roles", [])
                for s in r["Properties"]["PolicyDocument"]["Statement"]
                if _actions(s) >= LOG_WRITE_ACTIONS
            ]
            assert [g["Resource"] for g in grants] == [{"Fn::GetAtt": [group, "Arn"]}], _path(
                function
            )


# --- reserved concurrency from config -----------------------------------------------------


def test_reservations_come_from_config(synthesized: Synthesized, env_name: str) -> None:
    env = synthesized.env(env_name)
    seen: dict[str, int | None] = {}
    total = 0
    for template in _all_templates(synthesized, env_name).values():
        for function in resources_of(template, "AWS::Lambda::Function").values():
            reserved = function["Properties"].get("ReservedConcurrentExecutions")
            total += reserved or 0
            for suffix, name in FUNCTION_PATHS.items():
                if _path(function).endswith(suffix):
                    seen[name] = reserved
    assert seen == {name: getattr(env.reserved_concurrency, name) for name in RESERVED_FUNCTIONS}
    assert total == env.reserved_concurrency.total  # CDK's restrictor reserves nothing


# --- the enforced guardrail ----------------------------------------------------------------


def test_enforced_guardrail_guards_everything_and_callers_can_get_apply_guardrail(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    template = synthesized.raw(env_name, "genai")
    enforced = resources_of(template, "AWS::Bedrock::EnforcedGuardrailConfiguration")
    outputs = template.get("Outputs", {})
    if not env.genai.enforce_guardrail_in_account:
        assert not enforced and "EnforcedGuardrailUsePolicyArn" not in outputs
        return
    (config,) = enforced.values()
    assert config["Properties"]["SelectiveContentGuarding"] == {
        "Messages": "COMPREHENSIVE",
        "System": "COMPREHENSIVE",
    }
    assert "ModelEnforcement" not in config["Properties"]  # every model
    policy_id = outputs["EnforcedGuardrailUsePolicyArn"]["Value"]["Ref"]
    policy = template["Resources"][policy_id]["Properties"]
    assert "Roles" not in policy  # for other teams to attach
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "bedrock:ApplyGuardrail"
    assert statement["Resource"] == config["Properties"]["GuardrailIdentifier"]


# --- invocation logs in their own bucket ---------------------------------------------------


def _bucket_id(template: dict[str, Any], construct: str) -> str:
    (found,) = [
        lid
        for lid, r in resources_of(template, "AWS::S3::Bucket").items()
        if f"/Data/{construct}/Bucket/" in _path(r)
    ]
    return found


def _bucket_policy(template: dict[str, Any], bucket_id: str) -> list[dict[str, Any]]:
    (policy,) = [
        p
        for p in resources_of(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_invocation_logs_have_their_own_bucket_and_retention(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    data = synthesized.raw(env_name, "data")
    logs_id = _bucket_id(data, "InvocationLogs")
    bucket = data["Resources"][logs_id]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert "ObjectLockEnabled" not in props  # a deletion request can be honoured
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert "DataKey" in dumps(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "invocation-logs/"
    (life,) = props["LifecycleConfiguration"]["Rules"]
    assert life["ExpirationInDays"] == env.data.invocation_logs.lifecycle.expiration_days
    statements = _bucket_policy(data, logs_id)
    sids = {s.get("Sid") for s in statements}
    assert {"DenyDeletingInvocationLogs", "AmazonBedrockModelInvocationLogsWrite"} <= sids
    tls = [s for s in statements if "aws:SecureTransport" in dumps(s.get("Condition", {}))]
    assert tls and all(s["Effect"] == "Deny" for s in tls)
    audit = _bucket_policy(data, _bucket_id(data, "Audit"))
    assert "bedrock.amazonaws.com" not in dumps(audit)  # the locked bucket keeps audit evidence
    keys = synthesized.raw(env_name, "keys")
    by_key = {
        _path(k): dumps(k["Properties"]["KeyPolicy"])
        for k in resources_of(keys, "AWS::KMS::Key").values()
    }
    data_key = next(v for p, v in by_key.items() if "/DataKey/" in p)
    logs_key = next(v for p, v in by_key.items() if "/LogsKey/" in p)
    assert "AmazonBedrockModelInvocationLogsEncrypt" in data_key
    assert "AmazonBedrockModelInvocationLogsEncrypt" not in logs_key


# --- CloudTrail and the S3 Bucket Key ------------------------------------------------------


def test_cloudtrail_may_decrypt_for_the_bucket_key_of_its_own_trail_only(
    synthesized: Synthesized, env_name: str
) -> None:
    env = synthesized.env(env_name)
    keys = synthesized.raw(env_name, "keys")
    (logs_key,) = [
        k for k in resources_of(keys, "AWS::KMS::Key").values() if "/LogsKey/" in _path(k)
    ]
    (statement,) = [
        s
        for s in logs_key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "AllowCloudTrailToDecryptWithTheBucketKey"
    ]
    assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert statement["Action"] == "kms:Decrypt"
    trail = f"arn:aws:cloudtrail:{env.region}:{env.account}:trail/secure-ml-{env.name}-trail"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceArn": trail, "aws:SourceAccount": env.account}
    }
    data = synthesized.raw(env_name, "data")
    audit_bucket = data["Resources"][_bucket_id(data, "Audit")]["Properties"]
    (rule,) = audit_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["BucketKeyEnabled"] is True  # why the statement is needed
    (trail_resource,) = resources_of(
        synthesized.raw(env_name, "audit"), "AWS::CloudTrail::Trail"
    ).values()
    assert trail_resource["Properties"]["TrailName"] == trail.rsplit("/", 1)[1]


# --- the data perimeter's forward-access exemption -----------------------------------------


def _perimeter_deny(synthesized: Synthesized, env_name: str) -> dict[str, Any]:
    data = synthesized.raw(env_name, "data")
    statements = _bucket_policy(data, _bucket_id(data, "Raw"))
    (deny,) = [s for s in statements if s.get("Sid") == "DenyDataAccessOutsideTheVpcEndpoint"]
    return deny


PERIMETER_ROWS = [
    # (why, request context, denied by the raw bucket's policy?); ACCOUNT, VPCE, ADMIN filled in
    ("a workload role inside the VPC", {"aws:SourceVpce": "VPCE", "aws:PrincipalArn": "arn:aws:iam::ACCOUNT:role/app"}, False),
    ("a workload role from outside the VPC", {"aws:PrincipalArn": "arn:aws:iam::ACCOUNT:role/app"}, True),
    ("Athena reading for a caller outside the VPC", {"aws:PrincipalArn": "arn:aws:iam::ACCOUNT:role/analyst", "aws:ViaAWSService": "true", "aws:CalledVia": ["athena.amazonaws.com"]}, True),
    ("Glue reading for a caller outside the VPC", {"aws:PrincipalArn": "arn:aws:iam::ACCOUNT:role/etl", "aws:ViaAWSService": "true", "aws:CalledVia": ["glue.amazonaws.com"]}, True),
    ("a break-glass admin role", {"aws:PrincipalArn": "ADMIN"}, False),
    ("Macie's service-linked role", {"aws:PrincipalArn": "arn:aws:iam::ACCOUNT:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie"}, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("why", "context", "denied"), PERIMETER_ROWS, ids=[r[0] for r in PERIMETER_ROWS]
)
def test_data_perimeter(
    synthesized: Synthesized, env_name: str, why: str, context: dict[str, Any], denied: bool
) -> None:
    env = synthesized.env(env_name)
    deny = _perimeter_deny(synthesized, env_name)
    vpce = flatten_reference(deny["Condition"]["StringNotEquals"]["aws:SourceVpce"])
    objects = flatten_reference(deny["Resource"][1])
    text = json.dumps(context).replace("ACCOUNT", env.account).replace("VPCE", vpce)
    text = text.replace('"ADMIN"', json.dumps(env.data.admin_principal_arns[0]))
    request = Request("s3:GetObject", objects.replace("*", "clinical/note.txt"), json.loads(text))
    assert (decide([deny], request) == "Deny") is denied, why
    assert env.data.forward_access_services == ()  # the shipped perimeter exempts no service


# --- variant: everything a used or small account needs switched -----------------------------


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """dev with no reservations, adopted SageMaker log groups, invocation logging owned by
    someone else and Athena allowed through the perimeter, synthesized with every pack."""
    outdir = tmp_path_factory.mktemp("adopted")
    platform = raw_platform()
    dev = platform["environments"]["dev"]
    dev["reserved_concurrency"] = {}
    dev["ml"]["sagemaker_log_groups"] = "adopt"
    dev["audit"]["account_services"].remove("bedrock_invocation_logging")
    dev["data"]["forward_access_services"] = ["athena.amazonaws.com"]
    env = load_config({CONTEXT_KEY: platform}, "dev").environments[0]
    app = new_app(outdir)
    stage = PlatformStage(app, project="secure-ml", environment=env)
    register_packs(app)
    try:
        app.synth()
    except RuntimeError:
        pytest.fail(f"gates failed: {[f.line() for f in read_findings(Path(outdir))]}")
    return {
        s.stack_name.rsplit("-", 1)[1]: Template.from_stack(s).to_json()
        for s in stage.platform_stacks
    }


@pytest.mark.slow
def test_null_reservations_reserve_nothing_and_pass_the_gates(
    adopted: dict[str, dict[str, Any]],
) -> None:
    functions = [
        f for t in adopted.values() for f in resources_of(t, "AWS::Lambda::Function").values()
    ]
    assert len(functions) >= 6
    assert not [f for f in functions if "ReservedConcurrentExecutions" in f["Properties"]]
    # each unreserved function of ours carries its reason for checkov (cdk-nag passed above)
    ours = [f for f in functions if any(_path(f).endswith(p) for p in FUNCTION_PATHS)]
    # all ten but the genai provider (invocation logging is owned elsewhere)
    assert len(ours) == len(FUNCTION_PATHS) - 1 == 9
    for function in ours:
        skips = {s["id"] for s in function["Metadata"]["checkov"]["skip"]}
        assert "CKV_AWS_115" in skips, _path(function)


@pytest.mark.slow
def test_adopted_sagemaker_log_groups_are_referenced_not_created(
    adopted: dict[str, dict[str, Any]],
) -> None:
    created = [
        g["Properties"].get("LogGroupName", "")
        for g in resources_of(adopted["ml"], "AWS::Logs::LogGroup").values()
    ]
    assert not [n for n in created if n.startswith("/aws/sagemaker/")]
    streams = dumps(resources_of(adopted["ml"], "AWS::IAM::ManagedPolicy"))
    for name in SAGEMAKER_LOG_GROUPS:
        assert f"/aws/sagemaker/{name}" in streams or "/aws/sagemaker/*" in streams


@pytest.mark.slow
def test_invocation_logging_owned_elsewhere_is_not_configured(
    adopted: dict[str, dict[str, Any]],
) -> None:
    assert not resources_of(adopted["genai"], "Custom::BedrockInvocationLogging")
    assert "bedrock.amazonaws.com" not in dumps(
        resources_of(adopted["data"], "AWS::S3::BucketPolicy")
    )


@pytest.mark.slow
def test_a_configured_forward_access_service_passes_the_perimeter_and_no_other(
    adopted: dict[str, dict[str, Any]],
) -> None:
    policies = resources_of(adopted["data"], "AWS::S3::BucketPolicy").values()
    denies = [
        s
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "DenyDataAccessOutsideTheVpcEndpoint"
    ]
    assert len(denies) == 3  # raw, curated, model artifacts
    for deny in denies:
        assert deny["Condition"]["ForAllValues:StringNotEquals"] == {
            "aws:CalledVia": ["athena.amazonaws.com"]
        }
        assert "aws:ViaAWSService" not in dumps(deny)
        key = flatten_reference(deny["Resource"][1]).replace("*", "k")
        base = {"aws:PrincipalArn": "arn:aws:iam::111111111111:role/analyst"}
        via = {**base, "aws:ViaAWSService": "true"}
        athena = Request("s3:GetObject", key, {**via, "aws:CalledVia": ["athena.amazonaws.com"]})
        glue = Request("s3:GetObject", key, {**via, "aws:CalledVia": ["glue.amazonaws.com"]})
        assert decide([deny], athena) != "Deny"
        assert decide([deny], glue) == "Deny"
        assert decide([deny], Request("s3:GetObject", key, base)) == "Deny"


# --- Config results the platform expects are not e-mailed -------------------------------------


def _export_targets(templates: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """Export name -> (stack, logical ID) for exports of a Ref."""
    found = {}
    for stack, template in templates.items():
        for output in template.get("Outputs", {}).values():
            value = output.get("Value")
            if isinstance(value, dict) and "Ref" in value and "Export" in output:
                found[output["Export"]["Name"]] = (stack, value["Ref"])
    return found


def _acknowledged(synthesized: Synthesized, env_name: str) -> dict[str, set[tuple[str, str]]]:
    """Rule name -> {(stack, function logical ID)} from the router's ACKNOWLEDGED_NONCOMPLIANCE."""
    templates = _all_templates(synthesized, env_name)
    findings_name = f"secure-ml-{env_name}-findings"
    findings = templates[findings_name]
    (router,) = [
        f
        for f in resources_of(findings, "AWS::Lambda::Function").values()
        if "/FindingsRouter/" in _path(f)
    ]
    value = router["Properties"]["Environment"]["Variables"]["ACKNOWLEDGED_NONCOMPLIANCE"]
    exports = _export_targets(templates)
    parts = value["Fn::Join"][1] if isinstance(value, dict) else [value]
    text = "".join(
        p
        if isinstance(p, str)
        else "{}:{}".format(*exports[p["Fn::ImportValue"]])
        if "Fn::ImportValue" in p
        else f"{findings_name}:{p['Ref']}"
        for p in parts
    )
    decoded = json.loads(text)
    result: dict[str, set[tuple[str, str]]] = {}
    for rule, entries in decoded.items():
        for entry in entries:
            assert len(entry["reason"]) >= 10
            stack, logical_id = entry["resource_id"].split(":")
            result.setdefault(rule, set()).add((stack, logical_id))
    return result


def test_router_is_told_every_function_the_lambda_rules_will_flag(
    synthesized: Synthesized, env_name: str
) -> None:
    """Derived from the templates, not from the constructs' claims: a function outside the VPC,
    without a DLQ or without a reservation must be listed under that rule, and no other."""
    acknowledged = _acknowledged(synthesized, env_name)
    expected: dict[str, set[tuple[str, str]]] = {}
    for stack, template in _all_templates(synthesized, env_name).items():
        for lid, function in resources_of(template, "AWS::Lambda::Function").items():
            props = function["Properties"]
            for rule, missing in (
                ("lambda-inside-vpc", "VpcConfig" not in props),
                ("lambda-dlq-check", "DeadLetterConfig" not in props),
                ("lambda-concurrency-check", "ReservedConcurrentExecutions" not in props),
            ):
                if missing:
                    expected.setdefault(f"secure-ml-{env_name}-{rule}", set()).add((stack, lid))
    assert acknowledged == expected
    assert f"secure-ml-{env_name}-lambda-inside-vpc" in expected  # the test is not vacuous
