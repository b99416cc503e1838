"""Shell completion: the script `cmx completion bash` prints, run by a real bash."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from cmx.cli.complete import candidates

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@pytest.fixture
def bash_complete(home, tmp_path):
    script = subprocess.run([sys.executable, "-m", "cmx", "completion", "bash"], capture_output=True, text=True,
                            check=True).stdout
    path = tmp_path / "cmx-completion.bash"
    path.write_text(script)

    def complete(line: str) -> list[str]:
        # what bash does on <Tab>: COMP_LINE/COMP_POINT set, COMP_WORDBREAKS its default, the function called
        program = (f'source "{path}"\nCOMP_LINE="$1"; COMP_POINT=${{#COMP_LINE}}\n'
                   'read -ra COMP_WORDS <<< "$COMP_LINE"; COMP_CWORD=${#COMP_WORDS[@]}\n'
                   '_cmx_complete\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
        proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", program, "bash", line], capture_output=True,
                              text=True, env={**os.environ, "CMX_HOME": str(home)}, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return [w for w in proc.stdout.splitlines() if w]

    return complete


def test_bash_completes_actions_automations_flags_tags_and_variations(bash_complete):
    assert {"run", "find", "gc", "help", "completion"} <= set(bash_complete("cmx "))
    assert bash_complete("cmx ru") == ["run"]
    assert bash_complete("cmx run ") == ["script"] or "script" in bash_complete("cmx run ")
    assert bash_complete("cmx gc cache --ol") == ["--older-than="]
    assert bash_complete("cmx run script --ta") == ["--tags="]
    # bash splits the word at '=': the reply is the part after it
    assert "detect-os" in bash_complete("cmx run script --tags=detect-")
    assert bash_complete("cmx run script --tags=detect,o") == ["detect,os"]
    variations = bash_complete("cmx run script --tags=print,hello-world,_")
    assert {"print,hello-world,_json", "print,hello-world,_text", "print,hello-world,_repeat."} <= set(variations)
    # the selected recipe's own input flags, next to the engine's
    assert {"--name=", "--new"} <= set(bash_complete("cmx run script --tags=print,hello-world --n"))
    assert bash_complete("cmx show script print-h") == ["print-hello-world"]
    assert bash_complete("cmx completion ") == ["bash", "zsh"]


def test_zsh_script_and_candidates_are_full_words(cmx):
    res = cmx("completion", "zsh")
    assert res.code == 0 and "compdef _cmx cmx" in res.out and "__complete zsh" in res.out
    assert candidates("cmx run script --tags=detect,o") == ["--tags=detect,os"]
    assert cmx("completion", "fish").code == 2


def test_the_callback_never_prints_an_error(cmx):
    res = cmx("__complete", "bash", "=:", "cmx run script --tags=\"unclosed")
    assert res.code == 0 and res.err == ""
    assert cmx("__complete", "nonsense").code == 2


@pytest.mark.skipif(shutil.which("zsh") is None, reason="needs zsh (apt-get install zsh)")
def test_zsh_function_adds_full_words(home, tmp_path):
    script = subprocess.run([sys.executable, "-m", "cmx", "completion", "zsh"], capture_output=True, text=True,
                            check=True).stdout
    path = tmp_path / "_cmx"
    path.write_text(script)

    def complete(line: str) -> list[str]:
        # outside a completion widget: a compadd that prints what it was given stands in for zsh's builtin
        program = ('compadd() { local a; for a in "$@"; do print -r -- "$a"; done }\n'
                   f'source "{path}"\nBUFFER="$1"; CURSOR=${{#BUFFER}}\n_cmx\n')
        proc = subprocess.run(["zsh", "-f", "-c", program, "zsh", line], capture_output=True, text=True,
                              env={**os.environ, "CMX_HOME": str(home)}, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return [w for w in proc.stdout.splitlines() if w not in ("-Q", "-U", "-S", "", "--")]

    assert "--tags=detect,os" in complete("cmx run script --tags=detect,o")
    assert "--older-than=" in complete("cmx gc cache --ol")
    assert "run" in complete("cmx ru")
