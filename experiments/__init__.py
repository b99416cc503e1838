"""Experiments: many runs of one recipe over a Cartesian product of inputs, as one command.

A layer above the engine (``cmx/``), as ``flexbench/`` is: ``cmx run experiment`` (the
``automations/experiment`` action) parses the explore flags into a :class:`~experiments.space.Space`,
plans every point with the engine before anything runs (:mod:`experiments.plan`), runs the points
(:mod:`experiments.runner`, resumable, in parallel where the recipe allows it) and writes one
table with a row per point, a summary and plots (:mod:`experiments.results`).
See docs/experiments.md.
"""
