"""What a rule sees and says: resources of a template, resolved values, verdicts, the registry.

A rule is a function decorated with ``@rule(...)``. Resource rules take one ``Resource`` of the
types they name and return a ``Verdict``; template rules take a ``Template`` and return a list of
``(logical ID, Verdict)``; assembly rules take every template of one cloud assembly. A rule that
cannot decide because a value it needs is an unresolvable reference returns ``NOT_APPLICABLE``
(it never guesses).

Values come through ``resolve``: literals as they are, ``Fn::Join`` / ``Fn::Sub`` / ``Fn::Select``
of literals folded, ``Ref`` to a parameter with a single allowed value or the pseudo parameters of
a template with a known environment folded; anything else is ``UNRESOLVED``. ``present`` says
whether a property is set at all (a ``Fn::GetAtt`` of a key is present even if unresolvable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class _Unresolved:
    """The value of a reference that cannot be known from the template alone."""

    _instance: _Unresolved | None = None

    def __new__(cls) -> _Unresolved:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNRESOLVED"

    def __bool__(self) -> bool:
        return False


UNRESOLVED: Any = _Unresolved()
"""What ``resolve`` returns for a value it cannot know (falsy; compare with ``is``)."""


class Outcome(Enum):
    """What a rule decided for one resource."""

    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not-applicable"


@dataclass(frozen=True)
class Verdict:
    """A rule's decision; ``message`` says what is wrong (FAIL) or why it could not decide."""

    outcome: Outcome
    message: str = ""


PASS = Verdict(Outcome.PASS)


def fail(message: str) -> Verdict:
    """The resource breaks the rule; ``message`` names the property and what to change."""
    return Verdict(Outcome.FAIL, message)


def not_applicable(message: str = "") -> Verdict:
    """The rule does not apply, or a value it needs cannot be resolved."""
    return Verdict(Outcome.NOT_APPLICABLE, message)


@dataclass(frozen=True)
class Template:
    """One CloudFormation template: where it came from and its parsed body."""

    name: str
    """How findings name it: the file path as given, or ``<stage>/<stack>`` in an assembly."""
    path: Path
    body: Mapping[str, Any]
    account: str | None = None
    region: str | None = None
    partition: str = "aws"

    def resources(self, *types: str) -> Iterator[Resource]:
        """The template's resources, of ``types`` when given, in template order."""
        for logical_id, body in self.body.get("Resources", {}).items():
            if not isinstance(body, Mapping):
                continue
            if not types or body.get("Type") in types:
                yield Resource(self, logical_id, body)

    def resource(self, logical_id: str) -> Resource | None:
        """The resource with this logical ID, or None."""
        body = self.body.get("Resources", {}).get(logical_id)
        return Resource(self, logical_id, body) if isinstance(body, Mapping) else None


@dataclass(frozen=True)
class Resource:
    """One resource of a template."""

    template: Template
    logical_id: str
    body: Mapping[str, Any]

    @property
    def type(self) -> str:
        """The CloudFormation type, e.g. ``AWS::SageMaker::Domain``."""
        return str(self.body.get("Type", ""))

    @property
    def properties(self) -> Mapping[str, Any]:
        """The raw (unresolved) properties."""
        props = self.body.get("Properties", {})
        return props if isinstance(props, Mapping) else {}

    def prop(self, *path: str | int) -> Any:
        """The raw value at ``path`` under Properties, or None when absent."""
        node: Any = self.properties
        for key in path:
            if isinstance(key, int):
                if not isinstance(node, list) or key >= len(node):
                    return None
                node = node[key]
            else:
                if not isinstance(node, Mapping) or key not in node:
                    return None
                node = node[key]
        return node

    def value(self, *path: str | int) -> Any:
        """The resolved value at ``path`` (None when absent, ``UNRESOLVED`` when unknowable)."""
        raw = self.prop(*path)
        return None if raw is None else resolve(raw, self.template)


RuleScope = str
"""``resource``, ``template`` or ``assembly``."""


@dataclass(frozen=True)
class Rule:
    """One check: ID, what it protects, where it comes from, how to fix it."""

    rule_id: str
    """Like cdk-nag's: ``MLGenAI-<Name>``; acknowledged as ``MLGenAIChecks::<rule_id>``."""
    title: str
    reason: str
    fix: str
    seed_topic: str
    controls: Mapping[str, Sequence[str]]
    """``{"HIPAA": [...], "NIST": [...], "PCI": [...]}``."""
    scope: RuleScope
    resource_types: tuple[str, ...]
    check: Callable[..., Any]
    options: Mapping[str, Any] = field(default_factory=dict)


REGISTRY: dict[str, Rule] = {}
"""Every rule, by ID, in registration order."""


def rule(
    rule_id: str,
    *,
    title: str,
    reason: str,
    fix: str,
    seed_topic: str,
    controls: Mapping[str, Sequence[str]],
    resource_types: Sequence[str] = (),
    scope: RuleScope = "resource",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as a rule (see the module docstring for its shape)."""
    if not rule_id.startswith("MLGenAI-"):
        raise ValueError(f"rule ID {rule_id!r} must start with 'MLGenAI-'")
    if scope not in ("resource", "template", "assembly"):
        raise ValueError(f"rule {rule_id}: scope {scope!r}")
    if scope == "resource" and not resource_types:
        raise ValueError(f"rule {rule_id}: a resource rule names its resource types")

    def register(check: Callable[..., Any]) -> Callable[..., Any]:
        if rule_id in REGISTRY:
            raise ValueError(f"rule {rule_id} registered twice")
        REGISTRY[rule_id] = Rule(
            rule_id=rule_id,
            title=title,
            reason=reason,
            fix=fix,
            seed_topic=seed_topic,
            controls=dict(controls),
            scope=scope,
            resource_types=tuple(resource_types),
            check=check,
        )
        return check

    return register


# --------------------------------------------------------------------------- intrinsic values

_PSEUDO = ("AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::URLSuffix")


def _pseudo(name: str, template: Template) -> Any:
    known = {
        "AWS::AccountId": template.account,
        "AWS::Region": template.region,
        "AWS::Partition": template.partition,
        "AWS::URLSuffix": "amazonaws.com",
    }.get(name)
    return known if known else UNRESOLVED


def resolve(value: Any, template: Template) -> Any:
    """``value`` with the intrinsics that can be known folded; ``UNRESOLVED`` otherwise.

    Lists and mappings are resolved element by element (an element may be ``UNRESOLVED``).
    """
    if isinstance(value, list):
        return [resolve(v, template) for v in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) != 1:
        return {k: resolve(v, template) for k, v in value.items()}
    ((key, arg),) = value.items()
    if key == "Ref":
        if not isinstance(arg, str):
            return UNRESOLVED
        if arg in _PSEUDO:
            return _pseudo(arg, template)
        parameter = template.body.get("Parameters", {}).get(arg)
        if isinstance(parameter, Mapping):
            allowed = parameter.get("AllowedValues")
            if isinstance(allowed, list) and len(allowed) == 1:
                return allowed[0]
        return UNRESOLVED
    if key == "Fn::Join":
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)):
            return UNRESOLVED
        parts = resolve(arg[1], template)
        if not isinstance(parts, list) or any(not isinstance(p, str | int) for p in parts):
            return UNRESOLVED
        return arg[0].join(str(p) for p in parts)
    if key == "Fn::Sub":
        if isinstance(arg, str):
            return _sub(arg, {}, template)
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str | None):
            text, variables = arg
            if isinstance(text, str) and isinstance(variables, Mapping):
                return _sub(text, variables, template)
        return UNRESOLVED
    if key == "Fn::Select":
        if not (isinstance(arg, list) and len(arg) == 2):
            return UNRESOLVED
        index, items = resolve(arg[0], template), resolve(arg[1], template)
        if isinstance(index, str) and index.isdigit():
            index = int(index)
        if isinstance(index, int) and isinstance(items, list) and 0 <= index < len(items):
            return items[index]
        return UNRESOLVED
    if key.startswith("Fn::") or key == "Condition":
        return UNRESOLVED
    return {key: resolve(arg, template)}


def _sub(text: str, variables: Mapping[str, Any], template: Template) -> Any:
    out: list[str] = []
    rest = text
    while "${" in rest:
        before, _, after = rest.partition("${")
        name, closed, rest = after.partition("}")
        if not closed:
            return UNRESOLVED
        out.append(before)
        if name.startswith("!"):
            out.append("${" + name[1:] + "}")
            continue
        if name in variables:
            value = resolve(variables[name], template)
        elif name in _PSEUDO:
            value = _pseudo(name, template)
        else:
            value = UNRESOLVED
        if not isinstance(value, str | int):
            return UNRESOLVED
        out.append(str(value))
    out.append(rest)
    return "".join(out)


def present(value: Any) -> bool:
    """True when a property is set to something (a literal other than "" or a reference)."""
    return value is not None and value != "" and value != [] and value != {}


def is_true(value: Any) -> bool | None:
    """A resolved boolean (``True``/``"true"``), False, or None when unresolvable."""
    if value is UNRESOLVED:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return False if value is None else None
