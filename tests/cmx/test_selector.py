import pytest

from cmx.errors import SelectorSyntaxError
from cmx.selector import parse, split_repo


def test_tags_variations_and_exclusions():
    s = parse("detect,os,_cuda,_batch_size.8,-_x,-gpu")
    assert s.tags == ("detect", "os")
    assert s.variations == ("cuda", "batch_size.8")
    assert s.not_variations == ("x",)
    assert s.not_tags == ("gpu",)


def test_spaces_separate_like_cm_positional():
    assert parse("detect os").tags == ("detect", "os")


def test_dynamic_value_may_hold_urls_and_slashes():
    s = parse("get,model,_model.HuggingFaceTB/SmolLM2-135M,_url.https://x.org/a.tar.gz")
    assert "model.HuggingFaceTB/SmolLM2-135M" in s.variations
    assert "url.https://x.org/a.tar.gz" in s.variations


def test_cm_alternative_exclusion_form():
    assert parse("a,_-x").not_variations == ("x",)


@pytest.mark.parametrize("text", ["a,,b", ",a", "a,", "a,_", "a,_.x", "a,b$c"])
def test_bad_selectors_point_at_the_token(text):
    with pytest.raises(SelectorSyntaxError) as err:
        parse(text)
    assert "^" in str(err.value)


def test_canonical_is_order_independent():
    assert parse("b,a,_y,_x").canonical() == parse("a,b,_x,_y").canonical()


def test_unicode_tags_parse_in_nfc():
    import unicodedata

    s = parse(unicodedata.normalize("NFD", "détecter") + ",検出,_vär")
    assert s.tags == ("détecter", "検出") and s.variations == ("vär",)


def test_a_repository_qualifier():
    s = parse("mlperf:detect,os,_x")
    assert (s.repo, s.tags, s.variations) == ("mlperf", ("detect", "os"), ("x",))
    assert s.canonical() == "mlperf:detect,os,_x"
    assert s.with_variations(("y",)).repo == "mlperf"
    assert parse("get,_url.https://x.org/a").repo == ""  # a ':' in a variation value is no qualifier
    assert parse("detect,os").repo == ""
    # CM's repository aliases (cmr.yaml of mlcommons/cm4mlops), as `cmx add repo` registers them
    cm = parse("mlcommons@cm4mlops:detect,os")
    assert (cm.repo, cm.tags) == ("mlcommons@cm4mlops", ("detect", "os"))
    assert split_repo("mlcommons@cm4mlops:detect-os") == ("mlcommons@cm4mlops", "detect-os")
