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


def test_secret_shapes_inside_values():
    assert envutil.redact("--env.X=HF_TOKEN=sekrit") == "--env.X=HF_TOKEN=***"  # nested assignment
    assert envutil.redact("--adr.X.env.HF_TOKEN=sekrit") == "--adr.X.env.HF_TOKEN=***"
    assert envutil.redact("https://h/f?token=sekrit&a=1") == "https://h/f?token=***&a=1"
    assert envutil.redact("https://h/f?a=1&sig=s1&X-Amz-Signature=s2&key=k#x") == \
        "https://h/f?a=1&sig=***&X-Amz-Signature=***&key=***#x"
    assert envutil.redact("git clone https://user:sekrit@h/r.git") == "git clone https://user:***@h/r.git"
    for plain in ("https://h:8080/a@b", "ssh://git@github.com/r", "MAX_TOKENS=8", "key=1", "x@y.z"):
        assert envutil.redact(plain) == plain and not envutil.holds_secret(plain)
    assert envutil.secret_parts("https://u:pw1@h/?token=t2") == ["pw1", "t2"]
    assert envutil.holds_secret({"adr": {"x": {"env": {"HF_TOKEN": "v"}}}})
    assert envutil.holds_secret(["run", "--url=https://u:p@h"]) and not envutil.holds_secret({"a": ["b"]})
    assert envutil.redact_env({"U": "https://u:pw@h"}) == {"U": "https://u:***@h"}


def test_masker_hides_known_values_and_shapes():
    m = envutil.Masker.for_env({"HF_TOKEN": "hf_abcdef", "U": "https://u:pw12345@h/", "SHORT_TOKEN": "ab", "A": "1"})
    assert m.values == ["hf_abcdef", "pw12345"]  # values shorter than 4 characters are not searched for
    assert m.data(b"token hf_abcdef, password pw12345, ab\n") == b"token ***, password ***, ab\n"
    assert m.text("GH_TOKEN=zzzz from https://v:q@h") == "GH_TOKEN=*** from https://v:***@h"
    assert m.data(b"\xff\xfe binary hf_abcdef") == b"\xff\xfe binary ***"
