"""FlexBench: LLM inference benchmarking with MLPerf LoadGen on HuggingFace models.

Stdlib-only modules (``loadgen_log``) are imported by cmx recipes in the cmx
process; the harness (``run_test``, ``sut``, ``backends``) runs inside the benchmark venv
with torch, transformers and mlcommons-loadgen.
"""
