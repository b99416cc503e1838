"""One module per FlexBoard page; each has ``page()``, run by ``flexboard/app/main.py``."""
