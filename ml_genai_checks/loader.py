"""Read what the pack checks: template files (JSON or YAML) and cloud assemblies (``cdk.out``).

A cloud assembly is read through its manifests as ``cdk deploy`` does (nested stage assemblies
included), so each template knows its stack's account and region and the acknowledgements CDK
recorded (``Validations.of(scope).acknowledge``: metadata ``aws:cdk:acknowledged-rules``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ml_genai_checks.model import Template

ACK_METADATA_TYPE = "aws:cdk:acknowledged-rules"


class LoadError(RuntimeError):
    """A path cannot be read as a template or an assembly (``str(err)`` is one line)."""


@dataclass(frozen=True)
class Loaded:
    """Templates from one path, grouped: a cloud assembly is one group, a file its own."""

    source: Path
    templates: list[Template]
    acknowledged: dict[str, dict[str, str]] = field(default_factory=dict)
    """By template name: ``{"<logical ID> <rule ID>": reason}`` recorded by CDK."""


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """YAML with CloudFormation's short forms (``!Ref``, ``!GetAtt``, ``!Sub`` ...)."""


def _construct(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct)


def read_template_file(path: Path) -> dict[str, Any]:
    """A template file's body; ``LoadError`` when unreadable or not a template."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise LoadError(f"{path}: cannot read ({err.strerror or err})") from err
    try:
        # _CfnLoader is a SafeLoader: no Python objects, only CloudFormation's tags.
        body = json.loads(text) if path.suffix == ".json" else yaml.load(text, _CfnLoader)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise LoadError(f"{path}: not valid {kind}") from err
    if not isinstance(body, dict) or not isinstance(body.get("Resources"), dict):
        raise LoadError(f"{path}: not a CloudFormation template (no Resources section)")
    return body


def load(path: Path) -> Loaded:
    """A template file or a cloud assembly folder."""
    if path.is_dir():
        if not (path / "manifest.json").is_file():
            raise LoadError(f"{path}: a folder without manifest.json is not a cloud assembly")
        templates: list[Template] = []
        acknowledged: dict[str, dict[str, str]] = {}
        for template, acks in _assembly(path, ""):
            templates.append(template)
            acknowledged[template.name] = acks
        if not templates:
            raise LoadError(f"{path}: the cloud assembly holds no stacks")
        return Loaded(path, templates, acknowledged)
    if not path.exists():
        raise LoadError(f"{path}: no such file or folder")
    body = read_template_file(path)
    return Loaded(path, [Template(name=str(path), path=path, body=body)])


def _assembly(directory: Path, stage: str) -> Iterator[tuple[Template, dict[str, str]]]:
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise LoadError(f"{directory}/manifest.json: unreadable") from err
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        kind = artifact.get("type")
        props = artifact.get("properties", {})
        if kind == "cdk:cloud-assembly":
            yield from _assembly(
                directory / props["directoryName"], props.get("displayName", artifact_id)
            )
        elif kind == "aws:cloudformation:stack":
            account, region = _environment(artifact.get("environment", ""))
            template_path = directory / props["templateFile"]
            name = "/".join(p for p in (stage, props.get("stackName", artifact_id)) if p)
            template = Template(
                name=name,
                path=template_path,
                body=read_template_file(template_path),
                account=account,
                region=region,
            )
            metadata = dict(artifact.get("metadata", {}))
            extra = artifact.get("additionalMetadataFile")
            if extra:
                try:
                    metadata.update(json.loads((directory / extra).read_text(encoding="utf-8")))
                except (OSError, json.JSONDecodeError) as err:
                    raise LoadError(f"{directory / extra}: unreadable") from err
            yield template, _acknowledgements(metadata)


def _environment(environment: str) -> tuple[str | None, str | None]:
    account, _, region = environment.removeprefix("aws://").partition("/")
    known = (
        account if account.isdigit() else None,
        region if region and "unknown" not in region else None,
    )
    return known


def _acknowledgements(metadata: dict[str, Any]) -> dict[str, str]:
    """``{"<logical ID> <rule ID>": reason}`` of CDK's acknowledgements.

    An acknowledgement on a construct covers the resources below it (construct paths from the
    ``aws:cdk:logicalId`` entries).
    """
    logical_ids: dict[str, str] = {}
    acks: list[tuple[str, dict[str, Any]]] = []
    for construct_path, entries in metadata.items():
        for entry in entries if isinstance(entries, list) else []:
            if entry.get("type") == "aws:cdk:logicalId" and isinstance(entry.get("data"), str):
                logical_ids[construct_path] = entry["data"]
            elif entry.get("type") == ACK_METADATA_TYPE and isinstance(entry.get("data"), dict):
                acks.append((construct_path, entry["data"]))
    found: dict[str, str] = {}
    for prefix, data in acks:
        for path, logical_id in logical_ids.items():
            if path == prefix or path.startswith(prefix + "/"):
                for rule_id, reason in data.items():
                    found[f"{logical_id} {rule_id}"] = str(reason)
    return found
