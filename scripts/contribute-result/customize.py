"""contribute-result: selected rows + their raw files + a manifest with sha256 checksums."""

import sys
from pathlib import Path


def _src(recipe_path):
    src = str(Path(recipe_path).resolve().parents[1])
    if src not in sys.path:
        sys.path.insert(0, src)


def preprocess(i):
    _src(i["recipe_path"])
    from openmlperf.recipes import flag, guarded, value

    @guarded
    def run(i):
        env, state = i["env"], i["state"]
        from openmlperf.bundle import contribute
        from openmlperf.storage import resolve_dir

        root = resolve_dir(value(env, "CMX_DATASET_DIR") or None)
        ids = [x.strip() for x in value(env, "CMX_DATASET_IDS").split(",") if x.strip()]
        out = value(env, "CMX_DATASET_BUNDLE") or str(Path(i["run_path"]) / "bundle")
        path = contribute(out, dataset_dir=root, where=value(env, "CMX_DATASET_WHERE") or None, ids=ids or None,
                          contributor=value(env, "CMX_DATASET_CONTRIBUTOR") or None,
                          archive=flag(env, "CMX_DATASET_BUNDLE_ARCHIVE"))
        import json

        manifest = json.loads((path / "manifest.json").read_text()) if path.is_dir() else None
        state["dataset_bundle"] = {"path": str(path), "rows": len(manifest["rows"]) if manifest else None}
        env["CMX_DATASET_DIR"] = str(root)
        env["CMX_DATASET_BUNDLE"] = str(path)
        print(f"contribution bundle: {path}")
        return {"return": 0}

    return run(i)
