"""Env values and rules shared by the planner and the runner.

- ``+KEY`` entries are lists, merged append-unique (``+PATH``).
- ``enable_if_env``/``skip_if_env`` conditions with CM's truthiness.
- ``new_env_keys`` patterns with ``*`` wildcards.
- Secrets (tokens, passwords) are recognised by name and never recorded.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Iterable, Mapping

Env = dict[str, Any]

TRUE_VALUES = {"yes", "on", "true", "1"}
FALSE_VALUES = {"no", "off", "false", "0", ""}

# a name ending in one of these words (HF_TOKEN, OPENAI_API_KEY, DB_PASSWORD); not
# MAX_TOKENS or TOKENIZER_PATH, which are ordinary inputs and must enter cache keys
_SECRET = re.compile(
    r"(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY(_ID)?|SECRET_?KEY|PRIVATE_?KEY|CREDENTIALS?)$", re.I
)


def is_secret(name: str) -> bool:
    return _SECRET.search(name) is not None


def scrub(env: Mapping[str, Any]) -> Env:
    """A copy without secret keys: what may be written to disk."""
    return {k: v for k, v in env.items() if not is_secret(k)}


# a secret can also hide inside a value: '["--env.HF_TOKEN=x"]', 'HF_TOKEN=x', '{"api_key": "x"}'
_ASSIGNED = re.compile(r"""([A-Za-z_][\w.-]*)=([^\s,;'"\]\}]*)""")
_JSON_PAIR = re.compile(r'"([A-Za-z_][\w.-]*)"(\s*:\s*)"((?:[^"\\]|\\.)*)"')


def _secret_name(name: str) -> bool:
    return is_secret(name.rsplit(".", 1)[-1].lstrip("-"))


def redact(value: Any) -> Any:
    """``value`` with every secret-named assignment inside it masked, recursively through
    lists and dicts (whose secret-named keys are dropped): for inputs written to lockfiles,
    key material and re-run hints."""
    if isinstance(value, str):
        if "=" in value:
            value = _ASSIGNED.sub(lambda m: f"{m.group(1)}=***" if _secret_name(m.group(1)) else m.group(0), value)
        if '"' in value:
            value = _JSON_PAIR.sub(
                lambda m: f'"{m.group(1)}"{m.group(2)}"***"' if _secret_name(m.group(1)) else m.group(0), value)
        return value
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items() if not is_secret(str(k))}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def redact_env(env: Mapping[str, Any]) -> Mapping[str, Any]:
    """``redact`` for an env whose keys are already free of secrets: returned as is (no copy)
    unless some value could hold an assignment, which is rare (key material of every plan node)."""
    for v in env.values():
        if type(v) is not str or "=" in v or '"' in v:
            return redact(env)
    return env


def public_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs as they may be written down: secret-named ones dropped, secrets inside values masked."""
    return {k: redact(v) for k, v in inputs.items() if not is_secret(k)}


def as_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def merge_env(target: Env, source: Mapping[str, Any], *, only_missing: bool = False) -> None:
    """Merge ``source`` into ``target``; ``+KEY`` lists append-unique."""
    for key, value in source.items():
        if key.startswith("+"):
            items = value if isinstance(value, list) else [value]
            current = list(target.get(key) or [])
            for item in items:
                if item not in current:
                    current.append(item)
            target[key] = current
        elif only_missing:
            target.setdefault(key, value)
        else:
            target[key] = value


def _value_matches(actual: Any, wanted: Any) -> bool:
    actual_s = as_str(actual).strip()
    options = wanted if isinstance(wanted, list) else [wanted]
    for option in options:
        opt = as_str(option).strip()
        low = opt.lower()
        if low in TRUE_VALUES:
            if actual_s.lower() in TRUE_VALUES:
                return True
        elif low in FALSE_VALUES:
            if actual_s.lower() in FALSE_VALUES:
                return True
        elif actual_s == opt:
            return True
    return False


def condition_holds(cond: Mapping[str, Any], env: Mapping[str, Any], *, any_of: bool) -> bool:
    """CM semantics: AND across keys (OR with ``any_of``), OR within a value list."""
    results = [_value_matches(env.get(k), v) for k, v in cond.items()]
    if not results:
        return True
    return any(results) if any_of else all(results)


def dep_enabled(dep: Mapping[str, Any], env: Mapping[str, Any]) -> bool:
    if "enable_if_env" in dep and not condition_holds(dep["enable_if_env"], env, any_of=False):
        return False
    if "enable_if_any_env" in dep and not condition_holds(dep["enable_if_any_env"], env, any_of=True):
        return False
    if "skip_if_env" in dep and condition_holds(dep["skip_if_env"], env, any_of=False):
        return False
    if "skip_if_any_env" in dep and condition_holds(dep["skip_if_any_env"], env, any_of=True):
        return False
    return True


def condition_keys(dep: Mapping[str, Any]) -> set[str]:
    keys: set[str] = set()
    for field in ("enable_if_env", "skip_if_env", "enable_if_any_env", "skip_if_any_env"):
        keys.update((dep.get(field) or {}).keys())
    return keys


def key_matches(name: str, patterns: Iterable[str]) -> bool:
    for p in patterns:
        if p == name or ("*" in p or "?" in p) and fnmatch.fnmatchcase(name, p):
            return True
    return False


def select_new_env(env: Mapping[str, Any], patterns: Iterable[str]) -> Env:
    patterns = list(patterns)
    return {k: v for k, v in env.items() if key_matches(k, patterns)}


_PLACEHOLDER = re.compile(r"<<<([A-Za-z0-9_]+)>>>")


def substitute(value: Any, env: Mapping[str, Any]) -> Any:
    """Replace ``<<<KEY>>>`` placeholders from env (strings, lists and dicts)."""
    if isinstance(value, str) and "<<<" in value:
        return _PLACEHOLDER.sub(lambda m: as_str(env.get(m.group(1), m.group(0))), value)
    if isinstance(value, list):
        return [substitute(v, env) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, env) for k, v in value.items()}
    return value
