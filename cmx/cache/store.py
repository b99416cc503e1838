"""The content-addressed cache store.

Layout under the cache root::

    store/<k[:2]>/<key>/      published entries (immutable), cmx-entry.json inside
    .tmp/<key>.<pid>.<rand>/  builds in progress (never read by lookups)
    .failed/<alias>-<k12>-<time>/  failed builds with their logs (never reused)
    .locks/<key>.lock         one lock per key: N concurrent runs build once
    .trash/                   entries being replaced or removed

An entry becomes visible only through one atomic ``rename`` of a complete
folder, so a crash at any moment leaves nothing a later lookup can reuse.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from cmx.errors import CacheError
from cmx.home import Home

ENTRY_FILE = "cmx-entry.json"
ENTRY_FORMAT = 1
LOCK_TIMEOUT_S = float(os.environ.get("CMX_LOCK_TIMEOUT", "3600"))


@dataclass(frozen=True)
class Entry:
    key: str
    path: Path
    record: dict[str, Any]

    @property
    def alias(self) -> str:
        return str(self.record.get("alias", "?"))

    @property
    def expired(self) -> bool:
        expires = self.record.get("expires")
        return expires is not None and time.time() >= float(expires)

    @property
    def created(self) -> float:
        return float(self.record.get("created", 0))


def parse_duration(text: str) -> float:
    """'90s', '10m', '2h', '3d', '1w' or plain seconds."""
    text = str(text).strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


def map_paths(value: Any, old: str, new: str) -> Any:
    """Rewrite the build folder's path to the published one, in env/state values."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [map_paths(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: map_paths(v, old, new) for k, v in value.items()}
    return value


class Store:
    def __init__(self, home: Home) -> None:
        self.root = home.cache_root
        self.entries_dir = home.store
        self.tmp_dir = self.root / ".tmp"
        self.failed_dir = self.root / ".failed"
        self.locks_dir = self.root / ".locks"
        self.trash_dir = self.root / ".trash"

    def entry_path(self, key: str) -> Path:
        return self.entries_dir / key[:2] / key

    def snapshot(self) -> set[str]:
        """Keys present now (one directory listing per shard): for planning many nodes at once."""
        keys: set[str] = set()
        try:
            shards = os.listdir(self.entries_dir)
        except OSError:
            return keys
        for shard in shards:
            try:
                keys.update(os.listdir(os.path.join(self.entries_dir, shard)))
            except OSError:
                pass
        return keys

    def lookup(self, key: str) -> Entry | None:
        path = self.entry_path(key)
        try:
            record = json.loads((path / ENTRY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if record.get("format") != ENTRY_FORMAT or record.get("key") != key:
            return None
        return Entry(key, path, record)

    def lock(self, key: str) -> Any:
        from filelock import FileLock

        self.locks_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.locks_dir / f"{key}.lock"), timeout=LOCK_TIMEOUT_S)

    def locked(self, key: str, label: str) -> Any:
        """The key's lock as a context manager; a timeout is a CacheError naming the lock."""
        import contextlib

        from filelock import Timeout

        @contextlib.contextmanager
        def _cm() -> Any:
            lock = self.lock(key)
            try:
                lock.acquire()
            except Timeout as exc:
                raise CacheError(
                    f"timed out after {LOCK_TIMEOUT_S:g}s waiting for another cmx run building {label} "
                    f"(lock {self.locks_dir / (key + '.lock')})",
                    hint="is another run still going? raise CMX_LOCK_TIMEOUT (seconds) to wait longer",
                ) from exc
            try:
                yield lock
            finally:
                lock.release()

        return _cm()

    def new_build_dir(self, key: str) -> Path:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        path = self.tmp_dir / f"{key[:32]}.{os.getpid()}.{os.urandom(4).hex()}"
        path.mkdir()
        return path

    def publish(self, key: str, build_dir: Path, record: dict[str, Any], relocate: list[str] | None = None) -> Entry:
        """Write the record last, then rename the whole folder into place.

        ``relocate`` globs name text files (e.g. a venv's ``bin/*`` scripts) in
        which the build folder's path is rewritten to the published path first.
        """
        final = self.entry_path(key)
        for pattern in relocate or []:
            for f in build_dir.glob(pattern):
                _relocate_file(f, str(build_dir), str(final))
        record = dict(record, format=ENTRY_FORMAT, key=key)
        record = map_paths(record, str(build_dir), str(final))
        entry_file = build_dir / ENTRY_FILE
        with open(entry_file, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=1, sort_keys=True, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():  # an expired entry or one being replaced by --new
            self._to_trash(final)
        try:
            os.rename(build_dir, final)
        except OSError as exc:
            raise CacheError(f"cannot publish cache entry {final}: {exc}") from exc
        _fsync_dir(final.parent)
        return Entry(key, final, record)

    def fail(self, build_dir: Path, alias: str, key: str) -> Path:
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        dest = self.failed_dir / f"{alias}-{key[:12]}-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(2).hex()}"
        try:
            os.rename(build_dir, dest)
        except OSError:
            return build_dir
        return dest

    def _to_trash(self, path: Path) -> None:
        self.trash_dir.mkdir(parents=True, exist_ok=True)
        dest = self.trash_dir / f"{path.name}.{os.urandom(4).hex()}"
        os.rename(path, dest)
        import shutil

        shutil.rmtree(dest, ignore_errors=True)

    def remove(self, entry: Entry) -> None:
        with self.locked(entry.key, entry.alias):
            if entry.path.exists():
                self._to_trash(entry.path)

    def entries(self) -> Iterator[Entry]:
        if not self.entries_dir.is_dir():
            return
        for shard in sorted(self.entries_dir.iterdir()):
            if not shard.is_dir():
                continue
            for path in sorted(shard.iterdir()):
                entry = self.lookup(path.name)
                if entry is not None:
                    yield entry

    def orphan_builds(self) -> Iterator[Path]:
        """Build folders whose process is gone (crashed or killed)."""
        if not self.tmp_dir.is_dir():
            return
        for path in self.tmp_dir.iterdir():
            parts = path.name.split(".")
            pid = int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else -1
            if pid <= 0 or not _alive(pid):
                yield path


def _relocate_file(path: Path, old: str, new: str) -> None:
    if not path.is_file() or path.is_symlink() or path.stat().st_size > 8 * 1024 * 1024:
        return
    data = path.read_bytes()
    if b"\0" in data[:8192] or old.encode() not in data:
        return
    mode = path.stat().st_mode
    path.write_bytes(data.replace(old.encode(), new.encode()))
    os.chmod(path, mode)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
