"""``python -m flexbench.mlperf.check --input DIR [-j] [--csv FILE] [--skip_dataset_size_check]``

Exit 0 when every result passes, 1 when one does not, 2 for a usage error."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from flexbench.mlperf.check import check_submission
from flexbench.mlperf.check import summary_csv
from flexbench.mlperf.check.render import print_report
from flexbench.mlperf.errors import SubmissionError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m flexbench.mlperf.check", description=__doc__)
    p.add_argument("--input", required=True, help="the submission folder (holding closed/ or open/)")
    p.add_argument("--csv", help="write summary.csv (the official checker's columns) here")
    p.add_argument("--skip_dataset_size_check", "--skip-dataset-size-check", action="store_true")
    p.add_argument("-j", "--json", action="store_true", help="print the report as JSON on stdout")
    args = p.parse_args(argv)
    try:
        report = check_submission(Path(args.input), skip_dataset_size_check=args.skip_dataset_size_check)
    except SubmissionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.csv:
        summary_csv.write(Path(args.csv), [r.csv_row for r in report.results if r.csv_row])
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        print_report(report, Console(stderr=False, soft_wrap=True))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
