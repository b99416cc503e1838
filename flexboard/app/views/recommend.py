"""Recommend: measured rows and predicted configurations of a model ranked together by cost per
million tokens under the user's constraints (``flexboard.recommend.recommend``)."""

from __future__ import annotations

import math

from flexboard import modelgraph
from flexboard.app import board, context, predicting
from flexboard.app.views.pricetable import edited_prices
from flexboard.errors import FlexBoardError

OTHER = "other (HF config folder or hub id)"
VENDORS = ("any", "NVIDIA", "AMD")
DTYPES = ("fp8", "fp16", "bf16", "fp4", "int8", "int4")


def _limit(raw: str, name: str) -> float | None:
    """A constraint typed on the page: empty is no limit; anything else a number (its sign is
    checked by ``Constraints.check``)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        v = float(raw)
    except ValueError:
        raise FlexBoardError(f"{name}: {raw!r} is not a number") from None
    if not math.isfinite(v):
        raise FlexBoardError(f"{name}: {raw!r} is not a finite number")
    return v


def table(rec) -> "object":
    """The ranked options as the page shows them (one row each, best first)."""
    import pandas as pd

    rows = []
    for i, o in enumerate(rec.options, start=1):
        lo_hi = o.tokens_per_s_interval
        cost_int = o.usd_per_million_tokens_interval
        rows.append({
            "rank": i, "kind": o.kind, "accelerator": o.accelerator_name, "count": o.accelerators,
            "scenario": o.scenario, "tokens/s": round(o.tokens_per_s, 1),
            "tokens/s 80%": f"{lo_hi[0]:,.0f} – {lo_hi[1]:,.0f}" if lo_hi else "",
            "USD/hour": round(o.usd_per_hour, 2), "USD per M tokens": round(o.usd_per_million_tokens, 4),
            "USD per M tokens 80%": f"{cost_int[0]:,.4f} – {cost_int[1]:,.4f}" if cost_int else "",
            "latency": (o.latency or {}).get("basis", ""),
            "provenance": f"provenance?id={o.result_id}" if o.result_id else None,
            "reproduce": o.reproduce, "source": o.source,
        })
    return pd.DataFrame(rows)


def page() -> None:
    import streamlit as st

    from flexboard import recommend as R

    st.title("Recommend a configuration")
    st.caption("Measured results and predicted configurations ranked together by USD per million generated "
               "tokens. Predicted ones are marked and carry their 80% interval.")
    df = context.rows()
    models = [m for m in board.options(df, "model.mlperf_name") if modelgraph.graph_for(m) is not None]
    models += [key for key, _p, _g, _hf in modelgraph.mlperf_models() if key not in models]
    top_model = board.default_model(df)
    try:
        price_map = edited_prices("recommend-prices", folded=True)
    except FlexBoardError as exc:
        st.error(str(exc))
        return
    with st.form("recommend-form"):
        c1, c2, c3 = st.columns(3)
        with c1:
            model = st.selectbox("Model", models + [OTHER], index=models.index(top_model) if top_model in models else 0,
                                 key="recommend-model")
            other = st.text_input("HF config folder or hub id (for 'other')", key="recommend-other")
            dtype = st.selectbox("Weights (predicted configurations)", DTYPES, key="recommend-dtype")
        with c2:
            min_tps = st.text_input("Minimum tokens/s (system)", key="recommend-min-tps")
            max_ttft = st.text_input("Maximum TTFT p99 (ms)", key="recommend-max-ttft")
            max_tpot = st.text_input("Maximum TPOT p99 (ms)", key="recommend-max-tpot")
        with c3:
            vendor = st.selectbox("Accelerator vendor", VENDORS, key="recommend-vendor")
            min_mem = st.text_input("Minimum accelerator memory (GB)", key="recommend-min-memory")
            budget = st.text_input("Budget (USD per hour)", key="recommend-budget")
            max_acc = st.text_input("Maximum accelerators", key="recommend-max-accelerators")
        submitted = st.form_submit_button("Recommend")
    if not submitted:
        st.info("Set the constraints (empty: no limit) and press Recommend.")
        return
    name = other.strip() if model == OTHER else model
    max_n = _limit(max_acc, "Maximum accelerators")
    constraints = R.Constraints(
        min_tokens_per_s=_limit(min_tps, "Minimum tokens/s"), max_ttft_ms=_limit(max_ttft, "Maximum TTFT"),
        max_tpot_ms=_limit(max_tpot, "Maximum TPOT"), vendor=None if vendor == "any" else vendor,
        min_memory_gb=_limit(min_mem, "Minimum accelerator memory"),
        budget_usd_per_hour=_limit(budget, "Budget"),
        max_accelerators=int(max_n) if max_n is not None and max_n == int(max_n) else max_n,
    ).check()
    with st.spinner("Training the predictor on this dataset (once per board)…"):
        p = predicting.trained(context.source())
    src = context.source()
    rows = predicting.training_rows(src)
    rec = R.recommend(rows, p, name, constraints, price_map, dtype=dtype)
    for note in rec.notes:
        st.caption(note)
    if not rec.options:
        left = ", ".join(f"{k}: {v}" for k, v in sorted(rec.left_out.items(), key=lambda kv: -kv[1])) or "none"
        st.warning(f"No configuration of {name} meets these constraints ({rec.considered} considered; left out by "
                   f"{left}). Relax a constraint or set a price.")
        return
    best = rec.options[0]
    kind = "predicted" if best.kind == "predicted" else "measured"
    st.markdown(f'<p id="best">Best: <b>{best.accelerators}× {best.accelerator_name}</b> ({best.scenario}, {kind}), '
                f'<b>${best.usd_per_million_tokens:,.4f}</b> per million tokens at '
                f'{best.tokens_per_s:,.1f} tokens/s</p>', unsafe_allow_html=True)
    st.dataframe(table(rec), hide_index=True, column_config={
        "provenance": st.column_config.LinkColumn("provenance", display_text=r"provenance\?id=(.*)"),
    })
    if best.reproduce:
        st.markdown("Reproduce the best measured result:")
        st.code(best.reproduce, language="bash")
    left = ", ".join(f"{k}: {v}" for k, v in sorted(rec.left_out.items(), key=lambda kv: -kv[1]))
    st.caption(f"{rec.considered} configurations considered, {len(rec.options)} shown" +
               (f"; left out by {left}" if left else ""))
