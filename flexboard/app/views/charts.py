"""Throughput, latency and energy charts of the (filtered) rows."""

from __future__ import annotations

from flexboard.app import board, context
from flexboard.app.views import selection

METRICS = {
    "Throughput": ("metrics.result_per_accelerator", "tokens/s per accelerator (result per accelerator)"),
    "Latency": ("metrics.ttft.p99", "time to first token, p99 (ms)"),
    "Latency (TPOT)": ("metrics.tpot.p99", "time per output token, p99 (ms)"),
    "Energy": ("power.energy_per_token", "energy per token (J)"),
}


def page() -> None:
    import altair as alt
    import streamlit as st

    st.title("Throughput, latency and energy")
    df = context.rows()
    sub = selection.model_and_scenario(df, "charts")
    for title, (metric, axis) in METRICS.items():
        st.subheader(title)
        data = board.chart_frame(sub, metric)
        if data.empty:
            st.info(f"No row of this selection has {metric} ({axis}).")
            continue
        best = data.groupby("accelerator", as_index=False)["value"].max()
        chart = alt.Chart(best).mark_bar().encode(
            x=alt.X("value:Q", title=f"best {axis}" if metric == board.THROUGHPUT else axis),
            y=alt.Y("accelerator:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
            tooltip=["accelerator", alt.Tooltip("value:Q", format=",.2f")],
        )
        st.altair_chart(chart, use_container_width=True)
        st.caption(f"{len(data):,} rows; the bar is the best value per accelerator.")
