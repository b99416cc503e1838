"""FlexBoard in a real browser: Debian's Chromium driven by Playwright against the real server
(started by the `run,flexboard` recipe on a free loopback port). Each test loads a page, acts on
it as a person would, and checks what the page shows against the same query run directly
through the library (flexboard.app.board, flexboard.predictor). Every wait is on a selector or a
text, with generous timeouts; no fixed sleeps."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright", reason="playwright is in the test extra (make install-test)")
from playwright.sync_api import expect  # noqa: E402

from flexboard import prices  # noqa: E402
from flexboard.app import board  # noqa: E402

WAIT = 90_000  # ms


def goto(page, server, path: str = "") -> None:
    page.goto(server.url + path, wait_until="domcontentloaded")
    # the app has drawn its navigation and finished its first run
    expect(page.get_by_test_id("stSidebarNav")).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stMain").get_by_role("heading").first).to_be_visible(timeout=WAIT)
    settled(page)


def settled(page) -> None:
    """Streamlit has finished re-running the page (its running indicator is gone). Call it after
    waiting for what the run changes, before the next action."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT)


def pick(page, widget: str, label: str, option: str) -> None:
    """Choose ``option`` in the multiselect or selectbox labelled ``label``."""
    box = page.get_by_test_id(widget).filter(has=page.get_by_text(label, exact=True))
    box.locator("input").first.click()
    box.locator("input").first.fill(option)
    page.get_by_role("option", name=option, exact=True).click()


def error_text(page) -> str:
    alert = page.get_by_test_id("stAlertContentError").first
    expect(alert).to_be_visible(timeout=WAIT)
    return alert.inner_text()


def test_explore_shows_every_row_and_a_filter_gives_the_librarys_count(page, server, board_rows):
    goto(page, server)
    count = page.locator("#row-count")
    expect(count).to_have_text(f"{len(board_rows):,} of {len(board_rows):,} rows", timeout=WAIT)
    expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=WAIT)
    settled(page)

    # the docs' screenshot action: when it returns, the page shows the library's filtered rows, the
    # count and the grid's first row (the grid draws them after Streamlit's run is over)
    from flexboard.app import screenshots

    model = screenshots.EXPLORE_MODEL
    screenshots.explore_filtered(page)
    want = board.apply(board_rows, board.Filters.of({"model.mlperf_name": [model]}))
    assert 0 < len(want) < len(board_rows)
    assert count.inner_text() == f"{len(want):,} of {len(board_rows):,} rows"
    links = screenshots.grid_links(page)
    assert links and links == [f"provenance?id={rid}" for rid in want[board.ID].iloc[:len(links)]]
    settled(page)

    pick(page, "stMultiSelect", "Scenario", "Server")
    both = board.apply(board_rows, board.Filters.of({"model.mlperf_name": [model], "submission.scenario": ["Server"]}))
    expect(count).to_have_text(f"{len(both):,} of {len(board_rows):,} rows", timeout=WAIT)


def test_explore_with_no_matching_row_says_so(page, server):
    goto(page, server)
    expect(page.locator("#row-count")).to_be_visible(timeout=WAIT)
    search = page.get_by_test_id("stTextInput").filter(has=page.get_by_text("Search", exact=True)).locator("input")
    search.fill("no-system-is-called-this")
    search.press("Enter")
    warning = page.get_by_test_id("stAlertContentWarning").first
    expect(warning).to_contain_text("No rows match the filters", timeout=WAIT)
    assert page.get_by_test_id("stException").count() == 0


def test_compare_shows_the_librarys_side_by_side_table(page, server, board_rows):
    goto(page, server, "compare")
    table = page.get_by_test_id("stTable")
    expect(table).to_be_visible(timeout=WAIT)
    model = board.default_model(board_rows)
    scenario = board.options(board_rows[board_rows["model.mlperf_name"] == model], "submission.scenario")[0]
    systems = board.systems_for(board_rows, model, scenario)[:2]
    want = board.compare(board_rows, model, scenario, systems)
    text = table.inner_text()
    for column in want.columns:
        assert column in text
        assert want.loc["Per accelerator", column] in text
        assert want.loc["Result id", column] in text


def test_charts_draw_throughput_and_say_what_is_missing(page, server, board_rows):
    goto(page, server, "charts")
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible(timeout=WAIT)
    # the throughput chart is drawn from the library's rows: the same count under it
    thr = board.chart_frame(board_rows, board.THROUGHPUT)
    assert len(thr) > 0
    expect(page.get_by_text(f"{len(thr):,} rows; the bar is the best value per accelerator.").first).to_be_visible(timeout=WAIT)
    # the published rows have no energy figures: the page says so instead of drawing nothing
    assert board.chart_frame(board_rows, "power.energy_per_token").empty
    expect(page.get_by_text("No row of this selection has power.energy_per_token")).to_be_visible(timeout=WAIT)


def test_cost_page_gives_the_librarys_cheapest_and_refuses_a_negative_price(page, server, board_rows):
    goto(page, server, "cost")
    costs = board.cost_frame(board_rows, prices.default_map())
    best = costs.iloc[0]
    cheapest = page.locator("#cheapest")
    expect(cheapest).to_contain_text(f"${best['cost_per_million_tokens']:,.4f}", timeout=WAIT)
    expect(cheapest).to_contain_text(str(best["system.name"]))
    settled(page)

    # edit the first price (h100-sxm-80gb) to a negative number in the price table's grid
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible(timeout=WAIT)
    box = grid.bounding_box()
    assert box is not None
    row_h = 35  # the grid's default row (and header) height
    # double-click the first row's USD/hour cell: the grid opens its editor on it
    page.mouse.dblclick(box["x"] + 180 + 40, box["y"] + row_h + row_h / 2)
    editor = page.locator("#portal textarea").first
    expect(editor).to_have_value(f"{prices.default_map()['h100-sxm-80gb']:g}", timeout=WAIT)
    editor.fill("-5")
    editor.press("Enter")
    assert "h100-sxm-80gb" in error_text(page)
    expect(page.get_by_test_id("stAlertContentError").first).to_contain_text("at least 0")
    assert page.get_by_test_id("stException").count() == 0


def test_predict_shows_the_librarys_prediction(page, server, library_predictor):
    from flexboard.app import predicting

    goto(page, server, "predict")
    model, acc = "llama2-70b-99", "h200-sxm-141gb"
    pick(page, "stSelectbox", "Model", model)
    pick(page, "stSelectbox", "Accelerator", acc)
    settled(page)
    page.get_by_test_id("stFormSubmitButton").get_by_role("button").click()
    metric = page.get_by_test_id("stMetric").filter(has_text="Predicted tokens/s per accelerator")
    expect(metric).to_be_visible(timeout=WAIT)
    want = predicting.predict(library_predictor, model, acc, count=8, nodes=1, scenario="Offline", dtype="fp8")
    expect(metric.get_by_test_id("stMetricValue")).to_have_text(f"{want.per_accelerator:,.1f}", timeout=WAIT)
    interval = page.get_by_test_id("stMetric").filter(has_text="80% interval").get_by_test_id("stMetricValue")
    expect(interval).to_have_text(f"{want.low:,.1f} – {want.high:,.1f}")


def test_predict_for_a_model_nobody_knows_says_so(page, server):
    goto(page, server, "predict")
    pick(page, "stSelectbox", "Model", "other (HF config folder or hub id)")
    other = page.get_by_test_id("stTextInput").filter(has=page.get_by_text("HF config folder or hub id (for 'other')"))
    other.locator("input").fill("no-such-owner/no-such-model")
    page.get_by_test_id("stFormSubmitButton").get_by_role("button").click()
    assert "no-such-owner/no-such-model" in error_text(page)
    assert page.get_by_test_id("stException").count() == 0


def test_provenance_shows_the_rows_source_and_command(page, server, board_rows):
    rid = str(board_rows[board.ID].iloc[3])
    want = board.provenance(board_rows, rid)
    goto(page, server, f"provenance?id={rid}")
    code = page.get_by_test_id("stCode").first
    expect(code).to_contain_text(want.reproduce, timeout=WAIT)
    assert re.match(r"cmx run script --tags=import,open-mlperf-dataset --path=", want.reproduce)
    expect(page.get_by_text(want.title)).to_be_visible()


def _recommend_or_skip():
    from importlib.util import find_spec

    if find_spec("flexboard.recommend") is None:
        pytest.skip("flexboard.recommend (the recommender) is not in this tree")
    from flexboard import recommend

    return recommend


def test_recommend_shows_the_librarys_best_configuration(page, server, published_dataset, library_predictor):
    R = _recommend_or_skip()
    from flexboard import features as F
    from flexboard import prices as P

    goto(page, server, "recommend")
    model = "llama2-70b-99"
    pick(page, "stSelectbox", "Model", model)
    page.get_by_test_id("stTextInput").filter(has=page.get_by_text("Minimum tokens/s (system)")).locator("input") \
        .fill("20000")
    pick(page, "stSelectbox", "Accelerator vendor", "NVIDIA")
    page.get_by_test_id("stFormSubmitButton").get_by_role("button").click()
    best = page.locator("#best")
    expect(best).to_be_visible(timeout=WAIT)

    src = board.Source(dataset_dir=str(published_dataset))
    rec = R.recommend(F.load_rows(src.dataset_dir), library_predictor, model,
                      R.Constraints(min_tokens_per_s=20000.0, vendor="NVIDIA"), P.default_map(), dtype="fp8")
    want = rec.options[0]
    expect(best).to_contain_text(f"${want.usd_per_million_tokens:,.4f}")
    expect(best).to_contain_text(f"{want.accelerators}× {want.accelerator_name}")
    assert ("predicted" if want.kind == "predicted" else "measured") in best.inner_text()


def test_recommend_refuses_a_negative_constraint(page, server):
    _recommend_or_skip()
    goto(page, server, "recommend")
    page.get_by_test_id("stTextInput").filter(has=page.get_by_text("Budget (USD per hour)")).locator("input").fill("-3")
    page.get_by_test_id("stFormSubmitButton").get_by_role("button").click()
    assert "--budget=-3: must be a finite number of at least 0" in error_text(page)
    assert page.get_by_test_id("stException").count() == 0
