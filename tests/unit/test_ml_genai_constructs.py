"""The ML/GenAI constructs and rule modules used on their own (as a copying team would)."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from gates.nag import read_findings
from secure_constructs.core.managed_policy_role import (
    ManagedPolicyRole,
    acknowledge_wildcards,
    flatten_reference,
    wildcard_findings,
)
from secure_constructs.genai.bedrock_guardrail import SecureGuardrail
from secure_constructs.genai.bedrock_logging import BedrockInvocationLogging
from secure_constructs.genai.bedrock_rules import (
    ContentFilter,
    DeniedTopic,
    GuardrailSpec,
    RegexFilter,
    guardrail_problem,
    model_grants,
    model_id_problem,
)
from secure_constructs.ml.data_quality_monitor import DataQualityMonitor
from secure_constructs.ml.model_card_rules import ModelCardError, load_model_card, parse_model_card
from secure_constructs.ml.model_governance import ModelGovernance
from secure_constructs.ml.sagemaker_rules import JobRules, job_statements
from secure_constructs.ml.studio_domain import SecureStudioDomain
from tests.conftest import ROOT, resources_of

ENV = cdk.Environment(account="123456789012", region="eu-west-1")
CARD = json.loads((ROOT / "governance" / "model_card.json").read_text())
FILTERS = tuple(
    ContentFilter(t, "HIGH", "NONE" if t == "PROMPT_ATTACK" else "HIGH")
    for t in ("HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK")
)
SPEC = GuardrailSpec(
    blocked_input_message="Blocked.",
    blocked_output_message="Withheld.",
    content_filters=FILTERS,
    denied_topics=(DeniedTopic("Legal advice", "Advice on lawsuits.", ("Can I sue?",)),),
    pii_block=("US_SOCIAL_SECURITY_NUMBER",),
    pii_anonymize=("NAME",),
    regexes=(RegexFilter("mrn", r"MRN[0-9]{6}", "ANONYMIZE"),),
    words=("codename",),
    grounding_threshold=0.7,
)
RULES = JobRules(
    subnet_ids=("subnet-1",),
    security_group_ids=("sg-1",),
    kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/k",
    instance_types=("ml.m5.large",),
)


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Test", env=ENV)


# --- Bedrock rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "region", "problem"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", "us-east-1", None),
        ("us.amazon.nova-pro-v1:0", "us-east-2", None),
        ("eu.amazon.nova-pro-v1:0", "eu-west-1", None),
        ("apac.amazon.nova-pro-v1:0", "ap-south-1", None),
        ("jp.anthropic.claude-sonnet-4-5-20250929-v1:0", "ap-northeast-1", None),
        ("global.anthropic.claude-sonnet-4-20250514-v1:0", "us-east-1", "data residency"),
        ("eu.amazon.nova-pro-v1:0", "us-east-1", "does not serve us-east-1"),
        ("jp.amazon.nova-pro-v1:0", "ap-south-1", "does not serve"),
        ("claude", "us-east-1", "a foundation model ID"),
        ("Anthropic.Claude", "us-east-1", "a foundation model ID"),
    ],
)
def test_model_id_rules(model_id: str, region: str, problem: str | None) -> None:
    found = model_id_problem(model_id, region)
    assert (found is None) if problem is None else (problem in (found or "")), found


def test_inference_profiles_grant_their_models_only_in_allowed_regions() -> None:
    grants = model_grants(
        ["amazon.nova-lite-v1:0", "us.amazon.nova-pro-v1:0"],
        partition="aws",
        region="us-east-1",
        account="123456789012",
        allowed_regions=["us-east-1", "us-east-2", "eu-west-1"],
    )
    assert grants.foundation_models == (
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
    )
    assert grants.profiles == (
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
    )
    assert grants.profile_models == (
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
        "arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-pro-v1:0",
    )
    with pytest.raises(ValueError, match="global inference profiles"):
        model_grants(
            ["global.x.y"], partition="aws", region="us-east-1", account="1", allowed_regions=[]
        )


@pytest.mark.parametrize(
    ("change", "path", "allowed"),
    [
        ({"content_filters": FILTERS[:-1]}, "content_filters", "missing PROMPT_ATTACK"),
        ({"content_filters": (*FILTERS, FILTERS[0])}, "content_filters", "at most once"),
        ({"pii_block": ("SSN",)}, "pii_block", "a PII entity type"),
        (
            {"pii_anonymize": ("US_SOCIAL_SECURITY_NUMBER",)},
            "pii_anonymize",
            "not already in pii_block",
        ),
        (
            {"regexes": (RegexFilter("x", "(", "BLOCK"),)},
            "regexes[0].pattern",
            "valid regular expression",
        ),
        ({"regexes": (RegexFilter("x", "a" * 501, "BLOCK"),)}, "regexes[0].pattern", "1-500"),
        (
            {"denied_topics": (DeniedTopic("t", "d", ("e",) * 6),)},
            "denied_topics[0].examples",
            "at most 5",
        ),
        ({"denied_topics": (DeniedTopic("t", "d"),) * 2}, "denied_topics[1].name", "at most once"),
        ({"words": ("w" * 101,)}, "words", "1-100"),
        ({"grounding_threshold": 0.995}, "grounding_threshold", "0 to 0.99"),
        ({"relevance_threshold": True}, "relevance_threshold", "0 to 0.99"),
        ({"blocked_input_message": ""}, "blocked_input_message", "1-500"),
        ({"description": "d" * 201}, "description", "1-200"),
    ],
)
def test_guardrail_spec_problems(change: dict[str, Any], path: str, allowed: str) -> None:
    problem = guardrail_problem(replace(SPEC, **change))
    assert problem is not None and problem.path == path and allowed in problem.allowed, problem
    with pytest.raises(
        ValueError, match=r"SecureGuardrail G: " + path.replace("[", r"\[").replace("]", r"\]")
    ):
        SecureGuardrail(_stack(), "G", name="g", spec=replace(SPEC, **change))


def test_guardrail_version_follows_the_spec_and_enforcement_is_optional() -> None:
    def version_description(spec: GuardrailSpec, enforce: bool = False) -> tuple[str, int]:
        stack = _stack()
        SecureGuardrail(stack, "G", name="team-guardrail", spec=spec, enforce_in_account=enforce)
        raw = Template.from_stack(stack).to_json()
        (version,) = resources_of(raw, "AWS::Bedrock::GuardrailVersion").values()
        return version["Properties"]["Description"], len(
            resources_of(raw, "AWS::Bedrock::EnforcedGuardrailConfiguration")
        )

    first, none = version_description(SPEC)
    again, _ = version_description(copy.deepcopy(SPEC))
    changed, one = version_description(replace(SPEC, words=("other",)), enforce=True)
    assert first == again != changed  # a new version exactly when the configuration changes
    assert (none, one) == (0, 1)
    with pytest.raises(ValueError, match="name"):
        SecureGuardrail(_stack(), "G", name="no spaces allowed", spec=SPEC)


# --- model card -------------------------------------------------------------------------------


def _card(change: Any) -> dict[str, Any]:
    card = copy.deepcopy(CARD)
    change(card)
    return card


@pytest.mark.parametrize(
    ("change", "path", "allowed"),
    [
        (lambda c: c.pop("risks"), "risks", "required"),
        (lambda c: c.__setitem__("notes", "x"), "notes", "unknown field"),
        (lambda c: c.__setitem__("schema_version", 2), "schema_version", "1"),
        (lambda c: c.__setitem__("model_name", "triage model"), "model_name", "single hyphens"),
        (
            lambda c: c["intended_use"].__setitem__("risk_rating", "Severe"),
            "intended_use.risk_rating",
            "one of High",
        ),
        (
            lambda c: c["intended_use"].__setitem__("purpose", ""),
            "intended_use.purpose",
            "non-empty",
        ),
        (
            lambda c: c["overview"].__setitem__("owner", "o" * 1025),
            "overview.owner",
            "at most 1024",
        ),
        (
            lambda c: c["data_origin"].__setitem__("licences", []),
            "data_origin.licences",
            "at least one licence",
        ),
        (
            lambda c: c["data_origin"]["licences"][0].pop("terms"),
            "data_origin.licences[0].terms",
            "required",
        ),
        (
            lambda c: c["data_origin"].__setitem__("sources", "s3://x"),
            "data_origin.sources",
            "a list of 1-15",
        ),
        (lambda c: c.__setitem__("evaluation", []), "evaluation", "at least one evaluation"),
        (
            lambda c: c["evaluation"][0]["metrics"][0].__setitem__("value", "0.8"),
            "evaluation[0].metrics[0].value",
            "a number",
        ),
        (
            lambda c: c["evaluation"][0].__setitem__("metrics", []),
            "evaluation[0].metrics",
            "at least one metric",
        ),
        (
            lambda c: c["risks"].__setitem__("known_risks", "r" * 1500),
            "risks.known_risks",
            "at most 1024",
        ),
    ],
)
def test_model_card_schema(change: Any, path: str, allowed: str) -> None:
    with pytest.raises(ModelCardError) as caught:
        parse_model_card(_card(change))
    assert caught.value.path == path and allowed in caught.value.allowed, str(caught.value)


def test_model_card_file_errors(tmp_path: Path) -> None:
    assert (
        load_model_card(ROOT / "governance" / "model_card.json").model_name
        == "clinical-note-triage"
    )
    with pytest.raises(ModelCardError, match="an existing model card file"):
        load_model_card(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ModelCardError, match="a readable JSON document"):
        load_model_card(tmp_path / "bad.json")


def test_model_governance_alone() -> None:
    stack = _stack()
    card = parse_model_card(CARD)
    ModelGovernance(
        stack,
        "Gov",
        model_package_group_name="g",
        card_name="c",
        card=card,
        card_status="Draft",
        encryption_key=kms.Key(stack, "K"),
    )
    raw = Template.from_stack(stack).to_json()
    (resource,) = resources_of(raw, "AWS::SageMaker::ModelCard").values()
    assert resource["Properties"]["Content"]["IntendedUses"]["RiskRating"] == "High"
    with pytest.raises(ValueError, match="card_status"):
        ModelGovernance(
            _stack(),
            "Gov",
            model_package_group_name="g",
            card_name="c",
            card=card,
            card_status="Published",
            encryption_key=kms.Key(_stack(), "K"),
        )


# --- SageMaker rules and constructs -------------------------------------------------------


def test_job_statements_refuse_actions_whose_rules_cannot_be_enforced() -> None:
    for action, reason in (
        ("sagemaker:CreateAutoMLJobV2", "NetworkIsolation"),
        ("sagemaker:CreateLabelingJob", "labeling workers"),
        ("sagemaker:DeleteDomain", "not a job-creating action"),
    ):
        with pytest.raises(ValueError, match=reason):
            job_statements([action], RULES, partition="aws", region="eu-west-1", account="1")


def test_monitoring_schedules_accept_a_referenced_definition() -> None:
    schedule = RULES.conditions("sagemaker:CreateMonitoringSchedule")
    assert set(schedule) == {"ForAllValues:StringEquals", "BoolIfExists", "StringEqualsIfExists"}
    training = RULES.conditions("sagemaker:CreateTrainingJob")
    assert training["Null"] == {
        "sagemaker:VpcSubnets": "false",
        "sagemaker:VpcSecurityGroupIds": "false",
        "sagemaker:InstanceTypes": "false",
    }
    (grouped, model) = job_statements(
        ["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob", "sagemaker:CreateModel"],
        RULES,
        partition="aws",
        region="eu-west-1",
        account="1",
    )
    assert sorted(grouped.to_statement_json()["Action"]) == [
        "sagemaker:CreateProcessingJob",
        "sagemaker:CreateTrainingJob",
    ]
    assert "sagemaker:NetworkIsolation" in json.dumps(model.to_statement_json())


def _vpc(stack: cdk.Stack) -> ec2.Vpc:
    return ec2.Vpc(stack, "Vpc", availability_zones=["eu-west-1a", "eu-west-1b"], nat_gateways=0)


def test_studio_domain_and_monitor_reject_bad_props() -> None:
    stack = _stack()
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    vpc = _vpc(stack)
    with pytest.raises(ValueError, match="at least one private subnet"):
        SecureStudioDomain(
            stack,
            "S",
            domain_name="d",
            vpc=vpc,
            subnets=[],
            endpoint_security_group=ec2.SecurityGroup(stack, "E", vpc=vpc),
            s3_prefix_list_id="pl-12345678",
            encryption_key=kms.Key(stack, "K"),
            default_execution_role=role,
        )
    with pytest.raises(ValueError, match=r"instance_type 'ml\.p4d\.24xlarge'"):
        DataQualityMonitor(
            stack,
            "M",
            name="n",
            endpoint_name="e",
            schedule_expression="cron(0 * ? * * *)",
            instance_type="ml.p4d.24xlarge",
            image_uri="x",
            role=role,
            rules=RULES,
            output_s3_uri="s3://b/monitoring/e",
        )


# --- functions, roles, logging --------------------------------------------------------------


def test_managed_policy_role_splits_large_policies() -> None:
    stack = _stack()
    role = ManagedPolicyRole(stack, "R", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    for index in range(60):
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[f"arn:aws:s3:::bucket-{index}/prefix-{index}/*"],
            )
        )
    raw = Template.from_stack(stack).to_json()
    policies = resources_of(raw, "AWS::IAM::ManagedPolicy")
    assert len(policies) >= 2 and not resources_of(raw, "AWS::IAM::Policy")
    for policy in policies.values():
        assert len(json.dumps(policy["Properties"]["PolicyDocument"], separators=(",", ":"))) < 6144


def test_wildcards_no_rule_explains_stay_findings(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Test", env=ENV)
    role = ManagedPolicyRole(stack, "R", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::explained/*"])
    )
    role.add_to_policy(
        iam.PolicyStatement(actions=["s3:PutObject"], resources=["arn:aws:s3:::unexplained/*"])
    )
    acknowledge_wildcards(
        stack,
        [(r"Resource::arn:aws:s3:::explained/\*", "A reason long enough to pass the check here.")],
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    names = {f.rule for f in read_findings(tmp_path) if "IAM5" in f.rule}
    assert names == {"AwsSolutions-IAM5[Resource::arn:aws:s3:::unexplained/*]"}
    with pytest.raises(ValueError, match="specific reason"):
        acknowledge_wildcards(stack, [(r".*", "too short")])


def test_flatten_reference_names_intrinsics_like_cdk_nag() -> None:
    join = {"Fn::Join": ["", [{"Fn::ImportValue": "s:Out"}, "/p/*"]]}
    assert flatten_reference(join) == "s:Out/p/*"
    assert flatten_reference({"Fn::GetAtt": ["Role1", "Arn"]}) == "<Role1.Arn>"
    assert flatten_reference({"Ref": "Bucket"}) == "<Bucket>"
    assert (
        flatten_reference({"Fn::Sub": "arn:${AWS::Partition}:s3:::b"})
        == "arn:<AWS::Partition>:s3:::b"
    )
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:Get*"], "Resource": [join, "arn:aws:s3:::b"]},
            {"Effect": "Deny", "Action": "*", "Resource": "*"},
        ]
    }
    assert wildcard_findings(document) == ["Action::s3:Get*", "Resource::s:Out/p/*"]


def test_invocation_logging_rejects_bad_props() -> None:
    stack = _stack()
    key = kms.Key(stack, "K")
    bucket = s3.Bucket(stack, "B")
    with pytest.raises(ValueError, match="a key prefix ending with '/'"):
        BedrockInvocationLogging(
            stack, "L", bucket=bucket, bucket_key=key, prefix="bedrock", logs_key=key
        )
    with pytest.raises(ValueError, match="log_retention_days=2"):
        BedrockInvocationLogging(
            stack,
            "L2",
            bucket=bucket,
            bucket_key=key,
            prefix="b/",
            logs_key=key,
            log_retention_days=2,
        )


def test_invocation_logging_refuses_a_stack_with_an_sdk_call_provider() -> None:
    from secure_constructs.core.sdk_calls import SdkCallProvider

    stack = _stack()
    key = kms.Key(stack, "K")
    SdkCallProvider(stack, "Calls", logs_key=key, queue_key=key)
    with pytest.raises(ValueError, match="the stack has an SdkCallProvider"):
        BedrockInvocationLogging(
            stack, "L", bucket=s3.Bucket(stack, "B"), bucket_key=key, prefix="b/", logs_key=key
        )


def test_one_wildcard_acknowledged_with_evidence_for_a_same_stack_reference(
    tmp_path: Path,
) -> None:
    """``acknowledge_wildcard`` works on a same-stack GetAtt and acknowledges only what exists."""
    from aws_cdk import aws_s3 as s3

    from gates.nag import acknowledgements
    from secure_constructs.core.managed_policy_role import acknowledge_wildcard

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Test", env=ENV)
    bucket = s3.Bucket(stack, "Data", enforce_ssl=True)
    policy = iam.ManagedPolicy(
        stack,
        "Reader",
        statements=[
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[bucket.arn_for_objects("reports/*")]
            )
        ],
    )
    bucket_id = stack.resolve(stack.get_logical_id(bucket.node.default_child))  # type: ignore[arg-type]
    reason = "Report objects are named at run time; only the reports/ prefix is readable."
    acknowledge_wildcard(policy, f"Resource::<{bucket_id}.Arn>/reports/*", reason)
    acknowledge_wildcard(policy, f"Resource::<{bucket_id}.Arn>/other/*", reason)  # no such grant
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()  # the bucket itself has AwsSolutions findings (access logs): not our concern
    assert not [f for f in read_findings(tmp_path) if "IAM5" in f.rule]
    iam5 = [a.rule for a in acknowledgements(tmp_path) if "IAM5" in a.rule]
    assert iam5 == [f"AwsSolutions::AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/reports/*]"]
