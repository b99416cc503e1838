"""query-dataset: SQL over the dataset; prints a table, and puts the rows in the state (-j)."""

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
        from openmlperf.errors import DatasetError
        from openmlperf.sql import format_table, query, to_json_rows
        from openmlperf.storage import resolve_dir

        sql = value(env, "CMX_DATASET_SQL")
        if not sql:
            raise DatasetError('no query: give --sql="select count(*) as n from results"')
        try:
            max_rows = int(value(env, "CMX_DATASET_MAX_ROWS") or 40)
        except ValueError:
            raise DatasetError(f"--max_rows={value(env, 'CMX_DATASET_MAX_ROWS')}: not an integer") from None
        root = resolve_dir(value(env, "CMX_DATASET_DIR") or None)
        table = query(sql, root)
        state["rows"] = to_json_rows(table)
        state["columns"] = list(table.column_names)
        state["dataset_query"] = {"sql": sql, "dataset_dir": str(root), "row_count": table.num_rows}
        env["CMX_DATASET_DIR"] = str(root)
        env["CMX_DATASET_QUERY_ROWS"] = str(table.num_rows)
        print(format_table(table, max_rows=max_rows))
        return {"return": 0}

    return run(i)
