"""The pager (app/web/filters.py): Prev, the window of pages with gaps, Next, as links that work without JavaScript."""
from __future__ import annotations

from types import SimpleNamespace

import re

from app.web.filters import pager, pager_links


def _page(number: int, total_pages: int) -> SimpleNamespace:
    return SimpleNamespace(page=number, total_pages=total_pages, has_prev=number > 1, has_next=number < total_pages)


def test_the_first_page_has_no_prev_and_a_gap_before_the_last():
    assert pager_links(_page(1, 50)) == [(1, None, None), (2, 2, None), (3, 3, None), (None, None, None),
                                         (50, 50, None), (2, "Next ›", "next")]


def test_a_middle_page_has_both_neighbours_and_two_gaps():
    links = pager_links(_page(10, 50))
    assert links[0] == (9, "‹ Prev", "prev") and links[-1] == (11, "Next ›", "next")
    assert [n for n, _, _ in links[1:-1]] == [1, None, 8, 9, 10, 11, 12, None, 50]
    assert [n for n, text, _ in links if text is None] == [None, 10, None]  # the gaps and the current page


def test_the_last_page_has_no_next():
    assert pager_links(_page(3, 3)) == [(2, "‹ Prev", "prev"), (1, 1, None), (2, 2, None), (3, None, None)]


def test_one_page_needs_no_pager():
    assert pager(_page(1, 1), lambda n: f"/x?page={n}") == ""


def test_the_links_swap_the_target_with_htmx_and_work_as_plain_links():
    html = pager(_page(2, 3), lambda n: f"/tickets?q=a&b&page={n}", "#results")
    links = re.findall(r'<a href="([^"]+)" hx-get="([^"]+)" hx-target="#results" hx-swap="outerHTML" '
                       r'hx-push-url="true"(?: rel="(\w+)"| aria-label="Page (\d)")>([^<]+)</a>', html)
    assert [(href, rel, label, text) for href, _, rel, label, text in links] == [
        ("/tickets?q=a&amp;b&amp;page=1", "prev", "", "‹ Prev"), ("/tickets?q=a&amp;b&amp;page=1", "", "1", "1"),
        ("/tickets?q=a&amp;b&amp;page=3", "", "3", "3"), ("/tickets?q=a&amp;b&amp;page=3", "next", "", "Next ›")]
    assert all(href == get for href, get, *_ in links)
    assert '<li><span aria-current="page">2</span></li>' in html and html.startswith('<nav aria-label="Pages">')


def test_without_a_target_the_links_are_plain():
    html = pager(_page(1, 2), lambda n: f"/people?page={n}")
    assert "hx-" not in html and '<a href="/people?page=2" rel="next">Next ›</a>' in html
