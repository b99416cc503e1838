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


def test_nesting_deeper_than_the_limit_is_refused_before_anything_recursive(tmp_path):
    from cmx.meta.loader import MAX_META_DEPTH

    ok = "alias: a\ntags: [a]\nstate:\n  x: " + "[" * (MAX_META_DEPTH - 2) + "]" * (MAX_META_DEPTH - 2) + "\n"
    parse_meta(write(tmp_path, ok))
    with pytest.raises(RecipeDefinitionError, match=f"nested more than {MAX_META_DEPTH} levels deep") as err:
        parse_meta(write(tmp_path, "alias: a\ntags: [a]\nstate:\n  x: " + "[" * 500 + "]" * 500 + "\n"))
    assert err.value.location.line == 4


def test_an_alias_can_make_a_document_too_deep(tmp_path):
    deep = "[" * 40 + "]" * 40
    text = f"alias: a\ntags: [a]\nstate:\n  x: &d {deep}\n  y: " + "[" * 30 + "*d" + "]" * 30 + "\n"
    with pytest.raises(RecipeDefinitionError, match="once alias \\*d is expanded") as err:
        parse_meta(write(tmp_path, text))
    assert err.value.location.line == 5


def test_an_alias_bomb_is_refused_by_its_expanded_size(tmp_path):
    text = "alias: a\ntags: [a]\nstate:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]\n" for n in range(1, 7))
    with pytest.raises(RecipeDefinitionError, match="more than 100,000 values once YAML aliases are expanded") as err:
        parse_meta(write(tmp_path, text))
    assert err.value.location.line == 8  # where the count went over
    # a few shared anchors, as real metas use them, are fine
    loaded = parse_meta(write(tmp_path, "alias: a\ntags: [a]\nenv: &e {A: '1'}\nvariations:\n  v: {env: *e}\n"))
    assert loaded.data["variations"]["v"]["env"] == {"A": "1"}


def test_a_meta_over_the_size_limit_is_refused(tmp_path):
    from cmx.meta.loader import MAX_META_BYTES

    with pytest.raises(RecipeDefinitionError, match="larger than 1024 KiB"):
        parse_meta(write(tmp_path, "alias: a\ntags: [a]\n" + "#" * MAX_META_BYTES + "\n"))


def test_a_non_utf8_byte_names_its_line_and_offset(tmp_path):
    p = tmp_path / "meta.yaml"
    p.write_bytes(b"alias: a\ntags: [a]\nname: \xff\xfe\n")
    with pytest.raises(RecipeDefinitionError, match=r"meta.yaml:3: not UTF-8: byte 0xff at column 7 \(byte offset 25\)"):
        parse_meta(p)


def test_unicode_tags_are_accepted_in_nfc_and_unselectable_tags_are_refused(tmp_path):
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "détecter")
    loaded = parse_meta(write(tmp_path, f"alias: a\ntags: [{decomposed}, 検出, हिन्दी]\n"))
    from cmx.recipe import meta_tags

    assert meta_tags(loaded.data) == ("détecter", "検出", "हिन्दी")
    with pytest.raises(RecipeDefinitionError, match="tag 'a b' cannot be selected") as err:
        parse_meta(write(tmp_path, "alias: a\ntags:\n  - ok\n  - a b\n"))
    assert err.value.location.line == 4
    with pytest.raises(RecipeDefinitionError, match="tag '_x' cannot be selected"):
        parse_meta(write(tmp_path, "alias: a\ntags: ok,_x\n"))
