"""Bedrock rules: guardrails, agents, data sources, flows."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from ml_genai_checks.model import REGISTRY, Outcome
from ml_genai_checks.rules import bedrock
from ml_genai_checks.testing import outcomes, run_rule, template

KEY = {"Fn::GetAtt": ["Key", "Arn"]}
TYPES = ("HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK")


def guardrail(**overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "Name": "g",
        "BlockedInputMessaging": "no",
        "BlockedOutputsMessaging": "no",
        "ContentPolicyConfig": {
            "FiltersConfig": [
                {"Type": t, "InputStrength": "HIGH", "OutputStrength": "HIGH"} for t in TYPES
            ]
        },
        "SensitiveInformationPolicyConfig": {
            "PiiEntitiesConfig": [{"Type": "US_SOCIAL_SECURITY_NUMBER", "Action": "BLOCK"}]
        },
    }
    props.update(overrides)
    return {"Type": "AWS::Bedrock::Guardrail", "Properties": props}


def version(identifier: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Bedrock::GuardrailVersion",
        "Properties": {"GuardrailIdentifier": identifier},
    }


def one(rule_id: str, resources: dict[str, Any], **kwargs: Any) -> tuple[Outcome, str]:
    results = run_rule(rule_id, template(resources, **kwargs))
    assert len(results) == 1, results
    return results[0][1].outcome, results[0][1].message


@pytest.fixture
def min_strength() -> Iterator[None]:
    yield
    bedrock.configure()


# --------------------------------------------------------------------------- content filters

FILTERS = "MLGenAI-BedrockGuardrailContentFilters"


def test_content_filters_all_high_pass() -> None:
    assert one(FILTERS, {"G": guardrail()})[0] is Outcome.PASS


def test_content_filters_missing_type_and_weak_strength_fail() -> None:
    g = guardrail()
    filters = g["Properties"]["ContentPolicyConfig"]["FiltersConfig"]
    g["Properties"]["ContentPolicyConfig"]["FiltersConfig"] = [
        f for f in filters if f["Type"] != "PROMPT_ATTACK"
    ]
    g["Properties"]["ContentPolicyConfig"]["FiltersConfig"][0]["InputStrength"] = "LOW"
    outcome, message = one(FILTERS, {"G": g})
    assert outcome is Outcome.FAIL
    assert "missing filters PROMPT_ATTACK" in message and "HATE (LOW)" in message
    assert "InputStrength HIGH" in message


def test_content_filters_absent_fail() -> None:
    g = guardrail()
    del g["Properties"]["ContentPolicyConfig"]
    outcome, message = one(FILTERS, {"G": g})
    assert outcome is Outcome.FAIL and "ContentPolicyConfig.FiltersConfig is not set" in message


def test_content_filters_input_disabled_fail() -> None:
    g = guardrail()
    g["Properties"]["ContentPolicyConfig"]["FiltersConfig"][2]["InputEnabled"] = False
    outcome, message = one(FILTERS, {"G": g})
    assert outcome is Outcome.FAIL and "SEXUAL (InputEnabled false)" in message


def test_content_filters_unresolvable_strength_not_applicable() -> None:
    g = guardrail()
    g["Properties"]["ContentPolicyConfig"]["FiltersConfig"][0]["InputStrength"] = {
        "Ref": "Strength"
    }
    assert one(FILTERS, {"G": g})[0] is Outcome.NOT_APPLICABLE


def test_content_filters_parameter_with_one_allowed_value_resolves() -> None:
    g = guardrail()
    g["Properties"]["ContentPolicyConfig"]["FiltersConfig"][0]["InputStrength"] = {
        "Ref": "Strength"
    }
    extra = {"Parameters": {"Strength": {"Type": "String", "AllowedValues": ["MEDIUM"]}}}
    outcome, message = one(FILTERS, {"G": g}, extra=extra)
    assert outcome is Outcome.FAIL and "HATE (MEDIUM)" in message


def test_content_filters_minimum_is_configurable(min_strength: None) -> None:
    g = guardrail()
    for f in g["Properties"]["ContentPolicyConfig"]["FiltersConfig"]:
        f["InputStrength"] = "MEDIUM"
    assert one(FILTERS, {"G": g})[0] is Outcome.FAIL
    bedrock.configure(min_input_strength="MEDIUM")
    assert one(FILTERS, {"G": g})[0] is Outcome.PASS
    with pytest.raises(ValueError):
        bedrock.configure(min_input_strength="EXTREME")


# --------------------------------------------------------------------------- sensitive info

SENSITIVE = "MLGenAI-BedrockGuardrailSensitiveInfo"


def test_sensitive_info_present_pass() -> None:
    assert one(SENSITIVE, {"G": guardrail()})[0] is Outcome.PASS


def test_sensitive_info_absent_fail() -> None:
    g = guardrail()
    del g["Properties"]["SensitiveInformationPolicyConfig"]
    outcome, message = one(SENSITIVE, {"G": g})
    assert outcome is Outcome.FAIL and "SensitiveInformationPolicyConfig" in message


def test_sensitive_info_empty_lists_fail() -> None:
    g = guardrail(SensitiveInformationPolicyConfig={"PiiEntitiesConfig": []})
    outcome, message = one(SENSITIVE, {"G": g})
    assert outcome is Outcome.FAIL and "neither PiiEntitiesConfig nor RegexesConfig" in message


def test_sensitive_info_conditional_not_applicable() -> None:
    g = guardrail(SensitiveInformationPolicyConfig={"Fn::If": ["C", {}, {}]})
    assert one(SENSITIVE, {"G": g})[0] is Outcome.NOT_APPLICABLE


# --------------------------------------------------------------------------- published version

VERSION = "MLGenAI-BedrockGuardrailPublishedVersion"


@pytest.mark.parametrize(
    "identifier",
    [
        {"Ref": "G"},
        {"Fn::GetAtt": ["G", "GuardrailId"]},
        {"Fn::GetAtt": "G.GuardrailArn"},
        {"Fn::Sub": "${G.GuardrailId}"},
    ],
)
def test_version_referencing_guardrail_pass(identifier: Any) -> None:
    results = run_rule(VERSION, template({"G": guardrail(), "V": version(identifier)}))
    assert outcomes(results) == {"G": Outcome.PASS}


def test_no_version_fail() -> None:
    results = run_rule(
        VERSION,
        template(
            {"G": guardrail(), "H": guardrail(), "V": version({"Fn::GetAtt": ["H", "GuardrailId"]})}
        ),
    )
    assert outcomes(results) == {"G": Outcome.FAIL, "H": Outcome.PASS}
    assert "no published version" in dict(results)["G"].message


def test_version_of_unresolvable_guardrail_not_applicable() -> None:
    results = run_rule(
        VERSION, template({"G": guardrail(), "V": version({"Fn::ImportValue": "other"})})
    )
    assert outcomes(results) == {"G": Outcome.NOT_APPLICABLE}


# --------------------------------------------------------------------------- agents

AGENT_GUARDRAIL = "MLGenAI-BedrockAgentGuardrail"
AGENT_CMK = "MLGenAI-BedrockAgentCmk"


def agent(**props: Any) -> dict[str, Any]:
    return {"Type": "AWS::Bedrock::Agent", "Properties": {"AgentName": "a", **props}}


GUARDRAIL_CONFIG = {
    "GuardrailIdentifier": {"Fn::GetAtt": ["G", "GuardrailId"]},
    "GuardrailVersion": {"Fn::GetAtt": ["V", "Version"]},
}


def test_agent_guardrail_pass() -> None:
    assert one(AGENT_GUARDRAIL, {"A": agent(GuardrailConfiguration=GUARDRAIL_CONFIG)})[0] is (
        Outcome.PASS
    )


def test_agent_without_guardrail_fail() -> None:
    outcome, message = one(AGENT_GUARDRAIL, {"A": agent()})
    assert outcome is Outcome.FAIL and "GuardrailConfiguration" in message


def test_agent_draft_guardrail_fail() -> None:
    config = {**GUARDRAIL_CONFIG, "GuardrailVersion": "DRAFT"}
    outcome, message = one(AGENT_GUARDRAIL, {"A": agent(GuardrailConfiguration=config)})
    assert outcome is Outcome.FAIL and "DRAFT" in message


def test_agent_conditional_guardrail_not_applicable() -> None:
    config = {"Fn::If": ["C", GUARDRAIL_CONFIG, {"Ref": "AWS::NoValue"}]}
    assert one(AGENT_GUARDRAIL, {"A": agent(GuardrailConfiguration=config)})[0] is (
        Outcome.NOT_APPLICABLE
    )


def test_agent_cmk_reference_counts_as_present() -> None:
    assert one(AGENT_CMK, {"A": agent(CustomerEncryptionKeyArn=KEY)})[0] is Outcome.PASS


def test_agent_without_cmk_fail() -> None:
    outcome, message = one(AGENT_CMK, {"A": agent()})
    assert outcome is Outcome.FAIL and "CustomerEncryptionKeyArn" in message


# --------------------------------------------------------------------------- data source, flow

DATA_SOURCE = "MLGenAI-BedrockDataSourceCmk"
FLOW = "MLGenAI-BedrockFlowCmk"


def data_source(**props: Any) -> dict[str, Any]:
    return {"Type": "AWS::Bedrock::DataSource", "Properties": {"Name": "d", **props}}


def test_data_source_cmk_pass() -> None:
    ds = data_source(ServerSideEncryptionConfiguration={"KmsKeyArn": KEY})
    assert one(DATA_SOURCE, {"D": ds})[0] is Outcome.PASS


@pytest.mark.parametrize("props", [{}, {"ServerSideEncryptionConfiguration": {}}])
def test_data_source_without_cmk_fail(props: dict[str, Any]) -> None:
    outcome, message = one(DATA_SOURCE, {"D": data_source(**props)})
    assert outcome is Outcome.FAIL
    assert "ServerSideEncryptionConfiguration.KmsKeyArn" in message


def test_flow_cmk_pass_and_fail() -> None:
    flow = {"Type": "AWS::Bedrock::Flow", "Properties": {"Name": "f"}}
    with_key = copy.deepcopy(flow)
    with_key["Properties"]["CustomerEncryptionKeyArn"] = "arn:aws:kms:us-east-1:1:key/k"
    results = run_rule(FLOW, template({"Plain": flow, "Keyed": with_key}))
    assert outcomes(results) == {"Plain": Outcome.FAIL, "Keyed": Outcome.PASS}
    assert "CustomerEncryptionKeyArn" in dict(results)["Plain"].message


# --------------------------------------------------------------------------- metadata

BEDROCK_RULES = [r for r in REGISTRY.values() if r.check.__module__ == bedrock.__name__]


def test_bedrock_rules_registered() -> None:
    assert {r.rule_id for r in BEDROCK_RULES} == {
        FILTERS,
        SENSITIVE,
        VERSION,
        AGENT_GUARDRAIL,
        AGENT_CMK,
        DATA_SOURCE,
        FLOW,
    }
