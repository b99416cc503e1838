"""The Streamlit script of FlexBoard: Streamlit runs it for each page view and interaction.
Started by ``flexboard.app.serve`` (``cmx run script --tags=run,flexboard``)."""

from __future__ import annotations

import importlib

import streamlit as st

from flexboard.app import context
from flexboard.app.views import PAGES

st.set_page_config(page_title="FlexBoard", layout="wide")
pages = []
for i, (title, path, module) in enumerate(PAGES):
    fn = importlib.import_module(f"flexboard.app.views.{module}").page
    pages.append(st.Page(context.guarded(fn), title=title, default=(i == 0), **({"url_path": path} if path else {})))
st.navigation(pages).run()
