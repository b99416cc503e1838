"""What a person sees: a terminal table, and PNG plots next to the logs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(q / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def token_stats(timings: list[dict[str, Any]]) -> dict[str, Any]:
    """TTFT/TPOT from the SUT's own per-sample clocks (LoadGen reports them only for Server)."""
    done = [t for t in timings if t.get("latency_s") is not None and t.get("ttft_s") is not None]
    ttft = [t["ttft_s"] * 1000 for t in done]
    tpot = [(t["latency_s"] - t["ttft_s"]) * 1000 / (t["tokens"] - 1) for t in done if t.get("tokens", 0) > 1]
    out: dict[str, Any] = {"source": "sut", "samples": len(done)}
    for name, vals in (("ttft_ms", ttft), ("tpot_ms", tpot)):
        if vals:
            out[name] = {"min": min(vals), "mean": sum(vals) / len(vals), "max": max(vals),
                         **{f"p{q:g}": _pct(vals, q) for q in (50, 90, 95, 99, 99.9)}}
    return out


def headline(result: dict[str, Any]) -> dict[str, Any]:
    perf_mode = result["modes"].get("performance") or {}
    perf = perf_mode.get("loadgen") or {}
    sut = perf_mode.get("sut_token_latencies") or {}
    token_source = "loadgen" if perf.get("ttft_ms") else ("sut" if sut.get("ttft_ms") else None)
    acc = result.get("accuracy") or {}
    cold = (result["modes"].get("performance") or result["modes"].get("accuracy") or {}).get("cold_start") or {}
    load = perf_mode.get("load") or {}
    tpot = perf.get("tpot_ms") or sut.get("tpot_ms") or {}
    return {
        "load_mode": load.get("load_mode"),
        "concurrency": load.get("concurrency"),
        "max_in_flight": load.get("max_in_flight"),
        # MLPerf Endpoints' per-user speed: tokens/s one user sees, from the p90 time per output token
        "tokens_per_second_per_user": (1000.0 / tpot["p90"]) if tpot.get("p90") else None,
        "status": result["status"],
        "scenario": perf.get("scenario"),
        "valid": perf.get("valid"),
        "invalid_reasons": perf.get("invalid_reasons"),
        "samples_per_second": perf.get("samples_per_second"),
        "tokens_per_second": perf.get("tokens_per_second"),
        "latency_ms": perf.get("latency_ms"),
        "ttft_ms": perf.get("ttft_ms") or sut.get("ttft_ms"),
        "tpot_ms": perf.get("tpot_ms") or sut.get("tpot_ms"),
        "token_latency_source": token_source,
        "rouge": {k: acc[k] for k in ("rouge1", "rouge2", "rougeL", "rougeLsum") if k in acc} or None,
        "tokens_per_sample": acc.get("tokens_per_sample"),
        "model_load_s": cold.get("model_load_s"),
        "first_inference_s": cold.get("first_inference_s"),
        "peak_rss_mb": max((m.get("peak_rss_mb") or 0) for m in result["modes"].values()) if result["modes"] else None,
    }


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}{unit}"
    return f"{v}{unit}"


def table(result: dict[str, Any]) -> None:
    h = result["summary"]
    rows = [("status", h["status"] + (f" ({result['failure']})" if result.get("failure") else "")),
            ("scenario", _fmt(h["scenario"])),
            ("LoadGen result", "VALID" if h["valid"] else ("INVALID: " + "; ".join(h["invalid_reasons"] or []) if h["valid"] is False else "-")),
            ("samples/s", _fmt(h["samples_per_second"])), ("tokens/s", _fmt(h["tokens_per_second"]))]
    src = {"sut": " (SUT clock)", "loadgen": " (LoadGen)"}.get(h.get("token_latency_source") or "", "")
    for name, key in (("latency", "latency_ms"), ("TTFT" + src, "ttft_ms"), ("TPOT" + src, "tpot_ms")):
        d = h.get(key) or {}
        if d:
            rows.append((f"{name} mean / p50 / p90 / p99",
                         " / ".join(_fmt(d.get(k), " ms") for k in ("mean", "p50", "p90", "p99"))))
    if h["rouge"]:
        rows.append(("ROUGE-1 / 2 / L / Lsum", " / ".join(_fmt(h["rouge"][k]) for k in ("rouge1", "rouge2", "rougeL", "rougeLsum"))))
        rows.append(("tokens per sample", _fmt(h["tokens_per_sample"])))
    rows += [("model load", _fmt(h["model_load_s"], " s")), ("first inference", _fmt(h["first_inference_s"], " s")),
             ("peak RSS", _fmt(h["peak_rss_mb"], " MB"))]
    try:
        from rich.console import Console
        from rich.table import Table

        t = Table(title="FlexBench result", show_header=False)
        t.add_column("metric", style="bold")
        t.add_column("value")
        for r in rows:
            t.add_row(*r)
        Console(file=sys.stderr).print(t)
    except ImportError:
        for k, v in rows:
            print(f"  {k:<28} {v}", file=sys.stderr)


def plots(timings: list[dict[str, Any]], out: Path) -> list[str]:
    """Latency CDF and TTFT/TPOT histograms from the SUT's per-sample timings."""
    done = [t for t in timings if t.get("latency_s") is not None]
    if not done:
        return []
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    lat = sorted(t["latency_s"] * 1000 for t in done)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(lat, [(i + 1) / len(lat) for i in range(len(lat))], drawstyle="steps-post")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of samples")
    ax.set_title("Latency CDF (SUT-side timings)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "latency_cdf.png", dpi=100)
    plt.close(fig)
    written.append(str(out / "latency_cdf.png"))
    ttft = [t["ttft_s"] * 1000 for t in done if t.get("ttft_s") is not None]
    tpot = [(t["latency_s"] - t["ttft_s"]) * 1000 / (t["tokens"] - 1)
            for t in done if t.get("ttft_s") is not None and t.get("tokens", 0) > 1]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, data, title in ((axes[0], ttft, "TTFT (ms)"), (axes[1], tpot, "TPOT (ms)")):
        if data:
            ax.hist(data, bins=min(30, max(5, len(data) // 2)))
        ax.set_title(title)
        ax.set_ylabel("samples")
    fig.tight_layout()
    fig.savefig(out / "token_latency_hist.png", dpi=100)
    plt.close(fig)
    written.append(str(out / "token_latency_hist.png"))
    return written
