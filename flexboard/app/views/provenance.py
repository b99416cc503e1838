"""A row's provenance: where it came from, its files, and the command that reproduces it."""

from __future__ import annotations

from flexboard.app import board, context


def page() -> None:
    import pandas as pd
    import streamlit as st

    st.title("Provenance")
    df = context.rows()
    default = st.query_params.get("id", "")
    rid = st.text_input("Result id (the explore page links here)", value=default, key="prov-id").strip()
    if not rid:
        st.info("Give a result id, or open a row's provenance from the explore page.")
        return
    p = board.provenance(df, rid)
    st.subheader(p.title or rid)
    st.markdown(f"**Source kind:** {p.source_kind or '–'}  \n**Source:** `{p.source or '–'}`  \n"
                f"**Commit:** {p.commit or '–'}  \n**Imported:** {p.imported_at or '–'} "
                f"(cmx {p.cmx_version or '–'})")
    if p.files:
        st.markdown("**Files:** " + ", ".join(f"`{f}`" for f in p.files))
    st.markdown("**Reproduce the run:**" if p.reproduces_run else
                "**Re-import the row** (it was not measured by FlexBench, so cmx cannot re-run it):")
    if p.reproduce:
        st.code(p.reproduce, language="bash")
    else:
        st.info("No command: the row's source is unknown.")
    with st.expander("Every field of the row"):
        st.table(pd.DataFrame(list(p.fields), columns=["field", "value"]).set_index("field"))
