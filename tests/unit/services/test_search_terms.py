"""Search input → safe terms, and highlighting: pure functions, no database."""
from __future__ import annotations

import pytest
from markupsafe import Markup

from app.services.search.highlight import CLOSE, OPEN, from_marked, highlight, snippet
from app.services.search.terms import MAX_TERMS, parse_terms

NASTY = [
    '"', '""', "'", "*", "**", "-", "--", ":", "::", "^", "(", ")", "((a", "a))", "NEAR", "NEAR(a b, 3)",
    "a NEAR b", "AND", "OR", "NOT", "a AND b OR c NOT d", "-a -b", "subject:printer", "{subject}: x",
    "col:val*", "x*y", '"unterminated', "a'b\"c", "\\", "\\x00", "\x00", "%", "_", "%_%", "';--", "drop table x;",
    "<script>alert(1)</script>", "&amp;", "a:*", "a & b | !c", "a <-> b", "!!!", "ééé", "ß", "日本語", "🙂",
    " ", "\t\n", "a" * 300, "x " * 100, "+", "~", "@", "#1042", "1042", "a-b", "foo_bar", "NULL", "$1", "?",
]


def test_words_are_letters_and_digits_lower_cased():
    terms = parse_terms('Printer "ON" fire!')
    assert terms.words == ("printer", "on", "fire")
    assert terms.prefix


@pytest.mark.parametrize("text", NASTY)
def test_nasty_input_becomes_quoted_words_only(text):
    terms = parse_terms(text)
    for word in terms.words:
        assert word.isalnum(), word
    fts = terms.fts5()
    # every word quoted; nothing but quoted words, spaces and a final *
    assert fts.replace('"', "").replace("*", "").replace(" ", "").isalnum() or not fts
    assert fts.count('"') == 2 * len(terms.words)
    assert terms.tsquery().count("'") == 2 * len(terms.words)
    assert len(terms.words) <= MAX_TERMS


def test_last_word_is_a_prefix_unless_one_letter():
    assert parse_terms("refund rec").fts5() == '"refund" "rec"*'
    assert parse_terms("refund rec").tsquery() == "'refund' & 'rec':*"
    assert parse_terms("refund r").fts5() == '"refund" "r"'


def test_highlight_escapes_everything_and_marks_matches():
    terms = parse_terms("script printer")
    html = highlight('<script>alert("x")</script> the Printers & <b>printer</b>', terms)
    assert isinstance(html, Markup)
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;<mark>script</mark>&gt;" in html
    assert "<mark>Printers</mark>" in html  # prefix of the last word
    assert "&amp;" in html and "&lt;b&gt;<mark>printer</mark>&lt;/b&gt;" in html


def test_highlight_matches_without_case_or_accents():
    assert "<mark>Café</mark>" in highlight("Le Café est fermé", parse_terms("cafe x"))


def test_snippet_is_a_window_around_the_first_match():
    text = ("word " * 200) + "the needle is here " + ("tail " * 200)
    html = snippet(text, parse_terms("needle"))
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>needle</mark>" in html
    assert len(html) < 400


def test_snippet_without_a_match_is_the_start():
    assert snippet("**Hello** there", parse_terms("zzz")) == "Hello there"


def test_meilisearch_markers_become_marks_only_after_escaping():
    raw = f"<img src=x onerror=alert(1)> {OPEN}printer{CLOSE} & co"
    html = from_marked(raw)
    assert html == "&lt;img src=x onerror=alert(1)&gt; <mark>printer</mark> &amp; co"
    assert from_marked(f"{OPEN}unbalanced") == "unbalanced"
