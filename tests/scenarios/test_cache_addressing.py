"""Issue 11, cache addressing: entries by key prefix, rows that tell entries apart, run folders."""

from __future__ import annotations

HELLO = ("run", "script", "--tags=print,hello-world")


def test_show_and_rm_by_the_key_prefix_show_prints(cmx, home):
    a = cmx(*HELLO, "--name=ann", "-j").json
    b = cmx(*HELLO, "--name=bob", "-j").json
    listing = cmx("show", "cache").out
    prefix = a["key"][:12]
    assert prefix in listing
    shown = cmx("show", "cache", prefix, "-j")
    assert shown.code == 0 and [r["key"] for r in shown.json] == [a["key"]]
    missing = cmx("show", "cache", "ffff0000ffff")
    assert missing.code == 2 and "no cache entry has a key starting with 'ffff0000ffff'" in missing.err
    assert cmx("rm", "cache", prefix).code == 2  # -f still needed
    removed = cmx("rm", "cache", prefix, "-f", "-j")
    assert removed.code == 0 and removed.json["removed"] == [a["key"]]
    assert [r["key"] for r in cmx("show", "cache", "--tags=print", "-j").json] == [b["key"]]


def test_an_ambiguous_prefix_lists_the_candidates(cmx, home):
    from cmx.cache.store import Store
    from cmx.home import Home

    store = Store(Home(home))
    keys = ["abcd1" + "0" * 59, "abcd2" + "0" * 59]
    for k in keys:  # two real entries whose keys share 4 digits
        store.publish(k, store.new_build_dir(k), {"alias": "twin", "created": 0})
    out = cmx("rm", "cache", "abcd", "-f")
    assert out.code == 2 and "ambiguous" in out.err and keys[0][:16] in out.err and keys[1][:16] in out.err
    assert [r["key"] for r in cmx("show", "cache", "abcd", "-j").json] == keys  # show lists both
    assert cmx("rm", "cache", "abcd2", "-f", "-j").json["removed"] == [keys[1]]


def test_rows_show_what_tells_entries_of_one_recipe_apart(cmx, home):
    for name in ("ann", "bob"):
        cmx(*HELLO, f"--name={name}")
    cmx(*HELLO, "--name=ann", "--greeting=Hi")
    cmx("run", "script", "--tags=print,hello-world,_json")
    rows = [r for r in cmx("show", "cache", "--tags=print", "-j").json]
    text = [r for r in rows if r["variations"] == ["text"]]
    assert len(text) == 3
    differs = [r["differs"] for r in text]
    assert {d.get("env.CMX_HELLO_NAME") for d in differs} == {"ann", "bob"}
    assert {d.get("env.CMX_HELLO_GREETING") for d in differs} == {"Hello", "Hi"}
    assert [r["differs"] for r in rows if r["variations"] == ["json"]] == [{}]  # alone in its group
    printed = cmx("show", "cache", "--tags=print").out
    lines = [line.split("  ", 1)[1].rsplit("  ", 1)[0] for line in printed.splitlines() if "_text" in line]  # no key, path
    assert len(lines) == 3 and len(set(lines)) == 3
    assert any(line.endswith(" CMX_HELLO_GREETING=Hi CMX_HELLO_NAME=ann") for line in lines), lines
    assert all("--name" not in line for line in lines)  # the input is the env shown
