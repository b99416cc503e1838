"""merge-contribution: checksums, schema, figures re-derived from the raw logs, then dedup."""

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
        from openmlperf.bundle import merge

        path = required_path(env, "CMX_DATASET_BUNDLE", "path", "contribution bundle")
        report = merge(path, value(env, "CMX_DATASET_DIR") or None)
        env["CMX_DATASET_BUNDLE_ID"] = str(report.extra.get("bundle_id"))
        return finish_import(i, report)

    return run(i)
