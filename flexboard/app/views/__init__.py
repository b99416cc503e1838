"""One module per FlexBoard page; each has ``page()``, run by ``flexboard/app/main.py``.

``PAGES`` is the navigation: (title, URL path, module). The first is the default page, served at
``/``. Importing this package does not import Streamlit."""

PAGES = (
    ("Explore", "", "explore"),
    ("Compare", "compare", "compare"),
    ("Charts", "charts", "charts"),
    ("Cost", "cost", "cost"),
    ("Predict", "predict", "predict"),
    ("Provenance", "provenance", "provenance"),
)
