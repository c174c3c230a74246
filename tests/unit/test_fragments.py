"""Kept fragments (app/web/fragments.py): drawn once per values, and refused when they read anything else."""
from __future__ import annotations

import pytest
from jinja2 import DictLoader, Environment

from app.web import fragments

TEMPLATES = {
    "form.html": '<select>{% for p in people %}<option{% if p == chosen %} selected{% endif %}>{{ p }}</option>'
                 '{% endfor %}</select>{{ STATUSES|length }}',
    "who.html": "{{ current_user.name }} {{ q }}",
    "token.html": '<input name="csrf_token" value="{{ csrf_token() }}">',
    "outer.html": "{{ q }}{% include 'inner.html' %}",
    "inner.html": "{{ request.path }}",
    "macros.html": "{% macro hello(x) %}{{ x }} {{ g.user }}{% endmacro %}",
    "uses_macro.html": "{% from 'macros.html' import hello %}{{ hello(q) }}",
    "dynamic.html": "{% include name %}",
}


@pytest.fixture()
def env():
    environment = Environment(loader=DictLoader(TEMPLATES), autoescape=True, auto_reload=False)
    environment.globals.update(STATUSES=("new", "open"), csrf_token=lambda: "secret", request=None, g=None)
    fragments.forget()
    yield environment
    fragments.forget()


def test_a_fragment_is_drawn_once_per_values(env, monkeypatch):
    first = fragments.kept_fragment(env, "form.html", people=["Ana", "<Bo>"], chosen="Ana")
    assert first == '<select><option selected>Ana</option><option>&lt;Bo&gt;</option></select>2'
    with monkeypatch.context() as patched:
        patched.setattr(env, "get_template", lambda name: pytest.fail("drawn again"))
        assert fragments.kept_fragment(env, "form.html", people=("Ana", "<Bo>"), chosen="Ana") == first
    other = fragments.kept_fragment(env, "form.html", people=["Ana", "<Bo>"], chosen="<Bo>")
    assert other == '<select><option>Ana</option><option selected>&lt;Bo&gt;</option></select>2'
    renamed = fragments.kept_fragment(env, "form.html", people=["Ana", "Bob"], chosen="Ana")
    assert "Bob" in renamed and "Bo&gt;" not in renamed


@pytest.mark.parametrize("name, reads", [
    ("who.html", "current_user"),
    ("token.html", "csrf_token"),  # a global, still refused: it is the request's own
    ("outer.html", "request"),  # read by what it includes
    ("uses_macro.html", "g"),  # read by a macro it imports
])
def test_a_fragment_that_reads_anything_but_its_values_is_refused(env, name, reads):
    with pytest.raises(RuntimeError, match=f"reads {reads}: not among its values"):
        fragments.kept_fragment(env, name, q="x")
    assert fragments._kept == {}


def test_a_fragment_whose_include_is_chosen_at_run_time_is_refused(env):
    with pytest.raises(RuntimeError, match="chosen at run time"):
        fragments.kept_fragment(env, "dynamic.html", name="form.html")


def test_a_value_that_cannot_be_a_key_is_an_error(env):
    with pytest.raises(TypeError):
        fragments.kept_fragment(env, "form.html", people={"Ana": 1}, chosen="Ana")


def test_nothing_is_kept_while_templates_reload(env):
    env.auto_reload = True
    first = fragments.kept_fragment(env, "form.html", people=["Ana"], chosen=None)
    assert fragments.kept_fragment(env, "form.html", people=["Ana"], chosen=None) is not first
    assert fragments._kept == {}
    with pytest.raises(RuntimeError):  # still checked
        fragments.kept_fragment(env, "who.html", q="x")


def test_the_store_is_bounded(env, monkeypatch):
    monkeypatch.setattr(fragments, "MAX_FRAGMENTS", 2)
    for n in range(5):
        assert str(n) in fragments.kept_fragment(env, "form.html", people=[str(n)], chosen=None)
        assert len(fragments._kept) <= 2


def test_live_values_are_each_requests_own_and_escaped(env):
    env.loader.mapping["bar.html"] = '<b>{{ who }}</b><input value="{{ csrf }}"><input value="{{ search }}">'
    first = fragments.kept_fragment(env, "bar.html", who="Ana", live={"csrf": "t1", "search": ""})
    second = fragments.kept_fragment(env, "bar.html", who="Ana", live={"csrf": "t2", "search": '<i>"x"</i>'})
    assert first == '<b>Ana</b><input value="t1"><input value="">'
    assert second == '<b>Ana</b><input value="t2"><input value="&lt;i&gt;&#34;x&#34;&lt;/i&gt;">'
    assert len(fragments._kept) == 1  # one kept HTML for both
    assert "t1" not in next(iter(fragments._kept.values()))


def test_a_fragment_that_filters_a_live_value_is_refused(env):
    env.loader.mapping["upper.html"] = "{{ csrf|upper }}"
    with pytest.raises(RuntimeError, match="changes a live value"):
        fragments.kept_fragment(env, "upper.html", live={"csrf": "t1"})
