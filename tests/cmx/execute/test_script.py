
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


def test_a_value_holding_a_secret_reaches_the_script_by_env_and_the_log_masked(tmp_path):
    run = tmp_path / "run.sh"
    run.write_text('echo "url=$U"\necho "pw=${U#*:}"\necho "OUT=$U" >> tmp-run-env.out\n')
    env = {"U": "https://user:pw-sekrit@h.example/f?token=tk-sekrit"}
    text, secrets = script.render(run, tmp_path, env, "t")
    assert "sekrit" not in text and secrets == env
    masker = script.Masker.for_env(env)
    assert script.run(text, tmp_path, secrets, tmp_path / "log", None, masker) == 0
    out_env, _ = script.read_outputs(tmp_path)
    assert out_env["OUT"] == env["U"]  # the script saw the real value
    script.mask_outputs(tmp_path, masker)
    for name in ("log", "tmp-run-env.out", "tmp-run.sh"):
        assert "sekrit" not in (tmp_path / name).read_text(), name
    assert "url=https://user:***@h.example/f?token=***" in (tmp_path / "log").read_text()
