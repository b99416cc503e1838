"""check-mlperf-submission: run our v6.1 checker on a tree and, with _official, MLPerf's
two checkers too; print the report, write report.json and summary.csv, export the verdict."""

import json
import os
import sys
from pathlib import Path
from cmx.sources import flexbench_src

_TRUE = ("yes", "true", "on", "1")


def _flag(env, key):
    return str(env.get(key, "")).strip().lower() in _TRUE


def _import_flexbench(recipe_path):
    src = str(flexbench_src())
    if src not in sys.path:
        sys.path.insert(0, src)


def _write_json(path, data):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def preprocess(i):
    env = i["env"]
    log = i["logger"]
    raw = str(env.get("CMX_MLPERF_SUBMISSION_DIR") or "").strip()
    if not raw:
        return {"return": 1, "error": "no submission folder: give --input=DIR (the folder holding closed/ or open/)"}
    root = Path(raw).expanduser().resolve()
    if not root.is_dir():
        return {"return": 1, "error": f"--input={raw}: no such folder"}
    env["CMX_MLPERF_SUBMISSION_DIR"] = str(root)

    _import_flexbench(i["recipe_path"])
    from rich.console import Console

    from flexbench.mlperf import official as off
    from flexbench.mlperf.check import check_submission, summary_csv
    from flexbench.mlperf.check.render import print_report
    from flexbench.mlperf.errors import SubmissionError

    skip = _flag(env, "CMX_MLPERF_CHECK_SKIP_DATASET_SIZE")
    try:
        report = check_submission(root, skip_dataset_size_check=skip)
    except SubmissionError as exc:
        return {"return": 1, "error": str(exc)}
    run = Path(i["run_path"])
    rows = [r.csv_row for r in report.results if r.csv_row]
    csv_path = summary_csv.write(run / "summary.csv", rows)
    if env.get("CMX_MLPERF_CHECK_CSV"):
        csv_path = summary_csv.write(Path(str(env["CMX_MLPERF_CHECK_CSV"])).expanduser().resolve(), rows)

    verdicts, agreement = {}, ()
    if _flag(env, "CMX_MLPERF_CHECK_OFFICIAL"):
        src = env.get("CMX_MLPERF_INFERENCE_CHECKOUT") or env.get("CMX_GIT_CHECKOUT_PATH")
        if not src:
            return {"return": 1, "error": "_official: no mlcommons/inference checkout (get,git,repo gave none; "
                                          "or give --inference_checkout=DIR)"}
        python = str(env.get("CMX_MLPERF_CHECK_PYTHON") or sys.executable)
        try:
            checker_dir = off.find_checker_dir(Path(str(src)).expanduser().resolve())
            verdicts = off.run_official(root, checker_dir, run / "official", python=python,
                                        skip_dataset_size_check=skip)
        except SubmissionError as exc:
            return {"return": 1, "error": f"_official: {exc}"}
        agreement = off.compare({r.key: r.passed for r in report.results}, verdicts)
        env["CMX_MLPERF_OFFICIAL_CHECKER_DIR"] = str(checker_dir)
        for name, v in verdicts.items():
            env[f"CMX_MLPERF_OFFICIAL_{name.upper()}_PASSED"] = "yes" if v.passed else "no"
            env[f"CMX_MLPERF_OFFICIAL_{name.upper()}_CSV"] = str(v.csv_path)
        env["CMX_MLPERF_CHECK_AGREES"] = "yes" if all(a.agrees for a in agreement) else "no"

    if not getattr(i.get("cmx"), "quiet", False):  # -q: the report is in report.json and the outputs only
        print_report(report, Console(file=sys.stderr, soft_wrap=True), official=verdicts, agreement=agreement)
    data = report.as_dict()
    if verdicts:
        data["official"] = {k: v.as_dict() for k, v in verdicts.items()}
        data["agreement"] = [a.as_dict() for a in agreement]
    report_path = run / "report.json"
    _write_json(report_path, data)
    i["state"]["mlperf_check"] = data

    failed = [r for r in report.results if not r.passed]
    env["CMX_MLPERF_CHECK_PASSED"] = "yes" if report.passed else "no"
    env["CMX_MLPERF_CHECK_RESULTS"] = str(len(report.results))
    env["CMX_MLPERF_CHECK_FAILED"] = str(len(failed))
    env["CMX_MLPERF_CHECK_REPORT"] = str(report_path)
    env["CMX_MLPERF_CHECK_SUMMARY_CSV"] = str(csv_path)
    log.info("checked %s: %d results, %d fail", root, len(report.results), len(failed))
    if not report.passed and _flag(env, "CMX_MLPERF_CHECK_FAIL_ON_REJECT"):
        first = failed[0].errors[0] if failed and failed[0].errors else None
        why = f"; first: {first.rule} in {first.path} (found {first.found}, required {first.required})" if first else ""
        return {"return": 1, "error": f"{len(failed)} of {len(report.results)} results fail the MLPerf "
                                      f"{report.round} rules{why}; report: {report_path}"}
    return {"return": 0}
