"""How the index stores recipes: what comes back is what a fresh parse gives."""

import pickle

from cmx.home import Home
from cmx.index import RecipeIndex, _encode, _decode
from cmx.meta.loader import parse_meta
from cmx.recipe import LazyLines

META = """alias: a
tags: [x, y]
default_version: "1.0"
version_min: "0.5"
state: {released: 2024-01-31}
deps:
  - tags: detect,os
  - tags: z
    names: [zed]
variations:
  fp16:
    group: precision
    env: {P: fp16}
"""


def _home(tmp_path, meta=META):
    d = tmp_path / "repo" / "scripts" / "a"
    d.mkdir(parents=True)
    (d / "meta.yaml").write_text(meta)
    (d / "run.sh").write_text("echo hi\n")
    home = Home(tmp_path / "home")
    (tmp_path / "home").mkdir()
    home.repos_file.write_text(f"repos:\n  - path: {tmp_path / 'repo'}\n")
    return home, d


def test_a_recipe_round_trips_through_the_index(tmp_path):
    home, d = _home(tmp_path)
    loaded = parse_meta(d / "meta.yaml")
    RecipeIndex.load(home)  # builds and saves
    r = RecipeIndex.load(home).by_name("a")[0]  # read back from the saved index
    assert r.meta == loaded.data  # including the YAML date (stored with pickle, not marshal)
    assert isinstance(r.lines, LazyLines)
    assert dict(r.lines) == loaded.lines and len(r.lines) == len(loaded.lines)
    for key, line in loaded.lines.items():  # planning entries up front, the rest on first use
        assert r.lines.get(key) == line and r.lines[key] == line
    assert r.lines.get("no/such/key") is None
    assert str(r.location("variations", "fp16", "env")) == f"{d / 'meta.yaml'}:{loaded.lines['variations/fp16/env']}"
    assert [name for name, _ in r.file_digests] == ["meta.yaml", "run.sh"]
    assert r.to_json()["lines"] == loaded.lines
    entries = pickle.loads((home.index_dir / "recipes.pickle").read_bytes())["entries"]
    assert entries[str(d)]["blob"][:1] == b"P"  # the date: marshal cannot hold it


def test_blob_codec_round_trips(tmp_path):
    import datetime

    plain = ("a", {"deps": [{"tags": "x"}], "n": 1.5, "b": b"\x00"}, (("f", "h"),), ({"deps/0": 3}, b"x"))
    dated = ("a", {"when": datetime.date(2024, 1, 31)})
    assert _decode(_encode(plain)) == plain and _encode(plain)[:1] == b"M"
    assert _decode(_encode(dated)) == dated and _encode(dated)[:1] == b"P"


def test_an_index_from_another_python_is_rebuilt(tmp_path):
    home, _ = _home(tmp_path)
    RecipeIndex.load(home)
    index_file = home.index_dir / "recipes.pickle"
    data = pickle.loads(index_file.read_bytes())
    data["python"] = "2.7"
    index_file.write_bytes(pickle.dumps(data))
    assert [r.alias for r in RecipeIndex.load(home).with_tags(["x"])] == ["a"]
    assert pickle.loads(index_file.read_bytes())["python"] != "2.7"


def test_watch_list_names_every_indexed_file(tmp_path):
    home, d = _home(tmp_path)
    watched = dict(RecipeIndex.load(home).watch)
    for path in (home.repos_file, d, d / "meta.yaml", d / "run.sh"):
        assert str(path) in watched


def test_a_warm_load_from_the_saved_tables_is_the_index_a_fresh_build_gives(tmp_path, monkeypatch):
    """A warm load takes the recipes' order and lookup tables saved with the entries (no sort, no table
    built); an edit anywhere builds them again. Either way the index is the one _from_entries builds."""
    home, d = _home(tmp_path)
    repo = d.parent
    for name, meta in [("b", "alias: b\ntags: [x, z]\nsort: -1\n"), ("c", "alias: c\ntags: [y]\nuid: c1\n"),
                       ("broken", "alias: broken\ntags: [x\n")]:
        (repo / name).mkdir()
        (repo / name / "meta.yaml").write_text(meta)

    def shape(index):
        return ([r.alias for r in index.recipes], index._by_alias, index._by_uid, index._by_tag,
                [(b.alias, str(b.path), b.tags, b.error) for b in index.broken])

    cold = RecipeIndex.load(home)  # builds and saves, tables included
    built = []
    real = RecipeIndex._from_entries.__func__
    monkeypatch.setattr(RecipeIndex, "_from_entries", classmethod(lambda cls, *a: built.append(1) or real(cls, *a)))
    warm = RecipeIndex.load(home)
    assert built == [] and shape(warm) == shape(cold)
    assert [r.alias for r in warm.with_tags(["x"])] == ["b", "a"] and warm.broken[0].alias == "broken"
    (repo / "c" / "meta.yaml").write_text("alias: c\ntags: [y, x]\nuid: c1\nsort: -2\n")
    edited = RecipeIndex.load(home)
    assert built == [1] and [r.alias for r in edited.with_tags(["x"])] == ["c", "b", "a"]
    again = RecipeIndex.load(home)
    assert built == [1] and shape(again) == shape(edited)
