"""The Streamlit script of FlexBoard: Streamlit runs it for each page view and interaction.
Started by ``flexboard.app.serve`` (``cmx run script --tags=run,flexboard``)."""

from __future__ import annotations

import streamlit as st

from flexboard.app import context
from flexboard.app.views import charts, compare, cost, explore, predict, provenance

PAGES = (
    # (title, url path, page function)
    ("Explore", "explore", explore.page),
    ("Compare", "compare", compare.page),
    ("Charts", "charts", charts.page),
    ("Cost", "cost", cost.page),
    ("Predict", "predict", predict.page),
    ("Provenance", "provenance", provenance.page),
)

st.set_page_config(page_title="FlexBoard", layout="wide")
nav = st.navigation([st.Page(context.guarded(fn), title=title, url_path=path, default=(path == "explore"))
                     for title, path, fn in PAGES])
nav.run()
