"""Walking IAM policy documents of a template: statements, actions, resources, condition keys.

Shared by the IAM rules (``iam.py``) and the assembly rules (``assembly.py``). Action names and
condition keys compare case-insensitively, as IAM does; wildcards in ``Action`` match like
``fnmatch`` (``*`` and ``?``). Nothing here guesses: a value that cannot be known is ``None``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from ml_genai_checks.model import Resource, Template, resolve

POLICY_TYPES = (
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::RolePolicy",
    "AWS::IAM::UserPolicy",
    "AWS::IAM::GroupPolicy",
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::IAM::Group",
)
"""Resources that hold permission policies (``PolicyDocument`` or inline ``Policies``)."""

INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
"""The IAM actions behind InvokeModel*, Converse and ConverseStream (Converse* are authorised by
these two; ``bedrock:Converse`` is not an IAM action)."""

_NEGATED = (
    "stringnotequals",
    "stringnotequalsignorecase",
    "stringnotlike",
    "arnnotequals",
    "arnnotlike",
)
_POSITIVE = ("stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike")


@dataclass(frozen=True)
class Statement:
    """One statement of one policy document of one resource."""

    resource: Resource
    where: str
    """Where the document is, e.g. ``PolicyDocument`` or ``Policies[1].PolicyDocument``."""
    index: int
    raw: Any

    @property
    def body(self) -> Mapping[str, Any]:
        """The statement (empty when it is not a mapping, e.g. an ``Fn::If``)."""
        return self.raw if isinstance(self.raw, Mapping) and "Fn::If" not in self.raw else {}

    @property
    def label(self) -> str:
        """How messages name it: its Sid, else its index, with the document's place."""
        sid = self.body.get("Sid")
        name = f"Sid {sid!r}" if isinstance(sid, str) and sid else f"Statement[{self.index}]"
        return f"{self.where} {name}"

    @property
    def effect(self) -> str | None:
        """``Allow`` or ``Deny``; None when unresolvable."""
        value = resolve(self.body.get("Effect"), self.resource.template)
        return value if value in ("Allow", "Deny") else None

    def actions(self) -> tuple[bool, list[str]] | None:
        """``(is NotAction, patterns lower-cased)``; None when unresolvable."""
        negated = "NotAction" in self.body
        raw = self.body.get("NotAction" if negated else "Action")
        values = resolve(raw, self.resource.template)
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return None
        return negated, [v.lower() for v in values]

    def covers(self, action: str) -> bool | None:
        """Whether the statement (of either effect) applies to ``action``; None when unknown."""
        found = self.actions()
        if found is None:
            return None
        negated, patterns = found
        hit = any(fnmatchcase(action.lower(), p) for p in patterns)
        return not hit if negated else hit

    def resources(self) -> tuple[bool, list[Any]]:
        """``(is NotResource, raw entries)``."""
        negated = "NotResource" in self.body
        raw = self.body.get("NotResource" if negated else "Resource")
        return negated, (raw if isinstance(raw, list) else [raw])

    def conditions(self) -> dict[str, dict[str, Any]] | None:
        """``{operator lower: {key lower: raw value}}``; None when unresolvable."""
        raw = self.body.get("Condition", {})
        if not isinstance(raw, Mapping) or "Fn::If" in raw:
            return None
        out: dict[str, dict[str, Any]] = {}
        for operator, block in raw.items():
            if not isinstance(block, Mapping):
                return None
            out[str(operator).lower()] = {str(k).lower(): v for k, v in block.items()}
        return out


def policy_documents(resource: Resource) -> Iterator[tuple[str, Any]]:
    """``(where, raw document)`` for every permission document the resource holds."""
    if resource.type in POLICY_TYPES[:5]:
        yield "PolicyDocument", resource.prop("PolicyDocument")
        return
    policies = resource.prop("Policies")
    for i, policy in enumerate(policies if isinstance(policies, list) else []):
        if isinstance(policy, Mapping):
            yield f"Policies[{i}].PolicyDocument", policy.get("PolicyDocument")


def statements_of(resource: Resource, where: str, document: Any) -> list[Statement] | None:
    """The statements of one document; None when the document cannot be read."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return None
    if not isinstance(document, Mapping) or "Fn::If" in document:
        return None
    raw = document.get("Statement")
    raw = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(raw, list):
        return None
    return [Statement(resource, where, i, s) for i, s in enumerate(raw)]


def documents(template: Template) -> Iterator[tuple[Resource, str, list[Statement] | None]]:
    """Every permission document of the template, in template order."""
    for resource in template.resources(*POLICY_TYPES):
        for where, document in policy_documents(resource):
            yield resource, where, statements_of(resource, where, document)


def allows_invocation(statement: Statement) -> bool | None:
    """Whether an Allow statement allows Bedrock model invocation (None when unknown)."""
    if statement.effect != "Allow":
        return False if statement.effect == "Deny" else None
    hits = [statement.covers(a) for a in INVOKE_ACTIONS]
    return True if any(hits) else (None if None in hits else False)


# --------------------------------------------------------------------------- resource strings


@dataclass(frozen=True)
class ResourceText:
    """What can be known of one ``Resource`` entry without guessing."""

    full: str | None
    """The whole resolved string, when known."""
    tail: str | None
    """The literal text it ends with (a ``Fn::Join`` / ``Fn::Sub`` whose end is literal)."""
    reference: bool
    """It is (or ends with) a ``Ref``/``Fn::GetAtt`` of a resource: one named resource."""


def resource_text(raw: Any, template: Template) -> ResourceText:
    """Classify a ``Resource`` entry (see ``ResourceText``)."""
    value = resolve(raw, template)
    if isinstance(value, str):
        return ResourceText(value, value, False)
    if isinstance(raw, Mapping) and len(raw) == 1:
        ((key, arg),) = raw.items()
        if key == "Fn::GetAtt" or (key == "Ref" and arg in template.body.get("Resources", {})):
            return ResourceText(None, None, True)
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            parts = arg[1] if isinstance(arg[1], list) else []
            if parts and isinstance(parts[-1], str):
                return ResourceText(None, parts[-1], False)
            if parts:
                last = resource_text(parts[-1], template)
                return ResourceText(None, last.tail, last.reference)
        if key == "Fn::Sub":
            text = arg if isinstance(arg, str) else (arg[0] if isinstance(arg, list) else None)
            if isinstance(text, str) and not text.endswith("}"):
                return ResourceText(None, text.rpartition("}")[2], False)
            if isinstance(text, str):
                name = text.rpartition("${")[2][:-1].split(".")[0]
                return ResourceText(None, None, name in template.body.get("Resources", {}))
    return ResourceText(None, None, False)


def collapse(text: str) -> str:
    """``text`` with runs of ``*`` made one."""
    return re.sub(r"\*+", "*", text)


# --------------------------------------------------------------------------- condition keys


def _truthy(value: Any, wanted: str) -> bool:
    values = value if isinstance(value, list) else [value]
    return bool(values) and all(str(v).lower() == wanted for v in values)


def null_false(conditions: Mapping[str, Mapping[str, Any]], key: str) -> bool:
    """Whether the conditions hold ``Null: {key: "false"}`` (the key must be present)."""
    block = conditions.get("null", {})
    return key in block and _truthy(block[key], "false")


def requires_key(
    conditions: Mapping[str, Mapping[str, Any]],
    key: str,
    *,
    boolean_true: bool = False,
    pinned: bool = False,
) -> str:
    """How an Allow's conditions hold ``key``: ``ok``, ``forall-without-null`` or ``missing``.

    A key is held when an operator that fails on an absent key constrains it (no ``IfExists``,
    no negated operator); ``ForAllValues:`` passes on an absent key, so it needs a
    ``Null: {key: "false"}`` companion. ``boolean_true``: the key must be ``Bool`` true;
    ``pinned``: ``Null: {key: "false"}`` alone (any value) is not enough.
    """
    key = key.lower()
    forall = False
    for operator, block in conditions.items():
        if key not in block or operator.endswith("ifexists"):
            continue
        prefix, _, base = operator.rpartition(":")
        if boolean_true:
            if base in ("bool", "stringequals") and _truthy(block[key], "true"):
                if prefix == "forallvalues":
                    forall = True
                else:
                    return "ok"
            continue
        if base in _POSITIVE:
            if prefix == "forallvalues":
                forall = True
            else:
                return "ok"
        if operator == "null" and not pinned and _truthy(block[key], "false"):
            return "ok"
    if forall:
        return "ok" if null_false(conditions, key) else "forall-without-null"
    return "missing"


def deny_enforces(
    deny: Statement, key: str, *, boolean_true: bool = False, pinned: bool = False
) -> bool:
    """Whether a Deny statement denies whenever ``key`` is absent (or not the required value).

    Only a Deny whose whole condition is one operator on ``key`` alone counts (more keys would
    make it deny only when all of them match). A negated string/ARN operator (with or without
    ``IfExists``) or ``Null: {key: "true"}`` count (``Null`` only when not ``pinned``: it forces
    presence, not a value); for ``boolean_true`` keys, ``BoolIfExists: false`` or
    ``StringNotEquals(IfExists): true``.
    """
    conditions = deny.conditions()
    if deny.effect != "Deny" or not conditions or len(conditions) != 1:
        return False
    ((operator, block),) = conditions.items()
    if list(block) != [key.lower()]:
        return False
    value = block[key.lower()]
    if boolean_true:
        if operator == "boolifexists":
            return _truthy(value, "false")
        return operator.removesuffix("ifexists") == "stringnotequals" and _truthy(value, "true")
    if operator == "null":
        return not pinned and _truthy(value, "true")
    return operator.removesuffix("ifexists") in _NEGATED


def deny_covers(deny: Statement, allow: Statement, action: str) -> bool:
    """Whether ``deny`` applies to ``action`` on every resource ``allow`` names."""
    if deny.covers(action) is not True:
        return False
    deny_negated, deny_raw = deny.resources()
    if deny_negated:
        return False
    template = deny.resource.template
    patterns = [resolve(r, template) for r in deny_raw]
    if "*" in patterns:
        return True
    allow_negated, allow_raw = allow.resources()
    if allow_negated:
        return False
    for raw in allow_raw:
        value = resolve(raw, template)
        if isinstance(value, str):
            if not any(isinstance(p, str) and fnmatchcase(value, p) for p in patterns):
                return False
        elif raw not in deny_raw:
            return False
    return True


def covered_by_deny(
    statements: Sequence[Statement],
    allow: Statement,
    action: str,
    key: str,
    *,
    boolean_true: bool = False,
    pinned: bool = False,
) -> bool:
    """Whether some Deny of the same document enforces ``key`` for ``action`` of ``allow``."""
    return any(
        deny_covers(s, allow, action)
        and deny_enforces(s, key, boolean_true=boolean_true, pinned=pinned)
        for s in statements
        if s.effect == "Deny"
    )


# --------------------------------------------------------------------------- references


def references(raw: Any, logical_id: str) -> bool:
    """Whether ``raw`` contains a Ref/GetAtt/Sub reference to ``logical_id``."""
    if isinstance(raw, list):
        return any(references(v, logical_id) for v in raw)
    if isinstance(raw, str):
        return False
    if not isinstance(raw, Mapping):
        return False
    if raw.get("Ref") == logical_id:
        return True
    get_att = raw.get("Fn::GetAtt")
    if isinstance(get_att, list) and get_att and get_att[0] == logical_id:
        return True
    if isinstance(get_att, str) and get_att.split(".")[0] == logical_id:
        return True
    sub = raw.get("Fn::Sub")
    text = sub if isinstance(sub, str) else sub[0] if isinstance(sub, list) and sub else None
    if isinstance(text, str) and any(f"${{{logical_id}{end}" in text for end in ("}", ".")):
        return True
    return any(references(v, logical_id) for v in raw.values())
