"""The pager's links (app/web/filters.py pager_links): Prev, the window of pages with gaps, Next."""
from __future__ import annotations

from types import SimpleNamespace

from app.web.filters import pager_links


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
