"""Cost per million tokens, from an editable table of accelerator prices (USD per hour)."""

from __future__ import annotations

from flexboard.app import board, context
from flexboard.app.views import selection
from flexboard.app.views.pricetable import edited_prices
from flexboard.errors import FlexBoardError


def page() -> None:
    import altair as alt
    import streamlit as st

    st.title("Cost per million tokens")
    df = context.rows()
    try:
        price_map = edited_prices("cost-prices")
    except FlexBoardError as exc:
        st.error(str(exc))
        return
    st.subheader("Cost of each measured result")
    sub = selection.model_and_scenario(df, "cost")
    costs = board.cost_frame(sub, price_map)
    known = costs[costs["cost_per_million_tokens"].notna()]
    if known.empty:
        st.warning("No result of this selection runs on an accelerator with a price: set one in the table above.")
        return
    best = known.iloc[0]
    st.markdown(f'<p id="cheapest">Cheapest: <b>{best["system.name"]}</b> ({best["accelerator"]}), '
                f'<b>${best["cost_per_million_tokens"]:,.4f}</b> per million tokens</p>', unsafe_allow_html=True)
    per_acc = known.groupby("accelerator", as_index=False)["cost_per_million_tokens"].min()
    st.altair_chart(alt.Chart(per_acc).mark_bar().encode(
        x=alt.X("cost_per_million_tokens:Q", title="lowest USD per million tokens"),
        y=alt.Y("accelerator:N", sort="x", title=None, axis=alt.Axis(labelLimit=320))), use_container_width=True)
    st.dataframe(costs, hide_index=True, column_config={
        "cost_per_million_tokens": st.column_config.NumberColumn("USD per million tokens", format="%.4f"),
        board.THROUGHPUT: st.column_config.NumberColumn("tokens/s per accelerator", format="%.1f")})
    st.caption("cost per million tokens = USD per accelerator-hour / (tokens/s per accelerator × 3600) × 10⁶; "
               f"{len(costs) - len(known):,} rows have no price for their accelerator.")
