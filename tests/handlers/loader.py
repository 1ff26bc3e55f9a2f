"""Load a Lambda handler module by file path, with ``sys.path`` set up as on Lambda.

``lambda`` is a Python keyword, so handler folders cannot be imported as a package. On Lambda
the function's folder is the working directory and on ``sys.path`` (``/var/task``), and the
``handler_kit`` layer sits at ``/opt/python``: a handler imports its sibling modules
(``findings_router_settings``) and the layer (``handler_kit.log``) by their plain names. This
loader puts ``lambda/layer/python`` and ``lambda/<function>`` on ``sys.path`` the same way, then
imports ``lambda/<function>/<module>.py`` under its own name. Module names are unique across
functions (each starts with its function's name), so several handlers share one process.

A handler module may also live in a layer of its own (``lambda/<layer>/python/<module>.py``, at
``/opt/python`` on Lambda next to ``handler_kit``) and import the modules of the function folder
it is deployed with: ``load_layer_module`` sets up ``sys.path`` for that case.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

LAMBDA_ROOT = Path(__file__).resolve().parents[2] / "lambda"
LAYER_PATH = LAMBDA_ROOT / "layer" / "python"


def _on_path(folder: Path) -> None:
    entry = str(folder)
    if entry not in sys.path:
        sys.path.insert(0, entry)


def load_handler(function: str, module: str | None = None) -> ModuleType:
    """Import ``lambda/<function>/<module or function>.py`` as ``<module or function>``.

    A module already imported from that file (by an earlier call, or by a handler importing its
    sibling) is returned as it is, so tests and handlers see the same classes and functions.
    """
    name = module or function
    if not name.startswith(function):
        raise ImportError(f"module {name!r} must start with its function's name {function!r}")
    folder = LAMBDA_ROOT / function
    path = folder / f"{name}.py"
    if not path.is_file():
        raise ImportError(f"no handler module at {path}")
    _on_path(LAYER_PATH)
    _on_path(folder)
    return _import_file(name, path)


def load_layer_module(layer: str, module: str, *, function: str) -> ModuleType:
    """Import ``lambda/<layer>/python/<module>.py`` as ``<module>``, deployed with ``function``.

    ``sys.path`` gets ``lambda/layer/python`` (``handler_kit``), ``lambda/<layer>/python`` and
    ``lambda/<function>`` (``/var/task``, first, as on Lambda), so the layer module imports its
    siblings, the function's modules and ``handler_kit`` by plain name. A module already
    imported from that file is returned as it is (see ``load_handler``).
    """
    layer_folder = LAMBDA_ROOT / layer / "python"
    path = layer_folder / f"{module}.py"
    if not path.is_file():
        raise ImportError(f"no layer module at {path}")
    function_folder = LAMBDA_ROOT / function
    if not function_folder.is_dir():
        raise ImportError(f"no function folder at {function_folder}")
    _on_path(LAYER_PATH)
    _on_path(layer_folder)
    _on_path(function_folder)
    return _import_file(module, path)


def _import_file(name: str, path: Path) -> ModuleType:
    """``sys.modules[name]`` if it was loaded from ``path``, else ``path`` imported as ``name``."""
    loaded = sys.modules.get(name)
    if loaded is not None:
        if Path(str(loaded.__file__)).resolve() != path:
            raise ImportError(f"module {name!r} is already loaded from {loaded.__file__}")
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"no handler module at {path}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[name]
        raise
    return loaded


def load_layer(module: str | None = None) -> ModuleType:
    """Import the ``handler_kit`` layer package (or ``handler_kit.<module>``) as Lambda would."""
    _on_path(LAYER_PATH)
    return importlib.import_module("handler_kit" if module is None else f"handler_kit.{module}")
