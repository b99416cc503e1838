"""Predict tokens/s per accelerator (with an 80% interval) for a configuration nobody measured."""

from __future__ import annotations

from flexboard import accelerators, modelgraph, prices
from flexboard.app import board, context, predicting

OTHER = "other (HF config folder or hub id)"
DTYPES = ("fp8", "fp16", "bf16", "fp4", "int8", "int4")
SCENARIOS = ("Offline", "Server", "Interactive")
FRAMEWORKS = ("", "tensorrt", "vllm", "sglang", "rocm", "nim", "pytorch")


def framework_label(f: str) -> str:
    """The framework choice as shown: none chosen is the accelerator's usual one (the predictor
    fills an empty framework from the measured rows of the accelerator: ``Predictor._with_context``)."""
    return f or "the accelerator's usual one"


def page() -> None:
    import streamlit as st

    st.title("Predict performance")
    st.caption("The predictor (docs/flexboard.md) learns the fraction of the roofline a system reaches, from the "
               "model's graph and the accelerator's datasheet, so it can predict accelerators and models that "
               "nobody measured.")
    df = context.rows()
    # the dataset's benchmark names the model table knows (llama2-70b-99, ...-interactive), then the table's own
    models = [m for m in board.options(df, "model.mlperf_name") if modelgraph.graph_for(m) is not None]
    models += [key for key, _p, _g, _hf in modelgraph.mlperf_models() if key not in models]
    accs = [a.key for _p, a in accelerators.table()]
    with st.form("predict-form"):
        c1, c2, c3 = st.columns(3)
        with c1:
            top = board.default_model(df)
            first = models.index(top) if top in models else 0
            model = st.selectbox("Model", models + [OTHER], index=first, key="predict-model")
            other = st.text_input("HF config folder or hub id (for 'other')", key="predict-other")
        with c2:
            acc = st.selectbox("Accelerator", accs, key="predict-accelerator")
            dtype = st.selectbox("Weights", DTYPES, key="predict-dtype")
        with c3:
            count = st.number_input("Accelerators per node", min_value=1, max_value=1024, value=8, key="predict-count")
            nodes = st.number_input("Nodes", min_value=1, max_value=4096, value=1, key="predict-nodes")
            scenario = st.selectbox("Scenario", SCENARIOS, key="predict-scenario")
            framework = st.selectbox("Framework", FRAMEWORKS, key="predict-framework",
                                     format_func=framework_label)
        submitted = st.form_submit_button("Predict")
    if not submitted:
        st.info("Choose a configuration and press Predict.")
        return
    name = other.strip() if model == OTHER else model
    if not name:
        st.error("Give the HF config folder or hub id of the model (or choose an MLPerf model).")
        return
    with st.spinner("Training the predictor on this dataset (once per board)…"):
        p = predicting.trained(context.source())
    r = predicting.predict(p, name, acc, count=int(count), nodes=int(nodes), scenario=scenario, dtype=dtype,
                             framework=framework)
    m1, m2, m3 = st.columns(3)
    m1.metric("Predicted tokens/s per accelerator", f"{r.per_accelerator:,.1f}")
    m2.metric("80% interval", f"{r.low:,.1f} – {r.high:,.1f}")
    m3.metric(f"System ({r.total_accelerators} accelerators)", f"{r.system:,.1f} tokens/s")
    price = prices.default_map().get(acc)
    cost = prices.cost_per_million_tokens(r.per_accelerator, price)
    if cost is not None:
        st.markdown(f"At the default price of ${price:.2f}/hour: about **${cost:,.4f}** per million tokens.")
    measured = df[(df["accelerator"] == acc) & (df["model.mlperf_name"].astype("string") == name)
                  & (df["submission.scenario"].astype("string") == scenario)]
    if measured.empty:
        st.caption(f"No measured {name} {scenario} row on {acc} in the dataset: this is a prediction only.")
    else:
        tps = measured[board.THROUGHPUT].astype(float)
        st.subheader("Measured rows of the same model, accelerator and scenario")
        st.markdown(f"{len(measured)} rows: median **{tps.median():,.1f}**, best **{tps.max():,.1f}** tokens/s per "
                    "accelerator (their systems differ in count, software and precision).")
        st.dataframe(board.explore_frame(measured), hide_index=True)
