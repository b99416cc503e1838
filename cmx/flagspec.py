"""What flags an action takes: one small declarative table per action.

An action declares its flags with :func:`declare` (name, type, help, example);
:func:`validate` checks an input dict against that table before the action
runs, and the CLI's help and shell completion read the same table. An unknown
flag is a usage error naming the nearest known one; a flag that needs a value
and has none, a duration or a version that does not parse, are usage errors
naming the flag. For actions that take recipe inputs (``cmx run script``) every
flag the table does not declare is an input of the selected recipe, checked
later against its ``input_mapping``.

Standard library only: it is imported on every validated command. No ``from __future__ import
annotations`` here: NamedTuple compiles string annotations into ForwardRefs at class creation.
"""

import re
from typing import Any, Callable, Iterable, Mapping, NamedTuple, TypeVar

from cmx.errors import UnknownInputError, UsageError

# value types a flag can declare, and what each accepts
KINDS = {
    "bool": "a switch (no value, or yes/no)",
    "text": "a non-empty value",
    "path": "a file or folder path",
    "int": "a whole number >= 1",
    "duration": "a duration: 90s, 10m, 2h, 30d, 1w or plain seconds",
    "version": "a version such as 3.10 or 1.2.0",
    "tags": "tags separated by commas",
    "env": "NAME=VALUE pairs: --FLAG.NAME=VALUE",
    "map": "nested keys: --FLAG.KEY=VALUE (KEY may have dots)",
    "patch": "per-dependency fields: --FLAG.NAME.FIELD=VALUE",
}
# keys the CLI sets from the positional words: never flags
POSITIONAL_KEYS = ("action", "automation", "artifact", "artifacts")


class Flag(NamedTuple):
    """One flag of an action: ``name`` as the user spells it (``older-than``), its type and help.

    An immutable value (a NamedTuple rather than a frozen dataclass: it is built at import time
    of every automation, and a NamedTuple class costs a fraction of a dataclass to create)."""

    name: str
    kind: str = "bool"
    help: str = ""
    example: str = ""
    aliases: tuple[str, ...] = ()  # other spellings, folded into ``key`` (json -> j, force -> f)
    short: str = ""  # the one-letter form (-j), for help only: flags.py maps letters to keys
    takes_next: bool = False  # also takes its value as the next word (--jobs 4)

    @property
    def key(self) -> str:
        """The key in the input dict: hyphens become underscores, as the CLI does."""
        return self.name.replace("-", "_")

    @property
    def spelling(self) -> str:
        return f"--{self.name}"

    def usage(self) -> str:
        """``--older-than=DURATION``, ``--new``, ``-j, --json``."""
        metavar = {"bool": "", "int": "=N", "duration": "=DURATION", "version": "=VERSION", "tags": "=TAGS",
                   "path": "=FILE", "env": ".NAME=VALUE", "patch": ".NAME.FIELD=VALUE",
                   "map": ".KEY=VALUE"}.get(self.kind, "=VALUE")
        long = f"{self.spelling}{' ' + metavar[1:] if self.takes_next and metavar.startswith('=') else metavar}"
        return f"-{self.short}, {long}" if self.short else long


class ActionSpec(NamedTuple):
    """What ``cmx ACTION AUTOMATION`` takes: a summary, its positional words, its flags, one example."""

    summary: str
    flags: tuple[Flag, ...] = ()
    args: str = ""  # the positional words after the automation, e.g. "[NAME]" or "PATH"
    example: str = ""
    details: str = ""
    recipe_inputs: bool = False  # undeclared --flags are inputs of the selected recipe

    def all_flags(self) -> tuple[Flag, ...]:
        return self.flags + tuple(f for f in COMMON_FLAGS if f.key not in {g.key for g in self.flags})

    def lookup(self) -> dict[str, Flag]:
        """Every key and alias (in input-dict form) -> its flag."""
        out: dict[str, Flag] = {}
        for f in self.all_flags():
            out[f.key] = f
            for a in f.aliases:
                out[a.replace("-", "_")] = f
        return out


COMMON_FLAGS = (
    Flag("json", "bool", "print one JSON object on stdout (progress goes to stderr)", aliases=("j",), short="j"),
    Flag("verbose", "bool", "more detail; on an error, the Python traceback", aliases=("v",), short="v"),
    Flag("quiet", "bool", "no progress lines (also -s, --silent)", aliases=("silent", "s"), short="q"),
    Flag("out", "text", "--out=json is CM's spelling of -j"),
    Flag("help", "bool", "this help", aliases=("h",), short="h"),
)
# where the CLI's short letters and COMMON_FLAGS' keys meet: the input dict keeps CM's short keys
_CANONICAL = {"json": "j", "verbose": "v"}

# CM/MLC engine flags cmx does not implement: the message names the cmx equivalent when there is one
CM_ENGINE_FLAGS: dict[str, str | None] = {
    "renew": "--new (rebuild the requested recipe)",
    "force_cache": None,
    "docker": None,
    "dirty": "nothing: a cache entry keeps its build files, a failed build is kept in cache/.failed/",
    "debug": "-v (every node's output, entry paths and tracebacks)",
    "debug_script_tags": "-v",
    "debug_uid": "-v",
    "print_env": "-j (the exported env is new_env)",
    "print_deps": "--dry-run (the plan)",
    "print_versions": "--dry-run (the plan shows each node's version)",
    "print_readme": "`cmx show script NAME`",
    "dump_version_info": "-j (each node's version is in the plan)",
    "prepare": "--dry-run",
    "fake_deps": None,
    "save_env": None,
    "time": None,
    "space": None,
    "shell": None,
    "repro": None,
    "recursion_spaces": None,
    "skip_sys_utils": None,
    "skip_sudo": None,
    "skip_remembered_selections": "nothing: cmx never prompts and remembers no selection",
    "ignore_script_error": None,
    "detected_versions": None,
    "local_env": "--env.K=V",
    "state": None,
    "const_state": None,
    "local_state": None,
    "extra_cache_tags": None,
    "script_call_prefix": None,
}


def cm_engine_flag(key: str) -> tuple[str, str | None] | None:
    """(message, hint) when ``key`` is a CM engine flag cmx does not support, else None."""
    if key not in CM_ENGINE_FLAGS and not key.startswith("docker_"):
        return None
    equivalent = CM_ENGINE_FLAGS.get(key)
    hint = f"in cmx: {equivalent}" if equivalent else None
    return f"--{key} is a CM engine flag that cmx does not support", hint


F = TypeVar("F", bound=Callable[..., Any])


def declare(summary: str, *flags: Flag, args: str = "", example: str = "", details: str = "",
            recipe_inputs: bool = False) -> Callable[[F], F]:
    """Attach an :class:`ActionSpec` to an action function (read by validation, help and completion)."""
    for f in flags:
        if f.kind not in KINDS:
            raise ValueError(f"flag --{f.name}: unknown kind {f.kind!r} (one of {', '.join(KINDS)})")
    spec = ActionSpec(summary=summary, flags=tuple(flags), args=args, example=example, details=details,
                      recipe_inputs=recipe_inputs)

    def wrap(fn: F) -> F:
        fn.cmx_spec = spec  # type: ignore[attr-defined]
        return fn

    return wrap


def spec_of(fn: Callable[..., Any]) -> ActionSpec | None:
    return getattr(fn, "cmx_spec", None)


# --- value types -------------------------------------------------------------------------------------

# patterns compiled on first use: most commands validate no duration or version
_DURATION = r"^(\d+(?:\.\d+)?)\s*([smhdw]?)$"
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_VERSION = r"^v?\d[0-9A-Za-z.+_-]*$"
_VERSION_NAME = r"^[A-Za-z][0-9A-Za-z.+_-]*$"  # main, master, r4.1, custom
_TRUE = {"yes", "true", "on", "1"}
_FALSE = {"no", "false", "off", "0"}


def parse_duration(flag: str, value: Any) -> float:
    """Seconds in '90s', '10m', '2h', '30d', '1w' or '45'; anything else (negative, 30x) is a usage error."""
    m = re.match(_DURATION, str(value).strip().lower())
    if isinstance(value, bool) or not m:
        raise UsageError(f"{flag}={value}: not a duration", hint=f"use a number and a unit: {flag}=90s, 10m, 2h, 30d, 1w")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _eg(flag: Flag) -> str | None:
    return f"e.g. {flag.example}" if flag.example else None


def _missing(flag: Flag) -> UsageError:
    example = flag.example or f"{flag.spelling}{flag.usage().split(flag.spelling, 1)[1]}"
    return UsageError(f"{flag.spelling} needs a value", hint=f"e.g. {example}")


def _scalar(flag: Flag, value: Any) -> str:
    if value is True or value is None or (isinstance(value, str) and not value.strip()):
        raise _missing(flag)
    if isinstance(value, (list, dict)) or value is False:
        raise UsageError(f"{flag.spelling} takes one value, got {_shown(value)}", hint=_eg(flag))
    return str(value)


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "a list (" + ",".join(map(str, value)) + ")"
    if isinstance(value, dict):
        return f"nested keys ({', '.join(map(str, value))})"
    return repr(value)


def convert(flag: Flag, value: Any) -> Any:
    """The value of ``flag`` in its declared type, or a UsageError naming the flag."""
    kind = flag.kind
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, (str, int)) and str(value).strip().lower() in _TRUE | _FALSE:
            return str(value).strip().lower() in _TRUE
        raise UsageError(f"{flag.spelling} is a switch and takes no value (got {flag.spelling}={value})",
                         hint=f"write {flag.spelling} alone")
    if kind == "tags":
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return ",".join(value)
        if value is True:
            raise _missing(flag)
        if not isinstance(value, (str, int, float)):
            raise UsageError(f"{flag.spelling} takes tags, got {_shown(value)}", hint=_eg(flag))
        return str(value)
    if kind in ("env", "patch", "map"):
        depth = {"env": "NAME=VALUE", "map": "KEY=VALUE"}.get(kind, "NAME.FIELD=VALUE")
        if not isinstance(value, dict):
            raise UsageError(f"{flag.spelling} needs a name: {flag.spelling}.{depth}", hint=_eg(flag))
        if kind == "patch":
            for name, patch in value.items():
                if not isinstance(patch, dict):
                    raise UsageError(f"{flag.spelling}.{name} needs a field: {flag.spelling}.{name}.FIELD=VALUE",
                                     hint=flag.example or f"e.g. {flag.spelling}.{name}.tags=_x")
        return value
    text = _scalar(flag, value)
    if kind == "int":
        try:
            n = int(text)
        except ValueError:
            n = 0
        if n < 1:
            raise UsageError(f"{flag.spelling}={text}: expected a whole number >= 1", hint=_eg(flag))
        return n
    if kind == "duration":
        parse_duration(flag.spelling, text)
        return text
    if kind == "version":
        if flag.name == "version" and re.match(_VERSION_NAME, text.strip()):
            return text.strip()  # an exact version may be a name: CM recipes declare `versions: {main: ...}`
        if not re.match(_VERSION, text.strip()):
            raise UsageError(f"{flag.spelling}={text}: not a version", hint=f"a version starts with a digit, e.g. {flag.spelling}=3.10")
        return text.strip()
    return text


def _nearest(word: str, known: Iterable[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def validate(spec: ActionSpec, i: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A copy of ``i`` with every declared flag converted to its type and aliases folded into its key
    (``json``/``-j`` into ``j``, ``silent`` into ``quiet``). Undeclared flags are recipe inputs when
    the action takes them (each one value, never a list), otherwise a usage error."""
    table = spec.lookup()
    out: dict[str, Any] = {}
    for raw_key, value in i.items():
        if raw_key in POSITIONAL_KEYS:
            out[raw_key] = value
            continue
        key = str(raw_key)
        flag = table.get(key.replace("-", "_"))
        if flag is None:
            cm = cm_engine_flag(key)
            if cm and not spec.recipe_inputs:
                raise UsageError(cm[0], hint=cm[1])
            if spec.recipe_inputs:
                out[key] = _recipe_input(key, value)
                continue
            names = {f.key: f.spelling for f in spec.all_flags()}
            names.update({a.replace("-", "_"): f.spelling for f in spec.all_flags() for a in f.aliases if len(a) > 1})
            near = _nearest(key.replace("-", "_"), names)
            raise UsageError(f"{where} has no flag --{key}",
                             hint=f"did you mean {names[near]}?" if near else f"see `{where} -h`")
        target = _CANONICAL.get(flag.key, flag.key)
        converted = convert(flag, value)
        if flag.kind in ("env", "patch", "map") and isinstance(out.get(target), dict):
            merged = dict(out[target])
            for k, v in converted.items():
                merged[k] = {**merged[k], **v} if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
            converted = merged
        out[target] = converted
    return out


def _recipe_input(key: str, value: Any) -> Any:
    """A recipe input is one value: ``--name,=a,b`` (a list) or ``--name.x=1`` would reach the env as a repr."""
    if isinstance(value, list):
        raise UsageError(f"--{key} is a recipe input and takes one value, got a list ({','.join(map(str, value))})",
                         hint=f"pass the text itself: --{key}={','.join(map(str, value))}")
    if isinstance(value, dict):
        raise UsageError(f"--{key} is a recipe input and takes one value, got nested keys --{key}.{next(iter(value), '')}",
                         hint="nested flags are --env.K=V, --const.K=V, --adr.NAME.FIELD=V and --ad.NAME.FIELD=V")
    return value


def spec_keys(spec: ActionSpec) -> set[str]:
    """The input-dict keys a validated input can hold for ``spec``'s own flags (not recipe inputs)."""
    return {_CANONICAL.get(f.key, f.key) for f in spec.all_flags()} | set(POSITIONAL_KEYS)


def nearest(word: str, known: Iterable[str]) -> str | None:
    """The closest of ``known`` to ``word`` (difflib), for did-you-mean hints."""
    return _nearest(word, known)


def check_env_value(field: str, key: str, value: Any) -> None:
    """``--env.K,=a,b`` gives a list: only a ``+KEY`` holds one (any other key would reach the script as
    a Python repr)."""
    if isinstance(value, list) and not key.startswith("+"):
        text = ",".join(str(x) for x in value)
        raise UsageError(f"--{field}.{key} takes one value, got a list ({text})",
                         hint=f"pass the text itself: --{field}.{key}={text} (a list goes in a +KEY: --{field}.+{key},={text})")


def unknown_input(exc: UnknownInputError, flags: Iterable[Flag]) -> UsageError:
    """What to raise for a recipe input the command line gave and the recipe lacks, in an action taking
    recipe inputs (``flags``: its own): a CM engine flag says cmx does not support it; a near miss of one
    of ``flags`` gets it as its did-you-mean hint (``exc`` itself is returned then, its hint set)."""
    cm = cm_engine_flag(exc.flag)
    if cm:
        return UsageError(f"{cm[0]} (and recipe '{exc.recipe}' has no input --{exc.flag})", hint=cm[1])
    names = {f.key: f.spelling for f in flags}
    near = _nearest(exc.flag, names)
    if near and not exc.hint:
        exc.hint = f"did you mean the cmx flag {names[near]}?"
    return exc


__all__ = ["Flag", "ActionSpec", "declare", "spec_of", "validate", "convert", "parse_duration", "cm_engine_flag",
           "COMMON_FLAGS", "CM_ENGINE_FLAGS", "KINDS", "spec_keys", "nearest", "unknown_input", "check_env_value"]
