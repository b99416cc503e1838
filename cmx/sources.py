"""The folder to put on the benchmark venv's PYTHONPATH so that ``import flexbench`` works.

The FlexBench recipes run ``python -m flexbench.…`` in their own venv. From a checkout
that folder is the checkout. From a wheel, ``flexbench/`` sits in site-packages next to
cmx's own dependencies, which must not shadow the venv's packages (nor be compiled for
another interpreter), so the folder is ``<cache>/.src/``, holding only a symlink to the
installed ``flexbench`` package.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from cmx.errors import CmxError
from cmx.home import PROJECT_ROOT, current_home


def _installed_package() -> Path:
    spec = importlib.util.find_spec("flexbench")
    if spec is None or not spec.submodule_search_locations:
        raise CmxError("the flexbench package is not installed next to cmx")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def flexbench_src() -> Path:
    """A folder whose only importable package is ``flexbench`` (or the checkout)."""
    package = _installed_package()
    if package.parent == PROJECT_ROOT and (PROJECT_ROOT / "scripts").is_dir():
        return PROJECT_ROOT
    folder = current_home().cache_root / ".src"
    link = folder / "flexbench"
    if link.is_symlink() and Path(os.readlink(link)) == package:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".flexbench.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(package, target_is_directory=True)
    os.replace(tmp, link)  # atomic: a concurrent run sees the old or the new link
    return folder
