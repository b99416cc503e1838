"""Our MLPerf Inference v6.1 submission checker.

``check_submission(root)`` walks the tree and returns a :class:`Report` with one
:class:`ResultReport` per ``results/<system>/<benchmark>/<scenario>`` folder; each lists
the :class:`Finding` s (rule, file, found vs required) that make it fail or warn.
The rules mirror what MLPerf's two checkers enforce (see ``docs/submission.md``).
"""

from flexbench.mlperf.check.findings import ERROR, WARNING, Finding, Report, ResultReport
from flexbench.mlperf.check.walk import check_submission

__all__ = ["ERROR", "WARNING", "Finding", "Report", "ResultReport", "check_submission"]
