"""Recommend configurations: rank measured rows of the dataset and predicted configurations
together by cost per million generated tokens, under the user's constraints.

The public functions (also used by the web app):

- prices come from ``flexboard.prices``: ``prices.load(path=None)`` is the default table
  (``flexboard/data/prices.csv``, each price with its public source) with the rows of ``path``
  replacing the defaults they name; any ``{key: USD per accelerator-hour}`` map works too.
- ``Constraints(...)`` and ``Constraints.check()``: minimum tokens/s, TTFT/TPOT limits, vendor,
  minimum accelerator memory, budget (USD per hour), maximum accelerator count.
- ``recommend(rows, predictor, model, constraints, prices)`` -> ``Recommendation``: the ranked
  ``Option``s (``kind`` = ``measured`` or ``predicted``), what was left out and why.

Latency: a measured row meets a TTFT/TPOT limit when its own p99 figures do, or, without them,
when it is a Server/Interactive result of an MLPerf task whose rules are at least as tight (a
valid MLPerf result met them). A predicted Server configuration of an MLPerf task carries the
task's limits. Offline results say nothing about latency: a latency constraint excludes them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from flexboard import accelerators, modelgraph, tasks
from flexboard import prices as _prices
from flexboard.errors import FlexBoardError

COUNTS = (1, 2, 4, 8)
SCENARIOS = ("Offline", "Server")
FLAGS = {"budget_usd_per_hour": "budget"}  # a Constraints field -> its flag, where the names differ


@dataclass(frozen=True)
class Constraints:
    min_tokens_per_s: float | None = None  # system throughput
    max_ttft_ms: float | None = None
    max_tpot_ms: float | None = None
    vendor: str | None = None
    min_memory_gb: float | None = None  # per accelerator
    budget_usd_per_hour: float | None = None
    max_accelerators: int | None = None

    def check(self) -> "Constraints":
        """Each constraint a finite number of at least 0 and the vendor one the accelerator table
        has; a bad one is a ``FlexBoardError`` naming its flag of ``recommend,configuration``."""
        for name in ("min_tokens_per_s", "max_ttft_ms", "max_tpot_ms", "min_memory_gb", "budget_usd_per_hour",
                     "max_accelerators"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0):
                shown = f"{v:g}" if isinstance(v, (int, float)) else repr(v)
                raise FlexBoardError(f"--{FLAGS.get(name, name)}={shown}: must be a finite number of at least 0")
        if self.vendor:
            vendors = sorted({a.vendor for _p, a in accelerators.table() if a.vendor})
            if self.vendor.lower() not in {v.lower() for v in vendors}:
                raise FlexBoardError(f"--vendor={self.vendor}: no accelerator of the table is made by it "
                                     f"(one of {', '.join(vendors)})")
        return self

    @property
    def latency(self) -> bool:
        return self.max_ttft_ms is not None or self.max_tpot_ms is not None


@dataclass(frozen=True)
class Option:
    kind: str  # "measured" or "predicted"
    accelerator: str  # table key
    accelerator_name: str  # as measured, or the table key
    vendor: str
    accelerators: int  # total count
    nodes: int
    scenario: str
    tokens_per_s: float  # system throughput
    tokens_per_s_interval: tuple[float, float] | None  # predicted: the 80 % interval
    usd_per_hour: float
    usd_per_million_tokens: float
    usd_per_million_tokens_interval: tuple[float, float] | None
    price_source: str
    latency: dict[str, Any] | None  # {"ttft_ms", "tpot_ms", "basis"}: what is known to be met
    model: str
    framework: str = ""
    organization: str = ""
    round: str = ""
    division: str = ""
    source: str = ""  # measured: where the row came from
    result_id: str = ""
    reproduce: str = ""  # measured FlexBench rows: the cmx command that reproduces it

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("tokens_per_s_interval", "usd_per_million_tokens_interval"):
            if d[k] is not None:
                d[k] = [round(x, 4) for x in d[k]]
        for k in ("tokens_per_s", "usd_per_hour", "usd_per_million_tokens"):
            d[k] = round(d[k], 4)
        return d


@dataclass
class Recommendation:
    model: str
    options: list[Option]
    considered: int
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> count
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "options": [o.as_dict() for o in self.options], "considered": self.considered,
                "left_out": dict(self.left_out), "notes": list(self.notes)}


def _cost(usd_per_hour: float, tokens_per_s: float) -> float:
    return usd_per_hour / (tokens_per_s * 3600.0) * 1e6 if tokens_per_s > 0 else math.inf


@dataclass(frozen=True)
class _Model:
    spec: str
    graph: modelgraph.ModelGraph
    benchmark: str | None  # the MLPerf benchmark name when the spec is one


def _resolve(spec: str) -> _Model:
    spec = (spec or "").strip()
    if not spec:
        raise FlexBoardError("--model is required: an MLPerf benchmark name (llama2-70b-99) or a folder with an HF config.json")
    if modelgraph.graph_for(spec) is None and not Path(spec).expanduser().exists() and "/" not in spec:
        names = ", ".join(k for k, *_ in modelgraph.mlperf_models())
        raise FlexBoardError(f"--model={spec}: not an MLPerf benchmark model ({names}) nor a folder with an HF config.json")
    graph = modelgraph.resolve_model(spec)
    bench = spec.lower() if modelgraph.graph_for(spec) is not None and tasks.lookup(spec) is not None else None
    return _Model(spec, graph, bench)


def _same_graph(a: modelgraph.ModelGraph, b: modelgraph.ModelGraph) -> bool:
    return (a.layers, a.hidden, a.heads, a.kv_heads, a.vocab, a.experts) == (b.layers, b.hidden, b.heads, b.kv_heads, b.vocab, b.experts)


def _same_name(name: Any, m: _Model) -> bool:
    """A row's ``model.name`` is the model the user gave: the same hub id, or the same folder."""
    n = str(name or "").strip()
    if not n:
        return False
    if n.lower() == m.spec.lower():
        return True
    a, b = Path(n).expanduser(), Path(m.spec).expanduser()
    return a.is_dir() and b.is_dir() and a.resolve() == b.resolve()


def _measured_rows(rows, m: _Model):
    """The dataset rows of this model: its MLPerf benchmark (closed division, or an open row running
    the benchmark's own model) or, for a model of the table named without its benchmark's accuracy
    target (``llama2-70b``: no row's benchmark is called that) or an HF config, rows whose model has
    the same graph (every benchmark of it), or (a FlexBench run of a model outside the MLPerf table)
    the same hub id or folder."""
    keep = []
    recs = rows.to_dict("records")
    exact = m.benchmark is not None and any(str(r.get("model.mlperf_name") or "").lower() == m.benchmark for r in recs)
    for i, r in enumerate(recs):
        g = modelgraph.graph_for(r.get("model.name"), r.get("model.mlperf_name"))
        if g is None:
            if m.benchmark is None and _same_name(r.get("model.name"), m):
                keep.append(i)
            continue
        if not _same_graph(g, m.graph):
            continue
        if exact and str(r.get("model.mlperf_name") or "").lower() != m.benchmark:
            continue
        keep.append(i)
    return rows.iloc[keep].reset_index(drop=True)


def _f(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _latency_known(scenario: str, task: tasks.Task | None, ttft_p99: float | None = None,
                   tpot_p99: float | None = None) -> dict[str, Any] | None:
    if ttft_p99 is not None or tpot_p99 is not None:
        return {"ttft_ms": ttft_p99, "tpot_ms": tpot_p99, "basis": "measured p99"}
    lim = task.limits(scenario) if task else None
    if lim is None:
        return None
    return {"ttft_ms": lim.ttft_ms, "tpot_ms": lim.tpot_ms, "basis": f"MLPerf {task.key} {scenario} limits (p99)"}


def _meets_latency(c: Constraints, lat: dict[str, Any] | None) -> bool:
    if not c.latency:
        return True
    if lat is None:
        return False
    for want, key in ((c.max_ttft_ms, "ttft_ms"), (c.max_tpot_ms, "tpot_ms")):
        if want is not None and (lat.get(key) is None or lat[key] > want):
            return False
    return True


def _reproduce(r: dict[str, Any]) -> str:
    return str(r.get("provenance.reproduce") or "") if str(r.get("provenance.source_kind") or "") == "flexbench-run" else ""


def _source(r: dict[str, Any]) -> str:
    src = str(r.get("provenance.source") or "")
    if src:
        commit = str(r.get("provenance.commit") or "")
        return f"{src}@{commit}" if commit else src
    rnd = r.get("benchmark.version") or r.get("submission.round") or ""
    return (f"Open MLPerf Dataset (published): MLPerf inference v{str(rnd).lstrip('v')} "
            f"{r.get('submission.division') or ''} {r.get('submission.organization') or ''} "
            f"{r.get('system.name') or ''}").strip()


def recommend(rows, predictor, model: str, constraints: Constraints | None = None,
              prices: Mapping[str, float | None] | None = None, counts: tuple[int, ...] = COUNTS,
              scenarios: tuple[str, ...] = SCENARIOS, dtype: str = "fp8", top: int = 20) -> Recommendation:
    """Rank measured rows of ``model`` and predicted configurations of it (each priced accelerator
    of the table x ``counts`` on one node x ``scenarios``) by USD per million generated tokens.
    ``rows``: dataset rows (``features.load_rows``); ``predictor``: a trained ``Predictor`` (None:
    measured rows only)."""
    c = (constraints or Constraints()).check()
    price_map = _prices.check(prices if prices is not None else _prices.default_map())
    sources = {p.key: p.source for p in _prices.defaults()}
    edited = {k for k, v in price_map.items() if v != _prices.default_map().get(k)}
    if modelgraph.dtype_bytes(dtype) is None:
        raise FlexBoardError(f"--dtype={dtype}: weight type unknown (one of {', '.join(modelgraph.DTYPE_BYTES)})")
    m = _resolve(model)
    task = tasks.lookup(m.benchmark) if m.benchmark else None
    left: dict[str, int] = {}
    notes: list[str] = []

    def drop(reason: str) -> None:
        left[reason] = left.get(reason, 0) + 1

    def admissible(acc: accelerators.Accelerator | None, total: int, tps: float, lat) -> tuple[bool, tuple[float, str]]:
        if acc is None:
            drop("accelerator not in the table")
            return False, (0.0, "")
        if c.vendor and acc.vendor.lower() != c.vendor.lower():
            drop("vendor")
            return False, (0.0, "")
        if c.min_memory_gb is not None and (acc.memory_gb or 0) < c.min_memory_gb:
            drop("accelerator memory")
            return False, (0.0, "")
        if c.max_accelerators is not None and total > c.max_accelerators:
            drop("accelerator count")
            return False, (0.0, "")
        usd = price_map.get(acc.key)
        if usd is None:
            drop("no price for the accelerator")
            return False, (0.0, "")
        if c.budget_usd_per_hour is not None and usd * total > c.budget_usd_per_hour:
            drop("budget")
            return False, (0.0, "")
        if c.min_tokens_per_s is not None and tps < c.min_tokens_per_s:
            drop("throughput")
            return False, (0.0, "")
        if not _meets_latency(c, lat):
            drop("latency unknown or above the limit")
            return False, (0.0, "")
        return True, (usd, "your price table" if acc.key in edited else sources.get(acc.key, ""))

    options: list[Option] = []
    measured = _measured_rows(rows, m) if rows is not None and len(rows) else None
    if measured is None or not len(measured):
        notes.append(f"no measured row of {m.spec} in the dataset: predictions only")
    else:
        benches = sorted({str(b) for b in measured["model.mlperf_name"].dropna()} - {m.spec})
        if benches:
            notes.append(f"measured rows of {m.spec}: the results of " + ", ".join(benches))
        for r in measured.to_dict("records"):
            acc = accelerators.lookup(r.get("system.accelerator.name"))
            total = int(_f(r.get("system.accelerator.total_count")) or 1)
            tps = _f(r.get("metrics.result")) or 0.0
            scen = str(r.get("submission.scenario") or "")
            lat = _latency_known(scen, tasks.lookup(r.get("model.mlperf_name")),
                                 _f(r.get("metrics.ttft.p99")), _f(r.get("metrics.tpot.p99")))
            ok, price = admissible(acc, total, tps, lat)
            if not ok:
                continue
            usd = price[0] * total
            options.append(Option(
                kind="measured", accelerator=acc.key, accelerator_name=str(r.get("system.accelerator.name") or acc.key),
                vendor=acc.vendor, accelerators=total, nodes=int(_f(r.get("system.number_of_nodes")) or 1), scenario=scen,
                tokens_per_s=tps, tokens_per_s_interval=None, usd_per_hour=usd, usd_per_million_tokens=_cost(usd, tps),
                usd_per_million_tokens_interval=None, price_source=price[1], latency=lat,
                model=str(r.get("model.name") or m.spec), framework=str(r.get("software.framework") or ""),
                organization=str(r.get("submission.organization") or ""),
                round=str(r.get("benchmark.version") or r.get("submission.round") or ""),
                division=str(r.get("submission.division") or ""), source=_source(r),
                result_id=str(r.get("result.id") or ""), reproduce=_reproduce(r)))
    considered = sum(left.values()) + len(options)

    if predictor is not None:
        configs, metas = [], []
        wbytes = modelgraph.dtype_bytes(dtype)
        for _pat, acc in accelerators.table():
            if acc.key.startswith("jetson"):
                continue  # edge modules: not a datacenter configuration to rent
            for n in counts:
                if (acc.memory_gb or 0) * n * 0.9 < m.graph.params_total * wbytes / 1e9:
                    drop("weights do not fit in the accelerators' memory")
                    continue
                for scen in scenarios:
                    configs.append({"model.name": m.spec, "model.mlperf_name": m.benchmark or m.spec, "_graph": m.graph,
                                    "model.weight_data_types": dtype, "system.accelerator.name": acc.key,
                                    "system.accelerator.count_per_node": n, "system.number_of_nodes": 1,
                                    "system.accelerator.total_count": n, "submission.scenario": scen,
                                    "submission.division": "closed"})
                    metas.append((acc, n, scen))
        if configs:
            pred = predictor.predict_frame(configs)
            for (acc, n, scen), p, lo, hi in zip(metas, pred["predicted"], pred["low"], pred["high"]):
                tps, tlo, thi = float(p) * n, float(lo) * n, float(hi) * n
                lat = _latency_known(scen, task)
                considered += 1
                ok, price = admissible(acc, n, tps, lat)
                if not ok:
                    continue
                usd = price[0] * n
                options.append(Option(
                    kind="predicted", accelerator=acc.key, accelerator_name=acc.key, vendor=acc.vendor, accelerators=n,
                    nodes=1, scenario=scen, tokens_per_s=tps, tokens_per_s_interval=(tlo, thi), usd_per_hour=usd,
                    usd_per_million_tokens=_cost(usd, tps), usd_per_million_tokens_interval=(_cost(usd, thi), _cost(usd, tlo)),
                    price_source=price[1], latency=lat, model=m.spec, framework="", organization="", round="",
                    division="closed", source=f"predicted by the FlexBoard predictor ({dtype} weights, one node)"))
        considered += left.get("weights do not fit in the accelerators' memory", 0)
    if not considered:
        raise FlexBoardError(f"--model={m.spec}: no measured row and nothing to predict (no trained predictor)")
    if c.latency:
        notes.append("latency limits: Offline results and configurations of a model outside the MLPerf tasks "
                     "have no known TTFT/TPOT and are left out")
    options.sort(key=lambda o: (o.usd_per_million_tokens, o.kind != "measured", -o.tokens_per_s))
    return Recommendation(model=m.spec, options=options[:top] if top else options, considered=considered,
                          left_out=left, notes=notes)


def config_count_check(counts: str) -> tuple[int, ...]:
    """``--counts=1,2,4,8`` -> (1, 2, 4, 8)."""
    try:
        out = tuple(int(x) for x in str(counts).split(",") if x.strip())
    except ValueError:
        raise FlexBoardError(f"--counts={counts}: a comma-separated list of whole numbers expected") from None
    if not out or any(n < 1 for n in out):
        raise FlexBoardError(f"--counts={counts}: each count must be at least 1")
    return out


__all__ = ["Constraints", "Option", "Recommendation", "recommend"]
