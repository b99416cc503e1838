"""FlexBoard: first render of the explore page in a real browser, on 100,000 rows vs the 847
published rows, side by side in one run.

The 100,000 rows are the published dataset (``../shared/data/open-mlperf-dataset/data.parquet``,
mapped as the importer maps it) resampled with replacement (fixed seed), each with a new result
id. For each size a real FlexBoard (``python -m flexboard.app.serve --data=FILE``) is started on a
free loopback port and Debian's Chromium (Playwright; ``CMX_CHROMIUM`` names another) opens
the explore page in a fresh browser context each time: the time is from the navigation to the
row count and the data grid being drawn. The first visit after the server starts ("cold") is
reported apart from the later visits (each a new Streamlit session that re-runs the page).
Also reported: the server's start (process start to the health endpoint answering; it loads the
rows before it listens). No thresholds: the goal (<= 2 s) is printed as text.

Run: ``python benchmarks/flexboard_render_bench.py [--runs 7] [--rows 100000] [--json]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, Stats, print_result  # noqa: E402

PUBLISHED = ROOT / ".." / "shared" / "data" / "open-mlperf-dataset" / "data.parquet"
GOAL = "<= 2 s (issue 14)"


def _published() -> Path:
    if PUBLISHED.is_file():
        return PUBLISHED.resolve()
    sys.path.insert(0, str(ROOT))
    from tests.conftest import shared_dir  # a git worktree finds shared/ next to its main checkout

    p = shared_dir() / "data" / "open-mlperf-dataset" / "data.parquet"
    if not p.is_file():
        sys.exit(f"no published dataset at {PUBLISHED}")
    return p.resolve()


def make_rows(rows: int, out: Path, seed: int = 0) -> int:
    """``rows`` rows resampled from the published dataset, with new result ids, as one Parquet file."""
    import numpy as np

    from flexboard.app import board

    base = board.load(board.Source(data_file=str(_published())))
    base = base.drop(columns=["accelerator"])
    idx = np.random.default_rng(seed).integers(0, len(base), size=rows)
    big = base.iloc[idx].reset_index(drop=True)
    big[board.ID] = [f"{i:016x}" for i in range(rows)]
    big.to_parquet(out, index=False)
    return len(big)


def _first_render(browser: Any, url: str, rows: int) -> float:
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    try:
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        expect(page.locator("#row-count")).to_have_text(f"{rows:,} of {rows:,} rows", timeout=120_000)
        expect(page.locator("[data-testid=stDataFrame] canvas").first).to_be_visible(timeout=120_000)
        return time.perf_counter() - t0
    finally:
        ctx.close()


def measure_one(data: Path, rows: int, runs: int, browser: Any, tmp: Path, label: str) -> dict[str, Any]:
    from flexboard.app import harness

    s = harness.direct_server(harness.free_port(), [f"--data={data}"])
    t0 = time.perf_counter()
    s.start(tmp / f"server-{label}.log")
    try:
        s.wait_ready()
        start_s = time.perf_counter() - t0
        cold = _first_render(browser, s.url, rows)
        warm = Stats(f"explore, {rows:,} rows, later visits")
        for _ in range(runs):
            warm.samples.append(_first_render(browser, s.url, rows))
    finally:
        s.stop()
    return {"rows": rows, "server_start_s": round(start_s, 2), "cold_s": round(cold, 3), "warm": warm.to_json()}


def measure(runs: int = 7, rows: int = 100_000) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from flexboard.app import harness

    chromium = harness.find_chromium()
    if chromium is None:
        return {"skipped": "no chromium (apt-get install chromium, or set CMX_CHROMIUM)"}
    with tempfile.TemporaryDirectory(prefix="cmx-flexboard-bench-") as tmp_s:
        tmp = Path(tmp_s)
        big = tmp / "rows.parquet"
        n = make_rows(rows, big)
        with sync_playwright() as pw:
            browser = harness.launch(pw, chromium)
            try:
                small = measure_one(_published(), 847, runs, browser, tmp, "published")
                large = measure_one(big, n, runs, browser, tmp, "large")
            finally:
                browser.close()
    return {"published": small, "large": large, "goal": GOAL,
            "ratio_large_over_published_warm": round(large["warm"]["median_ms"] / small["warm"]["median_ms"], 2)}


def report_lines(r: dict[str, Any]) -> list[str]:
    if "skipped" in r:
        return [f"flexboard render: skipped ({r['skipped']})"]
    lines = ["flexboard: first render of the explore page in Chromium (navigation -> row count and grid drawn)"]
    for key in ("published", "large"):
        x = r[key]
        w = x["warm"]
        lines.append(f"  {x['rows']:>7,} rows: cold (first visit) {x['cold_s']:.2f} s; later visits median "
                     f"{w['median_ms'] / 1000:.2f} s (min {w['min_ms'] / 1000:.2f}, max {w['max_ms'] / 1000:.2f}; "
                     f"n={w['n']}); server start {x['server_start_s']:.1f} s")
    lines.append(f"  {r['large']['rows']:,} / 847 rows (later visits): {r['ratio_large_over_published_warm']:.2f}x"
                 f"   (goal: {r['goal']})")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = measure(runs=a.runs, rows=a.rows)
    print_result(r, report_lines(r), a.json)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
