"""Shell completion: ``cmx completion bash|zsh`` prints a script whose function calls back
``cmx __complete SHELL ... LINE``, which prints the candidates one per line.

Candidates come from the actions' declared flags (cmx.flagspec), the recipe index
(tags, variations of the recipes the typed tags select, aliases, a selected
recipe's input flags) and the automations. The callback never prints an error:
a completion that cannot be computed is empty, and the shell falls back to file
names.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any

_BASH = r"""# bash completion for cmx. Load it with:  source <(cmx completion bash)
# or save it as ~/.local/share/bash-completion/completions/cmx
_cmx_complete() {
    local IFS=$'\n'
    COMPREPLY=($(%(cmd)s __complete bash "$COMP_WORDBREAKS" "${COMP_LINE:0:COMP_POINT}" 2>/dev/null))
    if [[ ${#COMPREPLY[@]} -eq 1 && "${COMPREPLY[0]}" == *[=.,] ]]; then
        compopt -o nospace 2>/dev/null
    fi
}
complete -o default -F _cmx_complete cmx
"""

_ZSH = r"""#compdef cmx
# zsh completion for cmx. Load it with:  source <(cmx completion zsh)
# or save it as _cmx in a folder of your $fpath
_cmx() {
    local -a cands
    cands=("${(@f)$(%(cmd)s __complete zsh "${BUFFER[1,CURSOR]}" 2>/dev/null)}")
    cands=(${cands:#})
    local -a spaced nospace
    nospace=(${(M)cands:#*[=.,]})
    spaced=(${cands:#*[=.,]})
    if (( ${#spaced} )); then compadd -Q -U -- $spaced; fi
    if (( ${#nospace} )); then compadd -Q -U -S '' -- $nospace; fi
}
if (( $+functions[compdef] )); then compdef _cmx cmx; fi
"""

ACTIONS_EXTRA = ("help", "completion")


def _self_command() -> str:
    """How the script calls back into this very cmx (the same interpreter, whatever the PATH)."""
    return f"{shlex.quote(sys.executable)} -m cmx"


def script_for(args: list[str]) -> tuple[str, int]:
    """``cmx completion bash|zsh``: (the script, exit code)."""
    from cmx.errors import UsageError

    shell = args[0] if args else ""
    if shell not in ("bash", "zsh") or len(args) > 1:
        raise UsageError("cmx completion bash|zsh: which shell?", hint="e.g. source <(cmx completion bash)")
    template = _BASH if shell == "bash" else _ZSH
    return template % {"cmd": _self_command()}, 0


def complete_command(args: list[str]) -> int:
    """``cmx __complete bash WORDBREAKS LINE`` or ``cmx __complete zsh LINE``: candidates, one a line."""
    try:
        if args and args[0] == "bash" and len(args) == 3:
            out = for_bash(args[2], args[1])
        elif args and args[0] == "zsh" and len(args) == 2:
            out = candidates(args[1])
        else:
            return 2
    except Exception:  # completion must never print a traceback into the user's prompt
        return 1
    if out:
        sys.stdout.write("\n".join(out) + "\n")
    return 0


def for_bash(line: str, wordbreaks: str) -> list[str]:
    """bash replaces only the part of the word after its last word-break character (``=`` or ``:``)."""
    words, cur = _split(line)
    cut = max((cur.rfind(c) for c in set(wordbreaks) - set(" \t\n\"'")), default=-1)
    return [c[cut + 1:] for c in candidates(line)]


def _split(line: str) -> tuple[list[str], str]:
    """(the complete words after the command name, the word being typed)."""
    try:
        words = shlex.split(line)
    except ValueError:  # an open quote: split on spaces
        words = line.split()
    if not line or line[-1].isspace():
        words.append("")
    return words[1:-1], words[-1] if words else ""


def candidates(line: str) -> list[str]:
    words, cur = _split(line)
    pos = [w for w in words if not w.startswith(("-", "@"))]
    # the value of a flag that takes the next word (--jobs 4, --lock FILE) is not a positional
    from cmx.flagspec import COMMON_FLAGS

    if not pos:
        return _prefixed(cur, _actions() + list(ACTIONS_EXTRA))
    action = pos[0]
    if action == "completion":
        return _prefixed(cur, ["bash", "zsh"]) if len(pos) == 1 else []
    if action == "help":
        from cmx.cli.help import topics

        return _prefixed(cur, sorted(set(_actions()) | set(topics()))) if len(pos) == 1 else []
    from cmx import automation
    from cmx.cli.dispatch import DEFAULT_AUTOMATION

    if len(pos) == 1 and not cur.startswith("-"):  # the automation word: every one that has this action
        return _prefixed(cur, [n for n in automation.names() if action in getattr(automation.load(n), "ACTIONS", {})])
    name = pos[1] if len(pos) > 1 else DEFAULT_AUTOMATION.get(action)
    if name not in automation.names():
        return []
    fn = getattr(automation.load(name), "ACTIONS", {}).get(action)  # only the automation typed is loaded
    if fn is None:
        return []
    from cmx.flagspec import spec_of

    spec = spec_of(fn)
    flags = list(spec.all_flags()) if spec else list(COMMON_FLAGS)
    previous = words[-1] if words else ""
    if any(previous == f.spelling and f.takes_next for f in flags):
        return []  # a value: let the shell complete file names
    if cur.startswith("--") and "=" in cur:
        flag_part, _, value = cur.partition("=")
        flag = next((f for f in flags if f.spelling == flag_part or f"--{f.key}" == flag_part), None)
        if flag is not None and flag.kind == "tags":
            return [f"{flag_part}={c}" for c in _tags(value)]
        if flag is not None and flag.kind == "bool":
            return []
        return []
    if cur.startswith("-"):
        out = []
        for f in flags:
            if f.kind == "bool":
                out.append(f.spelling)
            elif f.kind in ("env", "patch", "map"):
                out.append(f.spelling + ".")
            else:
                out.append(f.spelling + "=")
        if spec is not None and spec.recipe_inputs:
            out += [f"--{k}=" for k in _recipe_inputs(words)]
        return _prefixed(cur, sorted(set(out)))
    if name == "script" and len(pos) >= 2:
        return _prefixed(cur, sorted(_index().aliases()))
    return []


def _prefixed(cur: str, options: list[str]) -> list[str]:
    return [o for o in options if o.startswith(cur)]


def _actions() -> list[str]:
    from cmx import automation

    return sorted({a for n in automation.names() for a in getattr(automation.load(n), "ACTIONS", {})})


def _index() -> Any:
    from cmx.home import current_home
    from cmx.index import RecipeIndex

    return RecipeIndex.load(current_home())


def _tags(value: str) -> list[str]:
    """Completions of a --tags value: the last comma-separated token, given the tokens before it."""
    head, sep, partial = value.rpartition(",")
    typed = [t for t in head.split(",") if t] if sep else []
    plain = [t for t in typed if not t.startswith(("_", "-"))]
    index = _index()
    prefix = head + sep
    if partial.startswith("_"):
        seen: set[str] = set()
        for r in index.with_tags(plain):
            for v in (r.meta.get("variations") or {}):
                seen.add("_" + (v[:-1] if v.endswith("#") else v))
        options = sorted(seen)
    elif partial.startswith("-"):
        options = ["-" + t for t in sorted(index.all_tags())]
    elif plain:
        co: set[str] = set()
        for r in index.with_tags(plain):
            co.update(r.tags)
        options = sorted(co - set(plain))
    else:
        options = sorted(index.all_tags())
    return [prefix + o for o in options if o.startswith(partial)]


def _recipe_inputs(words: list[str]) -> list[str]:
    """Input flags of the recipe the typed --tags (or name) select: the first match's input_mapping."""
    tags = next((w.split("=", 1)[1] for w in words if w.startswith("--tags=")), None)
    if tags is None:
        return []
    plain = [t for t in tags.split(",") if t and not t.startswith(("_", "-"))]
    found = _index().with_tags(plain) if plain else []
    return sorted((found[0].meta.get("input_mapping") or {}) if found else [])
