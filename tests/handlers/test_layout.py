"""The lambda/ folder keeps its layout rules (lambda/README.md), checked from the source files.

One folder per function with ``<function>.py`` holding ``handler``; every module name starts with
its function's name (unique across functions, so handlers share one test process); at most 380
lines a module; boto3, botocore, the standard library, the layer and sibling modules only; no
client created at import; every folder is an import root for mypy as it is on Lambda.

An entry-point layer (``lambda/<name>_layer/python/*.py``, ``ENTRY_LAYERS``) holds a handler that
runs with another function's folder as its code: the same rules apply to its modules (named after
its entry module), which may also import that function's modules.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

from tests.handlers.loader import LAMBDA_ROOT, LAYER_PATH

MAX_LINES = 380
LAYER_PACKAGE = LAYER_PATH / "handler_kit"
FUNCTIONS = sorted(p for p in LAMBDA_ROOT.iterdir() if p.is_dir() and not (p / "python").is_dir())
FUNCTION_MODULES = sorted(m for folder in FUNCTIONS for m in folder.glob("*.py"))
LAYER_MODULES = sorted(LAYER_PACKAGE.glob("*.py"))
ENTRY_LAYERS = {"org_isolation_layer": ("org_isolation_rule", "sagemaker_isolation_rule")}
"""Entry-point layer folder -> (its entry module, the function folder deployed as its code)."""
ENTRY_LAYER_MODULES = sorted(
    m for layer in ENTRY_LAYERS for m in (LAMBDA_ROOT / layer / "python").glob("*.py")
)
ALLOWED_THIRD_PARTY = {"boto3", "botocore"}


def _rel(path: Path) -> str:
    return str(path.relative_to(LAMBDA_ROOT.parent))


def _imported_roots(tree: ast.Module) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_eight_functions_are_found() -> None:
    assert [f.name for f in FUNCTIONS] == [
        "access_review",
        "bedrock_config_rules",
        "findings_router",
        "guarded_invoke",
        "guarded_retrieval",
        "knowledge_ingestion",
        "phi_redaction",
        "sagemaker_isolation_rule",
    ]


def test_the_entry_layers_are_found() -> None:
    found = sorted(
        p.name for p in LAMBDA_ROOT.iterdir() if (p / "python").is_dir() and p.name != "layer"
    )
    assert found == sorted(ENTRY_LAYERS)
    for _, function in ENTRY_LAYERS.values():
        assert function in [f.name for f in FUNCTIONS]


ENTRY_POINTS = [folder / f"{folder.name}.py" for folder in FUNCTIONS] + [
    LAMBDA_ROOT / layer / "python" / f"{entry}.py" for layer, (entry, _) in ENTRY_LAYERS.items()
]


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=_rel)
def test_each_function_has_its_entry_point(entry: Path) -> None:
    tree = ast.parse(entry.read_text(encoding="utf-8"))
    handlers = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "handler"]
    assert [[a.arg for a in h.args.args] for h in handlers] == [["event", "context"]]


SETTINGS_FOLDERS = FUNCTIONS + [LAMBDA_ROOT / layer / "python" for layer in ENTRY_LAYERS]


@pytest.mark.parametrize("folder", SETTINGS_FOLDERS, ids=_rel)
def test_each_function_names_its_settings_class_settings(folder: Path) -> None:
    names: set[str] = set()
    for module in folder.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        names.update(n.name for n in tree.body if isinstance(n, ast.ClassDef | ast.FunctionDef))
    assert {"Settings", "load_settings"} <= names
    assert not names & {"Config", "load_config"}


def test_module_names_start_with_their_function_and_are_unique() -> None:
    names = [m.stem for m in FUNCTION_MODULES]
    assert len(names) == len(set(names))
    for module in FUNCTION_MODULES:
        assert module.stem.startswith(module.parent.name), _rel(module)
    assert not set(names) & {"handler_kit", *(m.stem for m in LAYER_MODULES)}
    assert not set(names) & (set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY)


def test_entry_layer_module_names_start_with_their_entry_module_and_are_unique() -> None:
    names = [m.stem for m in ENTRY_LAYER_MODULES]
    assert len(names) == len(set(names))
    for module in ENTRY_LAYER_MODULES:
        entry, _ = ENTRY_LAYERS[module.parent.parent.name]
        assert module.stem.startswith(entry), _rel(module)
    taken = {"handler_kit", *(m.stem for m in FUNCTION_MODULES + LAYER_MODULES)}
    assert not set(names) & (taken | set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY)


@pytest.mark.parametrize("module", FUNCTION_MODULES + LAYER_MODULES + ENTRY_LAYER_MODULES, ids=_rel)
def test_modules_are_at_most_380_lines(module: Path) -> None:
    assert len(module.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


@pytest.mark.parametrize("module", FUNCTION_MODULES + LAYER_MODULES + ENTRY_LAYER_MODULES, ids=_rel)
def test_modules_import_boto3_stdlib_the_layer_and_siblings_only(module: Path) -> None:
    siblings = {m.stem for m in module.parent.glob("*.py")}
    allowed = set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY | {"handler_kit"} | siblings
    if module in ENTRY_LAYER_MODULES:  # it runs with that function's folder on sys.path
        _, function = ENTRY_LAYERS[module.parent.parent.name]
        allowed |= {m.stem for m in (LAMBDA_ROOT / function).glob("*.py")}
    roots = _imported_roots(ast.parse(module.read_text(encoding="utf-8")))
    assert roots <= allowed, roots - allowed
    if module.parent == LAYER_PACKAGE:
        assert not roots & {m.stem for folder in FUNCTIONS for m in folder.glob("*.py")}


@pytest.mark.parametrize("module", FUNCTION_MODULES + LAYER_MODULES + ENTRY_LAYER_MODULES, ids=_rel)
def test_no_client_is_created_at_import(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in {"client", "resource", "Session"}, (
                    f"{_rel(module)}:{node.lineno} creates a boto3 {node.func.attr} at import"
                )


def test_every_import_root_is_on_mypys_path() -> None:
    config = tomllib.loads((LAMBDA_ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))
    mypy_path = config["tool"]["mypy"]["mypy_path"]
    expected = [_rel(LAYER_PATH), *(_rel(folder) for folder in FUNCTIONS)]
    expected += [_rel(LAMBDA_ROOT / layer / "python") for layer in ENTRY_LAYERS]
    assert sorted(mypy_path) == sorted(expected)


@pytest.mark.parametrize("module", FUNCTION_MODULES + ENTRY_LAYER_MODULES, ids=_rel)
def test_parts_never_import_their_entry_point(module: Path) -> None:
    entry = module.parent.name
    if module in ENTRY_LAYER_MODULES:
        entry, _ = ENTRY_LAYERS[module.parent.parent.name]
    if module.stem == entry:
        return
    roots = _imported_roots(ast.parse(module.read_text(encoding="utf-8")))
    assert entry not in roots
