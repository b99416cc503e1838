"""Replay a fully cached `cmx run script` (or a `cmx find script`) without loading the engine.

After a run whose requested recipe was served from the cache, the CLI stores a
memo: the exact arguments, the stat signature of every file the plan was built
from (repos.yaml, recipe folders and files, cmx's own code), the cache entries
the result came from (the inode, size, mtime and ctime of each ``cmx-entry.json``,
so that any replacement of an entry, e.g. by ``--new``, invalidates the memo; and
each entry's expiry), and the output. An identical command
re-checks all of that with ``os.stat`` and, if nothing changed, prints the
stored output. Anything else falls through to the full engine. Standard library
only, imported before anything else, so a cached command costs little more than
Python's start-up.
"""

from __future__ import annotations

import _thread
import json
import os
import sys
import zlib
from typing import TYPE_CHECKING

from cmx import clock
from cmx.host import host_id

if TYPE_CHECKING:
    from typing import Any

MEMO_FORMAT = 3
# environment variables that change the index or the plan (the folders recipes may read outside their
# repository, the clock the expiry and gc decisions use): a memo made under other values is not replayed
PLAN_ENV = ("CMX_ALLOW_CODE_PATHS", "CMX_CLOCK_SHIFT")
_CMX_DIR = os.path.dirname(os.path.realpath(__file__))
# flags that change what a run does or prints: never replayed
_NOT_REPLAYED = ("--new", "--renew", "--skip", "--dry", "--fake", "--explain", "--lock", "--frozen", "-v", "--verbose",
                 "--jobs", "-n", "@", "--help")


def eligible(argv: list[str]) -> bool:
    """`run script` served from the cache, and `find script` (read-only): nothing else is replayed."""
    if len(argv) < 3 or argv[1] != "script" or argv[0] not in ("run", "find"):
        return False
    for a in argv[2:]:
        if a.startswith(_NOT_REPLAYED):
            return False
        if a.startswith("-") and not a.startswith("--") and ("v" in a or "n" in a):
            return False
    return True


def _home() -> str:
    env = os.environ.get("CMX_HOME")
    if env:
        return os.path.realpath(os.path.expanduser(env))
    root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    if os.path.isfile(os.path.join(root, "setup.cfg")) and os.path.isdir(os.path.join(root, "scripts")):
        return root
    return os.path.join(os.path.expanduser("~"), ".cmx")


def memo_path(argv: list[str]) -> str:
    # per machine: a run's probes, and so its answer, are the machine's own (cmx/host.py); machines sharing
    # a store keep their own memos
    digest = zlib.crc32("\0".join([host_id(), *argv]).encode()) & 0xFFFFFFFF
    return os.path.join(_home(), "cache", ".index", "memo", f"{digest:08x}.json")


def _sig(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def code_files() -> list[str]:
    root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    out = []
    for sub in ("cmx", "automations"):
        for folder, dirs, files in os.walk(os.path.join(root, sub)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            out += [os.path.join(folder, f) for f in files if f.endswith(".py")]
    return sorted(out)


def _plan_env() -> dict[str, str]:
    out = {k: os.environ[k] for k in PLAN_ENV if k in os.environ}
    out["host"] = host_id()  # a memo made on another machine (a shared store) is not replayed here
    return out


def try_replay(argv: list[str]) -> int | None:
    """Print the memoized output and return 0, or None when the engine must run."""
    if not eligible(argv) or os.environ.get("CMX_NO_MEMO"):
        return None
    try:
        with open(memo_path(argv), encoding="utf-8") as fh:
            memo = json.load(fh)
    except (OSError, ValueError):
        return None
    if memo.get("format") != MEMO_FORMAT or memo.get("argv") != argv or memo.get("home") != _home() \
            or memo.get("cmx") != _CMX_DIR \
            or memo.get("env") != _plan_env():  # another cmx (checkout, wheel) sharing this home; other settings
        return None
    for path, sig in memo["watch"]:
        if _sig(path) != sig:
            return None
    now = clock.now()
    for path, expires, stamp in memo["entries"]:
        try:
            st = os.stat(path)
        except OSError:
            return None
        if [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns] != stamp or (expires is not None and now >= expires):
            return None
    if memo["stderr"]:
        sys.stderr.write(memo["stderr"])
    sys.stdout.write(memo["stdout"])
    sys.stdout.flush()
    return 0


def write_memo(argv: list[str], watch: list[tuple[str, Any]], entries: list[tuple[str, float | None, list[int]]],
               stdout: str, stderr: str) -> None:
    from cmx.envutil import holds_secret

    if holds_secret(argv) or holds_secret(stdout) or holds_secret(stderr):
        return  # a memo is a file: never with a secret in it (the callers check too)
    path = memo_path(argv)
    memo = {
        "format": MEMO_FORMAT, "argv": argv, "home": _home(), "cmx": _CMX_DIR, "env": _plan_env(),
        "watch": watch + [(f, _sig(f)) for f in code_files()],
        "entries": entries, "stdout": stdout, "stderr": stderr,
    }
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.{_thread.get_ident()}.tmp"  # one per writer: processes and threads
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(memo, fh)
        os.replace(tmp, path)
    except OSError:
        pass  # a memo is only an optimisation
