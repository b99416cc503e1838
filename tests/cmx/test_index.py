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
