"""Explore: filter the dataset and browse the rows; each row links to its provenance page."""

from __future__ import annotations

from flexboard.app import board, context


def page() -> None:
    import streamlit as st

    st.title("Explore the Open MLPerf Dataset")
    df = context.rows()
    chosen: dict[str, list[str]] = {}
    cols = st.columns(4)
    for i, (label, column) in enumerate(board.FILTERS):
        with cols[i % 4]:
            chosen[column] = st.multiselect(label, board.options(df, column), key=f"explore-{column}",
                                            placeholder="all")
    with cols[len(board.FILTERS) % 4]:
        text = st.text_input("Search", key="explore-text", placeholder="system, accelerator, model, submitter")
    filters = board.Filters.of(chosen, text)
    sub = board.apply(df, filters)
    if sub.empty:
        st.warning(f"No rows match the filters ({filters.describe()}). Remove a filter or change the search.")
        return
    st.markdown(f'<p id="row-count"><b>{len(sub):,}</b> of {len(df):,} rows</p>', unsafe_allow_html=True)
    st.dataframe(
        board.explore_arrow(df, sub), hide_index=True, height=560,
        column_config={
            board.LINK: st.column_config.LinkColumn("result id", display_text=r"provenance\?id=(.*)",
                                                    help="open the row's provenance"),
            board.THROUGHPUT: st.column_config.NumberColumn("per accelerator", format="%.1f"),
            "metrics.result": st.column_config.NumberColumn("result", format="%.1f"),
        },
    )
    st.caption(f"Source: {context.source().describe()}. The Open MLPerf Dataset is by FlexAI and MLCommons, "
               "Apache-2.0.")
