"""CM semantics of CM/MLC recipes beyond the formats: the env a recipe passes to its dependencies
(CM's shared env), ``update_meta_if_env``, ``adr`` inside a dependency entry, a variation's
``cache_expiration``, and inputs a dependency entry passes that the called recipe does not map.

Each fixture repository is written here in CM's format (docs/compat.md). With CMX_TEST_CM_PYTHON set
to a Python that has cmind (4.2.0) and CMX_TEST_CM4MLOPS to a checkout of mlcommons/cm4mlops (it holds
cm's script automation), the same fixtures also run through cm, and the exported env must be the same."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.compat.fixtures import write_repo

_HEAD = """
    alias: {alias}
    uid: {uid}
    automation_alias: script
    automation_uid: 5b4e0237da074764
"""


def _meta(alias: str, uid: str, body: str) -> str:
    return textwrap.dedent(_HEAD.format(alias=alias, uid=uid)) + textwrap.dedent(body).lstrip("\n")


# CM's shared env: app-shared's env reaches its dependencies (not its local keys), through a dependency
# that does not read it (get-shared-lib -> get-shared-base reads CM_SHARED_SIZE); a post dependency
# gets the env after preprocess and the deps; get-other reads nothing of it (one cache entry for all)
CM_SHARED_ENV = {
    "cmr.yaml": "alias: cmshared\nuid: 5e1a00000000cafe\ngit: true\n",
    "script/app-shared/_cm.yaml": _meta("app-shared", "5e1a000000000001", """
        tags: [app, shared]
        default_env:
          CM_SHARED_MODE: fast
        env:
          CM_SHARED_LEVEL: '3'
          CM_SHARED_PRIVATE: mine
          CM_GIT_URL: local-only
        local_env_keys: [CM_SHARED_PRIVATE]
        new_env_keys: [CM_LIB_*, CM_BASE_*, CM_SHOW_*, CM_OTHER_*]
        variations:
          big:
            env:
              CM_SHARED_SIZE: big
        deps:
          - tags: get,shared-lib
          - tags: get,other
        post_deps:
          - tags: show,shared
        """),
    "script/app-shared/customize.py": """
        def preprocess(i):
            i['env']['CM_SHARED_STAGE'] = 'preprocessed'
            return {'return': 0}
        """,
    "script/get-shared-lib/_cm.yaml": _meta("get-shared-lib", "5e1a000000000002", """
        tags: [get, shared-lib]
        default_env:
          CM_SHARED_MODE: slow
        new_env_keys: [CM_LIB_*, CM_BASE_*]
        deps:
          - tags: get,shared-base
        """),
    "script/get-shared-lib/run.sh":
        'echo "CM_LIB_SAW=$CM_SHARED_MODE:$CM_SHARED_LEVEL:${CM_SHARED_PRIVATE:-unset}:${CM_GIT_URL:-unset}" > tmp-run-env.out\n',
    "script/get-shared-base/_cm.yaml": _meta("get-shared-base", "5e1a000000000003", """
        tags: [get, shared-base]
        cache: true
        new_env_keys: [CM_BASE_*]
        """),
    "script/get-shared-base/run.sh": 'echo "CM_BASE_SAW=${CM_SHARED_SIZE:-none}" > tmp-run-env.out\n',
    "script/get-other/_cm.yaml": _meta("get-other", "5e1a000000000004", """
        tags: [get, other]
        cache: true
        new_env_keys: [CM_OTHER_*]
        """),
    "script/get-other/run.sh": 'echo "CM_OTHER_SAW=yes" > tmp-run-env.out\n',
    "script/show-shared/_cm.yaml": _meta("show-shared", "5e1a000000000005", """
        tags: [show, shared]
        new_env_keys: [CM_SHOW_*]
        """),
    "script/show-shared/run.sh": 'echo "CM_SHOW_SAW=${CM_SHARED_STAGE:-none}:${CM_LIB_SAW:-none}" > tmp-run-env.out\n',
}

SHARED_EXPECTED = {
    "": {"CM_LIB_SAW": "fast:3:unset:unset", "CM_BASE_SAW": "none", "CM_OTHER_SAW": "yes",
         "CM_SHOW_SAW": "preprocessed:fast:3:unset:unset"},
    "_big": {"CM_LIB_SAW": "fast:3:unset:unset", "CM_BASE_SAW": "big", "CM_OTHER_SAW": "yes",
             "CM_SHOW_SAW": "preprocessed:fast:3:unset:unset"},
}


def _register(cmx: Any, root: Path, files: dict[str, str]) -> None:
    write_repo(root, files)
    assert cmx("add", "repo", str(root)).code == 0


def _nodes(res: Any, recipe: str) -> list[dict[str, Any]]:
    return [n for n in res.json["plan"] if n["recipe"] == recipe]


def test_a_cm_recipe_passes_its_env_to_its_dependencies(cmx, tmp_path: Path) -> None:
    _register(cmx, tmp_path / "cmshared", CM_SHARED_ENV)
    for variation, expected in SHARED_EXPECTED.items():
        res = cmx("run", "script", "--tags=cmshared:app,shared" + (f",{variation}" if variation else ""), "-j")
        assert res.code == 0, res.err
        assert res.json["new_env"] == expected, variation


def test_the_env_passed_is_in_the_dependency_key_and_only_what_it_could_read(cmx, tmp_path: Path) -> None:
    _register(cmx, tmp_path / "cmshared", CM_SHARED_ENV)
    plain = cmx("run", "script", "--tags=cmshared:app,shared", "--dry-run", "-j")
    big = cmx("run", "script", "--tags=cmshared:app,shared,_big", "--dry-run", "-j")
    assert plain.code == 0 and big.code == 0, plain.err + big.err
    (lib,) = _nodes(plain, "get-shared-lib")
    # not its local keys (CM_GIT_*, local_env_keys), not what nothing below it reads (CM_SHARED_PRIVATE)
    assert lib["inherited_env"] == ["CM_SHARED_LEVEL", "CM_SHARED_MODE"], lib
    (big_lib,) = _nodes(big, "get-shared-lib")
    assert big_lib["inherited_env"] == ["CM_SHARED_LEVEL", "CM_SHARED_MODE", "CM_SHARED_SIZE"], big_lib
    # what a dependency reads from its dependent's env changes its key; what it does not read does not
    assert _nodes(plain, "get-shared-base")[0]["key"] != _nodes(big, "get-shared-base")[0]["key"]
    alone = cmx("run", "script", "cmshared:get-other", "--dry-run", "-j")
    assert _nodes(plain, "get-other")[0]["key"] == _nodes(big, "get-other")[0]["key"] == alone.json["plan"][-1]["key"]
    assert "inherited_env" not in _nodes(plain, "get-other")[0]
    text = cmx("run", "script", "--tags=cmshared:app,shared", "--dry-run")
    assert "env from its dependent: CM_SHARED_LEVEL, CM_SHARED_MODE" in text.out, text.out


def _cm_python(tmp: Path) -> tuple[str, Path]:
    """cm's Python and the cm4mlops checkout that holds cm's script automation (automation/script)."""
    python, checkout = os.environ.get("CMX_TEST_CM_PYTHON"), os.environ.get("CMX_TEST_CM4MLOPS")
    if not python or not checkout:
        pytest.skip("set CMX_TEST_CM_PYTHON to a Python with cmind 4.2.0 and CMX_TEST_CM4MLOPS to a checkout of "
                    "mlcommons/cm4mlops (cm's script automation) to compare with cm")
    if subprocess.run([python, "-c", "import cmind"], capture_output=True, cwd=tmp).returncode != 0:
        pytest.skip(f"CMX_TEST_CM_PYTHON={python} has no cmind")
    return python, Path(checkout)


_CM_RUN = """
import json, sys
import cmind
for tags in sys.argv[1:]:
    r = cmind.access({"action": "run", "automation": "script", "tags": tags, "quiet": True})
    print(json.dumps({"tags": tags, "return": r.get("return"), "error": r.get("error"), "new_env": r.get("new_env")}))
"""


def cm_runs(cm: tuple[str, Path], repo: Path, tmp: Path, tags: list[str]) -> dict[str, dict[str, Any]]:
    """Each tags run by cm (cmind) in a fresh home of its own holding ``repo`` (and cm4mlops, for cm's
    script automation)."""
    python, checkout = cm
    out = {}
    for n, t in enumerate(tags):
        home = tmp / f"cm-home-{n}"
        (home / "local").mkdir(parents=True)
        (home / "repos.json").write_text(json.dumps([str(repo), str(checkout)]))
        proc = subprocess.run([python, "-c", _CM_RUN, t], capture_output=True, text=True, cwd=tmp,
                              env={**os.environ, "CM_REPOS": str(home)}, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        (line,) = [x for x in proc.stdout.splitlines() if x.startswith("{")]
        out[t] = json.loads(line)
    return out


def test_the_shared_env_is_what_cm_passes(tmp_path: Path) -> None:
    cm = _cm_python(tmp_path)
    repo = write_repo(tmp_path / "cmshared", CM_SHARED_ENV)
    tags = {v: "app,shared" + (f",{v}" if v else "") for v in SHARED_EXPECTED}
    theirs = cm_runs(cm, repo, tmp_path, list(tags.values()))
    for variation, t in tags.items():
        assert theirs[t]["return"] == 0, theirs[t]
        assert theirs[t]["new_env"] == SHARED_EXPECTED[variation], t
