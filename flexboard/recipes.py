"""The glue between the FlexBoard recipes (``scripts/*/customize.py``) and this package: read the
env, call the package, print a short report, put the result in the state; ``CmxError``s become
the hook's one-line error (no traceback)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cmx.errors import CmxError
from flexboard.errors import FlexBoardError
from openmlperf.recipes import value as _raw_value

MODEL_FILE = "flexboard-predictor.pkl"


def guarded(fn):
    """A hook whose ``FlexBoardError`` (bad input: a flag, a file, a model, an empty dataset) is a
    usage error (exit 2) and any other ``CmxError`` a failure (exit 1), in one line, no traceback."""

    def hook(i: dict[str, Any]) -> dict[str, Any]:
        try:
            return fn(i)
        except FlexBoardError as exc:
            return {"return": 1, "error": str(exc), "usage": True}
        except CmxError as exc:
            return {"return": 1, "error": str(exc)}

    hook.__name__ = fn.__name__
    hook.__doc__ = fn.__doc__
    return hook


def value(env: dict[str, Any], key: str) -> str:
    """A flag's value; a placeholder a parent passed down unresolved (``<<<KEY>>>``) is not given."""
    v = _raw_value(env, key)
    return "" if v.startswith("<<<") and v.endswith(">>>") else v


def data_digest(dataset_dir: Any = None, data_file: Any = None) -> tuple[str, str]:
    """(sha256 over the dataset's source files' content, the place) - the training data's identity."""
    from openmlperf.storage import Store

    h = hashlib.sha256()
    if data_file:
        p = Path(str(data_file)).expanduser().resolve()
        if not p.is_file():
            raise FlexBoardError(f"--data={data_file}: no such file")
        files, where = [p], str(p)
    else:
        store = Store(dataset_dir)
        files, where = store.source_files(), str(store.root)
    for f in files:
        h.update(f.name.encode() + b"\0")
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest(), where


# the predictor's settings: flag -> (type, the smallest value, whether the smallest is allowed)
_SETTINGS: dict[str, tuple[type, float, bool]] = {
    "max_iter": (int, 1, True), "learning_rate": (float, 0, False), "max_leaf_nodes": (int, 2, True),
    "seed": (int, 0, True), "conformal_folds": (int, 0, True)}


def _settings(env: dict[str, Any]):
    """The predictor's settings from the flags of train,flexboard,predictor (which predict,
    recommend, evaluate and run,flexboard pass on); a bad one is an error naming the flag."""
    import math

    from flexboard.predictor import Settings

    kw: dict[str, Any] = {}
    for flag, (typ, low, inclusive) in _SETTINGS.items():
        raw = value(env, f"CMX_FLEXBOARD_{flag.upper()}")
        if not raw:
            continue
        try:
            v = typ(raw)
        except ValueError:
            raise FlexBoardError(f"--{flag}={raw}: not a {'whole number' if typ is int else 'number'}") from None
        if not math.isfinite(v) or v < low or (v == low and not inclusive):
            raise FlexBoardError(f"--{flag}={raw}: must be {'at least' if inclusive else 'more than'} {low:g}")
        if flag == "conformal_folds" and v == 1:
            raise FlexBoardError(f"--{flag}={raw}: 0 (no calibration) or at least 2 folds")
        kw[flag] = v
    return Settings(**kw)


def _rows(env: dict[str, Any]):
    """The training rows of --dataset_dir or --data=FILE.parquet; a file that is not Parquet is an
    error naming the flag (not pyarrow's traceback)."""
    from flexboard import features as F

    d, f = _src(env)
    try:
        return F.load_rows(d, f)
    except FlexBoardError:
        raise
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        if not f:
            raise
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FlexBoardError(f"--data={f}: not a Parquet file with the dataset's columns ({first})") from None


def _src(env: dict[str, Any]) -> tuple[Any, Any]:
    return value(env, "CMX_DATASET_DIR") or None, value(env, "CMX_FLEXBOARD_DATA") or None


@guarded
def detect_data(i: dict[str, Any]) -> dict[str, Any]:
    env = i["env"]
    d, f = _src(env)
    digest, where = data_digest(d, f)
    env["CMX_FLEXBOARD_DATA_DIGEST"] = digest
    env["CMX_FLEXBOARD_DATA_PLACE"] = where
    return {"return": 0}


@guarded
def train(i: dict[str, Any]) -> dict[str, Any]:
    import time

    from flexboard import predictor as P

    env, state = i["env"], i["state"]
    settings = _settings(env)
    t0 = time.perf_counter()
    rows = _rows(env)
    p = P.train(rows, settings)
    p.data_digest = value(env, "CMX_FLEXBOARD_DATA_DIGEST")
    out = Path(i["run_path"]) / MODEL_FILE
    p.save(out)
    secs = time.perf_counter() - t0
    env["CMX_FLEXBOARD_MODEL"] = str(out)
    state["flexboard_predictor"] = {"rows": len(rows), "seconds": round(secs, 2), "settings": p.settings.as_dict(),
                                    "data_digest": p.data_digest}
    print(f"trained on {len(rows)} rows in {secs:.1f} s: {out}", file=sys.stderr)
    return {"return": 0}


SCENARIOS = ("Offline", "Server", "Interactive")


def _configs_from(env: dict[str, Any]) -> list[dict[str, Any]]:
    """Configurations to predict: --input=FILE (JSON list/object or CSV, dataset column names) or flags."""
    raw = value(env, "CMX_FLEXBOARD_INPUT")
    if raw:
        return configs_from_file(raw)
    model = value(env, "CMX_FLEXBOARD_MODEL_NAME")
    acc = value(env, "CMX_FLEXBOARD_ACCELERATOR")
    if not model or not acc:
        raise FlexBoardError("give --input=FILE, or --model=NAME|HF-CONFIG and --accelerator=NAME "
                             "(and optionally --count=8 --nodes=1 --scenario=Offline --dtype=fp8 --framework=vllm)")
    return [config_row(model, acc, count=value(env, "CMX_FLEXBOARD_COUNT") or "8",
                       nodes=value(env, "CMX_FLEXBOARD_NODES") or "1",
                       scenario=value(env, "CMX_FLEXBOARD_SCENARIO") or "Offline",
                       dtype=value(env, "CMX_FLEXBOARD_DTYPE") or "fp8",
                       framework=value(env, "CMX_FLEXBOARD_FRAMEWORK") or "")]


def configs_from_file(raw: str) -> list[dict[str, Any]]:
    """The configurations of ``--input=FILE``: a JSON object or list of objects, or a CSV, with the
    dataset's column names. Each row is checked and completed as the flags are (``complete_row``);
    a bad one is an error naming ``file:line`` (CSV) or ``file: item N`` (JSON)."""
    p = Path(raw).expanduser()
    if not p.is_file():
        raise FlexBoardError(f"--input={raw}: no such file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlexBoardError(f"--input={raw}: not a readable text file ({exc})") from None
    if p.suffix.lower() == ".csv":
        import csv
        import io

        try:
            reader = csv.DictReader(io.StringIO(text, newline=""))
            rows = [(f"{p}:{reader.line_num}", r) for r in reader]
        except csv.Error as exc:
            raise FlexBoardError(f"--input={raw}: not a readable CSV file ({exc})") from None
        for where, r in rows:
            if None in r or any(v is None for v in r.values()):
                raise FlexBoardError(f"{where}: {len(reader.fieldnames or ())} fields expected, as the header")
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise FlexBoardError(f"--input={raw}: not JSON or CSV ({exc})") from None
        data = data if isinstance(data, list) else [data]
        if not all(isinstance(x, dict) for x in data):
            raise FlexBoardError(f"--input={raw}: expected a JSON object or a list of objects")
        rows = [(f"{p}: item {n}", r) for n, r in enumerate(data, start=1)]
    if not rows:
        raise FlexBoardError(f"--input={raw}: no configuration in the file")
    return [complete_row(r, where) for where, r in rows]


def _scenario(raw: Any, where: str) -> str:
    s = str(raw or "").strip() or "Offline"
    canon = {x.lower(): x for x in SCENARIOS}.get(s.lower())
    if canon is None:
        raise FlexBoardError(f"{where}: scenario {s!r} is not one of {', '.join(SCENARIOS)}")
    return canon


def _dtype(raw: Any, where: str) -> str:
    from flexboard import modelgraph

    d = "" if raw is None or raw != raw else str(raw).strip()  # None, NaN: not given
    if d.upper() == "UNSET":  # as the published dataset writes an unknown type
        d = ""
    if d and modelgraph.dtype_bytes(d) is None:
        raise FlexBoardError(f"{where}: weight type {d!r} unknown (one of {', '.join(modelgraph.DTYPE_BYTES)})")
    return d


def _whole(raw: Any, what: str, where: str) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        f = float(raw)
    except (TypeError, ValueError):
        f = float("nan")
    if not (f == f and f >= 1 and f == int(f)):
        raise FlexBoardError(f"{where}: {what}={raw!r} is not a whole number of at least 1")
    return int(f)


def complete_row(r: dict[str, Any], where: str) -> dict[str, Any]:
    """A configuration from a file, checked and completed as the flags are: a model the table, an HF
    config or the row's ``model.number_of_parameters`` describes; an accelerator of the table; whole
    counts (``count_per_node`` 8 and ``number_of_nodes`` 1 when absent, the total their product);
    a scenario (default Offline); a weight type, when given, that the predictor knows."""
    from flexboard import accelerators, modelgraph

    out = dict(r)
    name = str(r.get("model.name") or r.get("model.mlperf_name") or "").strip()
    if not name:
        raise FlexBoardError(f"{where}: no model.name (an MLPerf benchmark name or a folder with an HF config.json)")
    out.setdefault("model.name", name)
    if modelgraph.graph_for(name, r.get("model.mlperf_name")) is None:
        try:
            out["_graph"] = modelgraph.resolve_model(name)
        except FlexBoardError as exc:
            try:
                float(r.get("model.number_of_parameters"))  # the dataset's own size in billions will do
            except (TypeError, ValueError):
                raise FlexBoardError(f"{where}: model {name!r}: {exc}") from None
    acc = str(r.get("system.accelerator.name") or "").strip()
    if accelerators.lookup(acc) is None:
        known = ", ".join(a.key for _p, a in accelerators.table())
        raise FlexBoardError(f"{where}: accelerator {acc!r} is not in flexboard/data/accelerators.csv (known: {known})")
    per_node = _whole(r.get("system.accelerator.count_per_node"), "system.accelerator.count_per_node", where)
    nodes = _whole(r.get("system.number_of_nodes"), "system.number_of_nodes", where) or 1
    total = _whole(r.get("system.accelerator.total_count"), "system.accelerator.total_count", where)
    if per_node is None:
        per_node = total // nodes if total is not None else 8
    if total is None:
        total = per_node * nodes
    if total != per_node * nodes:
        raise FlexBoardError(f"{where}: system.accelerator.total_count={total} is not count_per_node ({per_node}) "
                             f"x number_of_nodes ({nodes})")
    out.update({"system.accelerator.count_per_node": per_node, "system.number_of_nodes": nodes,
                "system.accelerator.total_count": total,
                "submission.scenario": _scenario(r.get("submission.scenario"), where)})
    _dtype(r.get("model.weight_data_types"), where)
    out.setdefault("submission.division", "closed")
    return out


def config_row(model: str, accelerator: str, count: Any = 8, nodes: Any = 1, scenario: str = "Offline",
               dtype: str = "fp8", framework: str = "") -> dict[str, Any]:
    """A dataset-shaped row for a configuration nobody measured."""
    from flexboard import accelerators, modelgraph

    try:
        c, n = int(count), int(nodes)
    except (TypeError, ValueError):
        raise FlexBoardError(f"--count={count} --nodes={nodes}: whole numbers expected") from None
    if c < 1 or n < 1:
        raise FlexBoardError(f"--count={count} --nodes={nodes}: must be at least 1")
    if accelerators.lookup(accelerator) is None:
        known = ", ".join(a.key for _p, a in accelerators.table())
        raise FlexBoardError(f"--accelerator={accelerator}: not in flexboard/data/accelerators.csv (known: {known})")
    scenario = _scenario(scenario, f"--scenario={scenario}")
    dtype = _dtype(dtype, f"--dtype={dtype}") or "fp8"
    graph = modelgraph.resolve_model(model)
    return {"model.name": model, "model.mlperf_name": model, "_graph": graph,
            "model.weight_data_types": dtype, "system.accelerator.name": accelerator,
            "system.accelerator.count_per_node": c, "system.number_of_nodes": n,
            "system.accelerator.total_count": c * n, "submission.scenario": scenario,
            "software.framework": framework, "submission.division": "closed"}


def _model_path(i: dict[str, Any]) -> Path:
    env = i["env"]
    raw = value(env, "CMX_FLEXBOARD_MODEL")
    if not raw:
        raise FlexBoardError("no trained model: the train,flexboard,predictor dependency gave none")
    return Path(raw)


@guarded
def predict(i: dict[str, Any]) -> dict[str, Any]:
    import time

    from flexboard import predictor as P

    env, state = i["env"], i["state"]
    configs = _configs_from(env)
    p = P.load(_model_path(i))
    t0 = time.perf_counter()
    pred = p.predict_frame(configs)
    secs = time.perf_counter() - t0
    out = []
    for cfg, (_, r) in zip(configs, pred.iterrows()):
        total = float(cfg.get("system.accelerator.total_count") or 1)
        shown = {k: v for k, v in cfg.items() if not k.startswith("_")}
        out.append({"config": shown, "tokens_per_s_per_accelerator": round(r["predicted"], 2),
                    "interval_80": [round(r["low"], 2), round(r["high"], 2)],
                    "tokens_per_s_system": round(r["predicted"] * total, 2)})
        print(f"{shown.get('model.name')} on {shown.get('system.accelerator.total_count', '?')}x "
              f"{shown.get('system.accelerator.name')} ({shown.get('submission.scenario')}): "
              f"{r['predicted']:.0f} tokens/s per accelerator (80%: {r['low']:.0f}-{r['high']:.0f})")
    state["predictions"] = out
    state["predict_seconds"] = round(secs, 4)
    env["CMX_FLEXBOARD_PREDICTIONS"] = str(len(out))
    return {"return": 0}


@guarded
def evaluate(i: dict[str, Any]) -> dict[str, Any]:
    from flexboard import evaluate as E

    env, state = i["env"], i["state"]
    split = value(env, "CMX_FLEXBOARD_SPLIT") or "leave-accelerator-out"
    if split not in E.SPLITS:
        raise FlexBoardError(f"--split={split}: unknown (one of {', '.join(E.SPLITS)})")
    settings = _settings(env)
    rows = _rows(env)
    res = E.evaluate(rows, split, settings)
    state.update(res)
    env["CMX_FLEXBOARD_MAPE"] = str(res["mape"])
    env["CMX_FLEXBOARD_BASELINE_MAPE"] = str(res["baseline_mape"])
    env["CMX_FLEXBOARD_COVERAGE"] = str(res["interval_coverage"])
    print(f"{split}: {res['test_rows']} test rows in {res['folds']} fold(s); MAPE ours {res['mape']}% "
          f"vs baseline {res['baseline_mape']}%; 80% interval coverage {res['interval_coverage']}%")
    for n in res["notes"]:
        print(f"  note: {n}")
    if split in ("leave-round-out", "leave-task-out"):  # which rows fail, and whether their task was in training
        for k, v in res.get("per_task", {}).items():
            print(f"  {k}: {v['rows']} rows{'' if v['seen_task'] else ' (task new to training)'}: MAPE ours "
                  f"{v['mape']}% vs baseline {v.get('baseline_mape')}%, coverage {v['coverage_80']}%")
    return {"return": 0}


def _number(env: dict[str, Any], flag: str) -> float | None:
    raw = value(env, f"CMX_FLEXBOARD_{flag.upper()}")
    if not raw:
        return None
    try:
        v = float(raw)
    except ValueError:
        raise FlexBoardError(f"--{flag}={raw}: not a number") from None
    return v


@guarded
def recommend(i: dict[str, Any]) -> dict[str, Any]:
    from flexboard import predictor as P
    from flexboard import prices
    from flexboard import recommend as R

    env, state = i["env"], i["state"]
    model = value(env, "CMX_FLEXBOARD_MODEL_NAME")
    if not model:
        raise FlexBoardError("give --model=NAME (an MLPerf benchmark name, e.g. llama2-70b-99) or a folder with an HF config.json")
    max_acc = _number(env, "max_accelerators")
    c = R.Constraints(min_tokens_per_s=_number(env, "min_tokens_per_s"), max_ttft_ms=_number(env, "max_ttft_ms"),
                      max_tpot_ms=_number(env, "max_tpot_ms"), vendor=value(env, "CMX_FLEXBOARD_VENDOR") or None,
                      min_memory_gb=_number(env, "min_memory_gb"), budget_usd_per_hour=_number(env, "budget"),
                      max_accelerators=int(max_acc) if max_acc is not None else None).check()
    price_map = prices.load(value(env, "CMX_FLEXBOARD_PRICES") or None)
    counts = R.config_count_check(value(env, "CMX_FLEXBOARD_COUNTS") or "1,2,4,8")
    scenarios = tuple(s.strip() for s in (value(env, "CMX_FLEXBOARD_SCENARIOS") or "Offline,Server").split(",") if s.strip())
    bad = [s for s in scenarios if s not in ("Offline", "Server")]
    if bad or not scenarios:
        raise FlexBoardError(f"--scenarios={','.join(scenarios)}: each one of Offline, Server")
    top_raw = _number(env, "top")
    top = 20 if top_raw is None else int(top_raw)
    rows = _rows(env)
    p = P.load(_model_path(i))
    rec = R.recommend(rows, p, model, c, price_map, counts=counts, scenarios=scenarios,
                      dtype=value(env, "CMX_FLEXBOARD_DTYPE") or "fp8", top=top)
    state["recommendation"] = rec.as_dict()
    env["CMX_FLEXBOARD_OPTIONS"] = str(len(rec.options))
    print(f"{model}: {len(rec.options)} option(s) of {rec.considered} considered, by USD per million tokens")
    for n, o in enumerate(rec.options, start=1):
        rng = (f" (80%: {o.usd_per_million_tokens_interval[0]:.3f}-{o.usd_per_million_tokens_interval[1]:.3f})"
               if o.usd_per_million_tokens_interval else "")
        print(f"{n:>3}. ${o.usd_per_million_tokens:.3f}/M tokens{rng}  {o.kind:<9} {o.accelerators}x {o.accelerator} "
              f"{o.scenario:<7} {o.tokens_per_s:,.0f} tokens/s  ${o.usd_per_hour:.2f}/h  {o.organization} {o.framework}".rstrip())
        if o.reproduce:
            print(f"       reproduce: {o.reproduce}")
    if rec.left_out:
        print("  left out: " + ", ".join(f"{k} ({v})" for k, v in sorted(rec.left_out.items())))
    for n in rec.notes:
        print(f"  note: {n}")
    if not rec.options:
        print("  no configuration meets the constraints: relax them or add prices (--prices=FILE)")
    return {"return": 0}
