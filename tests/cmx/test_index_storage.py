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
