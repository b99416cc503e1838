"""Shrink an accuracy log to the size MLPerf's submission checker accepts.

MLPerf's ``tools/submission/truncate_accuracy_log.py`` (mlcommons/inference, read at
b66003e) does this to every ``accuracy/`` folder of a submission:

1. If ``accuracy.txt`` already has a ``hash=`` line and ``mlperf_log_accuracy.json`` is
   smaller than 10 KiB, the folder is left alone.
2. Otherwise the full log is copied to a backup location outside the tree (it refuses
   to overwrite an existing backup), the SHA-256 of the *full* log is appended to
   ``accuracy.txt`` as ``hash=<hex>``, and the log is cut to its first 4 KiB, a
   ``"\\n\\n...\\n\\n"`` marker and its last 4 KiB. The result is no longer valid JSON:
   it is a viewable excerpt, and the hash ties it to the backup.

This module does the same, with three differences, all on the side of safety:
a ``hash=`` line that is already there but does not match the full log is an error
(the official tool would append a second, different hash); a log too small for
head + marker + tail to be shorter is never "truncated" into a larger file; the cut
file is written to a temporary name and renamed over the log.
"""

from __future__ import annotations

import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from flexbench.accuracy import file_hash
from flexbench.fileio import atomic_write_bytes
from flexbench.mlperf.errors import SubmissionError
from flexbench.mlperf.rules import MAX_ACCURACY_LOG_BYTES

ACCURACY_LOG = "mlperf_log_accuracy.json"
ACCURACY_TXT = "accuracy.txt"
VIEWABLE_BYTES = 4096
MARKER = b"\n\n...\n\n"
_HASH_LINE = re.compile(r"^hash=([\w\d]+)$")  # the checker's own pattern


@dataclass(frozen=True)
class Truncation:
    """What happened to one ``accuracy/`` folder."""

    accuracy_dir: Path
    full_size: int  # bytes of the full log
    size: int  # bytes of the log left in the tree
    sha256: str | None  # of the full log; None when the folder was left alone unverified
    truncated: bool
    hash_appended: bool
    backup: Path | None


def recorded_hash(accuracy_txt: Path) -> str | None:
    """The first ``hash=`` value in ``accuracy.txt`` (as the checker reads it), or None."""
    with open(accuracy_txt, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = _HASH_LINE.match(line.rstrip("\r\n"))
            if m:
                return m.group(1)
    return None


def _cut(log: Path, size: int) -> None:
    with open(log, "rb") as fh:
        head = fh.read(VIEWABLE_BYTES)
        fh.seek(size - VIEWABLE_BYTES)
        tail = fh.read(VIEWABLE_BYTES)
    atomic_write_bytes(log, head + MARKER + tail, mode=stat.S_IMODE(log.stat().st_mode))


def truncate_accuracy_dir(accuracy_dir: Path, backup: Path | None, *,
                          limit: int = MAX_ACCURACY_LOG_BYTES, overwrite_backup: bool = False) -> Truncation:
    """Hash, back up and cut ``accuracy_dir/mlperf_log_accuracy.json`` in place.

    ``backup`` is the file the full log is copied to (None: no copy, as with the
    official tool's ``--output`` mode, for callers that keep the original elsewhere).
    """
    log, txt = accuracy_dir / ACCURACY_LOG, accuracy_dir / ACCURACY_TXT
    for f in (log, txt):
        if not f.is_file():
            raise SubmissionError(f"{f} is missing: an accuracy folder needs {ACCURACY_LOG} and {ACCURACY_TXT}")
    size = log.stat().st_size
    recorded = recorded_hash(txt)
    if recorded and size < limit:
        return Truncation(accuracy_dir, size, size, None, False, False, None)
    full = file_hash(log)
    if recorded and recorded != full:
        raise SubmissionError(f"{txt}: its hash= line ({recorded[:16]}...) is not the SHA-256 of {log} "
                              f"({full[:16]}...); the accuracy.txt belongs to another log, score it again")
    saved = None
    if backup is not None:
        if backup.exists() and not overwrite_backup:
            raise SubmissionError(f"backup {backup} already exists; not overwriting a saved full accuracy log")
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(log, backup)
        saved = backup
    appended = False
    if not recorded:
        text = txt.read_text(encoding="utf-8", errors="replace")
        with open(txt, "a", encoding="utf-8") as fh:
            fh.write(("" if text.endswith("\n") or not text else "\n") + f"hash={full}\n")
        appended = True
    cut = size > 2 * VIEWABLE_BYTES + len(MARKER)
    if cut:
        _cut(log, size)
    return Truncation(accuracy_dir, size, log.stat().st_size, full, cut, appended, saved)
