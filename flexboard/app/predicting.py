"""The predictor behind the predict (and recommend) pages: trained once per data source, in the
board's process, on the same rows and settings as ``train,flexboard,predictor``."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from flexboard.app import board

_lock = threading.Lock()
_trained: dict[tuple[Any, ...], Any] = {}


def settings():
    """The predictor's settings from the environment: the flags of ``train,flexboard,predictor``
    (``--max_iter``, ``--conformal_folds``, ...), which ``run,flexboard`` takes too."""
    import os

    from flexboard.recipes import _settings  # the one reader of those flags

    return _settings(dict(os.environ))


def training_rows(source: board.Source):
    """The rows the predictor trains on, as ``train,flexboard,predictor`` reads them
    (``features.load_rows``): the dataset folder or a Parquet file, and also the JSON file the board
    takes (``--data=FILE.json``, the dataset's or the published columns), read through a Parquet
    copy of it in a temporary folder."""
    import tempfile
    from pathlib import Path

    from flexboard import features as F
    from flexboard.errors import FlexBoardError

    data = Path(source.data_file).expanduser() if source.data_file else None
    if data is None or data.suffix.lower() != ".json":
        return F.load_rows(source.dataset_dir or None, source.data_file or None)
    import json

    import pandas as pd

    try:
        df = pd.DataFrame(json.loads(data.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise FlexBoardError(f"--data={source.data_file}: not readable JSON ({exc})") from None
    with tempfile.TemporaryDirectory(prefix="flexboard-json-") as tmp:
        copy = Path(tmp) / (data.stem + ".parquet")
        df.to_parquet(copy)
        try:
            return F.load_rows(data_file=copy)
        except FlexBoardError as exc:  # name the user's file, not the copy
            raise FlexBoardError(str(exc).replace(str(copy), source.data_file)) from None


def trained(source: board.Source, with_settings=None):
    """The predictor for this source and settings (default: ``settings()``), trained on first use
    and kept."""
    from flexboard import predictor as P

    s = with_settings if with_settings is not None else settings()
    sig = (source.signature(), s)
    with _lock:  # one training at a time; a second page waits for it
        p = _trained.get(sig)
        if p is None:
            rows = training_rows(source)
            p = P.train(rows, s)
            _trained.clear()
            _trained[sig] = p
        return p


@dataclass(frozen=True)
class Prediction:
    per_accelerator: float
    low: float
    high: float
    system: float           # per accelerator × total accelerators
    total_accelerators: int


def predict(p, model: str, accelerator: str, count: int = 8, nodes: int = 1, scenario: str = "Offline",
            dtype: str = "fp8", framework: str = "") -> Prediction:
    """tokens/s per accelerator with its 80% interval for one configuration (``FlexBoardError`` on
    an unknown model or accelerator)."""
    from flexboard.recipes import config_row

    cfg = config_row(model, accelerator, count=count, nodes=nodes, scenario=scenario, dtype=dtype,
                     framework=framework)
    r = p.predict_frame([cfg]).iloc[0]
    total = int(cfg["system.accelerator.total_count"])
    return Prediction(float(r["predicted"]), float(r["low"]), float(r["high"]), float(r["predicted"]) * total, total)
