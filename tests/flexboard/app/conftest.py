"""Fixtures of the FlexBoard web-app tests: the published dataset imported into a temporary
folder, Debian's Chromium (installed with apt when missing and we are root), one real FlexBoard
server per module started through the `run,flexboard` recipe on a free loopback port."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT, shared_dir

PUBLISHED = shared_dir() / "data" / "open-mlperf-dataset" / "data.parquet"

pytest.importorskip("streamlit", reason="streamlit is in the flexboard extra (make install)")
pytest.importorskip("sklearn", reason="scikit-learn is in the flexboard extra (make install)")


# the predictor of the board and of the library query in the tests: small settings (fast to train)
SMALL = {"max_iter": 30, "conformal_folds": 2}
SMALL_FLAGS = [f"--{k}={v}" for k, v in SMALL.items()]


@pytest.fixture(scope="session")
def library_predictor(published_dataset):
    """The predictor the tests query directly: the board's data and settings, trained here."""
    from flexboard import predictor as P
    from flexboard.app import board, predicting

    return predicting.trained(board.Source(dataset_dir=str(published_dataset)), P.Settings(**SMALL))


@pytest.fixture(scope="session")
def chromium() -> str:
    pytest.importorskip("playwright", reason="playwright is in the test extra (make install-test)")
    from flexboard.app.harness import find_chromium

    exe = find_chromium()
    if exe is None and os.geteuid() == 0 and shutil.which("apt-get"):
        # the test set-up installs Debian's chromium when missing (as .ci/run does), never Playwright's browsers
        subprocess.run(["bash", str(ROOT / ".ci" / "chromium-up.sh")], check=False, capture_output=True, timeout=1200)
        exe = find_chromium()
    if exe is None:
        pytest.skip("no chromium: install Debian's package (apt-get install chromium) or set CMX_CHROMIUM")
    return exe


@pytest.fixture(scope="session")
def board_rows(published_dataset):
    from flexboard.app import board

    return board.load(board.Source(dataset_dir=str(published_dataset)))


@pytest.fixture(scope="module")
def server(published_dataset, tmp_path_factory, chromium):
    """FlexBoard through `cmx run script --tags=run,flexboard --port=P`, stopped by its PID."""
    from flexboard.app import harness

    home = tmp_path_factory.mktemp("board-home")
    s = harness.recipe_server(harness.free_port(), [f"--dataset_dir={published_dataset}", *SMALL_FLAGS],
                              env={"CMX_HOME": str(home)})
    s.start(home / "server.log")
    try:
        s.wait_ready()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    from flexboard.app import harness

    with sync_playwright() as pw:
        b = harness.launch(pw, chromium)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    """A fresh page; after the test, it must not have asked anything of another machine."""
    from flexboard.app import harness

    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(90_000)
    outside = harness.outside_requests(pg)
    yield pg
    ctx.close()
    assert outside == [], f"the page made requests off this machine: {outside[:5]}"
