"""MLPerf Inference submissions: round rules, packaging and checking.

``rules`` holds the v6.1 round's data, ``errors`` the exception hierarchy,
``check`` our own submission checker and ``official`` the runner for MLPerf's.
"""
