"""What the report is made of, read once from the cloud assembly: environments, resources, acks.

An environment is a stage of the assembly (``dev``, ``prod``, the organization's ``management``,
``log-archive``, ``security``); the delivery pipeline's stacks outside any stage form the
``tooling`` environment, as the gates summary shows them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from gates.assembly import AssemblyError, StackArtifact, stacks
from gates.nag_report import file_acknowledgements
from ml_genai_checks.engine import PACK as RULE_PACK
from ml_genai_checks.engine import TEMPLATE_METADATA_KEY as RULE_PACK_METADATA
from report import ReportError

CFN_LINT_REASONS_METADATA = "secure-ml:cfn-lint-reasons"
"""As ``secure_constructs.core.compliance`` writes it (not imported: that module loads aws-cdk-lib,
whose jsii runtime starts Node; the report reads JSON only)."""
NO_REASON = "(no reason recorded in the template)"
TOOLING = "tooling"
"""The environment name of the stacks outside any stage (the delivery pipeline)."""


@dataclass(frozen=True)
class Resource:
    """One resource of one stack."""

    stack: str
    logical_id: str
    type: str
    path: str
    """Its construct path (``aws:cdk:path``) without the leading slash, or ``""``."""
    body: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        """``<stack name>/<logical ID>``: unique within the assembly."""
        return f"{self.stack}/{self.logical_id}"

    def under(self, construct_path: str) -> bool:
        """True when the resource is the construct at ``construct_path`` or inside it."""
        scope = construct_path.strip("/")
        return bool(self.path) and (self.path == scope or self.path.startswith(f"{scope}/"))


@dataclass(frozen=True)
class Acknowledgement:
    """One acknowledged rule, where it sits, the resources it covers and why."""

    tool: str
    """``cdk-nag HIPAA.Security``, ``ml_genai_checks``, ``CDK CloudFormation-Validate``,
    ``cfn-lint``, ``checkov`` or ``policy-reference``."""
    rule: str
    where: str
    """The construct path, or ``<stack>/<logical ID>`` for template metadata."""
    resources: tuple[str, ...]
    """Keys of the resources it covers (empty for the policy-reference gate's supplements)."""
    reason: str
    ours: bool = True
    """False when aws-cdk-lib recorded the acknowledgement itself."""


@dataclass(frozen=True)
class Environment:
    """One environment's stacks, resources and acknowledgements."""

    name: str
    stacks: tuple[StackArtifact, ...]
    templates: Mapping[str, Mapping[str, Any]] = field(repr=False)
    """Template bodies by stack name."""

    @cached_property
    def resources(self) -> tuple[Resource, ...]:
        """Every resource of every stack, in stack then template order."""
        found: list[Resource] = []
        for stack in self.stacks:
            for logical_id, body in self.templates[stack.stack_name].get("Resources", {}).items():
                path = str(body.get("Metadata", {}).get("aws:cdk:path", ""))
                found.append(Resource(stack.stack_name, logical_id, body["Type"], path, body))
        return tuple(found)

    @cached_property
    def by_key(self) -> Mapping[str, Resource]:
        """Resources by ``<stack>/<logical ID>``."""
        return {r.key: r for r in self.resources}

    @cached_property
    def kinds(self) -> Mapping[str, str]:
        """Stack names by kind, the last part of the name (``network``, ``genai``, ...)."""
        return {s.stack_name.rsplit("-", 1)[-1]: s.stack_name for s in self.stacks}

    @property
    def is_workload(self) -> bool:
        """True for a workload environment (it has the network and genai stacks)."""
        return {"network", "genai"} <= set(self.kinds)

    def of_type(self, *types: str) -> list[Resource]:
        """Resources of these CloudFormation types."""
        return [r for r in self.resources if r.type in types]

    @cached_property
    def acknowledgements(self) -> tuple[Acknowledgement, ...]:
        """cdk-nag's, the rule pack's, CDK's, cfn-lint's and checkov's, sorted by tool and rule."""
        found: list[Acknowledgement] = []
        for stack in self.stacks:
            found += self._metadata_acknowledgements(stack)
            metadata = self.templates[stack.stack_name].get("Metadata", {})
            reasons = metadata.get(CFN_LINT_REASONS_METADATA, {})
            for check in metadata.get("cfn-lint", {}).get("config", {}).get("ignore_checks", []):
                covered = tuple(r.key for r in self.resources if r.stack == stack.stack_name)
                reason = reasons.get(check, NO_REASON)
                found.append(Acknowledgement("cfn-lint", check, stack.stack_name, covered, reason))
        for resource in self.resources:
            found += _template_acknowledgements(resource)
        return tuple(sorted(found, key=lambda a: (a.tool, a.rule, a.where)))

    def _metadata_acknowledgements(self, stack: StackArtifact) -> list[Acknowledgement]:
        name = stack.template_path.name.removesuffix(".template.json")
        metadata = stack.template_path.with_name(f"{name}.metadata.json")
        if not metadata.is_file():
            return []
        found = []
        for ack in file_acknowledgements(metadata):
            covered = tuple(
                r.key for r in self.resources if r.stack == stack.stack_name and r.under(ack.path)
            )
            found.append(
                Acknowledgement(
                    tool=_tool(ack.pack),
                    rule=ack.rule.split("::", 1)[-1],
                    where=ack.path,
                    resources=covered,
                    reason=ack.reason,
                    ours=ack.ours,
                )
            )
        return found


def _tool(pack: str) -> str:
    if pack == RULE_PACK:
        return "ml_genai_checks"
    if pack == "CloudFormation-Validate":
        return "CDK CloudFormation-Validate"
    return f"cdk-nag {pack}"


def _template_acknowledgements(resource: Resource) -> Iterable[Acknowledgement]:
    metadata = resource.body.get("Metadata", {})
    reasons = metadata.get(CFN_LINT_REASONS_METADATA, {})
    for check in metadata.get("cfn-lint", {}).get("config", {}).get("ignore_checks", []):
        reason = reasons.get(check, NO_REASON)
        yield Acknowledgement("cfn-lint", check, resource.key, (resource.key,), reason)
    for skip in metadata.get("checkov", {}).get("skip", []):
        yield Acknowledgement(
            "checkov", skip["id"], resource.key, (resource.key,), skip.get("comment", "")
        )
    for entry in metadata.get(RULE_PACK_METADATA, {}).get("acknowledge", []):
        rule = str(entry.get("id", "")).removeprefix(f"{RULE_PACK}::")
        yield Acknowledgement(
            "ml_genai_checks", rule, resource.key, (resource.key,), str(entry.get("reason", ""))
        )


def environments(outdir: Path) -> list[Environment]:
    """Every environment of the assembly: workloads, organization stages, then tooling."""
    try:
        found = stacks(outdir)
    except AssemblyError as err:
        raise ReportError(str(err)) from err
    if not found:
        raise ReportError(f"{outdir}: the cloud assembly holds no stacks; run 'make synth'")
    names: list[str] = []
    for stack in found:
        name = stack.stage or TOOLING
        if name not in names:
            names.append(name)
    result = []
    for name in names:
        members = tuple(s for s in found if (s.stage or TOOLING) == name)
        templates = {s.stack_name: s.template() for s in members}
        result.append(Environment(name, members, templates))
    # The workloads first (what the platform is for), then the organization's stages, the
    # tooling last; each group in manifest order.
    return sorted(result, key=lambda e: (e.name == TOOLING, not e.is_workload))


def gate_summary(outdir: Path) -> tuple[str, list[dict[str, Any]]] | None:
    """The gates' printed summary and their rows, or None when the gates have not run here."""
    text = outdir / "gates-summary.txt"
    rows = outdir / "gates-summary.json"
    if not text.is_file() or not rows.is_file():
        return None
    gates: list[dict[str, Any]] = json.loads(rows.read_text(encoding="utf-8")).get("gates", [])
    return text.read_text(encoding="utf-8"), gates
