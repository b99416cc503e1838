"""get-dataset-openorca: sample a local OpenOrca-format file into JSONL in the entry.

Reads parquet/pkl through pandas when it is importable (in the cmx process) and
JSON/JSONL always; MLPerf's own file is a pandas pickle.
"""

import json
import random
from pathlib import Path


def _rows(path):
    if path.suffix in (".jsonl",):
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    try:
        import pandas as pd
    except ImportError:
        raise RuntimeError(f"reading {path.suffix} needs pandas; convert to JSONL or install pandas") from None
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_pickle(path)
    return frame.to_dict("records")


def preprocess(i):
    env = i["env"]
    src = env.get("CMX_DATASET_SOURCE")
    if not src:
        return {"return": 1, "error": "give --path=FILE (parquet, pkl, json or jsonl in the OpenOrca format); "
                                      "no dataset is downloaded"}
    path = Path(src).expanduser()
    if not path.is_file():
        return {"return": 1, "error": f"dataset file not found: {path}"}
    try:
        rows = _rows(path)
    except Exception as exc:
        return {"return": 1, "error": f"cannot read {path}: {exc}"}
    if not rows or "question" not in rows[0]:
        return {"return": 1, "error": f"{path}: records need a 'question' field (have: {', '.join(rows[0]) if rows else 'none'})"}
    size = int(env.get("CMX_DATASET_SIZE") or len(rows))
    order = list(range(len(rows)))
    if size < len(rows):
        order = sorted(random.Random(int(env["CMX_DATASET_SEED"])).sample(order, size))
    out = Path(i["run_path"]) / "dataset.jsonl"
    with open(out, "w", encoding="utf-8") as fh:
        for j in order:
            r = rows[j]
            fh.write(json.dumps({"question": str(r["question"]), "system_prompt": str(r.get("system_prompt") or ""),
                                 "response": str(r.get("response") or r.get("output") or "")}) + "\n")
    env["CMX_DATASET_PATH"] = str(out)
    env["CMX_DATASET_SAMPLES"] = str(len(order))
    env["CMX_DATASET_NAME"] = "openorca"
    return {"return": 0}
