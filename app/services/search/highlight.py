"""Highlighted snippets: everything HTML-escaped (markupsafe), then the matched words in <mark>.

FTS5's own snippet() and Meilisearch's _formatted do not escape the text around
their markers, so neither is ever trusted as HTML: the SQL backend highlights the
stored text here, and Meilisearch is asked for private-use sentinel markers that
are turned into <mark> only after the text is escaped (the index never stores
those characters: app/repositories/search.index_text).
"""
from __future__ import annotations

import re
from typing import Callable

from markupsafe import Markup, escape

from app.services.search.terms import WORD, Terms

OPEN, CLOSE = "\ue000", "\ue001"
SNIPPET_CHARS = 220
_MARKDOWN_LINE = re.compile(r"(?m)^[ \t]*(?:#{1,6}|>+|[-*+]|\d+[.)])[ \t]+")
_MARKDOWN_INLINE = re.compile(r"\*\*|__|`+")
_SPACE = re.compile(r"\s+")


def plain(text: str | None) -> str:
    """Markdown reduced to one line of text for a snippet."""
    text = _MARKDOWN_LINE.sub("", text or "")
    return _SPACE.sub(" ", _MARKDOWN_INLINE.sub("", text)).strip()


def _marked(text: str, matches: Callable[[str], bool]) -> Markup:
    out, last = [], 0
    for m in WORD.finditer(text):
        if matches(m.group(0)):
            out += (escape(text[last:m.start()]), "<mark>", escape(m.group(0)), "</mark>")
            last = m.end()
    out.append(escape(text[last:]))
    return Markup("".join(out))  # every piece of text went through escape()


def highlight(text: str | None, terms: Terms) -> Markup:
    """The whole text, escaped, with every matched word in <mark>."""
    text = text or ""
    if not terms:
        return escape(text)
    return _marked(text, terms.matcher())


def snippet(text: str | None, terms: Terms, size: int = SNIPPET_CHARS) -> Markup:
    """About ``size`` characters of the text around its first match, escaped and highlighted."""
    text = plain(text)
    matches = terms.matcher() if terms else (lambda _w: False)
    first = next((m.start() for m in WORD.finditer(text) if matches(m.group(0))), 0)
    start = 0 if first < size // 3 else first - size // 3
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > first else end
    body = _marked(text[start:end], matches)
    return (Markup("…") if start else Markup("")) + body + (Markup("…") if end < len(text) else Markup(""))


def from_marked(text: str | None) -> Markup:
    """Text with OPEN/CLOSE sentinels around matches (Meilisearch): escape, then <mark>."""
    escaped = str(escape(text or ""))
    balanced = escaped.count(OPEN) == escaped.count(CLOSE)
    if not balanced:
        return Markup(escaped.replace(OPEN, "").replace(CLOSE, ""))
    return Markup(escaped.replace(OPEN, "<mark>").replace(CLOSE, "</mark>"))
