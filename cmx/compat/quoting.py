"""What a CM/MLC recipe's run script sees of an env value: cm and mlc write each value into their
``tmp-run.sh`` as ``export KEY="VALUE"``, so bash reads it inside double quotes. Recipes rely on that:
cm4mlops' ``benchmark-program`` sets ``CM_RUN_CMD`` to ``... ; echo \\${PIPESTATUS[0]} > exitstatus``
and its ``run.sh`` evals the command, which must write the exit status, not the text
``${PIPESTATUS[0]}``.

``double_quoted`` gives that reading without running a shell: the backslash escapes of double quotes
(``\\$``, ``\\```, ``\\"``, ``\\\\``, a backslash before a newline) and ``$NAME``/``${NAME}`` from the
variables set at that point. Nothing in a value is executed: ``$(...)``, backquotes, ``$((...))`` and
the other ``${...}`` forms stay as written (bash would run or evaluate them; docs/compat.md).
"""

from __future__ import annotations

import re
from typing import Mapping

_PARAM = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_ESCAPED = frozenset('$`"\\')


def double_quoted(value: str, variables: Mapping[str, str]) -> str:
    """``value`` as bash reads ``"value"``, with ``variables`` for ``$NAME`` (unset: empty)."""
    if "\\" not in value and "$" not in value:
        return value
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c == "\\" and i + 1 < n and (value[i + 1] in _ESCAPED or value[i + 1] == "\n"):
            if value[i + 1] != "\n":  # a backslash before a newline joins the lines
                out.append(value[i + 1])
            i += 2
            continue
        if c == "$":
            m = _PARAM.match(value, i)
            if m:
                out.append(variables.get(m.group(1) or m.group(2), ""))
                i = m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)
