"""Compare systems side by side on one benchmark model and scenario."""

from __future__ import annotations

from flexboard.app import board, context


def page() -> None:
    import streamlit as st

    st.title("Compare systems side by side")
    df = context.rows()
    c1, c2 = st.columns(2)
    models = board.options(df, "model.mlperf_name")
    if not models:
        st.info("No row names an MLPerf benchmark model: nothing to compare.")
        return
    with c1:
        model = st.selectbox("Model", models, index=models.index(board.default_model(df)), key="compare-model")
    scenarios = board.options(df[df["model.mlperf_name"].astype("string") == model], "submission.scenario")
    with c2:
        scenario = st.selectbox("Scenario", scenarios, key="compare-scenario")
    systems = board.systems_for(df, model, scenario)
    picked = st.multiselect("Systems (up to 4)", systems, default=systems[:2], max_selections=4, key="compare-systems")
    if not picked:
        st.warning("Choose at least one system to compare.")
        return
    table = board.compare(df, model, scenario, picked)
    st.table(table)
