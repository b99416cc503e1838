"""The throughput predictor: three gradient-boosted models (median, 10% and 90% quantiles) of
log(tokens/s per accelerator / roofline bound), on the features of ``flexboard.features``.

scikit-learn's HistGradientBoostingRegressor: native missing values and categories, quantile
loss, and ~0.1 s to fit 850 rows on one core (docs/flexboard.md has the comparison).
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexboard import features as F
from flexboard.errors import FlexBoardError

FORMAT = 1


@dataclass(frozen=True)
class Settings:
    max_iter: int = 150
    learning_rate: float = 0.1
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 10
    l2_regularization: float = 1.0
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Predictor:
    settings: Settings
    models: dict[str, Any] = field(default_factory=dict)  # "q50", "q10", "q90"
    categories: dict[str, list[str]] = field(default_factory=dict)
    trained_rows: int = 0
    data_digest: str = ""

    def _matrix(self, feats):
        X = feats.copy()
        for c in F.CATEGORICAL:
            cats = self.categories.get(c, [])
            X[c] = X[c].astype(str).map({v: i for i, v in enumerate(cats)}).astype(float)
        return X[F.FEATURES]

    def predict_frame(self, rows):
        """Predictions for dataset-shaped rows: a DataFrame with predicted, low, high (tokens/s per
        accelerator) and the bound the model scaled by."""
        import numpy as np
        import pandas as pd

        from threadpoolctl import threadpool_limits

        feats = F.frame(rows)
        X = self._matrix(feats)
        ref = np.array([F.reference_log_bound(r) for r in feats.to_dict("records")], dtype=float)
        ref = np.where(np.isnan(ref), self.models["fallback_log"], ref)
        out = {}
        with threadpool_limits(1):  # OpenMP threads thrash on a shared 2-core machine; 1 is fastest here
            for k in ("q50", "q10", "q90"):
                out[k] = np.exp(self.models[k].predict(X) + ref)
        low = np.minimum(out["q10"], out["q50"])
        high = np.maximum(out["q90"], out["q50"])
        return pd.DataFrame({"predicted": out["q50"], "low": low, "high": high, "log_bound": ref})

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump({"format": FORMAT, "predictor": self}, f)
        tmp.replace(path)


def _target(rows, feats):
    import numpy as np

    ref = np.array([F.reference_log_bound(r) for r in feats.to_dict("records")], dtype=float)
    return np.log(rows[F.TARGET].to_numpy(dtype=float)), ref


def train(rows, settings: Settings | None = None) -> Predictor:
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    s = settings or Settings()
    feats = F.frame(rows)
    y, ref = _target(rows, feats)
    fallback = float(np.nanmedian(ref)) if np.isfinite(ref).any() else 0.0
    ref = np.where(np.isnan(ref), fallback, ref)
    p = Predictor(settings=s, categories={c: sorted(feats[c].astype(str).unique()) for c in F.CATEGORICAL},
                  trained_rows=len(rows))
    X = p._matrix(feats)
    cat_mask = [c in F.CATEGORICAL for c in F.FEATURES]
    for name, loss, q in (("q50", "absolute_error", None), ("q10", "quantile", 0.1), ("q90", "quantile", 0.9)):
        kw = {"quantile": q} if q is not None else {}
        m = HistGradientBoostingRegressor(loss=loss, max_iter=s.max_iter, learning_rate=s.learning_rate,
                                          max_leaf_nodes=s.max_leaf_nodes, min_samples_leaf=s.min_samples_leaf,
                                          l2_regularization=s.l2_regularization, categorical_features=cat_mask,
                                          random_state=s.seed, **kw)
        with threadpool_limits(1):  # see predict_frame
            m.fit(X, y - ref)
        p.models[name] = m
    p.models["fallback_log"] = fallback
    return p


def load(path: Path) -> Predictor:
    try:
        with Path(path).open("rb") as f:
            data = pickle.load(f)  # our own cache entry, written by save()
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
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
