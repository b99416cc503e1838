"""FlexBoard, the web app: a Streamlit multipage app over the Open MLPerf Dataset and the
predictor (docs/flexboard.md). ``serve`` starts it (the ``run,flexboard`` recipe calls it),
``main`` is the Streamlit script, ``views/`` holds one module per page, and ``board`` the pandas
queries behind them (no Streamlit), which the browser tests run directly to check the pages."""
