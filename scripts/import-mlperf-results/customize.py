"""import-mlperf-results: an MLPerf results repository (or the shared log samples), read from
its systems JSON and LoadGen detail logs; optionally compared with the official table."""

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
        from openmlperf.importers import mlperf

        url = value(env, "CMX_DATASET_RESULTS_URL")
        if url and not value(env, "CMX_DATASET_IMPORT_PATH"):
            env["CMX_DATASET_IMPORT_PATH"] = value(env, "CMX_GIT_CHECKOUT_PATH")
        path = required_path(env, "CMX_DATASET_IMPORT_PATH", "path", "results folder (or --url)")
        report = mlperf.import_tree(path, value(env, "CMX_DATASET_DIR") or None,
                                    round_=value(env, "CMX_DATASET_ROUND") or None,
                                    summary_csv=value(env, "CMX_DATASET_SUMMARY_CSV") or None,
                                    source_url=url or None)
        official = report.extra.get("official")
        if official:
            print(f"official table: {official['agree']} of {official['compared']} results agree within rounding, "
                  f"{len(official['disagree'])} disagree, {len(official['not_in_official'])} not in the table",
                  file=sys.stderr)
            for d in official["disagree"][:10]:
                print(f"  disagree: {d}", file=sys.stderr)
            env["CMX_DATASET_OFFICIAL_AGREE"] = str(official["agree"])
            env["CMX_DATASET_OFFICIAL_DISAGREE"] = str(len(official["disagree"]))
        return finish_import(i, report)

    return run(i)
