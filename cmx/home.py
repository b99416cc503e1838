"""Where cmx keeps its state: CMX_HOME, repos.yaml, the cache root and built-ins.

From a checkout, the home is the checkout itself (its ``repos.yaml`` and
``cache/``). ``CMX_HOME`` relocates both. Installed elsewhere, the home is
``~/.cmx``. The built-in recipes and automations are always available,
whatever the home: ``scripts/`` and ``automations/`` of the checkout, or their
copies in ``cmx/_builtin/`` when cmx is installed from a wheel (setup.py).
"""

from __future__ import annotations

import errno
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
        root = Path(env).expanduser().resolve()
        _check_home(env, root)
        return Home(root)
    if _is_checkout(PROJECT_ROOT):
        return Home(PROJECT_ROOT)
    return Home(Path.home() / ".cmx")


_UNUSABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST}


def _check_home(env: str, root: Path) -> None:
    """CMX_HOME must be a folder, or a path where one can be made: a file (or a file on the way
    to it) is a usage error naming CMX_HOME."""
    from cmx.errors import UsageError

    for path in (root, *root.parents):
        if path.exists():
            if not path.is_dir():
                what = "is a file" if path == root else f"is inside {path}, which is a file"
                raise UsageError(f"CMX_HOME={env} {what}, not a folder", hint="set CMX_HOME to a folder cmx can write to")
            return


def unusable_home(exc: OSError) -> Exception | None:
    """A usage error naming CMX_HOME when ``exc`` is cmx failing to write its own home (read-only,
    not permitted, not a folder), else None: the CLI reports it as exit 2, not an internal error."""
    env = os.environ.get("CMX_HOME")
    if not env or exc.errno not in _UNUSABLE | {errno.ENOENT} or not exc.filename:
        return None
    root = Path(env).expanduser().resolve()
    failed = Path(os.fsdecode(exc.filename))
    if failed != root and root not in failed.parents:
        return None
    if exc.errno == errno.ENOENT and root.is_dir():
        return None  # something inside the home went missing: not the home's fault
    from cmx.errors import UsageError

    return UsageError(f"CMX_HOME={env} is not usable: cannot write {failed} ({exc.strerror or exc})",
                      hint="set CMX_HOME to a folder cmx can write to")
