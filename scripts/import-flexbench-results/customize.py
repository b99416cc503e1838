"""import-flexbench-results: FlexBench result.json files (and the logs beside them), with provenance."""

import sys
from pathlib import Path


def _src(recipe_path):
    src = str(Path(recipe_path).resolve().parents[1])
    if src not in sys.path:
        sys.path.insert(0, src)


def preprocess(i):
    _src(i["recipe_path"])
    from openmlperf.recipes import finish_import, guarded, value

    @guarded
    def run(i):
        env = i["env"]
        from openmlperf.importers import flexbench

        report = flexbench.import_runs(value(env, "CMX_DATASET_IMPORT_PATH") or None,
                                       value(env, "CMX_DATASET_DIR") or None)
        return finish_import(i, report)

    return run(i)
