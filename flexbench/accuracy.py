"""Accuracy from ``mlperf_log_accuracy.json``, offline.

Decodes each logged response (hex of int32 token ids), de-duplicates by
``qsl_idx``, detokenizes, and scores ROUGE-1/2/L/Lsum against the references
with ``rouge-score`` (no ``evaluate.load``, no ``nltk.download``: sentences for
ROUGE-Lsum are split with a regular expression). Writes ``accuracy.txt`` in
MLPerf's shape, ending with the ``hash=`` line of the accuracy log.
"""

from __future__ import annotations

import array
import hashlib
import json
import re
import statistics
from pathlib import Path
from typing import Any, Callable, Sequence

_SENT = re.compile(r"(?<=[.!?])\s+")


def decode_log(path: Path) -> dict[int, list[int]]:
    entries = json.loads(path.read_text(encoding="utf-8"))
    out: dict[int, list[int]] = {}
    for e in entries:
        idx = int(e["qsl_idx"])
        if idx in out:
            continue
        ids = array.array("i")
        ids.frombytes(bytes.fromhex(e["data"]))
        out[idx] = ids.tolist()
    return out


def _lsum_text(text: str) -> str:
    return "\n".join(s.strip() for s in _SENT.split(text.strip()) if s.strip())


def rouge(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    sums = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0, "rougeLsum": 0.0}
    for pred, ref in zip(predictions, references):
        scores = scorer.score(_lsum_text(ref), _lsum_text(pred))
        for k in sums:
            sums[k] += scores[k].fmeasure
    n = max(1, len(predictions))
    return {k: round(100.0 * v / n, 4) for k, v in sums.items()}


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def evaluate(log_path: Path, references: Sequence[str], decode: Callable[[Sequence[int]], str]) -> dict[str, Any]:
    tokens = decode_log(log_path)
    if not tokens:
        raise ValueError(f"{log_path}: no responses logged (was this an accuracy run?)")
    order = sorted(tokens)
    preds = [decode(tokens[i]) for i in order]
    refs = [references[i] for i in order]
    scores = rouge(preds, refs)
    lengths = [len(tokens[i]) for i in order]
    return {
        **scores,
        "gen_len": sum(len(p) for p in preds),
        "gen_num": len(preds),
        "gen_tok_len": sum(lengths),
        "tokens_per_sample": round(statistics.mean(lengths), 2),
        "samples_scored": len(preds),
        "examples": [{"qsl_idx": i, "prediction": p[:300], "reference": r[:300]}
                     for i, p, r in list(zip(order, preds, refs))[:3]],
    }


def write_accuracy_txt(path: Path, result: dict[str, Any], log_path: Path) -> None:
    keys = ("rouge1", "rouge2", "rougeL", "rougeLsum", "gen_len", "gen_num", "gen_tok_len", "tokens_per_sample")
    body = "{" + ", ".join(f"'{k}': {result[k]}" for k in keys) + "}"
    path.write_text(f"{body}\nhash={file_hash(log_path)}\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    """``python -m flexbench.accuracy --log LOG --dataset FILE --tokenizer DIR [--size N] [--seed S] [--out TXT]``"""
    import argparse

    from flexbench import dataset

    ap = argparse.ArgumentParser(prog="flexbench.accuracy")
    ap.add_argument("--log", required=True, help="mlperf_log_accuracy.json, or the folder holding it")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--size", type=int, default=None)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    log = Path(args.log)
    if log.is_dir():
        log = log / "mlperf_log_accuracy.json"
    if not log.is_file():
        raise SystemExit(f"flexbench.accuracy: no accuracy log at {log}")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(args.tokenizer)
    refs = [s.reference for s in dataset.load(args.dataset, size=args.size, seed=args.seed)]
    res = evaluate(log, refs, lambda t: tok.decode(list(t), skip_special_tokens=True))
    out = Path(args.out) if args.out else log.parent / "accuracy.txt"
    write_accuracy_txt(out, res, log)
    res["accuracy_txt"] = str(out)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
