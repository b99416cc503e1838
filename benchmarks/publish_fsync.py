"""What making a cache entry durable costs before it is published (``cmx.cache.store.sync_tree``).

Each round copies a folder (by default the venv that runs this script: a venv-sized entry) into a
fresh build folder, as a build would write it, then times, side by side on the same fresh copy size:

* ``copy``: writing the tree (what the build itself paid to produce it);
* ``sync_tree``: what ``Store.publish`` now does (an fsync per file below 256 files, else one syncfs);
* ``fsync each file``: an fsync per file and folder, the alternative for large entries.

Series are interleaved round by round. The figures depend on how much other dirty data the
machine holds (syncfs flushes the whole filesystem). Run:
``python benchmarks/publish_fsync.py [--tree DIR] [--runs 3] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cmx.cache.store import _fsync_dir, sync_tree  # noqa: E402


def _fsync_each(root: Path) -> None:
    for folder, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--tree", type=Path, default=Path(sys.prefix), help="the folder to copy (default: this venv)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    files = sum(len(f) for _, _, f in os.walk(args.tree))
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.tree) for f in fs
               if not os.path.islink(os.path.join(d, f)))
    times: dict[str, list[float]] = {"copy": [], "sync_tree": [], "fsync each file": []}
    with tempfile.TemporaryDirectory(prefix="cmx-bench-fsync-") as work:
        for n in range(args.runs):
            for mode in (("sync_tree", "fsync each file") if n % 2 == 0 else ("fsync each file", "sync_tree")):
                dst = Path(work) / f"{mode.replace(' ', '-')}-{n}"
                t = time.monotonic()
                shutil.copytree(args.tree, dst, symlinks=True)
                times["copy"].append(time.monotonic() - t)
                t = time.monotonic()
                sync_tree(dst) if mode == "sync_tree" else _fsync_each(dst)
                times[mode].append(time.monotonic() - t)
                shutil.rmtree(dst)
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {"files": files, "bytes": size, "runs": args.runs, "median_s": med,
           "sync_tree_over_copy": med["sync_tree"] / med["copy"],
           "fsync_each_over_sync_tree": med["fsync each file"] / med["sync_tree"]}
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"durable publish: {files} files, {size / 1e6:.0f} MB, {args.runs} rounds")
    for k, v in med.items():
        print(f"  {k}: median {v:.2f} s")
    print(f"  sync_tree / copy: {out['sync_tree_over_copy']:.2f}x;  fsync each file / sync_tree: "
          f"{out['fsync_each_over_sync_tree']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
