import os
import time

from cmx.home import Home
from cmx.index import RecipeIndex


def make(repo, alias, tags, extra=""):
    d = repo / "scripts" / alias
    d.mkdir(parents=True, exist_ok=True)
    (d / "meta.yaml").write_text(f"alias: {alias}\ntags: [{tags}]\n{extra}")
    return d


def test_index_refreshes_by_mtime_and_keeps_broken_recipes(tmp_path):
    home = Home(tmp_path / "home")
    repo = tmp_path / "repo"
    make(repo, "a", "x, one")
    (tmp_path / "home").mkdir()
    home.repos_file.write_text(f"repos:\n  - path: {repo}\n")
    idx = RecipeIndex.load(home)
    assert [r.alias for r in idx.with_tags(["x"])] == ["a"]
    index_file = home.index_dir / "recipes.pickle"
    stamp = index_file.stat().st_mtime_ns
    RecipeIndex.load(home)  # warm: nothing changed, nothing rewritten
    assert index_file.stat().st_mtime_ns == stamp
    make(repo, "b", "x, two")  # a new recipe folder
    assert sorted(r.alias for r in RecipeIndex.load(home).with_tags(["x"])) == ["a", "b"]
    time.sleep(0.01)
    d = make(repo, "a", "x, changed")  # an edited meta
    idx = RecipeIndex.load(home)
    assert [r.alias for r in idx.with_tags(["changed"])] == ["a"]
    (d / "meta.yaml").write_text("alias: a\ntags: [x]\nbogus_key: 1\n")
    idx = RecipeIndex.load(home)
    assert [r.alias for r in idx.with_tags(["x"])] == ["b"]
    assert idx.broken_with_tags(["x"]) and "bogus_key" in idx.broken_with_tags(["x"])[0].error


def test_digest_covers_every_content_file_but_not_readme(tmp_path):
    home = Home(tmp_path / "home")
    repo = tmp_path / "repo"
    d = make(repo, "a", "x")
    (tmp_path / "home").mkdir()
    home.repos_file.write_text(f"repos:\n  - path: {repo}\n")
    first = RecipeIndex.load(home).by_name("a")[0].digest
    (d / "README.md").write_text("docs")
    assert RecipeIndex.load(home).by_name("a")[0].digest == first
    (d / "helper.py").write_text("print(1)")
    second = RecipeIndex.load(home).by_name("a")[0].digest
    assert second != first
    os.utime(d / "helper.py", None)
    assert RecipeIndex.load(home).by_name("a")[0].digest == second


def test_code_paths_outside_the_folder_enter_the_digest(tmp_path):
    home = Home(tmp_path / "home")
    repo = tmp_path / "repo"
    lib = repo / "lib.py"
    make(repo, "a", "x", extra="code_paths: [../../lib.py]\n")
    lib.write_text("v = 1\n")
    (tmp_path / "home").mkdir()
    home.repos_file.write_text(f"repos:\n  - path: {repo}\n")
    first = RecipeIndex.load(home).by_name("a")[0]
    assert any(name.startswith("@") for name, _ in first.file_digests)
    time.sleep(0.01)
    lib.write_text("v = 2\n")
    assert RecipeIndex.load(home).by_name("a")[0].digest != first.digest


def _home_with(tmp_path, *repos):
    home = Home(tmp_path / "home")
    home.root.mkdir(exist_ok=True)
    home.repos_file.write_text("repos:\n" + "".join(f"  - path: {r}\n    alias: {r.name}\n" for r in repos))
    return home


def test_builtins_come_first_then_registered_repos_in_order(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    make(first, "detect-os", "detect, os", "sort: -100\n")  # a lower sort does not beat repository order
    make(first, "thing", "thing")
    make(second, "thing", "thing")
    idx = RecipeIndex.load(_home_with(tmp_path, first, second))
    assert [r.repo for r in idx.with_tags(["detect", "os"])] == ["builtin", "first"]
    assert [r.repo for r in idx.with_tags(["thing"])] == ["first", "second"]
    assert [r.repo for r in idx.by_name("thing")] == ["first", "second"]
    assert [r.repo for r in idx.by_name("second:thing")] == ["second"]
    assert [r.repo for r in idx.with_tags(["detect", "os"], repo="first")] == ["first"]
    assert [r.alias for r in idx.repos] == ["builtin", "first", "second"]


def test_an_unknown_repository_qualifier_is_a_usage_error(tmp_path):
    import pytest

    from cmx.errors import UsageError

    idx = RecipeIndex.load(_home_with(tmp_path))
    with pytest.raises(UsageError, match="no repository named 'buitlin'.*\n.*did you mean 'builtin:'"):
        idx.by_name("buitlin:detect-os")
    with pytest.raises(UsageError, match="no repository named 'nope'"):
        idx.with_tags(["no-such-tag"], repo="nope")


def test_a_broken_recipe_ahead_of_the_match_is_an_error_not_a_substitute(tmp_path):
    import pytest

    from cmx.errors import CmxError
    from cmx.selector import parse

    first, second = tmp_path / "first", tmp_path / "second"
    make(first, "thing", "thing", "bogus_key: 1\n")
    make(second, "thing", "thing")
    make(second, "other", "other, x")
    make(second, "other2", "other, y", "bogus_key: 1\n")
    idx = RecipeIndex.load(_home_with(tmp_path, first, second))
    with pytest.raises(CmxError, match=r"(?s)bogus_key.*broken recipe of repository 'first' matches 'thing'.*second:thing"):
        idx.candidates(parse("thing"))
    assert [r.repo for r in idx.candidates(parse("second:thing"))] == ["second"]
    with pytest.raises(CmxError, match="bogus_key"):  # the one asked for is broken: no fallback on another repo
        idx.candidates(parse("first:thing"))
    with pytest.raises(CmxError, match="other2"):  # a broken match in the same repository is ambiguous too
        idx.candidates(parse("other"))
    with pytest.raises(CmxError, match=r"(?s)bogus_key.*broken recipe of repository 'first' is also named 'thing'"):
        idx.by_name("thing")  # by name: the same rule
    assert [r.repo for r in idx.by_name("thing", strict=False)] == ["second"]  # what `find` lists
    # a broken recipe of a later repository never affects an earlier one's match
    make(second, "detect-os", "detect, os", "bogus_key: 1\n")
    assert [r.repo for r in RecipeIndex.load(_home_with(tmp_path, first, second)).candidates(parse("detect,os"))] \
        == ["builtin"]


def test_a_uid_declared_twice_cannot_select_and_names_both_files(tmp_path):
    import pytest

    from cmx.errors import SelectionError

    first, second = tmp_path / "first", tmp_path / "second"
    a = make(first, "a", "a", "uid: 1234abcd\n")
    b = make(second, "b", "b", "uid: 1234abcd\n")
    idx = RecipeIndex.load(_home_with(tmp_path, first, second))
    with pytest.raises(SelectionError) as err:
        idx.by_name("1234abcd")
    assert str(a / "meta.yaml") in str(err.value) and str(b / "meta.yaml") in str(err.value)
    assert [r.alias for r in idx.by_name("second:1234abcd")] == ["b"]
    assert [r.alias for r in idx.by_name("1234abcd", strict=False)] == ["a", "b"]
    assert [(uid, [r.alias for r in same]) for uid, same in idx.duplicate_uids()] == [("1234abcd", ["a", "b"])]


def test_code_paths_must_stay_inside_the_repository_unless_allowed(tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.py").write_text("x = 1\n")
    repo = tmp_path / "repo"
    make(repo, "inside", "inside", "code_paths: [../../lib]\n")
    (repo / "lib").mkdir()
    (repo / "lib" / "l.py").write_text("l = 1\n")
    d = make(repo, "escape", "escape", f"code_paths: [../../lib, {outside}]\n")
    home = _home_with(tmp_path, repo)
    idx = RecipeIndex.load(home)
    assert [n for n, _ in idx.by_name("inside")[0].file_digests] == ["meta.yaml", "@../../lib/l.py"]
    [broken] = idx.broken_named("escape")
    assert f"{d / 'meta.yaml'}:3: code_paths entry '{outside}' is {outside}, outside the repository {repo}" in broken.error
    assert "CMX_ALLOW_CODE_PATHS" in broken.error
    monkeypatch.setenv("CMX_ALLOW_CODE_PATHS", str(outside))
    idx = RecipeIndex.load(home)  # a different allowance rebuilds the index
    assert "@" + str(outside) + "/x.py" in [n for n, _ in idx.by_name("escape")[0].file_digests]


def test_a_recipe_over_the_file_limit_is_broken(tmp_path, monkeypatch):
    import cmx.index

    monkeypatch.setattr(cmx.index, "MAX_RECIPE_FILES", 3)
    repo = tmp_path / "repo"
    d = make(repo, "many", "many")
    for n in range(3):
        (d / f"f{n}.txt").write_text(str(n))
    make(repo, "few", "few")
    idx = RecipeIndex.load(_home_with(tmp_path, repo))
    assert idx.by_name("few")
    assert "more than 3 files in one recipe" in idx.broken_named("many")[0].error


def test_entries_follow_a_renamed_repository(tmp_path):
    repo = tmp_path / "repo"
    make(repo, "a", "a")
    home = _home_with(tmp_path, repo)
    assert RecipeIndex.load(home).by_name("a")[0].repo == "repo"
    time.sleep(0.01)
    home.repos_file.write_text(f"repos:\n  - path: {repo}\n    alias: renamed\n")
    assert RecipeIndex.load(home).by_name("a")[0].repo == "renamed"


def test_a_recipe_broken_by_a_deep_symlink_loop_recovers_when_it_is_removed(tmp_path):
    repo = tmp_path / "repo"
    d = make(repo, "a", "a")
    (d / "sub" / "deeper").mkdir(parents=True)
    os.symlink("y", d / "sub" / "deeper" / "x")
    os.symlink("x", d / "sub" / "deeper" / "y")
    home = _home_with(tmp_path, repo)
    idx = RecipeIndex.load(home)
    assert not idx.by_name("a") and "Too many levels of symbolic links" in idx.broken_named("a")[0].error
    time.sleep(0.01)
    os.unlink(d / "sub" / "deeper" / "x")
    os.unlink(d / "sub" / "deeper" / "y")
    assert RecipeIndex.load(home).by_name("a")  # the folder that held the loop changed: re-indexed


def test_a_schema_change_rechecks_every_recipe_meta(tmp_path, monkeypatch):
    """A recipe refused by the schema is stored broken; once cmx's schema module changes (it gained the
    key), the index checks it again instead of serving the stale error."""
    from cmx import index as index_mod
    from cmx.meta import schema

    home = Home(tmp_path / "home")
    repo = tmp_path / "repo"
    make(repo, "a", "x", extra="zz_new_key: true\n")
    (tmp_path / "home").mkdir()
    home.repos_file.write_text(f"repos:\n  - path: {repo}\n")
    idx = RecipeIndex.load(home)
    assert idx.with_tags(["x"]) == [] and "zz_new_key" in idx.broken_with_tags(["x"])[0].error
    # the schema gains the key, as an edit of cmx/meta/schema.py would (its stat changes)
    monkeypatch.setitem(schema.TOP_KEYS, "zz_new_key", {"type": "boolean"})
    schema_file = os.path.join(index_mod._CODE_DIR, "meta", "schema.py")
    st = os.stat(schema_file)
    try:
        os.utime(schema_file, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        idx = RecipeIndex.load(home)
    finally:
        os.utime(schema_file, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert [r.alias for r in idx.with_tags(["x"])] == ["a"] and idx.broken == []


def test_threads_building_a_cold_index_at_once_never_collide(tmp_path, monkeypatch):
    """Threads of one process that all find the index cold each write it through a temp file of their own."""
    import threading

    import cmx

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("CMX_HOME", str(home))
    repo = tmp_path / "repo"
    for n in range(40):
        make(repo, f"r{n}", f"t{n}, many")
    Home(home).repos_file.write_text(f"repos:\n  - path: {repo}\n")
    index_file = Home(home).index_dir / "recipes.pickle"
    results: list[dict] = []
    for _ in range(5):
        if index_file.exists():
            index_file.unlink()
        barrier = threading.Barrier(8)

        def one() -> None:
            barrier.wait()
            results.append(cmx.access({"action": "find", "automation": "script", "tags": "many", "out": "json"}))

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [r.get("error") for r in results if r["return"] != 0] == []
    assert len(results) == 40 and index_file.is_file()
    assert [p.name for p in index_file.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_sole_with_tags_is_with_tags_when_one_tag_is_that_recipes_alone():
    """The planner's shortcut: every subset and order of tags gives either None or exactly with_tags's one
    recipe; never a recipe with_tags would not give (shared tags, a tag no recipe has, a missing tag)."""
    import itertools
    from pathlib import Path

    from cmx.recipe import Recipe

    def R(alias, tags):
        return Recipe(alias, alias + "-uid", tuple(tags), Path("/r") / alias, Path("/r") / alias / "meta.yaml",
                      "t", "d-" + alias, (), {"alias": alias, "tags": list(tags)}, {})

    index = RecipeIndex([R("a", ["get", "lib", "n1"]), R("b", ["get", "lib", "n2"]), R("c", ["get", "tool", "n2x"]),
                         R("d", ["get", "twin"]), R("e", ["get", "twin"])], [], [])
    words = ["get", "lib", "n1", "n2", "twin", "tool", "nope"]
    answered = 0
    for k in range(1, 4):
        for tags in itertools.permutations(words, k):
            found = index.with_tags(tags)
            sole = index.sole_with_tags(list(tags))
            if sole is not None:
                answered += 1
                assert found == [sole], tags
    assert answered > 20  # (the shortcut is taken for most requests that name a recipe's own tag)
    assert index.sole_with_tags(["n1", "n1", "get"]).alias == "a"  # a repeated tag: the same set
    assert index.sole_with_tags(["twin"]) is None and index.sole_with_tags(["n1", "tool"]) is None
