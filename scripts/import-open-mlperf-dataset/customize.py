"""import-open-mlperf-dataset: the published data.parquet/data.json, mapped to our schema."""

import sys
from pathlib import Path


def _src(recipe_path):
    src = str(Path(recipe_path).resolve().parents[1])
    if src not in sys.path:
        sys.path.insert(0, src)


def preprocess(i):
    _src(i["recipe_path"])
    from openmlperf.recipes import finish_import, guarded, required_path, value

    @guarded
    def run(i):
        env = i["env"]
        from openmlperf.importers import published

        path = required_path(env, "CMX_DATASET_IMPORT_PATH", "path", "published dataset file")
        report = published.import_file(path, value(env, "CMX_DATASET_DIR") or None)
        return finish_import(i, report)

    return run(i)
