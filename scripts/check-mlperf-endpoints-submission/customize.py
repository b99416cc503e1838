"""check-mlperf-endpoints-submission: the official Endpoints checker's verdict on a tree, as cmx outputs."""

import json
from pathlib import Path


def preprocess(i):
    env = i["env"]
    tree = (env.get("CMX_ENDPOINTS_CHECK_DIR") or "").strip()
    if not tree:
        return {"return": 1, "error": "--input is required: the submission tree (the organisation folder)"}
    path = Path(tree).expanduser().resolve()
    if not path.is_dir():
        return {"return": 1, "error": f"--input={tree}: not a folder"}
    run = Path(i["run_path"])
    env["CMX_ENDPOINTS_CHECK_DIR"] = str(path)
    env["CMX_ENDPOINTS_CHECK_REPORT"] = str(run / "report.json")
    env["CMX_ENDPOINTS_CHECK_STDOUT"] = str(run / "checker-stdout.json")
    env["CMX_ENDPOINTS_CHECK_VIZ_EXPORT"] = str(run / "mlperf-viz.json")
    return {"return": 0}


def postprocess(i):
    env = i["env"]
    code = int(str(env.get("CMX_ENDPOINTS_CHECK_EXIT_CODE", "2")))
    report_file = Path(env["CMX_ENDPOINTS_CHECK_REPORT"])
    try:
        report = json.loads(report_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"return": 1, "error": f"the checker wrote no report (exit code {code}); see {env['CMX_ENDPOINTS_CHECK_STDOUT']}"}
    errors = [_text(r) for r in report.get("errors") or []]
    warnings = [_text(r) for r in report.get("warnings") or []]
    if code not in (0, 1):
        return {"return": 1, "error": f"the checker could not check {env['CMX_ENDPOINTS_CHECK_DIR']} (exit code {code}); "
                                      f"see {env['CMX_ENDPOINTS_CHECK_STDOUT']}"}
    passed = bool(report.get("passed")) and not errors  # zero errors
    strict = code == 0  # zero errors and zero warnings (--strict)
    env["CMX_ENDPOINTS_CHECK_PASSED"] = "yes" if passed else "no"
    env["CMX_ENDPOINTS_CHECK_STRICT_PASSED"] = "yes" if strict else "no"
    env["CMX_ENDPOINTS_CHECK_ERRORS"] = str(len(errors))
    env["CMX_ENDPOINTS_CHECK_WARNINGS"] = str(len(warnings))
    env["CMX_ENDPOINTS_CHECK_REPORT"] = str(report_file)
    i["state"]["endpoints_check"] = {"passed": passed, "strict_passed": strict, "exit_code": code, "errors": errors,
                                     "warnings": warnings}
    if env.get("CMX_ENDPOINTS_CHECK_VIZ") == "yes":
        env["CMX_ENDPOINTS_CHECK_VIZ_OK"] = "yes" if env.get("CMX_ENDPOINTS_CHECK_VIZ_EXIT_CODE") == "0" else "no"
    verdict = "PASSED" if strict else ("PASSED with warnings" if passed else "REJECTED")
    print(f"MLPerf Endpoints checker (endpoints-submission-cli 1.5.3.0, --strict): {verdict} - "
          f"{len(errors)} error(s), {len(warnings)} warning(s); report {report_file}")
    for line in errors[:20]:
        print(f"  error: {line}")
    for line in warnings[:20]:
        print(f"  warning: {line}")
    fatal = not passed or (not strict and env.get("CMX_ENDPOINTS_CHECK_FAIL_ON_WARNINGS") == "yes")
    if fatal and env.get("CMX_ENDPOINTS_CHECK_FAIL_ON_REJECT", "yes") == "yes":
        first = errors[0] if errors else (warnings[0] + " (a warning; --fail_on_warnings=yes)" if warnings else "")
        return {"return": 1, "error": f"the MLPerf Endpoints checker rejected the tree: {len(errors)} error(s), "
                                      f"{len(warnings)} warning(s); first: {first}; report {report_file}"}
    return {"return": 0}


def _text(r):
    if isinstance(r, dict):
        rule = r.get("rule") or r.get("rule_id") or r.get("id") or ""
        msg = r.get("message") or r.get("msg") or json.dumps(r, default=str)[:300]
        where = r.get("path") or r.get("file") or ""
        return f"[{rule}] {msg}" + (f" ({where})" if where else "")
    return str(r)
