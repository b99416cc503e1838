"""generate-mlperf-endpoints-submission: a FlexBench concurrency sweep as an MLPerf Endpoints v1.0 tree."""

import csv
from pathlib import Path


def _results(env):
    given = [Path(r.strip()).expanduser() for r in (env.get("CMX_ENDPOINTS_GEN_RESULTS") or "").split(",") if r.strip()]
    exp = (env.get("CMX_ENDPOINTS_GEN_EXPERIMENT") or "").strip()
    if exp:
        table = Path(exp).expanduser() / "results.csv"
        if not table.is_file():
            raise ValueError(f"--experiment={exp}: no results.csv there (the folder of a `cmx run experiment`)")
        with open(table, newline="", encoding="utf-8") as fh:
            given += [Path(r["result_json"]) for r in csv.DictReader(fh)
                      if r.get("status") == "ok" and r.get("result_json")]
    return tuple(given)


def preprocess(i):
    env = i["env"]
    from flexbench.endpoints import export

    model = (env.get("CMX_ENDPOINTS_GEN_MODEL_NAME") or "").strip()
    if not model:
        return {"return": 1, "error": "--model_name is required: the round's model label (" +
                ", ".join(export.rules.CANONICAL_MODELS) + ")"}
    try:
        results = _results(env)
    except ValueError as exc:
        return {"return": 1, "error": str(exc)}
    out = (env.get("CMX_ENDPOINTS_GEN_OUT_DIR") or "").strip()
    req = export.Request(
        results=results,
        out_dir=Path(out).expanduser() if out else Path(i["run_path"]) / "endpoints-submission",
        model_name=model,
        org=env.get("CMX_ENDPOINTS_GEN_ORG") or "FlexBench",
        submission_id=env.get("CMX_ENDPOINTS_GEN_SUBMISSION_ID") or "flexbench-sweep",
        system_name=env.get("CMX_ENDPOINTS_GEN_SYSTEM_NAME") or None,
        implementation=env.get("CMX_ENDPOINTS_GEN_IMPLEMENTATION") or "flexbench",
        target_cohort=env.get("CMX_ENDPOINTS_GEN_TARGET_COHORT") or export.rules.DEFAULT_COHORT,
        force=str(env.get("CMX_ENDPOINTS_GEN_FORCE", "no")).lower() in ("yes", "true", "1", "on"),
    )
    try:
        report = export.generate(req)
    except export.ExportError as exc:
        return {"return": 1, "error": str(exc)}
    for w in report.warnings:
        print(f"warning: {w}")
    print(f"MLPerf Endpoints v1.0 tree (not an official result) written to {report.root}")
    print(f"  {report.curve.relative_to(report.root)}: points r{', r'.join(map(str, report.points))}; "
          f"accuracy at r{', r'.join(map(str, report.accuracy_at))}")
    env["CMX_ENDPOINTS_SUBMISSION_DIR"] = str(report.root.parent)
    env["CMX_ENDPOINTS_SUBMISSION_ROOT"] = str(report.root)
    env["CMX_ENDPOINTS_CURVE_DIR"] = str(report.curve)
    env["CMX_ENDPOINTS_POINTS"] = ",".join(map(str, report.points))
    return {"return": 0}
