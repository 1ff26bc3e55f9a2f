"""AWS Organizations management policies (AI opt-out, Bedrock, Security Hub, Inspector) as data.

Each builder returns an :class:`~.policy_document.OrganizationPolicy` for
``AWS::Organizations::Policy``: the document in the syntax AWS documents for its policy type,
and ``purposes`` naming each setting (dotted path from the document's top-level key) with the
reason it is there. Nothing here creates resources; attach the policies with
``organizations.CfnPolicy(content=policy.content, type=policy.policy_type, ...)`` after
``check_size(policy)``, and enable the policy type on the root first (``EnablePolicyType``).

Syntax and operators, from the AWS Organizations User Guide:

* management policies are JSON whose values are set with inheritance operators (``@@assign``,
  ``@@append``, ``@@remove``); ``"@@operators_allowed_for_child_policies": ["@@none"]`` in a
  parent "effectively locks" the value so that child policies (on OUs or accounts) cannot add,
  append or remove it, and a child cannot reverse a restriction it inherits
  (https://docs.aws.amazon.com/organizations/latest/userguide/policy-operators.html);
* each type's keys are documented on its own syntax page, cited on each builder.

Types the pinned cfn-lint schema accepts for ``AWS::Organizations::Policy`` but this module does
not build (GUARDDUTY_POLICY, S3_POLICY, ...) are not part of the platform yet. The Security Hub
CSPM policy (standards and controls) is a separate Organizations type,
``SECURITYHUB_CSPM_POLICY``, which the pinned schema does not accept: see
:func:`securityhub_policy`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk

from .names import ACCOUNT_ID, REGION
from .policy_document import (
    AISERVICES_OPT_OUT_POLICY,
    BEDROCK_POLICY,
    INSPECTOR_POLICY,
    SECURITYHUB_POLICY,
    OrganizationPolicy,
)

LOCKED: dict[str, list[str]] = {"@@operators_allowed_for_child_policies": ["@@none"]}
"""The child control operator that stops child policies from changing a value."""

APPEND_ONLY: dict[str, list[str]] = {"@@operators_allowed_for_child_policies": ["@@append"]}
"""Child policies may add values to the list, never assign over it or remove from it."""

ALL_SUPPORTED = "ALL_SUPPORTED"
"""Region designation of the Security Hub and Inspector policies: current and future Regions."""

_GUARDRAIL_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>[0-9]{12}):"
    r"guardrail/[a-z0-9]+$"
)
_GUARDRAIL_VERSION = re.compile(r"^[1-9][0-9]{0,7}$")
# Bedrock API ModelEnforcement (includedModels / excludedModels) patterns.
_MODEL_ID = re.compile(
    r"^([a-z0-9-]{1,63}[.][a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2}(/[a-z0-9]{12})?$"
)
_CONFIG_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

GUARDING_MODES = ("comprehensive", "selective")
"""Values of ``selective_content_guarding.system`` / ``.messages`` in a Bedrock policy."""

INSPECTOR_SCAN_TYPES: dict[str, str] = {
    "ec2": "ec2_scanning",
    "ecr": "ecr_scanning",
    "lambda": "lambda_standard_scanning",
    "lambda_code": "lambda_code_scanning",
    "code_repository": "code_repository_scanning",
}
"""Scan type name -> key under ``inspector.enablement`` (Amazon Inspector policy syntax)."""

DEFAULT_INSPECTOR_SCAN_TYPES = ("ec2", "ecr", "lambda", "lambda_code")
"""EC2, ECR and Lambda (standard and code). Code repository scanning needs a connected source
provider (GitHub, GitLab) first, so it is opt-in."""

_INSPECTOR_SCAN_PURPOSES = {
    "ec2": "EC2 instances are scanned for package vulnerabilities and network reachability",
    "ecr": "container images pushed to ECR are scanned for package vulnerabilities",
    "lambda": "Lambda functions and layers are scanned for package vulnerabilities",
    "lambda_code": "custom code of Lambda functions and layers is scanned for code "
    "vulnerabilities (requires Lambda standard scanning, under which the syntax nests it)",
    "code_repository": "connected source code repositories are scanned (Code Security)",
}


def _regions(regions: Sequence[str], what: str) -> list[str]:
    """``regions`` validated: non-empty, unique, Region names or ``ALL_SUPPORTED`` alone."""
    names = list(regions)
    if not names:
        raise ValueError(f"{what}: at least one Region (or {ALL_SUPPORTED!r})")
    duplicates = sorted({r for r in names if names.count(r) > 1})
    if duplicates:
        raise ValueError(f"{what}: duplicate Region(s) {duplicates}")
    if ALL_SUPPORTED in names and len(names) > 1:
        raise ValueError(f"{what}: {ALL_SUPPORTED!r} already includes every Region; pass it alone")
    bad = [r for r in names if r != ALL_SUPPORTED and not REGION.match(r)]
    if bad:
        raise ValueError(f"{what}: {bad} are not Region names such as 'us-east-1'")
    return names


def ai_opt_out_policy(
    name: str = "ai-services-opt-out",
    *,
    description: str = "Opt out of every AWS AI service using our content for service "
    "improvement; child policies cannot change it",
) -> OrganizationPolicy:
    """Opt the whole organization out of AI services storing or using its content.

    Guarantees (attached to the root):
      * ``services.default.opt_out_policy`` is ``optOut``: every AI service the policy type
        supports, including ones AWS adds later (``default`` "implicitly and automatically
        includes any AI services that might be added in the future");
      * child policies cannot override it: ``@@operators_allowed_for_child_policies: ["@@none"]``
        at the ``services``, ``default`` and ``opt_out_policy`` levels, so no OU or account policy
        can change the default nor add a per-service ``optIn`` (the per-service exemption the
        syntax page shows works only because its root policy leaves ``services`` open).

    Opting out makes the services delete the content they stored while opted in (the AI
    services opt-out policies page, "Considerations"). Values are case-sensitive as written.

    Syntax: "AI services opt-out policy syntax and examples",
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_ai-opt-out_syntax.html;
    operators: https://docs.aws.amazon.com/organizations/latest/userguide/policy-operators.html.
    Maximum size 2,500 characters (``MAX_CHARACTERS``).
    """
    content = {
        "services": {
            **LOCKED,
            "default": {
                **LOCKED,
                "opt_out_policy": {**LOCKED, "@@assign": "optOut"},
            },
        }
    }
    return OrganizationPolicy(
        name=name,
        policy_type=AISERVICES_OPT_OUT_POLICY,
        description=description,
        content=content,
        purposes=(
            (
                "services",
                "locked: child policies can add no per-service entry, so no account can opt "
                "one AI service back in",
            ),
            (
                "services.default.opt_out_policy",
                "optOut for every current and future AI service, locked against child "
                "policies: customer content (possibly PHI) is not stored or used by AWS to "
                "improve its AI services",
            ),
        ),
    )


def bedrock_policy(
    guardrail_arn: str,
    guardrail_version: str,
    *,
    region: str | None = None,
    management_account: str | None = None,
    name: str = "bedrock-enforced-guardrail",
    description: str = "Enforce the organization's Bedrock guardrail on every model inference "
    "call of the accounts below",
    system_prompts: str = "comprehensive",
    messages: str = "comprehensive",
    included_models: Sequence[str] = ("ALL",),
    excluded_models: Sequence[str] = (),
    config_name: str = "config_1",
    lock: bool = True,
) -> OrganizationPolicy:
    """Enforce one guardrail version on all Bedrock inference of the accounts it applies to.

    Guarantees:
      * ``bedrock.guardrail_inference.<region>.<config_name>.identifier`` is
        ``<guardrail_arn>:<guardrail_version>``: every model inference call to Bedrock in that
        Region, by any principal of an account under the attachment point, is evaluated by the
        guardrail (Organizations enforces it; the caller does not opt in);
      * ``selective_content_guarding``: ``system`` (system prompts) and ``messages`` (user and
        assistant messages) default to ``comprehensive``, every piece of content is evaluated;
        ``selective`` evaluates only content inside guardrail tags, so a caller would choose what
        is checked;
      * ``model_enforcement``: ``included_models`` default ``["ALL"]``, ``excluded_models``
        default none (the Bedrock API gives exclusion precedence when a model is in both);
      * ``lock`` (default on): ``@@operators_allowed_for_child_policies: ["@@none"]`` on the
        configuration, so an OU or account policy cannot change or remove it (children may
        still add another configuration, which can only add a guardrail).

    What the policy cannot do and the caller must provide (the syntax page's requirements):
    the guardrail must be owned by the management account (``management_account``, when given,
    is checked against the ARN), have a numbered version (not DRAFT), live in ``region`` (taken
    from the ARN when it is a literal; required when the ARN is a token) and have a
    resource-based policy letting the organization's principals call ``bedrock:ApplyGuardrail``
    on it. A malformed identifier makes every Bedrock call of the targets fail (best practices
    page), and guardrails with an automated reasoning policy are not supported. One Region per
    policy: build one per Region with that Region's guardrail.

    Syntax: "Amazon Bedrock policy syntax and examples",
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_bedrock_syntax.html
    (the current form, with ``selective_content_guarding`` and ``model_enforcement``; the
    earlier ``input_tags`` element went with the Bedrock API's ``inputTags``);
    best practices: .../orgs_manage_policies_bedrock_best_practices.html; value constraints from
    the Bedrock API (``SelectiveContentGuarding``, ``ModelEnforcement``). AWS documents no
    maximum size for this type in the quota page we read: ``check_size`` refuses it until one is
    recorded in ``MAX_CHARACTERS``.
    """
    literal_arn = not cdk.Token.is_unresolved(guardrail_arn)
    if literal_arn:
        match = _GUARDRAIL_ARN.match(guardrail_arn)
        if not match:
            raise ValueError(
                f"bedrock_policy guardrail_arn {guardrail_arn!r}: a guardrail ARN "
                "arn:aws:bedrock:<region>:<account>:guardrail/<id>, without a version"
            )
        if region is not None and region != match["region"]:
            raise ValueError(
                f"bedrock_policy: the guardrail is in {match['region']}, not {region}; the "
                "guardrail must be created and used in the Region the policy enforces"
            )
        region = match["region"]
        if management_account is not None and match["account"] != management_account:
            raise ValueError(
                f"bedrock_policy: the guardrail belongs to {match['account']}; AWS Organizations "
                f"accepts only a guardrail of the management account {management_account}"
            )
    if region is None:
        raise ValueError("bedrock_policy: region is required when guardrail_arn is a token")
    if not REGION.match(region):
        raise ValueError(f"bedrock_policy region {region!r}: a Region name such as 'us-east-1'")
    if management_account is not None and not ACCOUNT_ID.match(management_account):
        raise ValueError(f"bedrock_policy management_account {management_account!r}: 12 digits")
    if not cdk.Token.is_unresolved(guardrail_version) and not _GUARDRAIL_VERSION.match(
        guardrail_version
    ):
        raise ValueError(
            f"bedrock_policy guardrail_version {guardrail_version!r}: a published version number "
            "('1', '2', ...); DRAFT cannot be enforced"
        )
    for what, mode in (("system_prompts", system_prompts), ("messages", messages)):
        if mode not in GUARDING_MODES:
            raise ValueError(f"bedrock_policy {what}={mode!r}: one of {GUARDING_MODES}")
    included, excluded = list(included_models), list(excluded_models)
    if not included:
        raise ValueError("bedrock_policy included_models: at least one model ID, or ['ALL']")
    if "ALL" in included and len(included) > 1:
        raise ValueError("bedrock_policy included_models: 'ALL' already includes every model")
    bad = [m for m in [*included, *excluded] if m != "ALL" and not _MODEL_ID.match(m)]
    if "ALL" in excluded or bad:
        raise ValueError(
            f"bedrock_policy models {bad or ['ALL']}: Bedrock model IDs such as "
            "'amazon.titan-embed-text-v2:0' ('ALL' only in included_models)"
        )
    if not _CONFIG_NAME.match(config_name):
        raise ValueError(f"bedrock_policy config_name {config_name!r}: e.g. 'config_1'")

    configuration: dict[str, Any] = {
        **(LOCKED if lock else {}),
        "identifier": {"@@assign": f"{guardrail_arn}:{guardrail_version}"},
        "selective_content_guarding": {
            "system": {"@@assign": system_prompts},
            "messages": {"@@assign": messages},
        },
        "model_enforcement": {
            "included_models": {"@@assign": included},
            "excluded_models": {"@@assign": excluded},
        },
    }
    path = f"bedrock.guardrail_inference.{region}.{config_name}"
    excluded_text = f", except {', '.join(excluded)}" if excluded else ""
    return OrganizationPolicy(
        name=name,
        policy_type=BEDROCK_POLICY,
        description=description,
        content={"bedrock": {"guardrail_inference": {region: {config_name: configuration}}}},
        purposes=(
            (
                f"{path}.identifier",
                f"every Bedrock model inference call in {region} is evaluated by the "
                "organization's guardrail version, whatever the caller asks for"
                + ("; locked against child policies" if lock else ""),
            ),
            (
                f"{path}.selective_content_guarding",
                f"system prompts: {system_prompts}, messages: {messages} (comprehensive: all "
                "content is evaluated, callers cannot narrow it with guardrail tags)",
            ),
            (
                f"{path}.model_enforcement",
                f"models: {', '.join(included)}{excluded_text}",
            ),
        ),
    )


def securityhub_policy(
    regions: Sequence[str],
    *,
    name: str = "securityhub-enablement",
    description: str = "Enable Security Hub in every account below, in the governed Regions; "
    "child policies may add Regions, never disable one",
    lock: bool = True,
) -> OrganizationPolicy:
    """Enable Security Hub in ``regions`` for every account the policy applies to.

    Guarantees:
      * ``securityhub.enable_in_regions`` is ``regions`` (Region names, or ``ALL_SUPPORTED``
        alone for all current and future Regions); accounts joining the organization or moving
        under the attachment point are enabled too;
      * ``securityhub.disable_in_regions`` is empty (both lists are required; a Region in both
        is disabled, so the disable list is the one that must not grow);
      * ``lock`` (default on): child policies may only ``@@append`` Regions to the enable list
        and can use no operator on the disable list: no OU or account can switch Security Hub
        off in a Region this policy enables.

    The documented syntax manages enablement per Region (and an optional ``features`` map, not
    written here). Security standards and controls are not part of it: they belong to the
    Security Hub CSPM policy, a separate Organizations policy type (``SECURITYHUB_CSPM_POLICY``
    in the Organizations API) that the pinned CloudFormation schema does not accept for
    ``AWS::Organizations::Policy``; the security account's Security Hub configuration policies
    carry the standards instead. The Security Hub delegated administrator should exist before
    the policy is attached (``delegated_admin.DelegatedAdministration``).

    Syntax: "Security Hub policy syntax and examples",
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_security_hub_syntax.html;
    maximum size 10,000 characters (``MAX_CHARACTERS``).
    """
    names = _regions(regions, "securityhub_policy")
    content = {
        "securityhub": {
            "enable_in_regions": {"@@append": names, **(APPEND_ONLY if lock else {})},
            "disable_in_regions": {"@@append": [], **(LOCKED if lock else {})},
        }
    }
    return OrganizationPolicy(
        name=name,
        policy_type=SECURITYHUB_POLICY,
        description=description,
        content=content,
        purposes=(
            (
                "securityhub.enable_in_regions",
                f"Security Hub is enabled in {', '.join(names)} for every account below"
                + ("; children may only add Regions" if lock else ""),
            ),
            (
                "securityhub.disable_in_regions",
                "empty (required by the syntax)"
                + (
                    "; locked, so no child policy can disable Security Hub anywhere" if lock else ""
                ),
            ),
        ),
    )


def inspector_policy(
    regions: Sequence[str],
    *,
    scan_types: Sequence[str] = DEFAULT_INSPECTOR_SCAN_TYPES,
    name: str = "inspector-enablement",
    description: str = "Enable Amazon Inspector scanning in every account below, in the governed "
    "Regions; child policies may add Regions, never disable one",
    lock: bool = True,
) -> OrganizationPolicy:
    """Enable Amazon Inspector ``scan_types`` in ``regions`` for every account below.

    Guarantees, for each scan type (``ec2``, ``ecr``, ``lambda``, ``lambda_code``,
    ``code_repository``; default all but ``code_repository``):
      * ``inspector.enablement.<type>_scanning.enable_in_regions`` is ``regions`` and
        ``disable_in_regions`` is empty (both lists are required for every scan type listed);
        accounts joining the organization or moving under the attachment point are enabled and
        linked to the Inspector delegated administrator;
      * ``lambda_code_scanning`` is nested under ``lambda_standard_scanning``, as the syntax
        page's example writes it (code scanning requires standard scanning, so ``lambda_code``
        without ``lambda`` is refused);
      * ``lock`` (default on): child policies may only ``@@append`` Regions to an enable list
        and can use no operator on a disable list.

    Organization policies take precedence over the delegated administrator's own settings
    (Inspector user guide, "Designating a delegated administrator"): designate the delegated
    administrator first (``delegated_admin.DelegatedAdministration``).

    Syntax: "Amazon Inspector policy syntax and examples",
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_inspector_syntax.html.
    AWS documents no maximum size for this type in the quota page we read: ``check_size``
    refuses it until one is recorded in ``MAX_CHARACTERS``.
    """
    names = _regions(regions, "inspector_policy")
    kinds = list(scan_types)
    unknown = sorted(set(kinds) - set(INSPECTOR_SCAN_TYPES))
    if not kinds or unknown:
        raise ValueError(
            f"inspector_policy scan_types {unknown or kinds}: choose from "
            f"{list(INSPECTOR_SCAN_TYPES)}"
        )
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"inspector_policy scan_types {kinds}: each at most once")
    if "lambda_code" in kinds and "lambda" not in kinds:
        raise ValueError(
            "inspector_policy: 'lambda_code' needs 'lambda' (Lambda code scanning requires "
            "Lambda standard scanning)"
        )

    def regions_setting() -> dict[str, Any]:
        return {
            "enable_in_regions": {"@@assign": list(names), **(APPEND_ONLY if lock else {})},
            "disable_in_regions": {"@@assign": [], **(LOCKED if lock else {})},
        }

    enablement: dict[str, Any] = {}
    purposes: list[tuple[str, str]] = []
    for kind in (k for k in INSPECTOR_SCAN_TYPES if k in kinds):  # documented order
        key = INSPECTOR_SCAN_TYPES[kind]
        purpose = f"{_INSPECTOR_SCAN_PURPOSES[kind]}, in {', '.join(names)}"
        if kind == "lambda_code":
            enablement["lambda_standard_scanning"][key] = regions_setting()
            path = f"inspector.enablement.lambda_standard_scanning.{key}"
        else:
            enablement[key] = regions_setting()
            path = f"inspector.enablement.{key}"
        purposes.append((path, purpose))
    return OrganizationPolicy(
        name=name,
        policy_type=INSPECTOR_POLICY,
        description=description,
        content={"inspector": {"enablement": enablement}},
        purposes=tuple(purposes),
    )
