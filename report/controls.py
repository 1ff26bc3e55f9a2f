"""The control matrix: per framework and control, the resources and the rules that verify them.

Three kinds of rule verify a control here:

- **cdk-nag** compliance packs (HIPAA Security, NIST 800-53 r5, PCI DSS 3.2.1), with the control
  IDs cdk-nag itself maps each rule to (``report.nag_controls``). They run inside synthesis and
  fail it on any unacknowledged finding, so every resource a rule inspects either passed or
  carries an acknowledgement with its reason.
- **ml_genai_checks**, this project's rule pack, with each rule's own ``controls``; run here
  over the assembly as the gate runs it (pass, fail, acknowledged fail, not applicable).
- **AWS Config** rules the templates deploy: managed rules take the controls of the cdk-nag rule
  that checks the same thing (same name, or ``CONFIG_EQUIVALENTS``); they evaluate in the
  account after deployment, so their status is "deployed", never "passes". Rules with no such
  equivalent are listed with no control claimed.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_genai_checks.engine import Finding, run
from ml_genai_checks.loader import LoadError, load
from ml_genai_checks.model import REGISTRY, Outcome
from report import ReportError
from report.evidence import TOOLING, Environment, Resource
from report.nag_controls import FRAMEWORKS, NagRule, nag_rules

FRAMEWORK_TITLES: Mapping[str, str] = {
    "HIPAA": "HIPAA (45 CFR Part 164: Security Rule safeguards 164.308-316, and the Privacy "
    "Rule's 164.502/514 where the rule pack maps them)",
    "NIST": "NIST SP 800-53 Rev. 5",
    "PCI": "PCI DSS 3.2.1",
}

CONFIG_EQUIVALENTS: Mapping[str, str] = {
    # AWS Config managed rule -> the cdk-nag rule that checks the same property in the template
    # (the names differ only in spelling; the others match by name, see ``_config_equivalent``).
    "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED": "S3DefaultEncryptionKMS",
    "INCOMING_SSH_DISABLED": "EC2RestrictedSSH",
    "RESTRICTED_INCOMING_TRAFFIC": "EC2RestrictedCommonPorts",
    "CMK_BACKING_KEY_ROTATION_ENABLED": "KMSBackingKeyRotationEnabled",
    "IAM_USER_NO_POLICIES_CHECK": "IAMUserNoPolicies",
    "LAMBDA_CONCURRENCY_CHECK": "LambdaConcurrency",
    "LAMBDA_DLQ_CHECK": "LambdaDLQ",
}

KIND_ORDER = ("cdk-nag", "ml_genai_checks", "AWS Config")
PASSES = "passes"
ACKNOWLEDGED = "acknowledged"
FAILS = "FAILS"
DEPLOYED = "deployed"


@dataclass(frozen=True)
class Verification:
    """One rule's verdict on the resources it checked for one control."""

    kind: str
    """``cdk-nag``, ``ml_genai_checks`` or ``AWS Config``."""
    rule_id: str
    description: str
    checked: tuple[str, ...]
    """Resource keys (``<stack>/<logical ID>``) the rule decided on."""
    acknowledged: Mapping[str, str]
    """Of ``checked``, those acknowledged, with the reason."""
    failed: tuple[str, ...] = ()
    status: str = PASSES

    @property
    def passed(self) -> tuple[str, ...]:
        """Keys of the resources that passed (a Config rule's are merely deployed)."""
        return tuple(k for k in self.checked if k not in self.acknowledged and k not in self.failed)


@dataclass(frozen=True)
class ControlRow:
    """One control of one framework in one environment."""

    framework: str
    control: str
    verifications: tuple[Verification, ...]

    @property
    def resources(self) -> tuple[str, ...]:
        """The resources that implement the control: every resource a rule checked for it."""
        keys = {k for v in self.verifications for k in v.checked}
        return tuple(sorted(keys))

    @property
    def status(self) -> str:
        """``FAILS`` if any rule fails, ``acknowledged`` if any acknowledges, else ``passes``."""
        statuses = {v.status for v in self.verifications}
        for status in (FAILS, ACKNOWLEDGED, PASSES):
            if status in statuses:
                return status
        return DEPLOYED


@dataclass(frozen=True)
class ConfigRuleEntry:
    """One AWS Config rule the environment deploys, and the cdk-nag rule it mirrors if any."""

    resource: str
    """The key of the resource that deploys it (the rule, or its conformance pack)."""
    identifier: str
    """The managed rule's identifier, or the custom rule's name."""
    description: str
    equivalent: str | None


@dataclass(frozen=True)
class Matrix:
    """One environment's control matrix and its Config rules."""

    environment: str
    rows: tuple[ControlRow, ...]
    config_rules: tuple[ConfigRuleEntry, ...]

    def framework(self, key: str) -> list[ControlRow]:
        """The rows of one framework (``HIPAA``, ``NIST``, ``PCI``), in control order."""
        return [r for r in self.rows if r.framework == key]


def by_stack(keys: Iterable[str]) -> dict[str, list[str]]:
    """Resource keys grouped by stack: ``{stack: [logical IDs]}``, both sorted."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for key in sorted(keys):
        stack, _, logical_id = key.partition("/")
        grouped[stack].append(logical_id)
    return dict(grouped)


def resources_text(keys: Iterable[str]) -> str:
    """``stack: id, id; stack: id`` or ``-``: resource keys for one line of text."""
    return "; ".join(f"{s}: {', '.join(ids)}" for s, ids in by_stack(keys).items()) or "-"


def control_sort_key(control: str) -> tuple[Any, ...]:
    """Natural order: ``AC-2`` < ``AC-2(1)`` < ``AC-17``; ``164.308(a)`` < ``164.312(b)``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", control))


def _base_rule(rule: str) -> str:
    return rule.split("[", 1)[0]


def nag_verifications(
    env: Environment, rules: Sequence[NagRule]
) -> list[tuple[str, str, Verification]]:
    """(framework, control, verification) of every cdk-nag rule that inspects a resource here."""
    acks: dict[tuple[str, str], str] = {}
    for ack in env.acknowledgements:
        if ack.tool.startswith("cdk-nag "):
            for key in ack.resources:
                acks.setdefault((_base_rule(ack.rule), key), ack.reason)
    by_type: dict[str, list[str]] = defaultdict(list)
    for resource in env.resources:
        by_type[resource.type].append(resource.key)
    triples = []
    for rule in rules:
        checked = tuple(k for t, keys in by_type.items() if rule.applies_to(t) for k in keys)
        if not checked:
            continue
        acknowledged = {k: acks[(rule.rule_id, k)] for k in checked if (rule.rule_id, k) in acks}
        verification = Verification(
            kind="cdk-nag",
            rule_id=rule.rule_id,
            description=rule.info,
            checked=checked,
            acknowledged=acknowledged,
            status=ACKNOWLEDGED if acknowledged else PASSES,
        )
        triples += [(rule.framework, control, verification) for control in rule.controls]
    return triples


def rule_pack_findings(outdir: Path) -> dict[str, list[Finding]]:
    """The rule pack's decisions over the whole assembly, by environment name."""
    try:
        findings = run([load(outdir)])
    except LoadError as err:
        raise ReportError(str(err)) from err
    by_env: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        stage, _, _stack = finding.template.name.rpartition("/")
        by_env[stage or TOOLING].append(finding)
    return by_env


def rule_pack_verifications(
    env: Environment, findings: Sequence[Finding]
) -> list[tuple[str, str, Verification]]:
    """(framework, control, verification) of every rule-pack rule that decided on a resource."""
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.outcome is not Outcome.NOT_APPLICABLE:
            by_rule[finding.rule.rule_id].append(finding)
    triples = []
    for rule_id, decided in by_rule.items():
        rule = REGISTRY[rule_id]
        keys = [f"{f.template.name.rpartition('/')[2]}/{f.logical_id}" for f in decided]
        checked = tuple(dict.fromkeys(k for k in keys if k in env.by_key))
        acknowledged = {
            k: f.acknowledged
            for k, f in zip(keys, decided, strict=True)
            if f.acknowledged is not None and k in env.by_key
        }
        failed = tuple(k for k, f in zip(keys, decided, strict=True) if f.failed)
        status = FAILS if failed else ACKNOWLEDGED if acknowledged else PASSES
        verification = Verification(
            "ml_genai_checks", rule_id, rule.title, checked, acknowledged, failed, status
        )
        for framework, controls in rule.controls.items():
            triples += [(framework, c, verification) for c in controls]
    return triples


def _managed_rules_of_pack(body: Any) -> list[tuple[str, str]]:
    """(identifier, description) of the managed rules in a conformance pack's TemplateBody."""
    try:
        template = json.loads(body) if isinstance(body, str) else {}
    except json.JSONDecodeError:
        return []
    found = []
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        source = props.get("Source", {})
        if resource.get("Type") == "AWS::Config::ConfigRule" and source.get("Owner") == "AWS":
            found.append((str(source["SourceIdentifier"]), str(props.get("Description", ""))))
    return found


def config_rules(env: Environment, names: Sequence[str]) -> list[ConfigRuleEntry]:
    """Every Config rule the environment's templates deploy; ``names``: cdk-nag rule names."""
    entries = []
    for resource in env.of_type(
        "AWS::Config::ConfigRule",
        "AWS::Config::OrganizationConfigRule",
        "AWS::Config::OrganizationConformancePack",
    ):
        for identifier, description in _rule_identities(resource):
            equivalent = _config_equivalent(identifier, names)
            entries.append(ConfigRuleEntry(resource.key, identifier, description, equivalent))
    return entries


def _rule_identities(resource: Resource) -> list[tuple[str, str]]:
    props = resource.body.get("Properties", {})
    if resource.type == "AWS::Config::OrganizationConformancePack":
        return _managed_rules_of_pack(props.get("TemplateBody"))
    if resource.type == "AWS::Config::OrganizationConfigRule":
        managed = props.get("OrganizationManagedRuleMetadata")
        if managed:
            return [(str(managed["RuleIdentifier"]), str(managed.get("Description", "")))]
        custom = props.get("OrganizationCustomRuleMetadata", {})
        name = props.get("OrganizationConfigRuleName", resource.logical_id)
        return [(str(name), str(custom.get("Description", "")))]
    source = props.get("Source", {})
    if source.get("Owner") == "AWS":
        return [(str(source["SourceIdentifier"]), str(props.get("Description", "")))]
    name = props.get("ConfigRuleName", resource.logical_id)
    return [
        (str(name) if isinstance(name, str) else resource.logical_id, props.get("Description", ""))
    ]


def _config_equivalent(identifier: str, names: Sequence[str]) -> str | None:
    if identifier in CONFIG_EQUIVALENTS:
        return CONFIG_EQUIVALENTS[identifier]
    wanted = identifier.replace("_", "").lower()
    return next((n for n in names if n.lower() == wanted), None)


def config_verifications(
    entries: Sequence[ConfigRuleEntry], rules: Sequence[NagRule]
) -> list[tuple[str, str, Verification]]:
    """(framework, control, verification) of each deployed Config rule with a cdk-nag twin."""
    triples = []
    for entry in entries:
        for rule in rules:
            if rule.name != entry.equivalent:
                continue
            verification = Verification(
                kind="AWS Config",
                rule_id=entry.identifier,
                description=f"{entry.description} (controls as cdk-nag's {rule.rule_id})",
                checked=(entry.resource,),
                acknowledged={},
                status=DEPLOYED,
            )
            triples += [(rule.framework, c, verification) for c in rule.controls]
    return triples


def build_matrix(
    env: Environment, findings: Sequence[Finding], rules: Sequence[NagRule] | None = None
) -> Matrix:
    """The environment's control matrix over every framework."""
    rules = tuple(rules if rules is not None else nag_rules())
    cells: dict[tuple[str, str], list[Verification]] = defaultdict(list)
    for framework, control, verification in nag_verifications(env, rules):
        cells[(framework, control)].append(verification)
    for framework, control, verification in rule_pack_verifications(env, findings):
        if framework in FRAMEWORKS:
            cells[(framework, control)].append(verification)
    entries = config_rules(env, sorted({r.name for r in rules}))
    for framework, control, verification in config_verifications(entries, rules):
        cells[(framework, control)].append(verification)
    rows = [
        ControlRow(
            framework,
            control,
            tuple(sorted(found, key=lambda v: (KIND_ORDER.index(v.kind), v.rule_id))),
        )
        for (framework, control), found in cells.items()
        if any(v.kind != "AWS Config" for v in found)
    ]
    order = list(FRAMEWORKS)
    rows.sort(key=lambda r: (order.index(r.framework), control_sort_key(r.control)))
    return Matrix(env.name, tuple(rows), tuple(entries))
