import pytest

from cmx.cli.flags import parse_argv
from cmx.errors import UsageError


def test_cm_style_flags():
    i = parse_argv(["run", "script", "--tags=a,b", "--env.X=1", "--adr.python.version_min=3.9", "--new",
                    "--skip-cache", "--list,=a,b", "-jv", "--jobs", "3", "--lock", "f.json"])
    assert i["action"] == "run" and i["automation"] == "script"
    assert i["env"] == {"X": "1"} and i["adr"] == {"python": {"version_min": "3.9"}}
    assert i["new"] is True and i["skip_cache"] is True and i["list"] == ["a", "b"]
    assert i["j"] and i["v"] and i["jobs"] == "3" and i["lock"] == "f.json"


def test_positional_artifacts():
    i = parse_argv(["run", "script", "detect", "os"])
    assert i["artifacts"] == ["detect", "os"]


def test_input_file(tmp_path):
    f = tmp_path / "in.json"
    f.write_text('{"tags": "detect,os", "env": {"A": "1"}}')
    assert parse_argv(["run", "script", f"@{f}"])["env"] == {"A": "1"}
    with pytest.raises(UsageError):
        parse_argv(["run", "script", f"@{tmp_path}/missing.json"])


def test_bad_flags():
    with pytest.raises(UsageError):
        parse_argv(["--env..X=1"])
    with pytest.raises(UsageError):
        parse_argv(["--env=1", "--env.X=2"])
