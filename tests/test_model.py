"""The model's shared rules: what a slug is, how a title becomes one, currency symbols."""

from __future__ import annotations

import pytest

from printshop.load import _suggest_slug
from printshop.model import SLUG_MAX, format_money, is_slug, slug_from
from printshop.synthetic import slug_of

WORDS = " ".join(f"word{n}" for n in range(30))  # 'word0 word1 ... word29': 178 characters


@pytest.mark.parametrize("text, slug", [
    ("Junior AI/ML Model Training Assistant", "junior-ai-ml-model-training-assistant"),
    ("Chargé de Mission Transformation Numérique", "charge-de-mission-transformation-numerique"),
    ("Straße", "strasse"),
    ("ﬁnance Ⅳ", "finance-iv"),
    ("  --Editor's Pick: (Q3)!--  ", "editor-s-pick-q3"),
    ("bad_name.v2", "bad-name-v2"),
    (WORDS, "-".join(WORDS.split()[:13])),  # whole words, at most SLUG_MAX characters
    ("x" * 100, "x" * SLUG_MAX),
    ("Σύμβουλος", "role"),  # nothing Latin left: the fallback
    ("", "role"),
    ("!?", "role"),
])
def test_slug_from_a_title(text, slug):
    assert slug_from(text) == slug
    assert is_slug(slug)


def test_slug_from_keeps_whole_words_up_to_the_limit():
    slug = slug_from(WORDS)
    assert len(slug) <= SLUG_MAX < len(slug + "-word13")


def test_what_is_a_slug():
    assert is_slug("a") and is_slug("sdet-2") and is_slug("x" * SLUG_MAX)
    for value in ("", "x" * (SLUG_MAX + 1), "Upper", "a--b", "-a", "a-", "a_b", "é",
                  "abc\n", "a b"):
        assert not is_slug(value), value


def test_every_slug_maker_is_slug_from():
    assert slug_of("Global Head of Data Analyst XIV") == "global-head-of-data-analyst-xiv"
    assert _suggest_slug("Über Boss") == "uber-boss"
    assert _suggest_slug("___") == "my-role"


def test_amounts_print_with_their_symbol_or_their_code():
    assert format_money(146027, "USD") == "$146,027"
    assert format_money(16.5, "EUR") == "€16.50"
    assert format_money(1200, "CHF") == "CHF 1,200"
