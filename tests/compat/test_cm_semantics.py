"""CM semantics of CM/MLC recipes beyond the formats: the env a recipe passes to its dependencies
(CM's shared env), ``update_meta_if_env``, ``adr`` inside a dependency entry, a variation's
``cache_expiration``, and inputs a dependency entry passes that the called recipe does not map.

Each fixture repository is written here in CM's format (docs/compat.md). With CMX_TEST_CM_PYTHON set
to a Python that has cmind 4.2.0 and mlcflow 1.3.8, and CMX_TEST_CM4MLOPS / CMX_TEST_MLPERF_AUTOMATIONS to
checkouts of mlcommons/cm4mlops and mlcommons/mlperf-automations (they hold cm's and mlc's script
automation), the same fixtures also run through cm and mlc (MLC's format: meta.yaml, MLC_ env)."""

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


_TOOLS = {  # the checkout that holds the tool's script automation, its module, its repositories variable
    "cm": ("CMX_TEST_CM4MLOPS", "cmind", "CM_REPOS"),
    "mlc": ("CMX_TEST_MLPERF_AUTOMATIONS", "mlc", "MLC_REPOS"),
}
_TOOL_RUN = """
import json, sys
tool = sys.argv[1]
if tool == "cm":
    import cmind
    access = lambda tags: cmind.access({"action": "run", "automation": "script", "tags": tags, "quiet": True})
else:
    import mlc
    access = lambda tags: mlc.access({"action": "run", "target": "script", "tags": tags, "quiet": True})
r = access(sys.argv[2])
print(json.dumps({"return": r.get("return"), "error": r.get("error"), "new_env": r.get("new_env")}))
"""


def _tool(tool: str, tmp: Path) -> tuple[str, str, Path]:
    """The tool, its Python and the checkout that holds its script automation (cm4mlops: cm's,
    mlperf-automations: mlc's), or a skip naming the variables to set."""
    checkout_var, module, _ = _TOOLS[tool]
    python, checkout = os.environ.get("CMX_TEST_CM_PYTHON"), os.environ.get(checkout_var)
    if not python or not checkout:
        pytest.skip(f"set CMX_TEST_CM_PYTHON to a Python with cmind 4.2.0 and mlcflow 1.3.8, and {checkout_var} "
                    f"to a checkout of the repository that holds {tool}'s script automation, to compare with {tool}")
    if subprocess.run([python, "-c", f"import {module}"], capture_output=True, cwd=tmp).returncode != 0:
        pytest.skip(f"CMX_TEST_CM_PYTHON={python} has no {module}")
    return tool, python, Path(checkout)


def as_mlc(files: dict[str, str]) -> dict[str, str]:
    """A CM fixture in MLC's format: meta.yaml files, MLC_ env."""
    return {("meta.yaml" if k == "cmr.yaml" else k.replace("_cm.yaml", "meta.yaml")): v.replace("CM_", "MLC_")
            for k, v in files.items()}


def tool_runs(tool: tuple[str, str, Path], repo: Path, tmp: Path, tags: list[str]) -> dict[str, dict[str, Any]]:
    """Each tags run by cm (cmind) or mlc (mlcflow) in a fresh home of its own holding ``repo`` (and the
    checkout of its script automation)."""
    name, python, checkout = tool
    out = {}
    for n, t in enumerate(tags):
        home = tmp / f"{name}-home-{n}"
        (home / "local").mkdir(parents=True)
        (home / "repos.json").write_text(json.dumps([str(home / "local"), str(repo), str(checkout)]))
        proc = subprocess.run([python, "-c", _TOOL_RUN, name, t], capture_output=True, text=True, cwd=tmp,
                              env={**os.environ, _TOOLS[name][2]: str(home)}, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        (line,) = [x for x in proc.stdout.splitlines() if x.startswith("{")]
        out[t] = json.loads(line)
        assert out[t]["return"] == 0, (t, out[t])
    return out


@pytest.mark.parametrize("tool", sorted(_TOOLS))
def test_the_shared_env_is_what_cm_and_mlc_pass(tool: str, tmp_path: Path) -> None:
    which = _tool(tool, tmp_path)
    files, prefix = (CM_SHARED_ENV, "CM_") if tool == "cm" else (as_mlc(CM_SHARED_ENV), "MLC_")
    repo = write_repo(tmp_path / "shared", files)
    tags = {v: "app,shared" + (f",{v}" if v else "") for v in SHARED_EXPECTED}
    theirs = tool_runs(which, repo, tmp_path, list(tags.values()))
    for variation, t in tags.items():
        expected = {k.replace("CM_", prefix): v for k, v in SHARED_EXPECTED[variation].items()}
        assert theirs[t]["new_env"] == expected, t


# update_meta_if_env: decided at planning on the env known then (the default or the variation's mode), or,
# when its condition reads env that only a dependency produces (CM_MIF_FROM_DEP), after the deps run; an
# adr indented into a condition (as in mlperf-automations' app-mlperf-inference) is a key no env has
CM_META_IF_ENV = {
    "cmr.yaml": "alias: cmmif\nuid: 5e1a00000000beef\ngit: true\n",
    "script/get-meta-if/_cm.yaml": _meta("get-meta-if", "5e1a000000000011", """
        tags: [get, meta-if]
        default_env:
          CM_MIF_MODE: plain
        new_env_keys: [CM_MIF_*]
        update_meta_if_env:
          - enable_if_env:
              CM_MIF_MODE: [fancy]
            env:
              CM_MIF_PATCHED: fancy-patch
          - skip_if_env:
              CM_MIF_MODE: [fancy]
            env:
              CM_MIF_PATCHED: plain-patch
          - enable_if_env:
              CM_MIF_MODE: [plain]
              adr:
                mif-helper:
                  tags: _misplaced
        variations:
          fancy:
            env:
              CM_MIF_MODE: fancy
          late:
            update_meta_if_env:
              - enable_if_env:
                  CM_MIF_FROM_DEP: ['yes']
                env:
                  CM_MIF_LATE: seen-dep-output
        deps:
          - tags: get,mif-helper
            names: [mif-helper]
        """),
    "script/get-meta-if/run.sh": 'echo "CM_MIF_OUT=$CM_MIF_PATCHED:${CM_MIF_LATE:-none}:$CM_MIF_HELPER_COLOR" > tmp-run-env.out\n',
    "script/get-mif-helper/_cm.yaml": _meta("get-mif-helper", "5e1a000000000012", """
        tags: [get, mif-helper]
        default_env:
          CM_MIF_HELPER_COLOR: plain
        new_env_keys: [CM_MIF_FROM_DEP, CM_MIF_HELPER_COLOR]
        """),
    "script/get-mif-helper/run.sh": 'echo CM_MIF_FROM_DEP=yes > tmp-run-env.out\n',
}

MIF_EXPECTED = {"": "plain-patch:none:plain", "_fancy": "fancy-patch:none:plain",
                "_late": "plain-patch:seen-dep-output:plain"}


def test_update_meta_if_env_at_planning_and_at_run_time(cmx, tmp_path: Path) -> None:
    _register(cmx, tmp_path / "cmmif", CM_META_IF_ENV)
    for variation, expected in MIF_EXPECTED.items():
        res = cmx("run", "script", "--tags=cmmif:get,meta-if" + (f",{variation}" if variation else ""), "-j")
        assert res.code == 0, res.err
        assert res.json["new_env"]["CM_MIF_OUT"] == expected, variation
    dry = cmx("run", "script", "--tags=cmmif:get,meta-if,_late", "--dry-run", "-j")
    (node,) = _nodes(dry, "get-meta-if")
    assert [p["applied"] for p in node["update_meta_if_env"]] == [False, True, "at run time", "at run time"], node
    text = cmx("run", "script", "--tags=cmmif:get,meta-if,_late", "--dry-run")
    assert "update_meta_if_env at get-meta-if (a variation or version): at run time if enable_if_env=" in text.out, text.out
    fancy = _nodes(cmx("run", "script", "--tags=cmmif:get,meta-if,_fancy", "--dry-run", "-j"), "get-meta-if")[0]
    assert [p["applied"] for p in fancy["update_meta_if_env"]] == [True, False, "at run time"], fancy


@pytest.mark.parametrize("tool", sorted(_TOOLS))
def test_update_meta_if_env_as_cm_and_mlc_apply_it(tool: str, tmp_path: Path) -> None:
    which = _tool(tool, tmp_path)
    repo = write_repo(tmp_path / "mif", CM_META_IF_ENV if tool == "cm" else as_mlc(CM_META_IF_ENV))
    out = f"{'CM' if tool == 'cm' else 'MLC'}_MIF_OUT"
    theirs = {t: r["new_env"][out] for t, r in tool_runs(which, repo, tmp_path, [
        "get,meta-if", "get,meta-if,_fancy", "get,meta-if,_late"]).items()}
    # both decide before the deps run: _late reads CM_MIF_FROM_DEP unset there, where cmx decides it after
    # them; cm 4.2 reads no update_meta_if_env at the top level of a meta (mlc does, as cmx)
    if tool == "mlc":
        assert theirs == {"get,meta-if": MIF_EXPECTED[""], "get,meta-if,_fancy": MIF_EXPECTED["_fancy"],
                          "get,meta-if,_late": "plain-patch:none:plain"}
    else:
        assert set(theirs.values()) == {":none:plain"}


# a dependency entry's own adr (for its whole subtree) and ad (for its direct dependencies)
CM_ENTRY_ADR = {
    "cmr.yaml": "alias: cmadr\nuid: 5e1a00000000f00d\ngit: true\n",
    "script/use-adr/_cm.yaml": _meta("use-adr", "5e1a000000000021", """
        tags: [use, adr]
        new_env_keys: [CM_ADR_*]
        deps:
          - tags: get,adr-mid
            adr:
              adr-leaf:
                tags: _green
            ad:
              adr-near:
                tags: _near
        """),
    "script/get-adr-mid/_cm.yaml": _meta("get-adr-mid", "5e1a000000000022", """
        tags: [get, adr-mid]
        new_env_keys: [CM_ADR_*]
        deps:
          - tags: get,adr-near
            names: [adr-near]
        """),
    "script/get-adr-near/_cm.yaml": _meta("get-adr-near", "5e1a000000000023", """
        tags: [get, adr-near]
        default_env:
          CM_ADR_NEAR: far
        new_env_keys: [CM_ADR_*]
        variations:
          near:
            env:
              CM_ADR_NEAR: near
        deps:
          - tags: get,adr-leaf
            names: [adr-leaf]
        """),
    "script/get-adr-near/run.sh": 'echo "CM_ADR_NEAR_SAW=$CM_ADR_NEAR" > tmp-run-env.out\n',
    "script/get-adr-leaf/_cm.yaml": _meta("get-adr-leaf", "5e1a000000000024", """
        tags: [get, adr-leaf]
        default_env:
          CM_ADR_COLOR: plain
        new_env_keys: [CM_ADR_*]
        variations:
          green:
            env:
              CM_ADR_COLOR: green
        """),
    "script/get-adr-leaf/run.sh": 'echo "CM_ADR_LEAF_SAW=$CM_ADR_COLOR" > tmp-run-env.out\n',
}
ADR_EXPECTED = {"CM_ADR_NEAR_SAW": "near", "CM_ADR_LEAF_SAW": "green"}


def test_a_dependency_entry_passes_its_own_adr_and_ad(cmx, tmp_path: Path) -> None:
    _register(cmx, tmp_path / "cmadr", CM_ENTRY_ADR)
    res = cmx("run", "script", "cmadr:use-adr", "-j")
    assert res.code == 0, res.err
    assert {k: res.json["new_env"].get(k) for k in ADR_EXPECTED} == ADR_EXPECTED
    dry = cmx("run", "script", "cmadr:use-adr", "--dry-run", "-j")
    assert [n["variations"] for n in _nodes(dry, "get-adr-leaf")] == [["green"]]


@pytest.mark.parametrize("tool", sorted(_TOOLS))
def test_a_dependency_entry_passes_adr_and_ad_as_cm_and_mlc_do(tool: str, tmp_path: Path) -> None:
    which = _tool(tool, tmp_path)
    repo = write_repo(tmp_path / "adr", CM_ENTRY_ADR if tool == "cm" else as_mlc(CM_ENTRY_ADR))
    prefix = "CM_" if tool == "cm" else "MLC_"
    new_env = tool_runs(which, repo, tmp_path, ["use,adr"])["use,adr"]["new_env"]
    assert {k: new_env.get(k.replace("CM_", prefix)) for k in ADR_EXPECTED} == ADR_EXPECTED


# a variation's cache_expiration (as get-git-repo's _tag.# and _sha.#)
CM_VARIATION_EXPIRY = {
    "cmr.yaml": "alias: cmexp\ngit: true\n",
    "script/get-expiring/_cm.yaml": _meta("get-expiring", "5e1a000000000031", """
        tags: [get, expiring]
        cache: true
        new_env_keys: [CM_EXPIRING_*]
        variations:
          short:
            cache_expiration: 1h
        """),
    "script/get-expiring/run.sh": 'echo "CM_EXPIRING_DONE=yes" > tmp-run-env.out\n',
}


def test_a_variation_sets_the_cache_expiration(cmx, tmp_path: Path) -> None:
    _register(cmx, tmp_path / "cmexp", CM_VARIATION_EXPIRY)
    for tags in ("cmexp:get,expiring", "cmexp:get,expiring,_short"):
        first = cmx("run", "script", f"--tags={tags}", "-j")
        assert first.code == 0 and not first.json["cached"], first.err
    later = {"CMX_CLOCK_SHIFT": "2h"}
    plain = cmx("run", "script", "--tags=cmexp:get,expiring", "-j", env=later)
    short = cmx("run", "script", "--tags=cmexp:get,expiring,_short", "-j", env=later)
    assert plain.code == 0 and short.code == 0, plain.err + short.err
    assert plain.json["cached"] and not short.json["cached"]


# a dependency entry passing inputs the called CM recipe does not map (download-file's md5sum in
# cm4mlops, a misspelt force-cache): ignored as cm ignores them, not in the key
CM_UNMAPPED = {
    "cmr.yaml": "alias: cmunm\nuid: 5e1a00000000d00d\ngit: true\n",
    "script/use-unmapped/_cm.yaml": _meta("use-unmapped", "5e1a000000000041", """
        tags: [use, unmapped]
        new_env_keys: [CM_THING_*]
        deps:
          - tags: get,mapped-thing
            colour: red
            md5sum: 0af279e557a8de252d7ff0751a999379
            force-cache: 'yes'
        """),
    "script/get-mapped-thing/_cm.yaml": _meta("get-mapped-thing", "5e1a000000000042", """
        tags: [get, mapped-thing]
        cache: true
        input_mapping:
          colour: CM_THING_COLOUR
        new_env_keys: [CM_THING_*]
        """),
    "script/get-mapped-thing/run.sh": 'echo "CM_THING_SAW=$CM_THING_COLOUR" > tmp-run-env.out\n',
    "script/use-builtin-unmapped/_cm.yaml": _meta("use-builtin-unmapped", "5e1a000000000043", """
        tags: [use, builtin-unmapped]
        deps:
          - tags: print,hello-world
            md5sum: 0af279e557a8de252d7ff0751a999379
        """),
}


def test_inputs_a_cm_recipe_does_not_map_are_ignored_as_cm_does(cmx, tmp_path: Path) -> None:
    _register(cmx, tmp_path / "cmunm", CM_UNMAPPED)
    res = cmx("run", "script", "cmunm:use-unmapped", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"] == {"CM_THING_COLOUR": "red", "CM_THING_SAW": "red"}
    # not in the key: the same entry as the recipe asked for with its mapped input alone
    dry = cmx("run", "script", "cmunm:use-unmapped", "--dry-run", "-j")
    alone = cmx("run", "script", "cmunm:get-mapped-thing", "--colour=red", "--dry-run", "-j")
    assert _nodes(dry, "get-mapped-thing")[0]["key"] == _nodes(alone, "get-mapped-thing")[0]["key"]
    verbose = cmx("run", "script", "cmunm:use-unmapped", "--dry-run", "-v")
    assert "recipe 'get-mapped-thing' has no input --md5sum; ignored, as cm does" in verbose.err, verbose.err
    assert "has no input --force-cache; ignored, as cm does (did you mean the dependency key 'force_cache'?)" \
        in verbose.err, verbose.err
    assert "has no input" not in cmx("run", "script", "cmunm:use-unmapped", "--dry-run").err


def test_our_recipes_still_refuse_inputs_they_do_not_map(cmx, tmp_path: Path) -> None:
    _register(cmx, tmp_path / "cmunm", CM_UNMAPPED)
    res = cmx("run", "script", "cmunm:use-builtin-unmapped", "--dry-run")
    assert res.code == 2 and "recipe 'print-hello-world' has no input --md5sum" in res.err, res.err
    res = cmx("run", "script", "--tags=print,hello-world", "--md5sum=x", "--dry-run")
    assert res.code == 2 and "--md5sum" in res.err, res.err
    res = cmx("run", "script", "cmunm:get-mapped-thing", "--md5sum=x", "--dry-run")  # a user flag: strict
    assert res.code == 2 and "--md5sum" in res.err, res.err


@pytest.mark.parametrize("tool", sorted(_TOOLS))
def test_unmapped_inputs_as_cm_and_mlc_ignore_them(tool: str, tmp_path: Path) -> None:
    which = _tool(tool, tmp_path)
    files = {k: v for k, v in CM_UNMAPPED.items() if "builtin" not in k}
    repo = write_repo(tmp_path / "unm", files if tool == "cm" else as_mlc(files))
    new_env = tool_runs(which, repo, tmp_path, ["use,unmapped"])["use,unmapped"]["new_env"]
    prefix = "CM_" if tool == "cm" else "MLC_"
    assert new_env == {f"{prefix}THING_COLOUR": "red", f"{prefix}THING_SAW": "red"}
