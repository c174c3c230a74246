"""Markdown from untrusted people renders inert; ordinary Markdown still renders."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from app.services.rich_text import render_markdown

HOSTILE = {
    "script tag": "<script>alert(1)</script>",
    "script tag mixed case": "<ScRiPt src=//evil.test/x.js></ScRiPt>",
    "img onerror": '<img src=x onerror="alert(1)">',
    "img onerror unquoted": "<img src=x onerror=alert(1)//>",
    "anchor javascript": '<a href="javascript:alert(1)">click</a>',
    "anchor mixed case with entities": '<a href="JaVaScRiPt&#58;alert(1)">click</a>',
    "anchor entity-encoded scheme": '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    "anchor whitespace in scheme": '<a href=" jav\tascript:alert(1)">x</a>',
    "anchor data url": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "svg onload": '<svg onload="alert(1)"><circle r="10"/></svg>',
    "svg with script": "<svg><script>alert(1)</script></svg>",
    "iframe": '<iframe src="https://evil.test"></iframe>',
    "iframe srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "style attribute": '<p style="background:url(javascript:alert(1))">styled</p>',
    "style tag": "<style>body{display:none}</style>",
    "object embed": '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    "form action": '<form action="javascript:alert(1)"><button>go</button></form>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "markdown link javascript": "[x](javascript:alert(1))",
    "markdown link JaVaScRiPt": "[x](JaVaScRiPt:alert(1))",
    "markdown link entity colon": "[x](javascript&#58;alert(1))",
    "markdown link encoded": "[x](&#x6A;avascript:alert(1))",
    "markdown link leading space": "[x]( javascript:alert(1))",
    "markdown link angle brackets": "[x](<javascript:alert(1)>)",
    "markdown link data": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "markdown link vbscript": "[x](vbscript:msgbox(1))",
    "markdown reference link": "[x][evil]\n\n[evil]: javascript:alert(1)",
    "markdown autolink": "<javascript:alert(1)>",
    "markdown image javascript": "![x](javascript:alert(1))",
    "markdown image data": "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "markdown image title breakout": '![x](https://ok.test/a.png "a\\" onerror=\\"alert(1))',
    "link title breakout": '[x](https://ok.test "t\\" onclick=\\"alert(1)")',
    "html inside code span": "`<script>alert(1)</script>`",
    "html in table cell": "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    "nested in list": "- <script>alert(1)</script>\n- [x](javascript:alert(1))",
}

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "srcdoc", "background", "poster"}
FORBIDDEN_TAGS = {"script", "svg", "iframe", "style", "object", "embed", "form", "meta", "link", "base", "math"}


class _Elements(HTMLParser):
    """The elements and attributes a browser would build from the HTML (entities decoded)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag


def _unsafe_scheme(url: str) -> bool:
    # Browsers drop whitespace and control characters inside a scheme: "jav\tascript:" runs.
    squeezed = re.sub(r"[\x00-\x20\x7f]", "", url).lower()
    return squeezed.startswith(("javascript:", "vbscript:", "data:"))


def _assert_inert(html: str) -> None:
    lowered = html.lower()
    for needle in ("<script", "<svg", "<iframe", "<style", "<object", "<embed", "<form", "<meta"):
        assert needle not in lowered, f"{needle} survived: {html!r}"
    for tag, attrs in _Elements(html).elements:
        assert tag not in FORBIDDEN_TAGS, f"<{tag}> survived: {html!r}"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"{name}= on <{tag}> survived: {html!r}"
            assert name != "style", f"style= on <{tag}> survived: {html!r}"
            if name in URL_ATTRIBUTES:
                assert not _unsafe_scheme(value), f"{name}={value!r} on <{tag}>: {html!r}"


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_is_inert(source):
    html = str(render_markdown(source))
    _assert_inert(html)


def test_hostile_corpus_in_one_document_is_inert():
    html = str(render_markdown("\n\n".join(HOSTILE.values())))
    _assert_inert(html)
    hrefs = [attrs.get("href", "") + attrs.get("src", "") for _, attrs in _Elements(html).elements]
    assert hrefs and not any("javascript" in h.lower() for h in hrefs)


def test_raw_html_is_shown_as_text_not_dropped():
    html = str(render_markdown("Type <b>bold</b> and <script>alert(1)</script>"))
    assert "&lt;script&gt;" in html and "&lt;b&gt;" in html
    assert "<b>" not in html


def test_dangerous_links_keep_their_text():
    html = str(render_markdown("[click me](javascript:alert(1))"))
    assert "click me" in html
    assert 'href="javascript' not in html.lower()


def test_result_is_markup_and_none_is_empty():
    assert isinstance(render_markdown("x"), Markup)
    assert str(render_markdown(None)) == ""
    assert str(render_markdown("")) == ""


# -- ordinary Markdown still renders ----------------------------------------------------
def test_bold_and_italic():
    html = str(render_markdown("**bold** and *soft* and ~~gone~~"))
    assert "<strong>bold</strong>" in html
    assert "<em>soft</em>" in html
    assert re.search(r"<(del|s)>gone</(del|s)>", html)


def test_https_and_mailto_links_survive_with_safe_rel():
    html = str(render_markdown("[docs](https://example.com/a?b=1) and [mail](mailto:help@example.com)"))
    assert re.search(r'<a href="https://example.com/a\?b=1"[^>]*>docs</a>', html)
    assert 'href="mailto:help@example.com"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_https_image_survives():
    html = str(render_markdown("![logo](https://example.com/logo.png)"))
    assert '<img src="https://example.com/logo.png" alt="logo"' in html


def test_code_blocks_are_escaped_not_run():
    html = str(render_markdown("```\n<script>alert(1)</script>\nif a < b: pass\n```\n\nInline `x = 1`."))
    assert "<pre><code>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<code>x = 1</code>" in html


def test_lists_headings_quotes_tables():
    html = str(render_markdown("# Title\n\n- one\n- two\n\n1. first\n2. second\n\n> quoted\n\n"
                               "| a | b |\n|---|---|\n| 1 | 2 |"))
    assert "<h1>Title</h1>" in html
    assert "<ul>" in html and "<li>one</li>" in html and "<li>two</li>" in html
    assert "<ol>" in html and "<li>first</li>" in html
    assert "<blockquote>" in html
    assert "<table>" in html and "<td>1</td>" in html


def test_line_breaks_are_kept():
    assert "<br" in str(render_markdown("line one\nline two"))


@pytest.mark.parametrize("bad", [
    '<a href="jav&#x09;ascript:alert(1)">x</a>', '<img src=x onerror=alert(1)>', '<p style="color:red">x</p>',
    "<svg></svg>", '<a href="data:text/html,x">x</a>', '<IMG SRC="JaVaScRiPt:alert(1)">',
])
def test_the_inertness_check_itself_catches_live_html(bad):
    with pytest.raises(AssertionError):
        _assert_inert(bad)
