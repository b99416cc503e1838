"""The throughput predictor: gradient-boosted models of log(tokens/s per accelerator / roofline
bound) on the features of ``flexboard.features``, with split-conformal 80 % intervals.

- **physics** models (median, 10 % and 90 % quantiles) see no identity column: they carry over to
  an accelerator or a round nobody measured;
- a **memory** model (median) also sees the raw identity columns the FlexBoard baseline uses
  (accelerator, submitter, benchmark, framework string); it is used, blended with the physics
  median, only for a row whose accelerator *and* task were both in the training data;
- the interval is conformalized quantile regression (CQR): out-of-fold conformity scores
  max(q10 - y, y - q90) on the training rows widen (or narrow) the quantile band so that 80 % of
  held-out rows fall in it. Three calibrations, chosen per row by its novelty (Mondrian conformal):
  K-fold by row (accelerator and task seen), by accelerator (a new accelerator), by task (a new
  MLPerf task: other inputs and latency rules);
- **a task no training row had** (``_fit_task_agnostic``): the median per-task intercept of a
  random-intercept model plus a tree model of the task-agnostic features (``features.AGNOSTIC``),
  with the symmetric 80 % margin of its leave-one-task-out errors ("task_agnostic"; needs three
  training tasks, else the folds-by-task margin around the physics band moved to its median);
- a **configuration nobody measured** (no submitter) gets its accelerator's typical host, software
  and submitter where it leaves them empty (``Predictor._with_context``);
- **round drift**: a row of a round newer than the training data (or of no round: a configuration
  nobody measured yet) also gets the margin of a pseudo leave-round-out inside the training rounds
  (the band fitted on the rounds before each round, scored on that round; apart for rows of tasks
  those earlier rounds had and of new ones): next round's software is faster on the same hardware,
  a shift no K-fold of one round sees. It needs two rounds in the training data.

scikit-learn's HistGradientBoostingRegressor: native missing values and categories, quantile loss;
always single-threaded (``threadpool_limits(1)``: OpenMP threads thrash on a shared machine).
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexboard import features as F
from flexboard.errors import FlexBoardError

FORMAT = 2
NOMINAL = 0.8


# the features a configuration nobody measured leaves empty, filled from its accelerator's typical
# measured row (Predictor._with_context)
CONTEXT_NUMERIC = ("cpu_cores", "cpu_count", "host_memory_gb")
CONTEXT = CONTEXT_NUMERIC + ("cpu_vendor", "framework", "framework_raw", "organization")


def _contexts(feats) -> dict[str, dict[str, Any]]:
    """Typical host, software and submitter of the training rows: per accelerator ("acc:KEY"), per
    vendor ("vendor:V") and over all rows ("all"): the median of each count, the most common value
    of each category (missing and "unknown" values left out)."""
    import pandas as pd

    def typical(df) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for c in CONTEXT:
            col = df[c]
            if c in CONTEXT_NUMERIC:
                v = pd.to_numeric(col, errors="coerce").dropna()
                if len(v):
                    out[c] = float(v.median())
            else:
                v = col.astype(str)
                v = v[(v != "unknown") & (v != "nan")]
                if len(v):
                    out[c] = str(v.value_counts().sort_index().idxmax())
        return out

    res = {"all": typical(feats)}
    for key, df in feats.groupby(feats["acc_key"].astype(str), observed=True):
        res["acc:" + key] = typical(df)
    for key, df in feats.groupby(feats["acc_vendor"].astype(str), observed=True):
        res["vendor:" + key] = typical(df)
    return res


def _blank(v: Any) -> bool:
    """An empty cell: None, NaN (a DataFrame's cell a configuration left out), blank or "nan" text."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return True
    try:
        import pandas as pd

        if pd.isna(v) is True:  # pd.NA, NaT
            return True
    except (TypeError, ValueError):
        pass
    return str(v).strip().lower() in ("", "nan")


@dataclass(frozen=True)
class Settings:
    max_iter: int = 150
    learning_rate: float = 0.1
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 10
    l2_regularization: float = 1.0
    seed: int = 0
    memory: bool = True  # the identity-column model for seen accelerators (see the module doc)
    memory_weight: float = 0.5  # its weight in the log-space blend with the physics median
    conformal_folds: int = 4  # 0: raw quantile band, no calibration
    task_agnostic: bool = True  # a task no training row had gets the typical task's prediction (module doc)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _single_thread():
    """One OpenMP/BLAS thread. sklearn's compiled modules are imported first: threadpoolctl only
    limits the libraries already loaded (OpenMP threads thrash on a shared, loaded machine)."""
    import sklearn.ensemble  # noqa: F401 - loads the OpenMP runtime the limit must see
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


@dataclass
class Predictor:
    settings: Settings
    models: dict[str, Any] = field(default_factory=dict)  # "q50", "q10", "q90", "memory"
    categories: dict[str, list[str]] = field(default_factory=dict)
    seen_accelerators: frozenset[str] = frozenset()
    seen_tasks: frozenset[str] = frozenset()
    conformal: dict[str, float] = field(default_factory=dict)  # "seen", "unseen", "new_task", "round", "round_new_task", "task_agnostic": log-space margins
    newest_round: tuple[int, ...] | None = None  # the newest round in the training data
    fallback_log: float = 0.0
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)  # typical host/software per accelerator (_contexts)
    task_intercept: float = 0.0  # the median per-task intercept (_fit_task_agnostic)
    trained_rows: int = 0
    data_digest: str = ""

    def _matrix(self, feats, cols):
        X = feats[cols].copy()
        for c in cols:
            if c in self.categories:
                cats = self.categories[c]
                X[c] = X[c].astype(str).map({v: i for i, v in enumerate(cats)}).astype(float)
        return X

    def predict_frame(self, rows):
        """Predictions for dataset-shaped rows (a DataFrame or a list of dicts): a DataFrame with
        predicted, low, high (tokens/s per accelerator, 80 % interval), log_bound and seen (the
        accelerator and task were in the training data)."""
        import numpy as np
        import pandas as pd

        feats = self._with_context(F.frame(rows), rows)
        ref = np.array([F.reference_log_bound(r) for r in feats.to_dict("records")], dtype=float)
        ref = np.where(np.isnan(ref), self.fallback_log, ref)
        task_seen = feats["task"].astype(str).isin(self.seen_tasks).to_numpy()
        seen = feats["acc_key"].astype(str).isin(self.seen_accelerators).to_numpy() & task_seen
        X = self._matrix(feats, F.FEATURES)
        with _single_thread():
            q = {k: self.models[k].predict(X) for k in ("q50", "q10", "q90")}
            mid = q["q50"]
            if "memory" in self.models and seen.any():
                Xm = self._matrix(feats, F.FEATURES + F.MEMORY)
                w = self.settings.memory_weight
                mid = np.where(seen, (1 - w) * mid + w * self.models["memory"].predict(Xm), mid)
        lo, hi = np.minimum(q["q10"], q["q90"]), np.maximum(q["q10"], q["q90"])
        new_task = ~task_seen
        if "task_effects" in self.models and new_task.any():
            # a task no training row had: the typical task's intercept plus this system's effect
            # (_fit_task_agnostic), with a symmetric band of the leave-one-task-out errors
            with _single_thread():
                a = self.task_intercept + self.models["task_effects"].predict(self._matrix(feats, F.AGNOSTIC).to_numpy())
            if "task_agnostic" in self.conformal:  # the band is its leave-one-task-out margin (below)
                lo, hi = np.where(new_task, a, lo), np.where(new_task, a, hi)
            else:  # no calibration: the physics band, moved with the median
                lo, hi = np.where(new_task, a + lo - mid, lo), np.where(new_task, a + hi - mid, hi)
            mid = np.where(new_task, a, mid)
        if self.conformal:
            unseen = self.conformal.get("unseen", 0.0)
            m = np.where(seen, self.conformal.get("seen", 0.0),
                         np.where(task_seen, unseen, self.conformal.get("task_agnostic",
                                                                       max(unseen, self.conformal.get("new_task", unseen)))))
            if "round" in self.conformal:
                later = self._later_round(rows)
                drift = np.where(task_seen, self.conformal["round"], self.conformal.get("round_new_task", self.conformal["round"]))
                if "task_agnostic" in self.conformal:  # a new task's margin already counts a whole task's shift
                    drift = np.where(task_seen, drift, self.conformal["round"])
                m = np.where(later, np.maximum(m, drift), m)
            lo, hi = lo - m, hi + m
        lo, hi = np.minimum(lo, mid), np.maximum(hi, mid)
        return pd.DataFrame({"predicted": np.exp(mid + ref), "low": np.exp(lo + ref), "high": np.exp(hi + ref),
                             "log_bound": ref, "seen": seen})

    def _with_context(self, feats, rows):
        """A configuration nobody measured (a row with no submitter: ``predict,performance``,
        ``recommend,configuration``, the predict page) says nothing of its host, software or
        submitter; fed as missing, the trees read that as the slow, sparsely described systems
        of the data (8x H100 llama2-70b Offline: 832 tokens/s per GPU predicted, ~3,000 measured).
        Each such field it leaves empty is filled with the typical value of the training rows of
        the same accelerator (median, or most common), else of its vendor, else of all rows
        (``_contexts``); a field the row gives (e.g. ``software.framework``) is kept."""
        import pandas as pd

        contexts = getattr(self, "contexts", None)
        if not contexts:
            return feats
        recs = rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)
        todo = [i for i, r in enumerate(recs) if _blank(r.get("submission.organization"))]
        if not todo:
            return feats
        feats = feats.copy()
        ctxs = [contexts.get("acc:" + str(feats.at[i, "acc_key"])) or contexts.get("vendor:" + str(feats.at[i, "acc_vendor"]))
                or contexts.get("all") or {} for i in todo]
        no_fw = [_blank(recs[i].get("software.framework")) for i in todo]
        for c in CONTEXT:  # a column at a time: one assignment per column, not one per cell
            if c in F.CATEGORICAL or c in F.MEMORY:
                feats[c] = feats[c].astype(object)
            if c in ("framework", "framework_raw"):
                empty = no_fw
            else:  # features write an empty text cell as "unknown" or "nan"
                empty = [_blank(v) or v == "unknown" for v in feats[c].iloc[todo]]
            fill = [(i, ctx[c]) for i, ctx, e in zip(todo, ctxs, empty) if e and c in ctx]
            if fill:
                idx, vals = zip(*fill)
                feats.loc[list(idx), c] = pd.Series(vals, index=list(idx), dtype=None if c in CONTEXT_NUMERIC else object)
        return feats

    def _later_round(self, rows):
        """Per row: its round is newer than the training data's newest, or it has none."""
        import numpy as np

        recs = rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)
        newest = getattr(self, "newest_round", None)
        out = []
        for r in recs:
            key = round_key(r.get(F.ROUND))
            out.append(key is None or newest is None or key > newest)
        return np.array(out, dtype=bool)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump({"format": FORMAT, "predictor": self}, f)
        tmp.replace(path)


def _regressor(s: Settings, cat_mask: list[bool], loss: str, quantile: float | None = None):
    from sklearn.ensemble import HistGradientBoostingRegressor

    kw = {"quantile": quantile} if quantile is not None else {}
    return HistGradientBoostingRegressor(loss=loss, max_iter=s.max_iter, learning_rate=s.learning_rate,
                                         max_leaf_nodes=s.max_leaf_nodes, min_samples_leaf=s.min_samples_leaf,
                                         l2_regularization=s.l2_regularization, categorical_features=cat_mask,
                                         random_state=s.seed, **kw)


def _fit(est, X, z, sample_weight=None):
    """``est.fit`` on a copy of X in which a column with no value at all is 0: the gradient boosting
    cannot bin an all-missing column (it raised on the TPOT limit of a training set of Offline-only
    tasks); such a column says nothing, and a constant says the same."""
    import numpy as np

    if hasattr(X, "columns"):
        empty = [c for c in X.columns if X[c].isna().all()]
        if empty:
            X = X.copy()
            X[empty] = 0.0
    else:
        empty_idx = np.all(np.isnan(X), axis=0)
        if empty_idx.any():
            X = X.copy()
            X[:, empty_idx] = 0.0
    return est.fit(X, z, sample_weight=sample_weight)


def _fit_band(s: Settings, X, z, cat_mask):
    lo = _fit(_regressor(s, cat_mask, "quantile", 0.1), X, z)
    hi = _fit(_regressor(s, cat_mask, "quantile", 0.9), X, z)
    return lo, hi


def _conformal_margin(s: Settings, X, z, cat_mask, groups) -> float:
    """The split-conformal margin: the ceil((n+1)*0.8)/n quantile of the out-of-fold conformity
    scores max(q10 - z, z - q90), folds by ``groups``."""
    import numpy as np

    uniq = np.unique(groups)
    k = min(s.conformal_folds, len(uniq))
    if k < 2:
        return 0.0
    rng = np.random.default_rng(s.seed)
    fold_of = dict(zip(rng.permutation(uniq), np.arange(len(uniq)) % k))
    fold = np.array([fold_of[g] for g in groups])
    scores = np.empty(len(z))
    for i in range(k):
        te, tr = fold == i, fold != i
        lo, hi = _fit_band(s, X[tr], z[tr], cat_mask)
        a, b = lo.predict(X[te]), hi.predict(X[te])
        scores[te] = np.maximum(np.minimum(a, b) - z[te], z[te] - np.maximum(a, b))
    n = len(scores)
    level = min(1.0, math.ceil((n + 1) * NOMINAL) / n)
    return float(np.quantile(scores, level, method="higher"))


def round_key(v: Any) -> tuple[int, ...] | None:
    """'5.1' or 'v5.1' -> (5, 1); None when absent or not a round."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    try:
        key = tuple(int(x) for x in str(v).strip().lstrip("v").split("."))
    except ValueError:
        return None
    return key or None


def _round_drift_margins(s: Settings, X, z, cat_mask, rounds, task) -> dict[str, float]:
    """Pseudo leave-round-out: for each training round after the first, the quantile band fitted
    on the earlier rounds scores that round's rows; the 80 % margins of those scores, apart for
    rows of tasks the earlier rounds had ("round") and of new tasks ("round_new_task")."""
    import numpy as np

    order = sorted({r for r in rounds if r is not None})
    seen_scores, new_scores = [], []
    for r in order[1:]:
        tr = np.array([x is not None and x < r for x in rounds])
        te = np.array([x == r for x in rounds])
        if tr.sum() < 2 * s.min_samples_leaf or not te.any():
            continue
        lo, hi = _fit_band(s, X[tr], z[tr], cat_mask)
        a, b = lo.predict(X[te]), hi.predict(X[te])
        sc = np.maximum(np.minimum(a, b) - z[te], z[te] - np.maximum(a, b))
        known = np.isin(task[te], task[tr])
        seen_scores.append(sc[known])
        new_scores.append(sc[~known])
    out: dict[str, float] = {}
    for key, parts in (("round", seen_scores), ("round_new_task", new_scores)):
        sc = np.concatenate(parts) if parts else np.empty(0)
        if len(sc) >= 10:
            level = min(1.0, math.ceil((len(sc) + 1) * NOMINAL) / len(sc))
            out[key] = float(np.quantile(sc, level, method="higher"))
    return out


def train(rows, settings: Settings | None = None) -> Predictor:
    import numpy as np

    s = settings or Settings()
    feats = F.frame(rows)
    y = np.log(rows[F.TARGET].to_numpy(dtype=float))
    ref = np.array([F.reference_log_bound(r) for r in feats.to_dict("records")], dtype=float)
    fallback = float(np.nanmedian(ref)) if np.isfinite(ref).any() else 0.0
    ref = np.where(np.isnan(ref), fallback, ref)
    z = y - ref
    cats = {c: sorted(feats[c].astype(str).unique()) for c in F.CATEGORICAL + F.MEMORY}
    rounds = [round_key(v) for v in (rows[F.ROUND] if F.ROUND in rows.columns else [None] * len(rows))]
    known_rounds = [r for r in rounds if r is not None]
    p = Predictor(settings=s, categories=cats, fallback_log=fallback, trained_rows=len(rows),
                  seen_accelerators=frozenset(feats["acc_key"].astype(str)),
                  seen_tasks=frozenset(feats["task"].astype(str)),
                  newest_round=max(known_rounds) if known_rounds else None)
    p.contexts = _contexts(feats)
    X = p._matrix(feats, F.FEATURES)
    mask = [c in F.CATEGORICAL for c in F.FEATURES]
    task = feats["task"].astype(str).to_numpy()
    with _single_thread():
        p.models["q50"] = _fit(_regressor(s, mask, "absolute_error"), X, z)
        p.models["q10"], p.models["q90"] = _fit_band(s, X, z, mask)
        if s.memory:
            Xm = p._matrix(feats, F.FEATURES + F.MEMORY)
            mmask = [c in F.CATEGORICAL or c in F.MEMORY for c in F.FEATURES + F.MEMORY]
            p.models["memory"] = _fit(_regressor(s, mmask, "absolute_error"), Xm, z)
        if s.conformal_folds:
            Xa = X.to_numpy()
            p.conformal = {
                "seen": _conformal_margin(s, Xa, z, mask, np.arange(len(z))),
                "unseen": _conformal_margin(s, Xa, z, mask, feats["acc_key"].astype(str).to_numpy()),
                "new_task": _conformal_margin(s, Xa, z, mask, task),
            }
            p.conformal.update(_round_drift_margins(s, Xa, z, mask, rounds, task))
        if s.task_agnostic and len(set(task)) >= 2:
            _fit_task_agnostic(p, s, feats, z, task)
    return p


def _task_weights(task):
    """Sample weights giving every task the same total weight (1 / rows of its task)."""
    import numpy as np

    _uniq, inv, counts = np.unique(task, return_inverse=True, return_counts=True)
    return 1.0 / counts[inv]


def _task_effects(s: Settings, X, z, task, cat_mask, rounds: int = 2):
    """A random-intercept fit by backfitting: z = c[task] + a(x), where ``a`` is a tree model on the
    task-agnostic features (fitted on z - c, every task weighted alike) and c[task] the median of
    z - a(x) over the task's rows. Returns (a, {task: c})."""
    import numpy as np

    w = _task_weights(task)
    uniq = np.unique(task)
    c = {t: float(np.median(z[task == t])) for t in uniq}
    model = None
    for _ in range(rounds):
        model = _fit(_regressor(s, cat_mask, "absolute_error"), X, z - np.array([c[t] for t in task]), w)
        a = model.predict(X)
        c = {t: float(np.median((z - a)[task == t])) for t in uniq}
    return model, c


def _weighted_quantile(x, w, q: float) -> float:
    import numpy as np

    order = np.argsort(x)
    cw = np.cumsum(w[order])
    return float(x[order][min(len(x) - 1, int(np.searchsorted(cw, q * cw[-1])))])


def _fit_task_agnostic(p: Predictor, s: Settings, feats, z, task) -> None:
    """The model for a task no training row had (a new MLPerf benchmark: other prompts, output
    lengths and latency rules). Each task's rows sit at their own distance below the roofline bound
    (the long prompts of llama3.1-405b, the short outputs of GPT-J), a distance no feature of the
    data states, since the mean prompt lengths are not published. So the target is split into a
    per-task intercept and a tree model of the task-agnostic features (``features.AGNOSTIC``: the
    accelerator, the system, the software, the scenario), fitted within tasks (``_task_effects``).
    A new task is predicted with the median intercept of the training tasks, the typical task: the
    best unbiased guess for a new group in a random-effects model; the bound it is added to still
    carries the new model's size. Its interval is symmetric, with the 80 % margin of the errors made
    when one task at a time is left out of the fit (each task weighted alike)."""
    import numpy as np

    Xg = p._matrix(feats, F.AGNOSTIC).to_numpy()
    amask = [c in F.CATEGORICAL for c in F.AGNOSTIC]
    with _single_thread():
        model, c = _task_effects(s, Xg, z, task, amask)
        p.models["task_effects"] = model
        p.task_intercept = float(np.median(list(c.values())))
        if not s.conformal_folds:
            return
        scores, weights = [], []
        for t in np.unique(task):
            te, tr = task == t, task != t
            if len(np.unique(task[tr])) < 2:
                continue
            m, ct = _task_effects(s, Xg[tr], z[tr], task[tr], amask, rounds=1)
            pred = float(np.median(list(ct.values()))) + m.predict(Xg[te])
            scores.append(np.abs(z[te] - pred))
            weights.append(np.full(int(te.sum()), 1.0 / te.sum()))
    if scores:
        p.conformal["task_agnostic"] = _weighted_quantile(np.concatenate(scores), np.concatenate(weights), NOMINAL)


def load(path: Path) -> Predictor:
    try:
        with Path(path).open("rb") as f:
            data = pickle.load(f)  # our own cache entry, written by save()
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ModuleNotFoundError) as exc:
        raise FlexBoardError(f"{path}: not a readable FlexBoard model ({exc}); retrain with "
                             "`cmx run script --tags=train,flexboard,predictor --new`") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FlexBoardError(f"{path}: a model of another format; retrain with --new")
    return data["predictor"]


def mape(y, pred) -> float:
    import numpy as np

    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    return float(np.mean(np.abs(pred - y) / y) * 100.0)


def finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)
