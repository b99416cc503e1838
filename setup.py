"""Build step: ship the built-in recipes, automations and docs inside the wheel.

The checkout keeps ``scripts/`` and ``automations/`` at its top level (``cmx/home.py``
finds them there). A wheel has no checkout, so ``build_py`` copies both folders, and
``docs/`` (which ``cmx help`` prints and points at), to ``cmx/_builtin/`` in the build tree; ``cmx/home.py`` looks there first. No top-level
``scripts`` or ``automations`` package lands in site-packages. An editable install
(``make install``) reads the checkout directly and copies nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUILTIN_DIRS = ("scripts", "automations", "docs")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class BuildPyWithBuiltins(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        dest_root = Path(self.build_lib) / "cmx" / "_builtin"
        for name in BUILTIN_DIRS:
            dest = dest_root / name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(HERE / name, dest, ignore=SKIP)


setup(cmdclass={"build_py": BuildPyWithBuiltins})
