"""Where cmx keeps its state: CMX_HOME, repos.yaml, the cache root and built-ins.

From a checkout, the home is the checkout itself (its ``repos.yaml`` and
``cache/``). ``CMX_HOME`` relocates both. Installed elsewhere, the home is
``~/.cmx``. The built-in recipes and automations are always available,
whatever the home: ``scripts/`` and ``automations/`` of the checkout, or their
copies in ``cmx/_builtin/`` when cmx is installed from a wheel (setup.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The folder holding the built-in scripts/ and automations/: cmx/_builtin in a wheel, else the checkout.
_WHEEL_BUILTIN = Path(__file__).resolve().parent / "_builtin"
BUILTIN_ROOT = _WHEEL_BUILTIN if (_WHEEL_BUILTIN / "automations").is_dir() else PROJECT_ROOT


def _is_checkout(root: Path) -> bool:
    return (root / "setup.cfg").is_file() and (root / "scripts").is_dir()


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def repos_file(self) -> Path:
        return self.root / "repos.yaml"

    @property
    def cache_root(self) -> Path:
        return self.root / "cache"

    @property
    def store(self) -> Path:
        return self.cache_root / "store"

    @property
    def index_dir(self) -> Path:
        return self.cache_root / ".index"

    @property
    def runs_dir(self) -> Path:
        """Working folders of recipes that are not cached (results, logs)."""
        return self.cache_root / "runs"

    @property
    def pulled_repos(self) -> Path:
        return self.root / "repos"

    @staticmethod
    def builtin_scripts() -> Path:
        return BUILTIN_ROOT / "scripts"

    @staticmethod
    def automations_dir() -> Path:
        return BUILTIN_ROOT / "automations"


def current_home() -> Home:
    env = os.environ.get("CMX_HOME")
    if env:
        return Home(Path(env).expanduser().resolve())
    if _is_checkout(PROJECT_ROOT):
        return Home(PROJECT_ROOT)
    return Home(Path.home() / ".cmx")
