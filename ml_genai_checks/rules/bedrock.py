"""Rules: Amazon Bedrock guardrails, agents, knowledge-base data sources and flows.

The minimum content-filter input strength is a module setting: ``configure(min_input_strength=
"MEDIUM")`` before running the rules (default ``MIN_INPUT_STRENGTH``, ``HIGH``).
"""

from __future__ import annotations

from collections.abc import Mapping

from ml_genai_checks.model import (
    PASS,
    UNRESOLVED,
    Resource,
    Template,
    Verdict,
    fail,
    not_applicable,
    present,
    resolve,
    rule,
)
from ml_genai_checks.rules.iam_policies import references

STRENGTHS = ("NONE", "LOW", "MEDIUM", "HIGH")
MIN_INPUT_STRENGTH = "HIGH"
FILTER_TYPES = ("HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK")

_settings: dict[str, str] = {"min_input_strength": MIN_INPUT_STRENGTH}

ENCRYPTION = {"HIPAA": ["164.312(a)(2)(iv)"], "NIST": ["SC-28", "SC-12"], "PCI": ["3.4"]}
CONTENT = {
    "HIPAA": ["164.502(b)", "164.514"],
    "NIST": ["SI-10", "SI-15"],
    "PCI": ["6.5.1"],
}


def configure(*, min_input_strength: str = MIN_INPUT_STRENGTH) -> None:
    """Set the weakest ``InputStrength`` a content filter may have (NONE, LOW, MEDIUM, HIGH)."""
    if min_input_strength not in STRENGTHS:
        raise ValueError(f"min_input_strength {min_input_strength!r}: one of {STRENGTHS}")
    _settings["min_input_strength"] = min_input_strength


def _cmk(resource: Resource, *path: str) -> Verdict:
    """PASS when the key property at ``path`` is set (a reference counts), else FAIL."""
    if present(resource.prop(*path)):
        return PASS
    name = ".".join(path)
    return fail(f"{name} is not set: set {name} to a customer managed KMS key ARN")


@rule(
    "MLGenAI-BedrockGuardrailContentFilters",
    title="Guardrails filter all six harmful-content categories strongly on input",
    reason="A missing or weak filter lets hate, misconduct or prompt attacks reach the model.",
    fix="In ContentPolicyConfig.FiltersConfig add HATE, INSULTS, SEXUAL, VIOLENCE, MISCONDUCT and "
    "PROMPT_ATTACK, each with InputStrength at least the minimum (default HIGH).",
    seed_topic="Guardrails for Bedrock: filter harmful content; Prompt Misuses (injection, "
    "jailbreaking)",
    controls=CONTENT,
    resource_types=("AWS::Bedrock::Guardrail",),
)
def guardrail_content_filters(resource: Resource) -> Verdict:
    """Every filter type present, enabled on input, with InputStrength >= the minimum."""
    minimum = _settings["min_input_strength"]
    filters = resource.value("ContentPolicyConfig", "FiltersConfig")
    if filters is UNRESOLVED:
        return not_applicable("ContentPolicyConfig.FiltersConfig cannot be resolved")
    if not isinstance(filters, list) or not filters:
        return fail(
            "ContentPolicyConfig.FiltersConfig is not set: add the filters "
            f"{', '.join(FILTER_TYPES)} with InputStrength {minimum}"
        )
    seen: set[str] = set()
    weak: list[str] = []
    unknown = False
    for entry in filters:
        if not isinstance(entry, Mapping):
            unknown = True
            continue
        kind, strength = entry.get("Type"), entry.get("InputStrength")
        enabled = entry.get("InputEnabled", True)
        if not isinstance(kind, str):
            unknown = True
            continue
        seen.add(kind)
        if enabled is UNRESOLVED or not isinstance(strength, str):
            unknown = True
        elif str(enabled).lower() == "false":
            weak.append(f"{kind} (InputEnabled false)")
        elif strength not in STRENGTHS or STRENGTHS.index(strength) < STRENGTHS.index(minimum):
            weak.append(f"{kind} ({strength})")
    missing = [t for t in FILTER_TYPES if t not in seen]
    problems = []
    if missing and not unknown:
        problems.append(f"missing filters {', '.join(missing)}")
    if weak:
        problems.append(f"input strength below {minimum}: {', '.join(weak)}")
    if problems:
        return fail(
            "ContentPolicyConfig.FiltersConfig: "
            + "; ".join(problems)
            + f": add each type with InputStrength {minimum} and InputEnabled true"
        )
    if unknown:
        return not_applicable("a ContentPolicyConfig.FiltersConfig entry cannot be resolved")
    return PASS


@rule(
    "MLGenAI-BedrockGuardrailSensitiveInfo",
    title="Guardrails mask or block sensitive information (PII/PHI)",
    reason="Without a sensitive-information policy, prompts and answers can carry PII and PHI.",
    fix="Set SensitiveInformationPolicyConfig with PiiEntitiesConfig (e.g. NAME, EMAIL, "
    "US_SOCIAL_SECURITY_NUMBER: ANONYMIZE or BLOCK) and/or RegexesConfig (e.g. medical record "
    "numbers).",
    seed_topic="Guardrails for Bedrock: redact PII; Prompt Misuses: exposure, prompt leaking",
    controls={
        "HIPAA": ["164.502(b)", "164.514"],
        "NIST": ["SI-15", "SI-10"],
        "PCI": ["3.3"],
    },
    resource_types=("AWS::Bedrock::Guardrail",),
)
def guardrail_sensitive_info(resource: Resource) -> Verdict:
    """``SensitiveInformationPolicyConfig`` with PII entities or regexes."""
    config = resource.prop("SensitiveInformationPolicyConfig")
    if not present(config):
        return fail(
            "SensitiveInformationPolicyConfig is not set: add PiiEntitiesConfig and/or "
            "RegexesConfig to anonymize or block PII/PHI"
        )
    if isinstance(config, Mapping) and not any(
        present(config.get(k)) for k in ("PiiEntitiesConfig", "RegexesConfig")
    ):
        if any(str(k).startswith("Fn::") for k in config):
            return not_applicable("SensitiveInformationPolicyConfig cannot be resolved")
        return fail(
            "SensitiveInformationPolicyConfig has neither PiiEntitiesConfig nor RegexesConfig: "
            "add at least one"
        )
    return PASS


@rule(
    "MLGenAI-BedrockGuardrailPublishedVersion",
    title="Guardrails have a published version in the same template",
    reason="Without a version only the mutable DRAFT exists, which can change under running apps.",
    fix="Add an AWS::Bedrock::GuardrailVersion whose GuardrailIdentifier is a Ref or Fn::GetAtt "
    "of the guardrail, and use that version.",
    seed_topic="Guardrails for Bedrock; Governance: test and validation before deploying",
    controls={"HIPAA": ["164.312(c)(1)"], "NIST": ["CM-2", "CM-3"], "PCI": ["6.4.5"]},
    resource_types=("AWS::Bedrock::Guardrail", "AWS::Bedrock::GuardrailVersion"),
    scope="template",
)
def guardrail_published_version(template: Template) -> list[tuple[str, Verdict]]:
    """Each guardrail is the ``GuardrailIdentifier`` of some GuardrailVersion of the template."""
    versions = [
        v.prop("GuardrailIdentifier") for v in template.resources("AWS::Bedrock::GuardrailVersion")
    ]
    unknown = [
        v
        for v in versions
        if not isinstance(resolve(v, template), str)
        and not any(references(v, g.logical_id) for g in template.resources())
    ]
    results: list[tuple[str, Verdict]] = []
    for guardrail in template.resources("AWS::Bedrock::Guardrail"):
        if any(references(v, guardrail.logical_id) for v in versions):
            results.append((guardrail.logical_id, PASS))
        elif unknown:
            results.append(
                (
                    guardrail.logical_id,
                    not_applicable("a GuardrailVersion's GuardrailIdentifier cannot be resolved"),
                )
            )
        else:
            results.append(
                (
                    guardrail.logical_id,
                    fail(
                        "no published version: add an AWS::Bedrock::GuardrailVersion with "
                        'GuardrailIdentifier {"Fn::GetAtt": '
                        f'["{guardrail.logical_id}", "GuardrailId"]}}'
                    ),
                )
            )
    return results


@rule(
    "MLGenAI-BedrockAgentGuardrail",
    title="Bedrock agents use a published guardrail version",
    reason="An agent without a guardrail passes user input and model output unfiltered.",
    fix="Set GuardrailConfiguration with GuardrailIdentifier and a numbered GuardrailVersion "
    "(not DRAFT).",
    seed_topic="Guardrails for Bedrock: analyze user inputs; Agents",
    controls=CONTENT,
    resource_types=("AWS::Bedrock::Agent",),
)
def agent_guardrail(resource: Resource) -> Verdict:
    """``GuardrailConfiguration.GuardrailIdentifier`` set, version not ``DRAFT``."""
    config = resource.prop("GuardrailConfiguration")
    if isinstance(config, Mapping) and any(str(k).startswith("Fn::") for k in config):
        return not_applicable("GuardrailConfiguration cannot be resolved")
    if not present(resource.prop("GuardrailConfiguration", "GuardrailIdentifier")):
        return fail(
            "GuardrailConfiguration.GuardrailIdentifier is not set: set GuardrailConfiguration "
            "with GuardrailIdentifier and a numbered GuardrailVersion"
        )
    version = resource.value("GuardrailConfiguration", "GuardrailVersion")
    if isinstance(version, str) and version.upper() == "DRAFT":
        return fail(
            "GuardrailConfiguration.GuardrailVersion is DRAFT (mutable): use a published version "
            "(Fn::GetAtt of an AWS::Bedrock::GuardrailVersion's Version)"
        )
    return PASS


@rule(
    "MLGenAI-BedrockAgentCmk",
    title="Bedrock agents are encrypted with a customer managed KMS key",
    reason="Agent instructions, prompts and action schemas may hold PHI; a CMK keeps key control "
    "and audit with you.",
    fix="Set CustomerEncryptionKeyArn to a customer managed KMS key ARN.",
    seed_topic="Encrypted S3 Bucket: Bedrock needs the KMS key with decrypt permission",
    controls=ENCRYPTION,
    resource_types=("AWS::Bedrock::Agent",),
)
def agent_cmk(resource: Resource) -> Verdict:
    """``CustomerEncryptionKeyArn`` set."""
    return _cmk(resource, "CustomerEncryptionKeyArn")


@rule(
    "MLGenAI-BedrockDataSourceCmk",
    title="Knowledge-base data sources encrypt transient data with a customer managed KMS key",
    reason="Ingested documents (possibly PHI) are processed and stored transiently during "
    "ingestion.",
    fix="Set ServerSideEncryptionConfiguration.KmsKeyArn to a customer managed KMS key ARN.",
    seed_topic="Encrypted S3 Bucket: Bedrock needs the KMS key with decrypt permission",
    controls=ENCRYPTION,
    resource_types=("AWS::Bedrock::DataSource",),
)
def data_source_cmk(resource: Resource) -> Verdict:
    """``ServerSideEncryptionConfiguration.KmsKeyArn`` set."""
    return _cmk(resource, "ServerSideEncryptionConfiguration", "KmsKeyArn")


@rule(
    "MLGenAI-BedrockFlowCmk",
    title="Bedrock flows are encrypted with a customer managed KMS key",
    reason="Flow definitions and their prompts may hold sensitive data; a CMK keeps key control "
    "with you.",
    fix="Set CustomerEncryptionKeyArn to a customer managed KMS key ARN.",
    seed_topic="Encrypted S3 Bucket: Bedrock needs the KMS key with decrypt permission",
    controls=ENCRYPTION,
    resource_types=("AWS::Bedrock::Flow",),
)
def flow_cmk(resource: Resource) -> Verdict:
    """``CustomerEncryptionKeyArn`` set."""
    return _cmk(resource, "CustomerEncryptionKeyArn")
