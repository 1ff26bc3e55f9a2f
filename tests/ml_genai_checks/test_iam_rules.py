"""IAM rules: wildcards, Bedrock invocation, SageMaker job conditions, PassRole."""

from __future__ import annotations

from typing import Any

import pytest

from ml_genai_checks.model import REGISTRY, Outcome
from ml_genai_checks.rules import iam, iam_policies
from ml_genai_checks.testing import outcomes, run_rule, template

WILDCARD = "MLGenAI-IAMNoServiceWildcard"
INVOKE = "MLGenAI-IAMBedrockInvokeScoped"
SAGEMAKER = "MLGenAI-IAMSageMakerJobConditions"
PASS_ROLE = "MLGenAI-IAMPassRoleScoped"

MODEL = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
GUARDRAIL = {"Fn::Join": [":", [{"Fn::GetAtt": ["G", "GuardrailArn"]}, "1"]]}
SUBNETS = {"sagemaker:VpcSubnets": ["subnet-1"], "sagemaker:VpcSecurityGroupIds": ["sg-1"]}
KMS = {"sagemaker:VolumeKmsKey": {"Fn::GetAtt": ["Key", "Arn"]}}
KMS["sagemaker:OutputKmsKey"] = KMS["sagemaker:VolumeKmsKey"]
NOT_NULL = {"sagemaker:VpcSubnets": "false", "sagemaker:VpcSecurityGroupIds": "false"}
JOB_CONDITION = {
    "ForAllValues:StringEquals": SUBNETS,
    "Null": NOT_NULL,
    "Bool": {"sagemaker:NetworkIsolation": "true"},
    "StringEquals": KMS,
}


def policy(*statements: dict[str, Any], kind: str = "AWS::IAM::ManagedPolicy") -> dict[str, Any]:
    return {
        "Type": kind,
        "Properties": {"PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)}},
    }


def role(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Statement": []},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": list(statements)}}],
        },
    }


def allow(action: Any, resource: Any = "*", condition: Any = None, sid: str = "") -> dict:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition is not None:
        statement["Condition"] = condition
    if sid:
        statement["Sid"] = sid
    return statement


def verdict(rule_id: str, resource: dict[str, Any], **kwargs: Any) -> tuple[Outcome, str]:
    results = run_rule(rule_id, template({"P": resource}, **kwargs))
    return outcomes(results)["P"], dict(results)["P"].message


# --------------------------------------------------------------------------- (a) wildcards


@pytest.mark.parametrize("action", ["bedrock:*", "sagemaker:*", "*", ["s3:GetObject", "*:*"]])
def test_service_wildcard_fail(action: Any) -> None:
    outcome, message = verdict(WILDCARD, policy(allow(action, sid="Broad")))
    assert outcome is Outcome.FAIL and "Sid 'Broad'" in message and "Action" in message


def test_not_action_allow_fail() -> None:
    statement = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    outcome, message = verdict(WILDCARD, role(statement))
    assert outcome is Outcome.FAIL
    assert "Policies[0].PolicyDocument Statement[0]" in message and "NotAction" in message


def test_specific_actions_and_deny_wildcard_pass() -> None:
    statements = (allow(["bedrock:InvokeModel", "sagemaker:Describe*"], MODEL),)
    statements += ({"Effect": "Deny", "Action": "sagemaker:*", "Resource": "*"},)
    assert verdict(WILDCARD, policy(*statements))[0] is Outcome.PASS


def test_unresolvable_action_not_applicable() -> None:
    assert verdict(WILDCARD, policy(allow({"Ref": "Actions"})))[0] is Outcome.NOT_APPLICABLE


def test_every_policy_type_is_read() -> None:
    resources = {
        "A": policy(allow("bedrock:*"), kind="AWS::IAM::Policy"),
        "B": policy(allow("bedrock:*")),
        "C": role(allow("bedrock:*")),
        "D": {"Type": "AWS::IAM::User", "Properties": role(allow("bedrock:*"))["Properties"]},
        "E": {"Type": "AWS::IAM::Group", "Properties": role(allow("bedrock:*"))["Properties"]},
        "F": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
    }
    assert outcomes(run_rule(WILDCARD, template(resources))) == {
        **dict.fromkeys("ABCDE", Outcome.FAIL),
        "F": Outcome.NOT_APPLICABLE,
    }


# --------------------------------------------------------------------------- (b) invocation

GUARDED = {"StringEquals": {"bedrock:GuardrailIdentifier": GUARDRAIL}}


@pytest.mark.parametrize(
    "action", ["bedrock:InvokeModel", ["bedrock:InvokeModelWithResponseStream"], "bedrock:Invoke*"]
)
def test_invoke_listed_model_with_guardrail_pass(action: Any) -> None:
    assert verdict(INVOKE, policy(allow(action, [MODEL], GUARDED)))[0] is Outcome.PASS


def test_invoke_any_model_fail() -> None:
    any_model = "arn:aws:bedrock:us-east-1::foundation-model/*"
    outcome, message = verdict(INVOKE, policy(allow("bedrock:InvokeModel", any_model, GUARDED)))
    assert outcome is Outcome.FAIL and "allows every model" in message
    outcome, _ = verdict(INVOKE, policy(allow("bedrock:InvokeModel", "*", GUARDED)))
    assert outcome is Outcome.FAIL


def test_invoke_wildcard_model_in_join_tail_fail() -> None:
    arn = {"Fn::Join": ["", ["arn:aws:bedrock:", {"Ref": "Region"}, "::foundation-model/*"]]}
    outcome, message = verdict(INVOKE, policy(allow("bedrock:InvokeModel", arn, GUARDED)))
    assert outcome is Outcome.FAIL and "allows every model" in message


def test_invoke_without_guardrail_fail() -> None:
    outcome, message = verdict(INVOKE, policy(allow("bedrock:InvokeModel", MODEL, sid="Invoke")))
    assert outcome is Outcome.FAIL
    assert "Sid 'Invoke'" in message and "bedrock:GuardrailIdentifier" in message


EMBED = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"
EMBED_JOIN = {
    "Fn::Join": [
        "",
        ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:x::foundation-model/cohere.embed-english-v3"],
    ]
}


@pytest.mark.parametrize("resource", [EMBED, [EMBED], EMBED_JOIN])
def test_invoke_embedding_models_only_needs_no_guardrail(resource: Any) -> None:
    # Bedrock refuses a guardrail on an embedding call; the SCP excepts the same families.
    assert verdict(INVOKE, policy(allow("bedrock:InvokeModel", resource)))[0] is Outcome.PASS


@pytest.mark.parametrize(
    "resource",
    [
        [EMBED, MODEL],  # a text model beside the embedding model still needs the guardrail
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-*",  # every embedding model
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1",
        "arn:aws:bedrock:us-east-1:1:inference-profile/amazon.titan-embed-text-v2:0",
    ],
)
def test_invoke_embedding_exemption_is_narrow(resource: Any) -> None:
    outcome, message = verdict(INVOKE, policy(allow("bedrock:InvokeModel", resource)))
    assert outcome is Outcome.FAIL, message


def test_invoke_guardrail_only_if_exists_fail() -> None:
    condition = {"StringEqualsIfExists": {"bedrock:GuardrailIdentifier": GUARDRAIL}}
    assert verdict(INVOKE, policy(allow("bedrock:InvokeModel", MODEL, condition)))[0] is (
        Outcome.FAIL
    )


@pytest.mark.parametrize(
    "deny_condition",
    [
        {"StringNotEquals": {"bedrock:GuardrailIdentifier": GUARDRAIL}},
        {"Null": {"bedrock:GuardrailIdentifier": "true"}},
    ],
)
def test_invoke_with_explicit_deny_pass(deny_condition: dict[str, Any]) -> None:
    deny = {
        "Effect": "Deny",
        "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
        "Resource": "*",
        "Condition": deny_condition,
    }
    statements = (allow(["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], MODEL),)
    assert verdict(INVOKE, policy(*statements, deny))[0] is Outcome.PASS


def test_invoke_deny_of_one_action_only_fail() -> None:
    deny = {
        "Effect": "Deny",
        "Action": "bedrock:InvokeModel",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"bedrock:GuardrailIdentifier": GUARDRAIL}},
    }
    statement = allow(["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], MODEL)
    assert verdict(INVOKE, policy(statement, deny))[0] is Outcome.FAIL


def test_invoke_unresolvable_resource_not_applicable() -> None:
    statement = allow("bedrock:InvokeModel", {"Fn::ImportValue": "ModelArn"}, GUARDED)
    assert verdict(INVOKE, policy(statement))[0] is Outcome.NOT_APPLICABLE


def test_invoke_profile_reference_counts_as_listed() -> None:
    statement = allow("bedrock:InvokeModel", {"Fn::GetAtt": ["Profile", "Arn"]}, GUARDED)
    assert verdict(INVOKE, policy(statement))[0] is Outcome.PASS


def test_no_invocation_not_applicable() -> None:
    assert verdict(INVOKE, policy(allow("s3:GetObject", "*")))[0] is Outcome.NOT_APPLICABLE


# --------------------------------------------------------------------------- (c) SageMaker


def test_training_job_with_all_keys_pass() -> None:
    statement = allow("sagemaker:CreateTrainingJob", "*", JOB_CONDITION)
    assert verdict(SAGEMAKER, policy(statement))[0] is Outcome.PASS


def test_training_job_without_keys_fail() -> None:
    outcome, message = verdict(SAGEMAKER, policy(allow("sagemaker:CreateTrainingJob", sid="Jobs")))
    assert outcome is Outcome.FAIL and "Sid 'Jobs'" in message
    for key in ("VpcSubnets", "VpcSecurityGroupIds", "NetworkIsolation", "VolumeKmsKey"):
        assert f"sagemaker:{key}" in message


def test_for_all_values_without_null_fail() -> None:
    condition = {key: value for key, value in JOB_CONDITION.items() if key != "Null"}
    outcome, message = verdict(
        SAGEMAKER, policy(allow("sagemaker:CreateTrainingJob", "*", condition))
    )
    assert outcome is Outcome.FAIL and "ForAllValues: without Null" in message


def test_network_isolation_false_fail() -> None:
    condition = {**JOB_CONDITION, "Bool": {"sagemaker:NetworkIsolation": "false"}}
    outcome, message = verdict(
        SAGEMAKER, policy(allow("sagemaker:CreateProcessingJob", "*", condition))
    )
    assert outcome is Outcome.FAIL and "sagemaker:NetworkIsolation (Bool true)" in message


def test_transform_job_needs_only_kms_keys() -> None:
    statement = allow("sagemaker:CreateTransformJob", "*", {"StringEquals": KMS})
    assert verdict(SAGEMAKER, policy(statement))[0] is Outcome.PASS
    outcome, message = verdict(SAGEMAKER, policy(allow("sagemaker:CreateTransformJob")))
    assert outcome is Outcome.FAIL and "VpcSubnets" not in message


def test_create_wildcard_covers_job_actions_fail() -> None:
    outcome, message = verdict(SAGEMAKER, policy(allow("sagemaker:Create*")))
    assert outcome is Outcome.FAIL and "sagemaker:CreateModel without" in message


def test_deny_with_null_true_credits_the_key() -> None:
    denies = [
        {
            "Effect": "Deny",
            "Action": "sagemaker:CreateModel",
            "Resource": "*",
            "Condition": {"Null": {key: "true"}},
        }
        for key in ("sagemaker:VpcSubnets", "sagemaker:VpcSecurityGroupIds")
    ]
    isolation = {"Bool": {"sagemaker:NetworkIsolation": "true"}}
    statement = allow("sagemaker:CreateModel", "*", isolation)
    assert verdict(SAGEMAKER, policy(statement, *denies))[0] is Outcome.PASS
    assert verdict(SAGEMAKER, policy(statement, denies[0]))[0] is Outcome.FAIL


def test_sagemaker_unresolvable_condition_not_applicable() -> None:
    statement = allow("sagemaker:CreateTrainingJob", "*", {"Fn::If": ["C", {}, {}]})
    assert verdict(SAGEMAKER, policy(statement))[0] is Outcome.NOT_APPLICABLE


# --------------------------------------------------------------------------- (d) PassRole

PASSED = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


@pytest.mark.parametrize(
    "resource",
    [
        {"Fn::GetAtt": ["JobRole", "Arn"]},
        "arn:aws:iam::123456789012:role/ml-training",
        {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ml-training"},
    ],
)
def test_pass_named_role_to_service_pass(resource: Any) -> None:
    assert verdict(PASS_ROLE, policy(allow("iam:PassRole", resource, PASSED)))[0] is Outcome.PASS


@pytest.mark.parametrize(
    "resource", ["*", "arn:aws:iam::123456789012:role/ml-*", "arn:aws:iam::123456789012:*"]
)
def test_pass_any_role_fail(resource: str) -> None:
    outcome, message = verdict(PASS_ROLE, policy(allow("iam:PassRole", resource, PASSED)))
    assert outcome is Outcome.FAIL and "role name" in message


def test_pass_role_without_service_fail() -> None:
    statement = allow("iam:PassRole", {"Fn::GetAtt": ["JobRole", "Arn"]}, sid="Pass")
    outcome, message = verdict(PASS_ROLE, policy(statement))
    assert outcome is Outcome.FAIL and "Sid 'Pass'" in message and "iam:PassedToService" in message


def test_pass_role_deny_never_fails() -> None:
    deny = {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}
    assert verdict(PASS_ROLE, policy(deny))[0] is Outcome.NOT_APPLICABLE


def test_pass_role_unresolvable_resource_not_applicable() -> None:
    statement = allow("iam:PassRole", {"Ref": "RoleArnParameter"}, PASSED)
    assert verdict(PASS_ROLE, policy(statement))[0] is Outcome.NOT_APPLICABLE


# --------------------------------------------------------------------------- helpers, metadata


def test_action_matching_is_case_insensitive() -> None:
    document = {"Statement": [allow("Bedrock:invokemodel")]}
    resource = template({"P": policy()}).resource("P")
    assert resource is not None
    (statement,) = iam_policies.statements_of(resource, "PolicyDocument", document) or []
    assert iam_policies.allows_invocation(statement) is True


IAM_RULES = [r for r in REGISTRY.values() if r.check.__module__ == iam.__name__]


def test_iam_rules_registered() -> None:
    assert {r.rule_id for r in IAM_RULES} == {WILDCARD, INVOKE, SAGEMAKER, PASS_ROLE}
    assert all(r.scope == "template" for r in IAM_RULES)
