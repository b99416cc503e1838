"""The plain-selector shortcut of ``cmx.selector`` gives what the general parser gives."""

import re

import pytest

from cmx import selector as sel
from cmx.errors import SelectorSyntaxError

CASES = ["detect,os", "get,bench-lib,lib-001-002,_fp16", "a.b,c+d,e_f", "_x", "x,_a-b,_c+d", "python3.10",
         "get,model,_model.Hf/x", "a,-b", "a,_-x", "a b", " a,b ", "a,,b", ",a", "a,", "a,_", "", "a,b$c",
         "lib_x,get", "a_,b__c", "_v_w,a_b", "a,b,_c_d", "repo:a,b", "r_1:a_b,_v"]


def _general(text):
    saved = sel._PLAIN_RE
    sel._PLAIN_RE = re.compile(r"(?!)")  # never matches: the token loop decides
    try:
        return sel._parse(text)
    finally:
        sel._PLAIN_RE = saved


def _outcome(fn, text):
    try:
        return fn(text)
    except SelectorSyntaxError as exc:
        return ("error", str(exc))


@pytest.mark.parametrize("text", CASES)
def test_plain_shortcut_agrees_with_the_general_parser(text):
    assert _outcome(sel._parse, text) == _outcome(_general, text)


def test_shortcut_is_taken_for_plain_selectors():
    assert sel._PLAIN_RE.fullmatch("get,bench-lib,lib-001-002,_fp16")
    assert not sel._PLAIN_RE.fullmatch("a,-b") and not sel._PLAIN_RE.fullmatch("_a.b")


@pytest.mark.parametrize("text", ["get,lib_x,l00", "a,_v", "_v", "x_y"])
def test_shortcut_selector_is_an_ordinary_selector(text):
    made = sel._parse(text)
    built = sel.Selector(made.tags, made.not_tags, made.variations, made.not_variations, made.text, made.repo)
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert {made: 1}[built] == 1
