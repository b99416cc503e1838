"""One module per FlexBoard page; each has ``page()``, run by ``flexboard/app/main.py``.

``PAGES`` is the navigation: (title, URL path, module). The first is the default page, served at
``/``. Importing this package does not import Streamlit. The recommend page needs
``flexboard.recommend`` (the recommender of ``recommend,configuration``); without it the page
is left out of the navigation."""

from importlib.util import find_spec

PAGES = (
    ("Explore", "", "explore"),
    ("Compare", "compare", "compare"),
    ("Charts", "charts", "charts"),
    ("Cost", "cost", "cost"),
    ("Predict", "predict", "predict"),
    *((("Recommend", "recommend", "recommend"),) if find_spec("flexboard.recommend") else ()),
    ("Provenance", "provenance", "provenance"),
)
