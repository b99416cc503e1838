"""The fast schema check gives jsonschema's verdict: on every built-in recipe's meta, on the compat
fixture repositories' metas as written (loose, often invalid before normalisation), and on mutations
of each built-in meta that break one rule at a time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import yaml

from cmx.meta import schema
from cmx.meta.fastcheck import compile_schema
from tests.compat import fixtures

ROOT = Path(__file__).resolve().parents[3]
VALIDATOR = jsonschema.Draft7Validator(schema.SCHEMA)
FAST = compile_schema(schema.SCHEMA)


def _builtin_metas() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "scripts").glob("*/meta.yaml"))]


def _fixture_metas() -> Iterator[Any]:
    for name in dir(fixtures):
        files = getattr(fixtures, name)
        if name.isupper() and isinstance(files, dict):
            for path, body in files.items():
                if path.endswith(("_cm.yaml", "_cm.json", "/meta.yaml")):
                    import textwrap

                    yield yaml.safe_load(textwrap.dedent(body))


def _mutations(meta: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One broken rule at a time: a wrong type for each top-level value, an unknown key, a missing
    required key, a bad pattern, a bad enum, a dependency without tags, a boolean where a number is meant."""
    for key, value in meta.items():
        for wrong in (7, "text", ["a"], {"a": 1}, True, None, 1.5):
            if type(wrong) is not type(value):
                m = copy.deepcopy(meta)
                m[key] = wrong
                yield m
    yield {**meta, "no_such_key": 1}
    for key in ("alias", "tags"):
        yield {k: v for k, v in meta.items() if k != key}
    yield {**meta, "cache_expiration": "10 years"}
    yield {**meta, "cache_expiration": "10h"}
    yield {**meta, "schema_version": True}
    yield {**meta, "schema_version": 1.0}
    yield {**meta, "deps": [{"names": ["x"]}]}
    yield {**meta, "deps": [{"tags": "a", "enable_if_env": {"X": ["yes"]}, "version": 3}]}
    yield {**meta, "deps": [{"tags": "a", "force_cache": "yes"}]}
    yield {**meta, "input_mapping": {"x": 1}}
    yield {**meta, "variations": {"v": {"group": "g", "default": "yes", "env": {"A": [1, 2]}}}}


def test_the_schema_compiles() -> None:
    assert FAST is not None


def test_same_verdict_as_jsonschema() -> None:
    assert FAST is not None
    cases = _builtin_metas()
    assert len(cases) > 20
    instances = [*cases, *_fixture_metas()]
    for meta in cases:
        instances += list(_mutations(meta))
    verdicts = {True: 0, False: 0}
    for data in instances:
        expected = VALIDATOR.is_valid(data)
        assert FAST(data) is expected, data
        verdicts[expected] += 1
    assert verdicts[True] > 30 and verdicts[False] > 300  # both verdicts are exercised


def test_an_unknown_keyword_is_left_to_jsonschema() -> None:
    assert compile_schema({"type": "object", "minProperties": 1}) is None
    assert compile_schema({"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}]}}}) is None
    assert compile_schema({"type": "decimal"}) is None


def test_json_details() -> None:
    check = compile_schema({"type": "object", "properties": {"n": {"type": "integer"}, "e": {"enum": [1, "a"]}},
                            "additionalProperties": False})
    assert check is not None
    assert check({"n": 3}) and check({"n": 3.0}) and not check({"n": 3.5}) and not check({"n": True})
    assert check({"e": 1}) and not check({"e": True}) and check({"e": "a"})
    assert not check({"x": 1}) and not check([]) and check({})
