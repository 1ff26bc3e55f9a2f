"""Run several groups' copy apps in one Python process, each from its own copied folder.

Usage: ``python run_all.py <folder> [<folder> ...]``, each folder holding ``<group>_app.py``,
``harness.py`` and ``lifted_kit/`` (the group and core), the folder's name being the group.
One process saves the Python, aws-cdk-lib and jsii start-up of each further group. Between
groups the copied package and the harness are dropped from ``sys.modules`` and the folder from
the import path, so each group imports only its own copy. A group whose app raises gets
``out/error.txt`` with the traceback; the others still run.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from pathlib import Path


def run_group(folder: Path) -> None:
    """Run ``folder``'s app as ``__main__`` with ``folder`` first on the import path."""
    for name in [m for m in sys.modules if m.split(".")[0] in ("lifted_kit", "harness")]:
        del sys.modules[name]
    app = folder / f"{folder.name}_app.py"
    sys.path.insert(0, str(folder))
    sys.argv = [str(app), str(folder / "out")]
    os.chdir(folder)
    try:
        runpy.run_path(str(app), run_name="__main__")
    except BaseException:  # reported per group; the others go on
        (folder / "out").mkdir(parents=True, exist_ok=True)
        (folder / "out" / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
    finally:
        sys.path.remove(str(folder))


if __name__ == "__main__":
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path.cwd().resolve()]
    for folder in [Path(argument).resolve() for argument in sys.argv[1:]]:
        run_group(folder)
