"""The model and scenario choice of the charts and cost pages ("all" keeps every row)."""

from __future__ import annotations

from flexboard.app import board

ALL = "all"


def model_and_scenario(df, key: str):
    """Two select boxes side by side; the rows of ``df`` they keep."""
    import streamlit as st

    c1, c2 = st.columns(2)
    with c1:
        model = st.selectbox("Model", [ALL] + board.options(df, "model.mlperf_name"), key=f"{key}-model")
    with c2:
        scenario = st.selectbox("Scenario", [ALL] + board.options(df, "submission.scenario"), key=f"{key}-scenario")
    chosen = {col: [v] for col, v in (("model.mlperf_name", model), ("submission.scenario", scenario)) if v != ALL}
    return board.apply(df, board.Filters.of(chosen))
