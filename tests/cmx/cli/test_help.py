"""Every action has a real help page (from its declared flags), reachable as -h after the action."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cmx import automation
from cmx.cli.help import action_help, docs_dir, help_command, usage
from cmx.errors import UsageError
from cmx.flagspec import spec_of

PAIRS = [(a, n) for n in automation.names() for a in getattr(automation.load(n), "ACTIONS", {})]


@pytest.mark.parametrize("action,name", PAIRS)
def test_every_action_declares_its_flags_help_and_an_example(action, name):
    fn = automation.action(name, action)
    spec = spec_of(fn)
    assert spec is not None, f"cmx {action} {name} declares no flags (@declare)"
    assert spec.summary and spec.example.startswith("cmx ")  # actions sharing a function (find/list = show) share it
    page = action_help(action, name, fn)
    assert "(no description)" not in page and f"usage: cmx {action} {name}" in page and "example:" in page
    for flag in spec.flags:
        assert flag.help, f"--{flag.name} of cmx {action} {name} has no help"
        assert flag.spelling in page


def test_dash_h_after_the_action_and_help_topics(cmx):
    for args in (("run", "script", "-h"), ("run", "-h"), ("gc", "cache", "--help"), ("help", "show", "cache")):
        res = cmx(*args)
        assert res.code == 0 and "usage: cmx" in res.out and "example:" in res.out, (args, res)
    res = cmx("run", "script", "-h")
    assert "--tags=TAGS" in res.out and "--jobs N" in res.out and "--NAME=VALUE" in res.out
    guide = cmx("help", "user-guide")
    assert guide.code == 0 and guide.out.startswith("# cmx user guide")
    bad = cmx("help", "usr-guide")
    assert bad.code == 2 and "did you mean `cmx help user-guide`" in bad.err


def test_the_usage_points_at_docs_that_exist():
    last = usage().splitlines()[-1]
    assert last.strip().startswith("docs: ")
    path = Path(last.split("docs: ", 1)[1].split()[0])
    assert path.is_file() and path == docs_dir() / "user-guide.md"
    text, code = help_command(["docs"])
    assert code == 0 and "user-guide" in text and str(docs_dir()) in text


def test_help_for_an_unknown_topic_is_a_usage_error():
    with pytest.raises(UsageError):
        help_command(["no-such-topic-at-all"])


def test_python_dash_m_cmx(home):
    proc = subprocess.run([sys.executable, "-m", "cmx", "--version"], capture_output=True, text=True, cwd=home)
    assert proc.returncode == 0 and proc.stdout.startswith("cmx ")
    proc = subprocess.run([sys.executable, "-m", "cmx", "find", "script", "--tags=detect,os"], capture_output=True,
                          text=True, cwd=home)
    assert proc.returncode == 0 and "detect-os" in proc.stdout


def test_the_experiment_declares_every_flag_it_consumes():
    from experiments.experiment import OWN

    spec = spec_of(automation.action("experiment", "run"))
    assert spec is not None
    from cmx.flagspec import spec_keys

    assert OWN - {"f", "fake_run", "json", "verbose"} <= spec_keys(spec)
