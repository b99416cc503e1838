"""generate-mlperf-submission: an MLPerf inference v6.1 submission tree from FlexBench/LoadGen results."""

import sys
from pathlib import Path


def _package():
    try:
        from flexbench.mlperf import package
    except ImportError:  # cmx installed without the checkout on its path: use the package next to the recipes
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
        from flexbench.mlperf import package
    return package


def _path(env, key):
    value = (env.get(key) or "").strip()
    return Path(value).expanduser() if value else None


def preprocess(i):
    env = i["env"]
    package = _package()
    from flexbench.mlperf.errors import SubmissionError

    results = tuple(Path(r.strip()).expanduser() for r in (env.get("CMX_MLPERF_GEN_RESULTS") or "").split(",")
                    if r.strip())
    req = package.Request(
        results=results,
        out_dir=_path(env, "CMX_MLPERF_GEN_OUT_DIR") or Path(i["run_path"]) / "mlperf-submission",
        submitter=env.get("CMX_MLPERF_GEN_SUBMITTER") or "",
        division=env.get("CMX_MLPERF_GEN_DIVISION") or package.DEFAULT_DIVISION,
        status=env.get("CMX_MLPERF_GEN_STATUS") or None,
        system_type=env.get("CMX_MLPERF_GEN_SYSTEM_TYPE") or None,
        benchmark=env.get("CMX_MLPERF_GEN_BENCHMARK") or None,
        system_name=env.get("CMX_MLPERF_GEN_SYSTEM_NAME") or None,
        system_id=env.get("CMX_MLPERF_GEN_SYSTEM_ID") or None,
        model_name=env.get("CMX_MLPERF_GEN_MODEL_NAME") or None,
        system_overrides=_path(env, "CMX_MLPERF_GEN_SYSTEM_OVERRIDES"),
        measurements_overrides=_path(env, "CMX_MLPERF_GEN_MEASUREMENTS_OVERRIDES"),
        backup_dir=_path(env, "CMX_MLPERF_GEN_BACKUP_DIR"),
        force=str(env.get("CMX_MLPERF_GEN_FORCE", "no")).lower() in ("yes", "true", "1", "on"),
        detected_system=i["state"].get("system_description") or None,
    )
    try:
        report = package.generate(req)
    except SubmissionError as exc:
        return {"return": 1, "error": str(exc)}

    if not getattr(i.get("cmx"), "quiet", False):  # -q: the report is in the outputs and on disk only
        _print_report(report)
    return _export(i, report)


def _print_report(report):
    for warning in report.warnings:
        print(f"warning: {warning}")
    print(f"MLPerf {report.division} submission of {report.submitter} written to {report.root}")
    for s in report.scenarios:
        note = ""
        if s.truncation is not None and s.truncation.truncated:
            note = f" (accuracy log cut from {s.truncation.full_size} to {s.truncation.size} bytes)"
        print(f"  results/{report.system_id}/{s.model}/{s.scenario}: {', '.join(s.modes)}{note}")
    if report.model_mapping:
        print(f"  model_mapping.json: {report.model_mapping}")
    if report.na_fields:
        print(f"  systems/{report.system_id}.json: {len(report.na_fields)} fields are N/A; fill them with "
              "--system_overrides=FILE.yaml")


def _export(i, report):
    env = i["env"]
    env["CMX_MLPERF_SUBMISSION_DIR"] = str(report.root)
    env["CMX_MLPERF_SUBMISSION_SUBMITTER_DIR"] = str(report.submitter_dir)
    env["CMX_MLPERF_SUBMISSION_DIVISION"] = report.division
    env["CMX_MLPERF_SUBMISSION_SUBMITTER"] = report.submitter
    env["CMX_MLPERF_SUBMISSION_SYSTEM"] = report.system_id
    env["CMX_MLPERF_SUBMISSION_BENCHMARK"] = report.benchmark
    env["CMX_MLPERF_SUBMISSION_BACKUP_DIR"] = str(report.backup_dir)
    env["CMX_MLPERF_SUBMISSION_NA_FIELDS"] = ",".join(report.na_fields)
    env["CMX_MLPERF_SUBMISSION_SCENARIOS"] = ",".join(f"{s.model}/{s.scenario}" for s in report.scenarios)
    return {"return": 0}
