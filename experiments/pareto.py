"""The throughput/interactivity Pareto curve of a concurrency sweep (as MLPerf Endpoints reports it).

Each point of a sweep gives the system's tokens/s and the tokens/s one user sees,
``1000 / tpot_p90_ms``. A point is Pareto-optimal when no other point is at least as good on both
and better on one. ``cmx run experiment ... --pareto`` adds the ``pareto`` column, writes
``pareto.csv`` and ``pareto.png`` (TTFT p90 written beside each point) and prints the optimal points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

X = "tokens_per_second_per_user"
Y = "tokens_per_second"


def _num(v: Any) -> float | None:
    try:
        return None if v is None or v == "" or isinstance(v, bool) else float(v)
    except (TypeError, ValueError):
        return None


def per_user(row: dict[str, Any]) -> float | None:
    known = _num(row.get(X))
    if known is not None:
        return known
    tpot = _num(row.get("tpot_p90_ms"))
    return 1000.0 / tpot if tpot else None


def optimal(rows: list[dict[str, Any]]) -> list[bool]:
    """For each row, whether it is on the Pareto front of (per-user tokens/s, system tokens/s)."""
    pts = [(per_user(r), _num(r.get(Y))) if r.get("status") == "ok" else (None, None) for r in rows]
    out = []
    for i, (x, y) in enumerate(pts):
        if x is None or y is None:
            out.append(False)
            continue
        dominated = any(ox is not None and oy is not None and ox >= x and oy >= y and (ox > x or oy > y)
                        for j, (ox, oy) in enumerate(pts) if j != i)
        out.append(not dominated)
    return out


def annotate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flags = optimal(rows)
    return [{**r, X: per_user(r), "pareto": flag} for r, flag in zip(rows, flags)]


def plot(rows: list[dict[str, Any]], path: Path) -> str:
    from experiments.results import pyplot

    plt = pyplot()

    pts = [(per_user(r), _num(r.get(Y)), r) for r in rows]
    pts = [p for p in pts if p[0] is not None and p[1] is not None]
    front = sorted((p for p in pts if p[2].get("pareto")), key=lambda p: p[0])
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    ax.scatter([p[0] for p in pts], [p[1] for p in pts], color="tab:gray", label="points")
    ax.plot([p[0] for p in front], [p[1] for p in front], marker="o", color="tab:red", label="Pareto front")
    for x, y, r in pts:
        ttft = _num(r.get("ttft_p90_ms"))
        label = f"c={r.get('concurrency') or r.get('point')}" + (f"\nTTFT p90 {ttft:.0f} ms" if ttft is not None else "")
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("tokens/s per user (1000 / TPOT p90 ms)")
    ax.set_ylabel("system tokens/s")
    ax.set_title("throughput vs interactivity")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
    return str(path)
