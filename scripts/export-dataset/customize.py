"""export-dataset: data.parquet/data.csv/data.json, README.md (dataset card) and croissant.json."""

import sys
from pathlib import Path


def _src(recipe_path):
    src = str(Path(recipe_path).resolve().parents[1])
    if src not in sys.path:
        sys.path.insert(0, src)


def preprocess(i):
    _src(i["recipe_path"])
    from openmlperf.recipes import guarded, value

    @guarded
    def run(i):
        env, state = i["env"], i["state"]
        from openmlperf.export import export
        from openmlperf.storage import resolve_dir

        out = value(env, "CMX_DATASET_EXPORT_DIR") or str(Path(i["run_path"]) / "export")
        formats = [f.strip() for f in value(env, "CMX_DATASET_EXPORT_FORMATS").split(",") if f.strip()]
        root = resolve_dir(value(env, "CMX_DATASET_DIR") or None)
        res = export(out, dataset_dir=root, sql=value(env, "CMX_DATASET_SQL") or None, formats=formats,
                     columns=value(env, "CMX_DATASET_EXPORT_COLUMNS") or "all",
                     name=value(env, "CMX_DATASET_EXPORT_NAME") or "open-mlperf-dataset")
        state["dataset_export"] = {"dir": str(res.out_dir), "rows": res.rows, "columns": res.columns,
                                   "files": {k: str(p) for k, p in res.files.items()}}
        env["CMX_DATASET_DIR"] = str(root)
        env["CMX_DATASET_EXPORT_DIR"] = str(res.out_dir)
        env["CMX_DATASET_EXPORT_ROWS"] = str(res.rows)
        print(f"exported {res.rows} rows x {res.columns} columns to {res.out_dir}: "
              + ", ".join(p.name for p in res.files.values()))
        return {"return": 0}

    return run(i)
