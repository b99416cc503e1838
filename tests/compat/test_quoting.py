"""A CM/MLC recipe's run script gets each env value as bash reads it in the double quotes of cm's
``export KEY="VALUE"`` (cmx/compat/quoting.py), without anything in a value being run; the user's
--env beats a dependency's export, not what preprocess set (docs/recipe-format.md)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cmx.compat.quoting import double_quoted
from tests.compat.fixtures import CM_QUOTING, write_repo

VALUES = [
    "plain", r"echo \${PIPESTATUS[0]} > exitstatus", r"a\"b", r"back\\slash", r"tick\`x\`", "$HOME/x",
    "${HOME}y", "$NOPE_UNSET-z", "cost $ 5", r"keep \n and \q", "$1 and $? stay", "${X:-d} stays",
    "line\\\nnext",
]


@pytest.mark.parametrize("value", VALUES)
def test_double_quoted_reads_a_value_as_bash_does(value: str) -> None:
    # the values above hold no $(...), backquote or ${...} operator: bash only unescapes and expands them
    variables = {"HOME": "home-of-u"}
    if any(s in value for s in ("$1", "${X:-")):
        assert double_quoted(value, variables) == value  # bash would expand these; cmx keeps them
        return
    script = f'printf %s "{value}"'
    bash = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          env={"HOME": "home-of-u", "PATH": os.environ.get("PATH", "")}).stdout
    assert double_quoted(value, variables) == bash


def test_nothing_in_a_value_is_run() -> None:
    assert double_quoted("$(touch x) `id` $((1+1))", {}) == "$(touch x) `id` $((1+1))"


def test_a_cm_recipe_script_reads_values_as_cm_writes_them(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "cmquote", CM_QUOTING)
    assert cmx("add", "repo", str(root)).code == 0
    res = cmx("run", "script", "--tags=cmquote:wrap,cmd", "-j")
    assert res.code == 0, res.err
    out = res.json["new_env"]
    assert out["CM_WRAP_STATUS"] == "1"  # `false | cat; echo ${PIPESTATUS[0]}`: the status, not the text
    assert out["CM_WRAP_SEEN"] == "fromdep/sub"  # $CM_WRAP_BASE, exported before it (sorted, as cm)
    assert out["CM_WRAP_LITERAL"] == "$(touch ran-it)" and out["CM_WRAP_RAN"] == "no"
    # the exported value is the env's, as cm exports it
    assert out["CM_WRAP_CMD"] == r"false | cat; echo \${PIPESTATUS[0]} > exitstatus"


def test_the_users_env_beats_dependencies_but_not_preprocess(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "cmquote", CM_QUOTING)
    assert cmx("add", "repo", str(root)).code == 0
    res = cmx("run", "script", "--tags=cmquote:wrap,cmd", "--env.CM_WRAP_CMD=true", "--env.CM_WRAP_BASE=user", "-j")
    assert res.code == 0, res.err
    out = res.json["new_env"]
    # preprocess appended to the user's value, and it stands (docs/recipe-format.md "At run time") ...
    assert out["CM_WRAP_CMD"] == r"true | cat; echo \${PIPESTATUS[0]} > exitstatus" and out["CM_WRAP_STATUS"] == "0"
    # ... while a prehook dependency's export does not override the user's value
    assert out["CM_WRAP_SEEN"] == "user/sub"
