"""Load a Lambda handler module by file path.

``lambda`` is a Python keyword, so handler folders cannot be imported as a package; each
function's module is loaded from ``lambda/<function>/<module>.py`` under a unique name.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

LAMBDA_ROOT = Path(__file__).resolve().parents[2] / "lambda"


def load_handler(function: str, module: str | None = None) -> ModuleType:
    """Import ``lambda/<function>/<module or function>.py`` as ``lambda_<function>``."""
    path = LAMBDA_ROOT / function / f"{module or function}.py"
    name = f"lambda_{function}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"no handler module at {path}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded
