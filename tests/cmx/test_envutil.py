from cmx import envutil


def test_plus_keys_append_unique():
    env = {"+PATH": ["/a"]}
    envutil.merge_env(env, {"+PATH": ["/b", "/a"], "X": "1"})
    assert env == {"+PATH": ["/a", "/b"], "X": "1"}


def test_only_missing_keeps_existing():
    env = {"X": "user"}
    envutil.merge_env(env, {"X": "default", "Y": "d"}, only_missing=True)
    assert env == {"X": "user", "Y": "d"}


def test_conditions_follow_cm_truthiness():
    dep = {"enable_if_env": {"GPU": ["yes"]}}
    assert envutil.dep_enabled(dep, {"GPU": "on"})
    assert envutil.dep_enabled(dep, {"GPU": "1"})
    assert not envutil.dep_enabled(dep, {"GPU": "no"})
    assert not envutil.dep_enabled(dep, {})
    assert envutil.dep_enabled({"skip_if_env": {"X": ["no"]}}, {"X": "yes"})
    assert not envutil.dep_enabled({"skip_if_env": {"X": ["no"]}}, {})
    assert envutil.dep_enabled({"enable_if_any_env": {"A": ["yes"], "B": ["yes"]}}, {"B": "true"})
    assert not envutil.dep_enabled({"enable_if_env": {"A": ["yes"], "B": ["yes"]}}, {"B": "true"})
    assert envutil.dep_enabled({"enable_if_env": {"OS": ["linux", "darwin"]}}, {"OS": "darwin"})


def test_new_env_keys_wildcards():
    env = {"CMX_A": 1, "CMX_B": 2, "OTHER": 3, "+PATH": ["x"]}
    assert envutil.select_new_env(env, ["CMX_*", "+PATH"]) == {"CMX_A": 1, "CMX_B": 2, "+PATH": ["x"]}


def test_secrets_are_recognised():
    for name in ("HF_TOKEN", "GH_TOKEN", "OPENAI_API_KEY", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY"):
        assert envutil.is_secret(name)
    for name in ("CMX_TOKENIZER_PATH", "CMX_MAX_OUTPUT_TOKENS", "TOKENS_PER_SECOND"):
        assert not envutil.is_secret(name)
    assert envutil.scrub({"HF_TOKEN": "x", "A": "1"}) == {"A": "1"}


def test_secrets_inside_values_are_masked():
    assert envutil.redact('["--env.HF_TOKEN=sekrit", "--samples=8"]') == '["--env.HF_TOKEN=***", "--samples=8"]'
    assert envutil.redact('{"api_key": "sekrit", "model": "m"}') == '{"api_key": "***", "model": "m"}'
    assert envutil.redact("GH_TOKEN=sekrit MAX_TOKENS=8") == "GH_TOKEN=*** MAX_TOKENS=8"
    assert envutil.public_inputs({"hf_token": "x", "env": {"A": "1", "DB_PASSWORD": "p"}, "args": ["--password=z"]}) \
        == {"env": {"A": "1"}, "args": ["--password=***"]}


def test_placeholders():
    assert envutil.substitute("<<<A>>>/x", {"A": "/base"}) == "/base/x"
    assert envutil.substitute(["<<<MISSING>>>"], {}) == ["<<<MISSING>>>"]
