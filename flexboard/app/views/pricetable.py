"""The editable price table of the cost and recommend pages (USD per accelerator-hour)."""

from __future__ import annotations

from flexboard import prices
from flexboard.app import board


def edited_prices(key: str, folded: bool = False) -> dict[str, float | None]:
    """Show the price table (editable; in a closed expander when ``folded``) and return its
    prices; a bad price is a ``FlexBoardError`` naming the accelerator."""
    import streamlit as st

    if folded:
        with st.expander("Prices (USD per accelerator-hour): open to edit"):
            return _table(key)
    st.subheader("Prices (USD per accelerator-hour)")
    return _table(key)


def _table(key: str) -> dict[str, float | None]:
    import pandas as pd
    import streamlit as st

    st.caption("Edit a price to see its effect. Empty = unknown. Defaults are on-demand prices from the "
               "pages in the source column (flexboard/data/prices.csv).")
    table = pd.DataFrame(board.price_rows())
    edited = st.data_editor(
        table, hide_index=True, key=key, num_rows="fixed", disabled=["accelerator", "source", "date", "notes"],
        column_config={
            "accelerator": st.column_config.TextColumn("accelerator", width=180),
            "usd_per_hour": st.column_config.TextColumn("USD/hour", width=110),
            "source": st.column_config.LinkColumn("source"),
        },
    )
    return prices.check(zip(edited["accelerator"], edited["usd_per_hour"]))
