"""What cm and mlc read without complaint in a CM/MLC repository is read by cmx too, with a note (not
the recipe refused): a tag with a space, a duplicate key, ``'true,'`` for a boolean, a dependency
entry without tags, an ``adr`` entry that is no dependency update. A true syntax error stays an error
at file:line (docs/compat.md#meta-files-read-loosely)."""

from __future__ import annotations

from pathlib import Path

from tests.compat.fixtures import CM_LENIENT, write_repo


def test_what_cm_reads_without_complaint_runs_with_notes(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "cmlenient", CM_LENIENT)
    assert cmx("add", "repo", str(root)).code == 0
    broken = cmx("find", "script", "--show-broken", "-j").json["broken"]
    assert broken == []
    res = cmx("run", "script", "--tags=cmlenient:say,greeting", "-j")
    assert res.code == 0, res.err
    # the last `env` counts; the `'true,'` default variation is chosen; the entry without tags is skipped
    assert res.json["new_env"] == {"CM_GREETING_TEXT": "good day, world (loud)", "CM_GREETING_WHO": "world",
                                   "CM_GREETING_VOLUME": "loud"}
    shown = cmx("show", "script", "cmlenient:say-greeting")
    assert shown.code == 0, shown.err
    meta = root / "script" / "say-greeting" / "_cm.yaml"
    for note in ("line 6: tag 'good day' cannot be named in a selector",
                 "line 10: duplicate key 'env' (first defined on line 8): the last one is read",
                 "line 14: post_deps/0 has no tags; skipped",
                 "line 20: variations/loud/default: 'true,' read as true",
                 "line 24: variations/loud/adr/loud-description is not a mapping of dependency keys; ignored"):
        assert f"note: {note}" in shown.out, (note, shown.out, meta)
    # its other tags select it; `good day` in a selector is the two tags good and day (none has them)
    found = cmx("find", "script", "--tags=say,greeting", "-j").json["list"]
    assert [r["alias"] for r in found] == ["say-greeting"]
    assert "good day" not in found[0]["tags"]


def test_a_dependency_after_a_skipped_entry_keeps_its_line(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "cmlenient", CM_LENIENT)
    assert cmx("add", "repo", str(root)).code == 0
    res = cmx("run", "script", "cmlenient:say-nothing", "--dry-run")
    assert res.code == 2
    # `- tags: say,nosuch` on line 7, now post_deps/0 (the entry on line 6 has no tags)
    assert f"no recipe has all the tags say,nosuch (asked by {root / 'script' / 'say-nothing' / '_cm.yaml'}:7)" \
        in res.err, res.err


def test_a_true_syntax_error_is_still_an_error_at_its_line(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "cmlenient", {**CM_LENIENT, "script/bad-yaml/_cm.yaml": """
        alias: bad-yaml
        uid: 9a5b2c3d4e5f6a03
        tags: [bad, yaml
        """})
    assert cmx("add", "repo", str(root)).code == 0
    res = cmx("run", "script", "cmlenient:bad-yaml")
    assert res.code == 2
    assert f"{root / 'script' / 'bad-yaml' / '_cm.yaml'}:" in res.err and "invalid YAML" in res.err, res.err
    assert "Traceback" not in res.err
