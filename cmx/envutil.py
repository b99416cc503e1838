"""Env values and rules shared by the planner and the runner.

- ``+KEY`` entries are lists, merged append-unique (``+PATH``).
- ``enable_if_env``/``skip_if_env`` conditions with CM's truthiness.
- ``new_env_keys`` patterns with ``*`` wildcards.
- Secrets (tokens, passwords) are recognised by name, and inside values by shape
  (``NAME=value``, ``?token=``, ``user:password@``), and never recorded.
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


# a secret can also hide inside a value: '["--env.HF_TOKEN=x"]', 'HF_TOKEN=x', '{"api_key": "x"}',
# 'https://h/f?token=x', 'https://user:x@h/f'
_ASSIGNED = re.compile(r"""([A-Za-z_][\w.-]*)=([^\s,;&#'"\]\}]*)""")
_JSON_PAIR = re.compile(r'"([A-Za-z_][\w.-]*)"(\s*:\s*)"((?:[^"\\]|\\.)*)"')
_QUERY = re.compile(r"""([?&;])([A-Za-z_][\w.-]*)=([^&#\s'"]*)""")
_USERINFO = re.compile(r"""(\b[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s:@'"]*):([^/?#\s@'"]+)@""")
# URL query parameters that carry credentials, besides secret-named ones (?hf_token=...)
QUERY_SECRETS = frozenset({
    "token", "access_token", "refresh_token", "id_token", "auth", "auth_token", "private_token", "api_key",
    "apikey", "key", "sig", "signature", "password", "passwd", "pwd", "pass", "secret", "client_secret",
    "x-amz-signature", "x-amz-security-token", "x-amz-credential", "x-goog-signature", "x-goog-credential",
})
MASK = "***"
# a value shorter than this is not searched for in script output (it would mask ordinary words)
MIN_MASKED_LENGTH = 4


def _secret_name(name: str) -> bool:
    return is_secret(name.rsplit(".", 1)[-1].lstrip("-"))


def _redact_str(value: str, found: list[str] | None) -> str:
    def hide(secret: str) -> str:
        if found is not None and secret and secret != MASK:
            found.append(secret)
        return MASK

    if "@" in value and "://" in value:
        value = _USERINFO.sub(lambda m: f"{m.group(1)}:{hide(m.group(2))}@", value)
    if "=" in value:
        if "?" in value or "&" in value:
            value = _QUERY.sub(
                lambda m: f"{m.group(1)}{m.group(2)}={hide(m.group(3))}"
                if m.group(2).lower() in QUERY_SECRETS or is_secret(m.group(2)) else m.group(0), value)
        value = _ASSIGNED.sub(
            lambda m: f"{m.group(1)}={hide(m.group(2))}" if _secret_name(m.group(1))
            else f"{m.group(1)}={_redact_str(m.group(2), found)}" if "=" in m.group(2) else m.group(0), value)
    if '"' in value:
        value = _JSON_PAIR.sub(
            lambda m: f'"{m.group(1)}"{m.group(2)}"{hide(m.group(3))}"' if _secret_name(m.group(1)) else m.group(0),
            value)
    return value


def _may_hold_secret(value: str) -> bool:
    return "=" in value or '"' in value or "@" in value


def redact(value: Any) -> Any:
    """``value`` with every secret inside it masked, recursively through lists and dicts (whose
    secret-named keys are dropped): ``NAME=value`` and ``"name": "value"`` with a secret name,
    URL query parameters that carry credentials (``?token=``, ``&sig=``...) and the password of
    ``scheme://user:password@host``. For everything cmx writes down: entries, lockfiles, key
    material, memos, logs and re-run hints."""
    if isinstance(value, str):
        return _redact_str(value, None) if _may_hold_secret(value) else value
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items() if not is_secret(str(k))}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def holds_secret(value: Any) -> bool:
    """True if ``value`` (a string, or a tree of dicts and lists) has a secret-named key anywhere
    or a secret inside a string: what must never be memoized."""
    if isinstance(value, str):
        return _may_hold_secret(value) and _redact_str(value, None) != value
    if isinstance(value, dict):
        return any(is_secret(str(k)) or holds_secret(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(holds_secret(v) for v in value)
    return False


def secret_parts(value: str) -> list[str]:
    """The secrets inside ``value`` (the token of ``?token=``, a URL's password...): what a
    script's output is searched for."""
    found: list[str] = []
    if _may_hold_secret(value):
        _redact_str(value, found)
    return found


class Masker:
    """Masks known secret values, and secrets recognised by shape, in text a script or a hook
    writes (cmx-run.log, tmp-run-env.out)."""

    def __init__(self, values: Iterable[str]) -> None:
        unique = {v for v in values if len(v) >= MIN_MASKED_LENGTH}
        self.values = sorted(unique, key=len, reverse=True)  # the longest first: a value may hold another
        self._bytes = [v.encode("utf-8", "surrogateescape") for v in self.values]

    @classmethod
    def for_env(cls, env: Mapping[str, Any]) -> "Masker":
        """Secret-named values of ``env`` and the secrets inside its other values."""
        values: list[str] = []
        for k, v in env.items():
            text = as_str(v) if not isinstance(v, list) else ":".join(as_str(x) for x in v)
            if is_secret(k.lstrip("+")):
                values.append(text)
            else:
                values += secret_parts(text)
        return cls(values)

    def text(self, text: str) -> str:
        for v in self.values:
            if v in text:
                text = text.replace(v, MASK)
        return redact(text)

    def data(self, data: bytes) -> bytes:
        for v in self._bytes:
            if v in data:
                data = data.replace(v, MASK.encode())
        if b"=" in data or b'"' in data or b"@" in data:
            return redact(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
        return data


def redact_env(env: Mapping[str, Any]) -> Mapping[str, Any]:
    """``redact`` for an env whose keys are already free of secrets: returned as is (no copy)
    unless some value could hold a secret, which is rare (key material of every plan node)."""
    for v in env.values():
        if type(v) is not str or "=" in v or '"' in v or "@" in v:
            return redact(env)
    return env


# Linux refuses to start a program whose environment holds one string over 128 KiB, or whose
# arguments and environment exceed ARG_MAX (2 MiB by default), with "Argument list too long".
# User values reach the environment of every command a recipe's script runs, so they are capped
# well below both.
VALUE_MAX_BYTES = 64 * 1024
VALUES_TOTAL_MAX_BYTES = 256 * 1024


def check_user_values(inputs: Mapping[str, Any], skip: Iterable[str] = ()) -> None:
    """Every string a user passes (``--env.K``, ``--const.K``, ``--adr.N.env.K``, input flags):
    no newline, carriage return or NUL (a value echoed into ``tmp-run-env.out`` could otherwise add
    keys to a recipe's outputs), at most VALUE_MAX_BYTES bytes each and VALUES_TOTAL_MAX_BYTES in all.
    Raises a UsageError naming the flag."""
    from cmx.errors import UsageError

    total = 0
    skipped = set(skip)

    def walk(flag: str, value: Any) -> None:
        nonlocal total
        if isinstance(value, str):
            if "\n" in value or "\r" in value or "\0" in value:
                raise UsageError(f"{flag}: a value cannot contain a newline or NUL (it could inject keys into a "
                                 "recipe's outputs)", hint="put multi-line text in a file and pass its path")
            size = len(value.encode("utf-8", "surrogateescape"))
            if size > VALUE_MAX_BYTES:
                raise UsageError(f"{flag}: the value is {size} bytes; values are limited to {VALUE_MAX_BYTES} bytes "
                                 "(they reach the environment of every command a recipe runs, and larger ones make "
                                 "the OS refuse to start programs: 'Argument list too long')",
                                 hint="put it in a file and pass its path")
            total += size
            if total > VALUES_TOTAL_MAX_BYTES:
                raise UsageError(f"{flag}: the values given add up to more than {VALUES_TOTAL_MAX_BYTES} bytes, the "
                                 "limit for what reaches a recipe's environment",
                                 hint="put large values in files and pass their paths")
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(f"{flag}.{k}", v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(flag, v)

    for key, value in inputs.items():
        if key not in skipped:
            walk(f"--{key}", value)


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
