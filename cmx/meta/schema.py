"""The versioned recipe meta schema (JSON Schema), plus key lists for suggestions.

Version 1 covers CM's script meta keys that cmx implements, plus a few cmx
extensions (``probe``, ``schema_version``). Keys CM accepts but cmx does not act
on yet (``docker``, ``category`` ...) are accepted and documented as inert in
docs/recipe-format.md, so CM repositories still index.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1

_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_SCALAR = {"type": ["string", "number", "boolean", "null"]}
_STR_LIST = {"type": "array", "items": _STR}
_STR_OR_LIST = {"type": ["string", "array"], "items": _STR}
_ENV = {"type": "object", "additionalProperties": _SCALAR}
_COND = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "array", "null"]}}
_ANY_OBJ = {"type": "object"}

# Keys of one dependency entry that cmx interprets. Any other key is an input
# for the called recipe and is checked against its input_mapping at plan time.
DEP_KEYS: dict[str, Any] = {
    "tags": _STR_OR_LIST,
    "names": _STR_LIST,
    "version": {"type": ["string", "number"]},
    "version_min": {"type": ["string", "number"]},
    "version_max": {"type": ["string", "number"]},
    "version_max_usable": {"type": ["string", "number"]},
    "enable_if_env": _COND,
    "skip_if_env": _COND,
    "enable_if_any_env": _COND,
    "skip_if_any_env": _COND,
    "env": _ENV,
    "force_env_keys": _STR_LIST,
    "update_tags_from_env_with_prefix": {"type": "object", "additionalProperties": _STR_LIST},
    "update_tags_from_env": _STR_LIST,
    "inherit_variation_tags": _BOOL,
    "skip_inherit_variation_groups": _STR_LIST,
    "extra_cache_tags": _STR_OR_LIST,
    "force_cache": _BOOL,
    "dynamic": _BOOL,
    "continue_on_error": _BOOL,
    "skip_if_fake_run": _BOOL,
    "reuse_version": _BOOL,
    "tags_help": _STR,
    "comment": _STR,
}

_DEP = {"type": "object", "properties": DEP_KEYS, "required": ["tags"]}
_DEPS = {"type": "array", "items": _DEP}
_ADR = {"type": "object", "additionalProperties": {"type": "object", "properties": DEP_KEYS}}
# patches an entry passes to the dependency it calls: for the dependency's whole subtree (adr) or its direct
# dependencies (ad), as the recipe's own adr/ad
_ENTRY_ADR = {"type": "object", "additionalProperties": {"type": "object", "properties": dict(DEP_KEYS)}}  # (finite)
DEP_KEYS.update(adr=_ENTRY_ADR, add_deps_recursive=_ENTRY_ADR, ad=_ENTRY_ADR, add_deps=_ENTRY_ADR)

DEP_LIST_KEYS = ("deps", "prehook_deps", "posthook_deps", "post_deps")

# One entry of update_meta_if_env: conditions (as a dependency's) and the meta patch they apply
# (CM/MLC recipes: docs/compat.md; inert for our recipes)
_META_IF_ENV = {"type": "object", "properties": {
    # (any value: mlperf-automations' app-mlperf-inference has an adr indented into its enable_if_env)
    **{k: {"type": "object"} for k in ("enable_if_env", "skip_if_env", "enable_if_any_env", "skip_if_any_env")},
    "env": _ENV, "default_env": _ENV, "const": _ENV, "state": _ANY_OBJ, "const_state": _ANY_OBJ, "docker": _ANY_OBJ,
    "adr": _ADR, "add_deps_recursive": _ADR, "ad": _ADR, "add_deps": _ADR,
    "default_variations": {"type": "object", "additionalProperties": _STR}}}

TOP_CACHE_EXPIRATION = {"type": "string", "pattern": r"^\s*\d+\s*[smhdw]?\s*$"}

# Keys shared by the top level, a variation and a version overlay.
_OVERLAY: dict[str, Any] = {
    "env": _ENV,
    "default_env": _ENV,
    "const": _ENV,
    "state": _ANY_OBJ,
    "const_state": _ANY_OBJ,
    "deps": _DEPS,
    "prehook_deps": _DEPS,
    "posthook_deps": _DEPS,
    "post_deps": _DEPS,
    "adr": _ADR,
    "add_deps_recursive": _ADR,
    "ad": _ADR,
    "add_deps": _ADR,
    "new_env_keys": _STR_LIST,
    "new_state_keys": _STR_LIST,
    "input_mapping": {"type": "object", "additionalProperties": _STR},
    "docker": _ANY_OBJ,
    "warnings": _STR_LIST,
    "script_name": _STR,
    "required_inputs": _STR_LIST,  # flags that must be given (checked at plan time, cmx/plan/inputs.py)
    "update_meta_if_env": {"type": "array", "items": _META_IF_ENV},
}

VARIATION_KEYS: dict[str, Any] = dict(
    _OVERLAY,
    group=_STR,
    default=_BOOL,
    base=_STR_LIST,
    alias=_STR,
    default_variations={"type": "object", "additionalProperties": _STR},
    default_version={"type": ["string", "number"]},
    version={"type": ["string", "number"]},
    cache_expiration=TOP_CACHE_EXPIRATION,
    comment=_STR,
)

VERSION_KEYS: dict[str, Any] = dict(_OVERLAY, version_min=DEP_KEYS["version_min"], version_max=DEP_KEYS["version_max"])

TEST_KEYS: dict[str, Any] = {
    "run_inputs": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "variations_list": _STR_LIST,
                "tags": _STR,
                "env": _ENV,
                "input": _ANY_OBJ,
                "expect_env": {"type": "object", "additionalProperties": _STR},
                "expect_failure": _BOOL,
                "docker_os": _ANY_OBJ,
                "comment": _STR,
            },
            "additionalProperties": False,
        },
    },
    "needs_pat": _BOOL,
    "comment": _STR,
}

TOP_KEYS: dict[str, Any] = dict(
    _OVERLAY,
    schema_version={"type": "integer", "enum": [SCHEMA_VERSION]},
    alias=_STR,
    uid=_STR,
    tags=_STR_OR_LIST,
    automation_alias=_STR,
    automation_uid=_STR,
    name=_STR,
    category=_STR,
    sort={"type": "integer"},
    tags_help=_STR,
    developers=_STR,
    cache=_BOOL,
    can_force_cache=_BOOL,
    cache_expiration=TOP_CACHE_EXPIRATION,
    probe=_BOOL,
    exclusive=_BOOL,  # measures performance: `cmx run experiment` runs its points one at a time
    relocate_files=_STR_LIST,
    code_paths=_STR_LIST,
    extra_cache_tags_from_env={"type": "array", "items": _ANY_OBJ},
    clean_files=_STR_LIST,
    clean_output_files=_STR_LIST,
    input_description={"type": "object", "additionalProperties": {"type": ["object", "string"], "properties": {
        "desc": _STR, "default": _SCALAR, "choices": {"type": "array", "items": _SCALAR},
        "type": {"enum": ["int", "number", "bool", "file", "dir", "url", "string", "list"]},  # cmx/plan/inputs.py
        "min": {"type": "number"}, "max": {"type": "number"}}}},
    local_env_keys=_STR_LIST,
    env_key_mappings={"type": "object", "additionalProperties": _STR},
    variations={"type": "object", "additionalProperties": {"type": ["object", "null"], "properties": VARIATION_KEYS, "additionalProperties": False}},
    default_variation=_STR,
    default_variations={"type": "object", "additionalProperties": _STR},
    valid_variation_combinations={"type": "array", "items": _STR_LIST},
    invalid_variation_combinations={"type": "array", "items": _STR_LIST},
    versions={"type": "object", "additionalProperties": {"type": ["object", "null"], "properties": VERSION_KEYS, "additionalProperties": False}},
    default_version={"type": ["string", "number"]},
    version_min=DEP_KEYS["version_min"],
    version_max=DEP_KEYS["version_max"],
    version_max_usable=DEP_KEYS["version_max_usable"],
    tests={"type": "object", "properties": TEST_KEYS, "additionalProperties": False},
    min_cm_version=_STR,
    min_mlc_version=_STR,
    predeps=_BOOL,
    print_env_at_the_end=_ANY_OBJ,
    print_files_if_script_error=_STR_LIST,
)

SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": f"cmx recipe meta, schema version {SCHEMA_VERSION}",
    "type": "object",
    "properties": TOP_KEYS,
    "additionalProperties": False,
    "required": ["alias", "tags"],
}


def valid_keys_at(path: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the mapping at ``path`` (for 'did you mean' hints)."""
    if not path:
        return list(TOP_KEYS)
    head = path[0]
    if head == "variations" and len(path) == 2:
        return list(VARIATION_KEYS)
    if head == "versions" and len(path) == 2:
        return list(VERSION_KEYS)
    if head == "tests":
        return list(TEST_KEYS) if len(path) == 1 else ["variations_list", "tags", "env", "input", "expect_env", "expect_failure"]
    if path[-2:-1] and path[-2] in DEP_LIST_KEYS:
        return list(DEP_KEYS)
    return []
