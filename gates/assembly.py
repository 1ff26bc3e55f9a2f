"""Read a synthesized cloud assembly (``cdk.out``) as ``cdk deploy`` does: through manifests."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class AssemblyError(RuntimeError):
    """``cdk.out`` is missing or not a cloud assembly. ``str(err)`` is one line for the user."""


@dataclass(frozen=True)
class StackArtifact:
    """One CloudFormation stack of the assembly."""

    stage: str
    artifact_id: str
    stack_name: str
    account: str
    region: str
    template_path: Path
    dependencies: tuple[str, ...]

    def template(self) -> dict[str, Any]:
        """The stack's template as a dict."""
        data: dict[str, Any] = json.loads(self.template_path.read_text(encoding="utf-8"))
        return data

    def resource_types(self) -> Counter[str]:
        """How many resources of each type the template declares."""
        return Counter(r["Type"] for r in self.template().get("Resources", {}).values())


def _manifest(directory: Path) -> dict[str, Any]:
    path = directory / "manifest.json"
    if not path.is_file():
        raise AssemblyError(f"{directory}: no manifest.json; run 'make synth' first")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def iter_stacks(outdir: Path, stage: str = "") -> Iterator[StackArtifact]:
    """Every stack in ``outdir``, nested stage assemblies included, in manifest order."""
    for artifact_id, artifact in _manifest(outdir).get("artifacts", {}).items():
        kind = artifact.get("type")
        props = artifact.get("properties", {})
        if kind == "cdk:cloud-assembly":
            yield from iter_stacks(
                outdir / props["directoryName"], props.get("displayName", artifact_id)
            )
        elif kind == "aws:cloudformation:stack":
            account, region = artifact["environment"].removeprefix("aws://").split("/", 1)
            yield StackArtifact(
                stage=stage,
                artifact_id=artifact_id,
                stack_name=props.get("stackName", artifact_id),
                account=account,
                region=region,
                template_path=outdir / props["templateFile"],
                dependencies=tuple(
                    d for d in artifact.get("dependencies", []) if not d.endswith(".assets")
                ),
            )


def stacks(outdir: Path) -> list[StackArtifact]:
    """All stacks; raises ``AssemblyError`` when there are none."""
    found = list(iter_stacks(outdir))
    if not found:
        raise AssemblyError(f"{outdir}: the assembly holds no stacks")
    return found
