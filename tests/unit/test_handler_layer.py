"""Every deployed handler that imports the shared helpers gets the layer that ships them."""

from __future__ import annotations

import re

from tests.conftest import ROOT, Synthesized, resources_of

LAMBDA = ROOT / "lambda"


def _imports_handler_kit(module: str) -> bool:
    folder = LAMBDA / module
    return any(
        re.search(r"^\s*(from|import) handler_kit\b", path.read_text(), re.M)
        for path in folder.glob("*.py")
    )


def test_each_function_importing_handler_kit_has_the_handler_kit_layer(
    synthesized: Synthesized,
) -> None:
    checked = 0
    for artifact in synthesized.artifacts:
        template = artifact.template()
        layers = resources_of(template, "AWS::Lambda::LayerVersion")
        for function in resources_of(template, "AWS::Lambda::Function").values():
            module = function["Properties"]["Handler"].split(".")[0]
            if not (LAMBDA / module).is_dir() or not _imports_handler_kit(module):
                continue
            (ref,) = function["Properties"]["Layers"]
            layer = layers[ref["Ref"]]
            asset = artifact.template_path.parent / layer["Metadata"]["aws:asset:path"]
            assert (asset / "python" / "handler_kit" / "__init__.py").is_file(), module
            assert not list(asset.rglob("__pycache__"))
            checked += 1
    # two environments x eight handlers: the isolation rule, router, access review, invoke, PHI,
    # knowledge ingestion, guarded retrieval, the Bedrock Config rules
    assert checked == 2 * 8
