"""Help pages: the usage, one page per action (from its declared flags), and the shipped docs.

``cmx help`` prints the usage; ``cmx help ACTION [AUTOMATION]`` (same as
``cmx ACTION AUTOMATION -h``) an action's page; ``cmx help TOPIC`` prints one of
the docs shipped with cmx (``cmx help docs`` lists them with their paths).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable

USAGE = """usage: cmx ACTION AUTOMATION [ARTIFACT] [--flags]

  cmx run script --tags=detect,os [-j] [--dry-run] [--jobs N] [--env.K=V] [--new]
  cmx explain script --tags=...        why each node will (re)build
  cmx find script --tags=...           cmx show script NAME      cmx test script NAME
  cmx show cache [--tags=...] [-j]     cmx rm cache --tags=... -f      cmx gc cache [--older-than=7d]
  cmx add repo PATH    cmx pull repo [URL] [--branch=B]    cmx rm repo NAME    cmx list repo

  -j JSON on stdout   -v verbose   -q quiet   --dry-run / -n plan only   -h help of an action
  cmx ACTION AUTOMATION -h     an action's flags and an example (also: cmx help run script)
  cmx completion bash|zsh      a shell completion script (see `cmx help user-guide`)
  exit codes: 0 done, 1 a recipe failed or nothing found, 2 bad input, 130 interrupted"""


def docs_dir() -> Path:
    """The docs shipped with cmx: next to the built-in recipes (a checkout's docs/, or the wheel's copy)."""
    from cmx.home import Home

    return Home.builtin_scripts().parent / "docs"


def usage() -> str:
    guide = docs_dir() / "user-guide.md"
    where = str(guide) if guide.is_file() else "docs/user-guide.md of the cmx sources"
    return f"{USAGE}\n  docs: {where}   (or: cmx help user-guide; cmx help docs lists all)"


def topics() -> dict[str, Path]:
    folder = docs_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.md"))}


def _wrap(text: str, indent: int, width: int = 100) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width - indent) or [""]


def action_help(action: str, automation: str, fn: Callable[..., Any]) -> str:
    """The page of ``cmx ACTION AUTOMATION -h``: summary, flags (from the declared table), an example."""
    from cmx.flagspec import spec_of

    spec = spec_of(fn)
    if spec is None:  # an action that declares no table yet: its docstring
        return f"usage: cmx {action} {automation} [--flags]\n\n{inspect.getdoc(fn) or '(no description)'}"
    lines = [f"usage: cmx {action} {automation}{' ' + spec.args if spec.args else ''} [--flags]", "", spec.summary]
    if spec.details:
        lines += ["", *spec.details.strip("\n").splitlines()]
    rows = [(f.usage(), f.help + (f"  (e.g. {f.example})" if f.example else "")) for f in spec.flags]
    if spec.recipe_inputs:
        rows.append(("--NAME=VALUE", f"any other flag is an input of the selected recipe "
                                     f"(its inputs: `cmx show script NAME`)"))
    common = [(f.usage(), f.help) for f in spec.all_flags()[len(spec.flags):]]
    width = min(34, max(len(r[0]) for r in rows + common) + 2)
    for title, table in (("flags:", rows), ("common flags:", common)):
        if not table:
            continue
        lines += ["", title]
        for left, text in table:
            wrapped = _wrap(text, width + 2)
            if len(left) + 2 > width:
                lines.append(f"  {left}")
                lines += [" " * (width + 2) + w for w in wrapped]
            else:
                lines.append(f"  {left.ljust(width)}{wrapped[0]}")
                lines += [" " * (width + 2) + w for w in wrapped[1:]]
    if spec.example:
        lines += ["", "example:", *(f"  {e}" for e in spec.example.splitlines())]
    return "\n".join(lines)


def help_command(words: list[str]) -> tuple[str, int]:
    """``cmx help [ACTION [AUTOMATION] | TOPIC | docs]``: (text, exit code)."""
    if not words:
        return usage(), 0
    docs = topics()
    if words[0] == "docs" and len(words) == 1:
        if not docs:
            return "no docs are installed with this cmx", 1
        return "\n".join(f"  {name:<20} {path}" for name, path in docs.items()), 0
    if len(words) == 1 and words[0] in docs:
        return docs[words[0]].read_text(encoding="utf-8"), 0
    from cmx import automation
    from cmx.cli.dispatch import DEFAULT_AUTOMATION, resolve
    from cmx.errors import UsageError

    if len(words) == 1 and words[0] not in DEFAULT_AUTOMATION:
        actions = sorted({a for n in automation.names() for a in getattr(automation.load(n), "ACTIONS", {})})
        if words[0] not in actions:
            from cmx.flagspec import nearest

            near = nearest(words[0], [*docs, *actions])
            raise UsageError(f"no help topic '{words[0]}' (topics: {', '.join(docs) or 'none installed'}; "
                             f"actions: {', '.join(actions)})", hint=f"did you mean `cmx help {near}`?" if near else None)
    action, name = resolve({"action": words[0], "automation": words[1] if len(words) > 1 else None})
    return action_help(action, name, automation.action(name, action)), 0
