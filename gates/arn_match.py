"""ARN shapes: what a template's ``Resource`` values resolve to, and whether they can match an ARN.

A policy resource is resolved (``Fn::Join``, ``Fn::Sub``, ``Ref``, ``Fn::GetAtt``,
``Fn::ImportValue`` and pseudo parameters) into a *pattern*: a tuple of tokens, each a single
literal character or one of the markers below. An ARN format of the Service Authorization
Reference (``arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}``) becomes a
*format*. ``intersects`` decides whether any one string matches both, exactly (a walk over the
product of the two token automata), so ``log-group:NAME:*:log-stream:*`` is known to match no
log-stream ARN while ``log-group:NAME:*`` matches all of that group's streams.

The shapes ``Ref`` and ``Fn::GetAtt`` give per resource type are ``gates.return_values``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from gates.return_values import RETURN_VALUES

Pattern = tuple[str, ...]

STAR = "\x00*"  # policy '*': any characters, ':' included (IAM matches the whole ARN)
ONE = "\x00?"  # policy '?': exactly one character
SEG = "\x00seg:"  # + label: a value the template leaves to deployment (a generated name or ID)
OPAQUE = "\x00opaque:"  # + label: a value this resolver cannot follow: "cannot tell"
NOT = "\x00not:"  # + characters: a format variable, any characters but these (':' by default)
ANY = "\x00any"  # format variable at the end of the ARN, or a '*' in the format: anything

# Format variables whose characters AWS restricts more than "no ':'" (and so also when they end
# the ARN, where a variable otherwise matches anything, as S3 object keys and Lambda qualifiers do).
RESTRICTED_VARIABLES = {
    # CreateLogStream API reference: logGroupName [\.\-_/#A-Za-z0-9]+, logStreamName [^:*]*
    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogStream.html
    ("logs", "LogGroupName"): ":*",
    ("logs", "LogStreamName"): ":*",
    # "Bucket names can consist only of lowercase letters, numbers, periods (.), and hyphens (-)"
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
    ("s3", "BucketName"): ":/*",
}

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def literal(text: str) -> Pattern:
    """A policy string as a pattern: ``*`` and ``?`` glob; ``${aws:...}`` variables are opaque."""
    tokens: list[str] = []
    for index, part in enumerate(_SUB_VARIABLE.split(text)):
        if index % 2:
            tokens.append(OPAQUE + "${" + part + "}")
        else:
            tokens += [STAR if c == "*" else ONE if c == "?" else c for c in part]
    return tuple(tokens)


def opaque(label: str) -> Pattern:
    """An unresolvable value: matches any one ARN segment, and a mismatch means "cannot tell"."""
    return (OPAQUE + label,)


def is_opaque(pattern: Pattern) -> bool:
    """Whether the pattern holds a value the resolver could not follow."""
    return any(token.startswith(OPAQUE) for token in pattern)


def is_wildcard(pattern: Pattern) -> bool:
    """Whether the pattern is ``*`` (every resource)."""
    return bool(pattern) and all(token == STAR for token in pattern)


def render(pattern: Pattern) -> str:
    """The pattern as a reader would write it: generated values as ``<LogicalId>``."""
    out = []
    for token in pattern:
        if len(token) == 1:
            out.append(token)
        elif token in (STAR, ONE):
            out.append(token[1])
        else:
            out.append("<" + token.split(":", 1)[1] + ">")
    return "".join(out)


def service_of(pattern: Pattern) -> str | None:
    """The literal service segment of an ``arn:`` pattern, or None when it is not literal."""
    prefix = []
    for token in pattern:
        if len(token) != 1:
            break
        prefix.append(token)
    parts = "".join(prefix).split(":", 3)
    return parts[2] if len(parts) == 4 and parts[0] == "arn" else None


@dataclass(frozen=True)
class ArnFormat:
    """One ARN format of a resource type, tokenized; ``supplement`` names its source if ours."""

    service: str
    resource_type: str
    text: str
    tokens: Pattern
    supplement: str | None = None


@cache
def format_tokens(text: str) -> Pattern:
    r"""Tokenize an ARN format: ``${Var}`` is NOT ':' (ANY when last), ``*`` ANY, ``\*`` a '*'."""
    service = text.split(":")[2] if text.count(":") >= 2 else ""
    tokens: list[str] = []
    pieces = _SUB_VARIABLE.split(text)
    for index, part in enumerate(pieces):
        if index % 2:
            last = index == len(pieces) - 2 and pieces[-1] == ""
            restricted = RESTRICTED_VARIABLES.get((service, part))
            tokens.append(NOT + restricted if restricted else ANY if last else NOT + ":")
            continue
        position = 0
        while position < len(part):
            if part.startswith("\\*", position):
                tokens.append("*")
                position += 2
                continue
            tokens.append(ANY if part[position] == "*" else part[position])
            position += 1
    return tuple(tokens)


def _loops(token: str) -> bool:
    return token in (STAR, ANY) or token.startswith((NOT, SEG, OPAQUE))


def _compatible(left: str, right: str) -> bool:
    """Whether one character can be consumed by both tokens (pattern token, format token)."""
    if len(left) == 1 and len(right) == 1:
        return left == right
    if len(left) == 1:
        return not right.startswith(NOT) or left not in right[len(NOT) :]
    if len(right) == 1:
        return right != ":" or not left.startswith((SEG, OPAQUE))
    return True  # two character classes always share a character


@lru_cache(maxsize=200_000)
def intersects(pattern: Pattern, arn_format: Pattern) -> bool:
    """Whether some string matches both the policy pattern and the ARN format.

    States are pairs of positions; a looping token (``*``, a variable, a generated value) may be
    skipped or consume one character and stay. Generated and opaque values hold no ':'; format
    variables hold no ':' either (nor what ``RESTRICTED_VARIABLES`` rules out) unless they end
    the ARN.
    """
    end = (len(pattern), len(arn_format))
    todo = [(0, 0)]
    seen = {(0, 0)}
    while todo:
        i, j = todo.pop()
        if (i, j) == end:
            return True
        left = pattern[i] if i < len(pattern) else None
        right = arn_format[j] if j < len(arn_format) else None
        steps = []
        if left is not None and _loops(left):
            steps.append((i + 1, j))
        if right is not None and _loops(right):
            steps.append((i, j + 1))
        if left is not None and right is not None and _compatible(left, right):
            steps.append((i if _loops(left) else i + 1, j if _loops(right) else j + 1))
        for step in steps:
            if step not in seen:
                seen.add(step)
                todo.append(step)
    return False


@dataclass
class Resolver:
    """Resolves CloudFormation values of one stack's template to patterns.

    ``imports`` maps an export name to a function resolving that export in its own stack.
    """

    template: dict[str, Any]
    account: str
    region: str
    stack_name: str
    imports: Mapping[str, Callable[[], Pattern]]
    depth: int = 0

    def pseudo(self, name: str) -> Pattern:
        """``AWS::Region`` and friends; unknown environments stay generated values."""
        region_known = not self.region.startswith("unknown-")
        china = self.region.startswith("cn-")
        if name == "AWS::Region":
            return literal(self.region) if region_known else (SEG + "region",)
        if name == "AWS::AccountId":
            known = not self.account.startswith("unknown-")
            return literal(self.account) if known else (SEG + "account",)
        if name == "AWS::Partition":
            gov = self.region.startswith("us-gov-")
            partition = "aws-cn" if china else "aws-us-gov" if gov else "aws"
            return literal(partition) if region_known else (SEG + "partition",)
        if name == "AWS::URLSuffix":
            suffix = "amazonaws.com.cn" if china else "amazonaws.com"
            return literal(suffix) if region_known else (SEG + "url-suffix",)
        if name == "AWS::StackName":
            return literal(self.stack_name)
        return opaque(name)

    def resolve(self, value: Any) -> Pattern:
        """The pattern a CloudFormation value stands for."""
        if isinstance(value, str):
            return literal(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return literal(str(value))
        if not isinstance(value, dict) or len(value) != 1 or self.depth > 20:
            return opaque("value")
        ((function, argument),) = value.items()
        if function == "Ref" and isinstance(argument, str):
            return self.ref(argument)
        if function == "Fn::GetAtt":
            parts = argument.split(".", 1) if isinstance(argument, str) else argument
            if (
                isinstance(parts, list)
                and len(parts) == 2
                and all(isinstance(p, str) for p in parts)
            ):
                return self.attribute(parts[0], parts[1])
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            delimiter, items = argument
            if isinstance(delimiter, str) and isinstance(items, list):
                joined: list[str] = []
                for index, item in enumerate(items):
                    joined += (literal(delimiter) if index else ()) + self.resolve(item)
                return tuple(joined)
        if function == "Fn::Sub":
            text: Any = argument
            variables: Any = {}
            if isinstance(argument, list) and len(argument) == 2:
                text, variables = argument
            if isinstance(text, str) and isinstance(variables, dict):
                return self.sub(text, {k: self.nested().resolve(v) for k, v in variables.items()})
        if function == "Fn::ImportValue":
            name = self.resolve(argument)
            if all(len(token) == 1 for token in name) and render(name) in self.imports:
                return self.imports[render(name)]()
        return opaque(function)

    def nested(self) -> Resolver:
        """The same resolver one level deeper (guards against reference cycles)."""
        return Resolver(
            self.template, self.account, self.region, self.stack_name, self.imports, self.depth + 1
        )

    def sub(self, text: str, variables: Mapping[str, Pattern]) -> Pattern:
        """``Fn::Sub``: ``${Var}`` from ``variables``, pseudo parameters, Ref or GetAtt."""
        tokens: list[str] = []
        for index, part in enumerate(_SUB_VARIABLE.split(text)):
            if not index % 2:
                tokens += literal(part)
            elif part.startswith("!"):
                tokens += literal("${" + part[1:] + "}")
            elif part in variables:
                tokens += variables[part]
            elif "." in part and not part.startswith("AWS::"):
                tokens += self.attribute(*part.split(".", 1))
            else:
                tokens += self.ref(part)
        return tuple(tokens)

    def ref(self, name: str) -> Pattern:
        """``Ref`` of a pseudo parameter or a resource of this template."""
        if name.startswith("AWS::"):
            return self.pseudo(name)
        return self.attribute(name, "Ref")

    def attribute(self, logical_id: str, attribute: str) -> Pattern:
        """``Fn::GetAtt`` (or Ref, as attribute "Ref") by the shape its documentation gives."""
        resource = self.template.get("Resources", {}).get(logical_id)
        if not isinstance(resource, dict) or resource.get("Type") not in RETURN_VALUES:
            return opaque(f"{logical_id}.{attribute}")
        name_property, shapes = RETURN_VALUES[resource["Type"]]
        if attribute not in shapes:
            return opaque(f"{logical_id}.{attribute}")
        properties = resource.get("Properties", {})
        inner = self.nested()
        name = properties.get(name_property) if name_property else None
        variables = {
            "Name": inner.resolve(name) if name is not None else (SEG + logical_id,),
            "Id": (SEG + logical_id,),
            "Path": inner.resolve(properties.get("Path", "/")),
        }
        return inner.sub(shapes[attribute], variables)
