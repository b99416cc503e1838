"""Run a FlexBench benchmark: ``python -m flexbench.main CONFIG.json``.

For each requested mode it starts one ``flexbench.run_test`` process (LoadGen
allows one test per process), then scores accuracy, parses LoadGen's detail
log, and writes ``result.json``, plots and a terminal table into the output
folder. The config is written by the ``run,flexbench`` recipe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flexbench import dataset, report
from flexbench.loadgen_log import LogError, parse_detail, summarize

MODES = {"performance": ["performance"], "accuracy": ["accuracy"], "all": ["performance", "accuracy"]}


def render_user_conf(cfg: dict[str, Any], path: Path) -> None:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    template = Path(cfg.get("user_conf_template") or Path(__file__).with_name("user.conf.j2"))
    env = Environment(loader=FileSystemLoader(str(template.parent)), undefined=StrictUndefined,
                      keep_trailing_newline=True)
    path.write_text(env.get_template(template.name).render(**cfg), encoding="utf-8")


def run_mode(cfg: dict[str, Any], mode: str, out: Path) -> tuple[int, float]:
    mode_cfg = dict(cfg, mode=mode, out_dir=str(out / mode))
    cfg_path = out / f"config-{mode}.json"
    cfg_path.write_text(json.dumps(mode_cfg, indent=1))
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "flexbench.run_test", str(cfg_path)], env=os.environ.copy())
    return proc.returncode, time.perf_counter() - t


def main(argv: list[str]) -> int:
    cfg: dict[str, Any] = json.loads(Path(argv[0]).read_text())
    out = Path(cfg["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    user_conf = out / "user.conf"
    render_user_conf(cfg, user_conf)
    cfg["user_conf"] = str(user_conf)
    result: dict[str, Any] = {"schema": "flexbench-result/1", "status": "ok", "failure": None,
                              "config": {k: v for k, v in cfg.items() if k not in ("provenance",)},
                              "provenance": cfg.get("provenance"), "modes": {}}
    for mode in MODES[cfg["modes"]]:
        code, seconds = run_mode(cfg, mode, out)
        mode_dir = out / mode
        info_path = mode_dir / "run_info.json"
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        entry: dict[str, Any] = {"exit_code": code, "wall_s": round(seconds, 3), "dir": str(mode_dir)}
        entry["cold_start"] = info.get("cold_start")
        entry["peak_rss_mb"] = info.get("peak_rss_mb")
        entry["backend"] = info.get("backend")
        entry["load"] = {k: info.get(k) for k in ("load_mode", "concurrency", "max_in_flight")}
        entry["qsl"] = {k: info.get(k) for k in ("samples_in_dataset", "performance_sample_count",
                                                  "qsl_total_count", "qsl_padded")}
        try:
            entry["loadgen"] = summarize(parse_detail(mode_dir / "mlperf_log_detail.txt"))
        except (OSError, LogError) as exc:
            entry["loadgen"] = None
            entry["error"] = str(exc)
        entry["sut_token_latencies"] = report.token_stats(info.get("sut_timings") or [])
        result["modes"][mode] = entry
        if code != 0:
            result["status"] = "failed"
            result["failure"] = (info.get("errors") or [f"{mode} run exited with code {code}"])[0]
            break
        if mode == "performance":
            report.plots(info.get("sut_timings") or [], out)
    if "accuracy" in result["modes"] and result["status"] == "ok":
        result["accuracy"] = score_accuracy(cfg, out / "accuracy")
    result["summary"] = report.headline(result)
    (out / "result.json").write_text(json.dumps(result, indent=1, default=str))
    report.table(result)
    if result["status"] != "ok":
        print(f"flexbench: run failed: {result['failure']}", file=sys.stderr)
    return 0 if result["status"] == "ok" else FAILED_RECORDED


# the benchmark failed and result.json says why (a crash exits with another code)
FAILED_RECORDED = 3


def score_accuracy(cfg: dict[str, Any], acc_dir: Path) -> dict[str, Any]:
    from flexbench import accuracy

    samples = dataset.load(cfg["dataset_path"], size=cfg.get("dataset_size"), seed=int(cfg.get("seed", 42)))
    refs = [s.reference for s in samples]
    if cfg["backend"] == "noop":
        decode = lambda toks: " ".join(str(t) for t in toks)  # noqa: E731
    else:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(cfg.get("tokenizer_path") or cfg["model_path"]))
        decode = lambda toks: tok.decode(list(toks), skip_special_tokens=True)  # noqa: E731
    log = acc_dir / "mlperf_log_accuracy.json"
    res = accuracy.evaluate(log, refs, decode)
    accuracy.write_accuracy_txt(acc_dir / "accuracy.txt", res, log)
    res["accuracy_txt"] = str(acc_dir / "accuracy.txt")
    return res


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
