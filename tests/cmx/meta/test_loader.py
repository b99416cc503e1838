from pathlib import Path

import pytest

from cmx.errors import RecipeDefinitionError
from cmx.meta.loader import parse_meta

ROOT = Path(__file__).resolve().parents[3]


def write(tmp_path, text, name="meta.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_builtin_recipes_validate():
    for meta in (ROOT / "scripts").glob("*/meta.yaml"):
        parse_meta(meta)


def test_lines_are_recorded_for_deps(tmp_path):
    loaded = parse_meta(write(tmp_path, "alias: a\ntags: [a]\ndeps:\n  - tags: x\n  - tags: y\n"))
    assert loaded.lines["deps/0"] == 4 and loaded.lines["deps/1"] == 5


@pytest.mark.parametrize("text,line,needle", [
    ("alias: a\ntags: [a]\nnew_env_key: [X]\n", 3, "did you mean 'new_env_keys'"),
    ("alias: a\ntags: [a]\ndeps:\n  - tags: x\n    version_min: [1]\n", 5, "deps/0/version_min"),
    ("alias: a\ntags: [a]\ntests:\n  run_inputs:\n    - variation_list: [x]\n", 5, "variations_list"),
    ("alias: a\ntags: [a]\ncache_expiration: soon\n", 3, "cache_expiration"),
    ("- just\n- a list\n", 1, "must be a mapping"),
])
def test_errors_name_the_line(tmp_path, text, line, needle):
    with pytest.raises(RecipeDefinitionError) as err:
        parse_meta(write(tmp_path, text))
    assert err.value.location.line == line
    assert needle in str(err.value)


def test_cm_json_meta(tmp_path):
    loaded = parse_meta(write(tmp_path, '{"alias": "a", "tags": "a,b", "cache": true}', "_cm.json"))
    assert loaded.data["cache"] is True
