"""FlexBoard in cmx: predict LLM inference throughput on systems nobody measured, recommend the
cheapest configuration under constraints, and show the Open MLPerf Dataset in the browser.

A layer above ``cmx/`` and ``openmlperf/``; the recipes in ``scripts/`` call it. scikit-learn,
pandas and streamlit are imported only by the functions that need them. See docs/flexboard.md.
"""
