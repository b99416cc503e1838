"""Running MLCommons CM (cm4mlops) and MLC (mlperf-automations) recipes unmodified.

A layer beside the engine: the engine calls into it only for recipes of a repository in CM's
layout (``script/<alias>/``). See docs/compat.md.
"""
