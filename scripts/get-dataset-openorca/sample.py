"""Sample an OpenOrca-format file into JSONL (runs in the benchmark venv, with pandas).

usage: sample.py SOURCE OUT SIZE SEED  -> prints the number of records written
"""

import json
import random
import sys
from pathlib import Path


def rows(path: Path) -> list:
    if path.suffix == ".jsonl":
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    import pandas as pd

    if path.suffix == ".parquet":
        return pd.read_parquet(path).to_dict("records")
    if path.suffix in (".pkl", ".pickle"):
        return pd.read_pickle(path).to_dict("records")
    raise SystemExit(f"unsupported dataset format '{path.suffix}' (parquet, pkl, json, jsonl)")


def main() -> int:
    src, out, size, seed = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    records = rows(src)
    if not records or "question" not in records[0]:
        have = ", ".join(records[0]) if records else "none"
        raise SystemExit(f"{src}: records need a 'question' field (have: {have})")
    order = list(range(len(records)))
    if 0 < size < len(records):
        order = sorted(random.Random(seed).sample(order, size))
    with open(out, "w", encoding="utf-8") as fh:
        for j in order:
            r = records[j]
            fh.write(json.dumps({"question": str(r["question"]), "system_prompt": str(r.get("system_prompt") or ""),
                                 "response": str(r.get("response") or r.get("output") or "")}) + "\n")
    print(len(order))
    return 0


if __name__ == "__main__":
    sys.exit(main())
