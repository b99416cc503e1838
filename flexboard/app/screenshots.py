"""Screenshots of every FlexBoard page (docs/flexboard/*.png), taken in Chromium from a real server.

    python -m flexboard.app.screenshots --data=../shared/data/open-mlperf-dataset/data.parquet \
        --samples=../shared/data/mlperf-results/v4.1-log-samples --out=docs/flexboard

The data file is imported into a temporary dataset folder first (as `import,open-mlperf-dataset`
does), so the rows carry their provenance. Each page is shown after what a person would do on
it (a filter on explore, Predict pressed, a row's provenance opened).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

WAIT = 120_000  # ms


EXPLORE_MODEL = "llama2-70b-99"  # the explore page's screenshot is filtered to it


def grid_links(page: Any) -> list[str]:
    """The provenance links of the explore grid's rows drawn now, top first (its accessible table,
    which follows what the canvas shows)."""
    return [c for c in page.locator("[data-testid=stDataFrame] table td").all_inner_texts() if c.startswith("provenance?id=")]


def explore_filtered(page: Any) -> None:
    """Filter the explore page to ``EXPLORE_MODEL``; return once the page shows it: the row count
    changed and the grid redrawn with that many rows (it draws them after Streamlit's run is over;
    its accessible table's ``aria-rowcount`` is the rows drawn plus the header)."""
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=WAIT)
    count = page.locator("#row-count")
    count.filter(has_text="of").wait_for(timeout=WAIT)
    unfiltered = count.inner_text()
    box = page.get_by_test_id("stMultiSelect").filter(has=page.get_by_text("Model", exact=True))
    box.locator("input").first.click()
    box.locator("input").first.fill(EXPLORE_MODEL)
    page.get_by_role("option", name=EXPLORE_MODEL, exact=True).click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        """(unfiltered) => {
            const c = document.querySelector('#row-count');
            const t = document.querySelector('[data-testid=stDataFrame] table');
            if (!c || !t || c.innerText === unfiltered) return false;
            const shown = parseInt(c.innerText.split(' of ')[0].replace(/[^0-9]/g, ''), 10);
            return parseInt(t.getAttribute('aria-rowcount'), 10) === shown + 1;
        }""", arg=unfiltered, timeout=WAIT)


def _wait(testid: str) -> Callable[[Any], None]:
    return lambda page: page.get_by_test_id(testid).first.wait_for(timeout=WAIT)


def _charts(page: Any) -> None:
    page.get_by_test_id("stVegaLiteChart").first.wait_for(timeout=WAIT)
    page.locator("canvas, svg").first.wait_for(timeout=WAIT)


def _predict(page: Any) -> None:
    page.get_by_test_id("stFormSubmitButton").get_by_role("button").click()
    page.get_by_test_id("stMetric").first.wait_for(timeout=WAIT)
    page.locator("[data-testid=stDataFrame] canvas").first.wait_for(timeout=WAIT)  # the measured rows drawn


def _recommend(page: Any) -> None:
    """mixtral-8x7b under a 200 ms TPOT limit: measured and predicted options ranked together."""
    buttons = page.get_by_test_id("stFormSubmitButton")
    buttons.first.wait_for(timeout=WAIT)
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text("Model", exact=True))
    box.locator("input").first.click()
    box.locator("input").first.fill("mixtral-8x7b")
    page.get_by_role("option", name="mixtral-8x7b", exact=True).click()
    page.get_by_test_id("stTextInput").filter(has=page.get_by_text("Maximum TPOT p99 (ms)")).locator("input").fill("200")
    buttons.get_by_role("button").first.click()
    page.locator("#best").wait_for(timeout=WAIT)


PAGES: tuple[tuple[str, str, Callable[[Any], None]], ...] = (
    ("explore", "", explore_filtered),
    ("compare", "compare", _wait("stTable")),
    ("charts", "charts", _charts),
    ("cost", "cost", lambda page: page.locator("#cheapest").wait_for(timeout=WAIT)),
    ("predict", "predict", _predict),
    ("recommend", "recommend", _recommend),
    ("provenance", "provenance?id={rid}", _wait("stCode")),
)


def take(data: Path, out: Path, pages: list[str] | None = None, samples: Path | None = None) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from flexboard.app import board, harness
    from flexboard.app.views import PAGES as APP_PAGES
    from openmlperf.importers import published

    chromium = harness.find_chromium()
    if chromium is None:
        raise SystemExit("no chromium: apt-get install chromium (or set CMX_CHROMIUM)")
    out.mkdir(parents=True, exist_ok=True)
    known = {path for _t, path, _m in APP_PAGES}
    done: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="flexboard-shots-") as tmp:
        ds = Path(tmp) / "dataset"
        # copies in the temporary folder: the provenance the pages show names no folder of this machine
        shutil.copy(data, Path(tmp) / data.name)
        published.import_file(Path(tmp) / data.name, ds)
        if samples is not None:  # real LoadGen logs: rows with TTFT/TPOT for the latency charts
            from openmlperf.importers.mlperf import import_tree

            shutil.copytree(samples, Path(tmp) / samples.name)
            import_tree(Path(tmp) / samples.name, ds, round_="v4.1")
        rows = board.load(board.Source(dataset_dir=str(ds)))
        rid = str(rows[board.ID].iloc[0])
        s = harness.direct_server(harness.free_port(), [f"--dataset_dir={ds}"]).start(Path(tmp) / "server.log")
        try:
            s.wait_ready()
            with sync_playwright() as pw:
                browser = harness.launch(pw, chromium)
                for name, path, act in PAGES:
                    if pages and name not in pages:
                        continue
                    if path.split("?")[0] not in known:
                        print(f"skipped {name}: the app has no such page", file=sys.stderr)
                        continue
                    ctx = browser.new_context(viewport={"width": 1400, "height": 1600})
                    page = ctx.new_page()
                    page.goto(s.url + path.format(rid=rid), wait_until="domcontentloaded")
                    page.get_by_test_id("stSidebarNav").wait_for(timeout=WAIT)
                    act(page)
                    page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=WAIT)  # run finished
                    target = out / f"{name}.png"
                    page.screenshot(path=str(target), full_page=True)
                    done.append(target)
                    print(target, file=sys.stderr)
                    ctx.close()
                browser.close()
        finally:
            s.stop()
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--data", required=True, help="the published dataset file (data.parquet)")
    ap.add_argument("--samples", help="also import this MLPerf results folder (../shared/data/mlperf-results/v4.1-log-samples)")
    ap.add_argument("--out", default="docs/flexboard")
    ap.add_argument("--pages", nargs="*", help="only these pages")
    a = ap.parse_args(argv)
    take(Path(a.data).resolve(), Path(a.out), a.pages, Path(a.samples).resolve() if a.samples else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
