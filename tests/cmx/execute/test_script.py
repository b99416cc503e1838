
from cmx.execute import script


def test_render_quotes_values_and_keeps_secrets_out(tmp_path):
    run = tmp_path / "run.sh"
    run.write_text('printf "%s\\t%s\\t%s\\n" "$A" "$PATH" "$HF_TOKEN" > out.txt\n')
    env = {"A": "$(echo hi) `x` 'q' \"d\" ; & |", "+PATH": ["/opt/a b", "/opt/c"], "HF_TOKEN": "s3cret", "bad-name": 1}
    text, secrets = script.render(run, tmp_path, env, "test")
    assert "s3cret" not in text and secrets == {"HF_TOKEN": "s3cret"}
    assert "invalid name" in text
    code = script.run(text, tmp_path, secrets, tmp_path / "log", None)
    assert code == 0
    a, path, token = (tmp_path / "out.txt").read_text().rstrip("\n").split("\t")
    assert a == env["A"] and path.startswith("/opt/a b:/opt/c:") and token == "s3cret"


def test_real_exit_codes_and_signals(tmp_path):
    run = tmp_path / "run.sh"
    run.write_text("exit 3\n")
    text, _ = script.render(run, tmp_path, {}, "t")
    assert script.run(text, tmp_path, {}, tmp_path / "log", None) == 3
    run.write_text("kill -9 $$\n")
    text, _ = script.render(run, tmp_path, {}, "t")
    code = script.run(text, tmp_path, {}, tmp_path / "log", None)
    assert code == -9 and script.describe_exit(code) == "killed by signal SIGKILL"


def test_outputs(tmp_path):
    (tmp_path / "tmp-run-env.out").write_text("A=1\n+P=x\n+P=y\n# c\nB=a=b\n")
    (tmp_path / "tmp-run-state.json").write_text('{"s": 1}')
    env, state = script.read_outputs(tmp_path)
    assert env == {"A": "1", "+P": ["x", "y"], "B": "a=b"} and state == {"s": 1}
