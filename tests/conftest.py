"""Shared fixtures: the platform is synthesized once per test session, with every gate plugin."""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.loaders
import botocore.session
import pytest
from aws_cdk.assertions import Template

from gates.assembly import StackArtifact, stacks
from gates.nag import register_packs
from platform_config import CONTEXT_KEY, EnvironmentConfig, PlatformConfig, load_config
from platform_config.loader import read_cdk_json
from stacks.stage import PlatformStage, build_stages
from tools.synth import CLI_CONTEXT

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CONTEXT = read_cdk_json(ROOT / "cdk.json")
"""cdk.json's context as shipped: the example organization included (what ``make synth`` builds)."""
CDK_JSON_CONTEXT = copy.deepcopy(SHIPPED_CONTEXT)
CDK_JSON_CONTEXT[CONTEXT_KEY].pop("organization", None)
CDK_JSON_CONTEXT[CONTEXT_KEY].pop("delivery", None)
"""The same without the ``organization`` and ``delivery`` blocks: the single-account default most
tests assert (deployed with ``cdk deploy``, no pipeline)."""
ENV_NAMES = tuple(CDK_JSON_CONTEXT[CONTEXT_KEY]["environments"])

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# moto's EC2 backend otherwise loads thousands of sample AMIs per account and region it opens;
# nothing here launches instances.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

_LOADERS: dict[str | None, botocore.loaders.Loader] = {}


def _shared_data_loader(session: botocore.session.Session) -> None:
    """Every botocore session of the test process shares one loader per data path.

    botocore caches the service models it parses per loader, and each new session (each test's
    ``boto3.Session``, moto's, the handlers') makes a new loader, so every test paid the JSON
    parse of the EC2, IAM, S3... models again: seconds per test. The models are read-only.
    """

    def create() -> botocore.loaders.Loader:
        path = session.get_config_variable("data_path")
        if path not in _LOADERS:
            _LOADERS[path] = botocore.loaders.create_loader(path)
        return _LOADERS[path]

    session._components.lazy_register_component("data_loader", create)


botocore.session.Session._register_data_loader = _shared_data_loader  # type: ignore[method-assign]


def raw_platform() -> dict[str, Any]:
    """A deep copy of the platform config in cdk.json, safe to mutate in a test."""
    return copy.deepcopy(CDK_JSON_CONTEXT[CONTEXT_KEY])


def new_app(outdir: Path) -> cdk.App:
    """An App with cdk.json's feature flags and the CLI's own context, as ``cdk synth`` builds it."""
    return cdk.App(outdir=str(outdir), context={**copy.deepcopy(CDK_JSON_CONTEXT), **CLI_CONTEXT})


@dataclass
class Synthesized:
    """The platform synthesized once: config, stages, the assembly on disk and its templates."""

    config: PlatformConfig
    stages: dict[str, PlatformStage]
    outdir: Path
    artifacts: list[StackArtifact]

    def env(self, name: str) -> EnvironmentConfig:
        return next(e for e in self.config.environments if e.name == name)

    def artifact(self, env: str, suffix: str) -> StackArtifact:
        return next(
            a for a in self.artifacts if a.stage == env and a.stack_name.endswith(f"-{suffix}")
        )

    def template(self, env: str, suffix: str) -> Template:
        return Template.from_json(self.artifact(env, suffix).template())

    def raw(self, env: str, suffix: str) -> dict[str, Any]:
        return self.artifact(env, suffix).template()


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = new_app(outdir)
    config = load_config(CDK_JSON_CONTEXT)
    stages = {stage.stage_name: stage for stage in build_stages(app, config)}
    register_packs(app)
    app.synth()  # raises ValidationFailed on any unacknowledged cdk-nag finding
    return Synthesized(config, stages, outdir, stacks(outdir))


@pytest.fixture(scope="session")
def org_synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """cdk.json as shipped: the example organization's stages, then the workloads in org mode.

    ``stages`` holds every stage by name (``management``, ``log-archive``, ``security``, the
    environments).
    """
    outdir = tmp_path_factory.mktemp("cdk.out-org")
    app = cdk.App(outdir=str(outdir), context={**copy.deepcopy(SHIPPED_CONTEXT), **CLI_CONTEXT})
    config = load_config(SHIPPED_CONTEXT)
    build_stages(app, config)
    register_packs(app)
    app.synth()  # raises ValidationFailed on any unacknowledged cdk-nag finding
    stages = {c.stage_name: c for c in app.node.children if isinstance(c, cdk.Stage)}
    return Synthesized(config, stages, outdir, stacks(outdir))  # type: ignore[arg-type]


@pytest.fixture(params=ENV_NAMES)
def env_name(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Resources of one type, by logical ID (IDs are used only to look up, never asserted)."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def pruned_copy(source: Path, outdir: Path, *, keep: int) -> list[StackArtifact]:
    """Copy the assembly ``source`` to ``outdir`` keeping only its first ``keep`` stacks.

    Stacks of other stages go with their nested assembly; the copy is a valid assembly that the
    gates read like the original (the stacks kept have no dependency on those dropped when they
    come first: keys, then network). Returns the stacks kept.
    """
    shutil.copytree(source, outdir)
    kept = stacks(outdir)[:keep]
    kept_ids = {s.artifact_id for s in kept}
    stage_dirs = {s.template_path.parent for s in kept}
    root = json.loads((outdir / "manifest.json").read_text())
    for artifact_id, artifact in list(root["artifacts"].items()):
        nested = artifact.get("properties", {}).get("directoryName")
        if artifact["type"] == "cdk:cloud-assembly" and outdir / nested not in stage_dirs:
            del root["artifacts"][artifact_id]
            shutil.rmtree(outdir / nested)
    (outdir / "manifest.json").write_text(json.dumps(root))
    for stage_dir in stage_dirs:
        stage = json.loads((stage_dir / "manifest.json").read_text())
        stage["artifacts"] = {
            artifact_id: artifact
            for artifact_id, artifact in stage["artifacts"].items()
            if artifact["type"] != "aws:cloudformation:stack" or artifact_id in kept_ids
        }
        (stage_dir / "manifest.json").write_text(json.dumps(stage))
        for template in stage_dir.glob("*.template.json"):
            if template not in {s.template_path for s in kept}:
                template.unlink()
    found = stacks(outdir)
    assert [s.artifact_id for s in found] == [s.artifact_id for s in kept]
    return found
