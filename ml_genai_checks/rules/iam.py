"""Rules: IAM permission policies for Bedrock and SageMaker (template scope).

Every permission document of a template is read: ``AWS::IAM::Policy`` / ``ManagedPolicy`` /
``RolePolicy`` / ``UserPolicy`` / ``GroupPolicy`` (``PolicyDocument``) and the inline
``Policies[].PolicyDocument`` of ``AWS::IAM::Role`` / ``User`` / ``Group``. Each rule gives one
verdict per such resource: FAIL naming every offending statement (Sid, else index), else
NOT_APPLICABLE when a value it needs cannot be resolved or no statement concerns it, else PASS.
Deny statements never fail a rule; some rules credit them (see each rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase

from ml_genai_checks.model import PASS, Template, Verdict, fail, not_applicable, rule
from ml_genai_checks.rules.iam_policies import (
    INVOKE_ACTIONS,
    POLICY_TYPES,
    Statement,
    allows_invocation,
    collapse,
    covered_by_deny,
    policy_documents,
    requires_key,
    resource_text,
    statements_of,
)

LEAST_PRIVILEGE = {"HIPAA": ["164.308(a)(4)"], "NIST": ["AC-6"], "PCI": ["7.1.2"]}
GUARDRAIL_KEY = "bedrock:GuardrailIdentifier"
SUBNETS, GROUPS = "sagemaker:VpcSubnets", "sagemaker:VpcSecurityGroupIds"
ISOLATION = "sagemaker:NetworkIsolation"
VOLUME_KEY, OUTPUT_KEY = "sagemaker:VolumeKmsKey", "sagemaker:OutputKmsKey"

_JOB = (SUBNETS, GROUPS, ISOLATION, VOLUME_KEY, OUTPUT_KEY)
SAGEMAKER_REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "sagemaker:CreateTrainingJob": _JOB,
    "sagemaker:CreateProcessingJob": _JOB,
    "sagemaker:CreateHyperParameterTuningJob": _JOB,
    "sagemaker:CreateAutoMLJob": (SUBNETS, GROUPS, VOLUME_KEY, OUTPUT_KEY),
    "sagemaker:CreateAutoMLJobV2": (SUBNETS, GROUPS, VOLUME_KEY, OUTPUT_KEY),
    "sagemaker:CreateTransformJob": (VOLUME_KEY, OUTPUT_KEY),
    "sagemaker:CreateModel": (SUBNETS, GROUPS, ISOLATION),
    "sagemaker:CreateDomain": (SUBNETS, GROUPS, VOLUME_KEY),
    "sagemaker:CreateNotebookInstance": (SUBNETS, GROUPS, VOLUME_KEY),
}
"""Per job-creating action, the VPC / network-isolation / KMS condition keys it supports (Service
Authorization Reference; e.g. CreateTransformJob has only the KMS keys, CreateModel no KMS key)."""

Outcome = tuple[str, str]
"""``("fail" | "unknown" | "pass", message)``."""
StatementCheck = Callable[[Statement, Sequence[Statement]], Outcome | None]


def _per_resource(
    template: Template, check: StatementCheck, irrelevant: str
) -> list[tuple[str, Verdict]]:
    """Run ``check`` on every statement; one verdict per policy-holding resource."""
    results: list[tuple[str, Verdict]] = []
    for resource in template.resources(*POLICY_TYPES):
        fails: list[str] = []
        unknown: list[str] = []
        relevant = False
        for where, document in policy_documents(resource):
            statements = statements_of(resource, where, document)
            if statements is None:
                unknown.append(f"{where} cannot be resolved")
                continue
            for statement in statements:
                outcome = check(statement, statements)
                if outcome is None:
                    continue
                relevant = True
                kind, message = outcome
                (fails if kind == "fail" else unknown if kind == "unknown" else []).append(message)
        if fails:
            results.append((resource.logical_id, fail("; ".join(fails))))
        elif unknown:
            results.append((resource.logical_id, not_applicable("; ".join(unknown))))
        else:
            results.append((resource.logical_id, PASS if relevant else not_applicable(irrelevant)))
    return results


def _unknown_effect_or_actions(statement: Statement) -> Outcome:
    return "unknown", f"{statement.label}: Effect or Action cannot be resolved"


# --------------------------------------------------------------------------- (a) wildcards


def _service_wide(pattern: str) -> bool:
    pattern = collapse(pattern)
    if ":" not in pattern:
        return pattern == "*"
    service, _, action = pattern.partition(":")
    return action == "*" and any(fnmatchcase(s, service) for s in ("bedrock", "sagemaker"))


def _check_wildcards(statement: Statement, _: Sequence[Statement]) -> Outcome | None:
    effect, found = statement.effect, statement.actions()
    if effect == "Deny":
        return "pass", ""
    if effect is None or found is None:
        return _unknown_effect_or_actions(statement)
    negated, patterns = found
    if negated:
        return "fail", (
            f"{statement.label}: Allow with NotAction grants every action not listed, all of "
            "Bedrock and SageMaker included; list the actions needed in Action"
        )
    broad = [p for p in patterns if _service_wide(p)]
    if broad:
        return "fail", (
            f"{statement.label}: Action {', '.join(broad)} allows every Bedrock/SageMaker "
            "action; list the actions needed (e.g. bedrock:InvokeModel) in Action"
        )
    return "pass", ""


@rule(
    "MLGenAI-IAMNoServiceWildcard",
    title="IAM policies do not allow every Bedrock or SageMaker action",
    reason="bedrock:*, sagemaker:*, * or NotAction hand out model, data and job control at once.",
    fix="Replace the wildcard (or NotAction) in the statement's Action with the actions needed.",
    seed_topic="IAM Permissions: least privilege principle; IAM with Bedrock",
    controls=LEAST_PRIVILEGE,
    resource_types=POLICY_TYPES,
    scope="template",
)
def iam_no_service_wildcard(template: Template) -> list[tuple[str, Verdict]]:
    """(a) No Allow of ``bedrock:*``, ``sagemaker:*``, ``*`` (or a NotAction Allow)."""
    return _per_resource(template, _check_wildcards, "no permission policy")


# --------------------------------------------------------------------------- (b) invocation


def _any_model(text: str) -> bool:
    text = collapse(text)
    return text == "*" or text.endswith(("/*", ":*"))


EMBEDDING_MODEL_PREFIXES = ("amazon.titan-embed-", "cohere.embed-")
"""Embedding model families: Bedrock applies no guardrail to them (a guardrail on an embedding
call is refused), so an invocation grant naming only these models needs no guardrail key. The
organization's SCP excepts the same families."""


def _embedding_models_only(statement: Statement) -> bool:
    """Whether every resource of ``statement`` is a named embedding foundation model."""
    negated, entries = statement.resources()
    if negated or not entries:
        return False
    for raw in entries:
        text = resource_text(raw, statement.resource.template)
        known = text.full if text.full is not None else text.tail
        if known is None or "*" in known or ":foundation-model/" not in known:
            return False
        if not known.split(":foundation-model/", 1)[1].startswith(EMBEDDING_MODEL_PREFIXES):
            return False
    return True


def _broad_resources(
    statement: Statement,
    too_broad: Callable[[str, bool], bool],
    negated_problem: str,
    broad_problem: str,
) -> tuple[list[str], list[str]]:
    """Problems with the statement's resources, and those that cannot be resolved.

    ``too_broad(text, whole)`` judges a resolved resource (``whole``: the full ARN is known, not
    only its literal tail); references to resources of the template count as named.
    """
    problems: list[str] = []
    unknown: list[str] = []
    negated, entries = statement.resources()
    if negated:
        problems.append(negated_problem)
    for raw in [] if negated else entries:
        text = resource_text(raw, statement.resource.template)
        known = text.full if text.full is not None else text.tail
        if known is not None and too_broad(known, text.full is not None):
            problems.append(f"Resource {text.full or '...' + known!r} {broad_problem}")
        elif known is None and not text.reference:
            unknown.append(f"{statement.label}: Resource {raw!r} cannot be resolved")
    return problems, unknown


def _check_invocation(statement: Statement, document: Sequence[Statement]) -> Outcome | None:
    allowed = allows_invocation(statement)
    if allowed is None:
        return _unknown_effect_or_actions(statement)
    if not allowed:
        return None
    problems, unknown = _broad_resources(
        statement,
        lambda known, _full: _any_model(known),
        "NotResource allows every model not listed; list ARNs in Resource",
        "allows every model; list the model or inference-profile ARNs",
    )
    conditions = statement.conditions()
    if conditions is None:
        return "unknown", f"{statement.label}: Condition cannot be resolved"
    status = requires_key(conditions, GUARDRAIL_KEY)
    actions = [a for a in INVOKE_ACTIONS if statement.covers(a)]
    if status != "ok" and _embedding_models_only(statement):
        status = "ok"  # guardrails do not apply to embedding models
    if status != "ok" and not all(
        covered_by_deny(document, statement, a, GUARDRAIL_KEY) for a in actions
    ):
        problems.append(
            (
                "ForAllValues: passes when bedrock:GuardrailIdentifier is absent; "
                if status == "forall-without-null"
                else "no bedrock:GuardrailIdentifier condition; "
            )
            + "add Condition StringEquals {bedrock:GuardrailIdentifier: <guardrail ARN>:<version>}"
            " or, in the same document, a Deny of these actions with StringNotEquals on it"
        )
    if problems:
        return "fail", f"{statement.label} allows {', '.join(actions)}: " + "; ".join(problems)
    return ("unknown", "; ".join(unknown)) if unknown else ("pass", "")


@rule(
    "MLGenAI-IAMBedrockInvokeScoped",
    title="Bedrock model invocation is allowed on listed models and only through a guardrail",
    reason="InvokeModel/Converse on every model without a guardrail bypasses content and PHI "
    "filters.",
    fix="List model or inference-profile ARNs in Resource and add Condition StringEquals "
    "bedrock:GuardrailIdentifier (or a Deny with StringNotEquals on it in the same document).",
    seed_topic="IAM with Bedrock; Guardrails for Bedrock",
    controls={
        "HIPAA": ["164.308(a)(4)", "164.502(b)"],
        "NIST": ["AC-6", "SI-10", "SI-15"],
        "PCI": ["7.1.2"],
    },
    resource_types=POLICY_TYPES,
    scope="template",
)
def iam_bedrock_invoke_scoped(template: Template) -> list[tuple[str, Verdict]]:
    """(b) ``bedrock:InvokeModel*`` on listed resources with a guardrail condition."""
    return _per_resource(template, _check_invocation, "no statement allows bedrock:InvokeModel*")


# --------------------------------------------------------------------------- (c) SageMaker jobs


def _check_sagemaker(statement: Statement, document: Sequence[Statement]) -> Outcome | None:
    if statement.effect == "Deny":
        return None
    hits = {a: statement.covers(a) for a in SAGEMAKER_REQUIRED_KEYS}
    if statement.effect is None or None in hits.values():
        return _unknown_effect_or_actions(statement)
    actions = [a for a, hit in hits.items() if hit]
    if not actions:
        return None
    conditions = statement.conditions()
    if conditions is None:
        return "unknown", f"{statement.label}: Condition cannot be resolved"
    problems: list[str] = []
    for action in actions:
        missing: list[str] = []
        for key in SAGEMAKER_REQUIRED_KEYS[action]:
            boolean = key == ISOLATION
            status = requires_key(conditions, key, boolean_true=boolean)
            if status == "ok" or covered_by_deny(
                document, statement, action, key, boolean_true=boolean
            ):
                continue
            missing.append(
                f"{key} (ForAllValues: without Null {{{key}: false}})"
                if status == "forall-without-null"
                else f"{key} (Bool true)"
                if boolean
                else key
            )
        if missing:
            problems.append(f"{action} without {', '.join(missing)}")
    if problems:
        return "fail", (
            f"{statement.label} allows " + "; ".join(problems) + ": add these keys to its "
            "Condition (StringEquals / ForAllValues:StringEquals with Null false, Bool true)"
        )
    return "pass", ""


@rule(
    "MLGenAI-IAMSageMakerJobConditions",
    title="SageMaker job creation requires VPC, network isolation and KMS condition keys",
    reason="Without the keys a caller can start jobs, models or notebooks outside the VPC, with "
    "internet access or unencrypted volumes and outputs.",
    fix="Add to the statement's Condition the keys the action supports: sagemaker:VpcSubnets and "
    "sagemaker:VpcSecurityGroupIds (ForAllValues:StringEquals plus Null false), Bool "
    "sagemaker:NetworkIsolation true, StringEquals sagemaker:VolumeKmsKey/OutputKmsKey.",
    seed_topic="SageMaker in VPC; SageMaker Network Isolation mode; Encrypted S3 Bucket / KMS key",
    controls={
        "HIPAA": ["164.308(a)(4)", "164.312(e)(1)", "164.312(a)(2)(iv)"],
        "NIST": ["AC-6", "SC-7", "SC-28"],
        "PCI": ["7.1.2", "1.3", "3.4"],
    },
    resource_types=POLICY_TYPES,
    scope="template",
)
def iam_sagemaker_job_conditions(template: Template) -> list[tuple[str, Verdict]]:
    """(c) Job-creating SageMaker actions only with the condition keys they support."""
    return _per_resource(template, _check_sagemaker, "no statement allows a SageMaker job action")


# --------------------------------------------------------------------------- (d) PassRole


def _any_role(text: str, whole: bool) -> bool:
    text = collapse(text)
    if ":role/" in text:
        name = text.split(":role/", 1)[1]
    elif whole and text.startswith("arn:") and text.count(":") >= 5:
        name = text.split(":", 5)[5]
    else:
        name = text
    return "*" in name or "?" in name


def _check_pass_role(statement: Statement, document: Sequence[Statement]) -> Outcome | None:
    if statement.effect == "Deny":
        return None
    allowed = statement.covers("iam:PassRole")
    if statement.effect is None or allowed is None:
        return _unknown_effect_or_actions(statement)
    if not allowed:
        return None
    problems, unknown = _broad_resources(
        statement,
        _any_role,
        "NotResource passes every role not listed; name the roles in Resource",
        'matches any role name; name the roles (e.g. {"Fn::GetAtt": [<role>, "Arn"]})',
    )
    conditions = statement.conditions()
    if conditions is None:
        return "unknown", f"{statement.label}: Condition cannot be resolved"
    key = "iam:PassedToService"
    if requires_key(conditions, key, pinned=True) != "ok" and not covered_by_deny(
        document, statement, "iam:PassRole", key, pinned=True
    ):
        problems.append(
            "no iam:PassedToService condition; add Condition StringEquals "
            "{iam:PassedToService: <service>.amazonaws.com}"
        )
    if problems:
        return "fail", f"{statement.label} allows iam:PassRole: " + "; ".join(problems)
    return ("unknown", "; ".join(unknown)) if unknown else ("pass", "")


@rule(
    "MLGenAI-IAMPassRoleScoped",
    title="iam:PassRole names its roles and the service they are passed to",
    reason="PassRole on any role lets a caller hand a job or model a more privileged role.",
    fix="Name the roles in Resource (no * in the role name) and add Condition StringEquals "
    "iam:PassedToService (e.g. sagemaker.amazonaws.com).",
    seed_topic="IAM Roles: assign permissions to AWS services; least privilege principle",
    controls=LEAST_PRIVILEGE,
    resource_types=POLICY_TYPES,
    scope="template",
)
def iam_pass_role_scoped(template: Template) -> list[tuple[str, Verdict]]:
    """(d) ``iam:PassRole`` only on named roles and with ``iam:PassedToService``."""
    return _per_resource(template, _check_pass_role, "no statement allows iam:PassRole")
