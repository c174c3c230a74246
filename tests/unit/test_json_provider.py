"""app/json_provider.py: orjson writes what Flask's own provider wrote."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from uuid import UUID

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from app.json_provider import OrjsonProvider


@dataclass
class Point:
    x: int
    y: str


VALUE = {"zeta": 1, "alpha": [1, 2.5, None, True], "3": "digits", "nested": {"b": "é ü 日本", "a": "<script>"},
         "when": datetime(2026, 11, 26, 8, 30, tzinfo=timezone.utc), "day": date(2026, 11, 26),
         "amount": Decimal("12.50"), "id": UUID("12345678-1234-5678-1234-567812345678"), "point": Point(1, "a")}


def _both():
    app = Flask(__name__)
    return OrjsonProvider(app), DefaultJSONProvider(app)


def test_same_json_as_flasks_provider():
    fast, flask_json = _both()
    written = fast.dumps(VALUE, separators=(",", ":"))
    assert json.loads(written) == json.loads(flask_json.dumps(VALUE, separators=(",", ":")))
    assert written.index('"3"') < written.index('"alpha"') < written.index('"zeta"')  # keys sorted
    assert '"when":"Thu, 26 Nov 2026 08:30:00 GMT"' in written  # dates as Flask writes them
    assert "é ü 日本" in written  # UTF-8, not \\u escapes
    assert json.loads(fast.dumps({2: "b", 1: "a"})) == json.loads(flask_json.dumps({2: "b", 1: "a"}))


def test_responses_are_compact_or_indented_in_debug():
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    with app.app_context():
        assert app.json.response({"b": 1, "a": [1]}).get_data(as_text=True) == '{"a":[1],"b":1}\n'
        app.debug = True
        assert app.json.response({"a": 1}).get_data(as_text=True) == '{\n  "a": 1\n}\n'


def test_other_options_and_refused_values_go_to_flasks_dumps():
    fast, _ = _both()
    assert fast.dumps({"a": 1}, indent=4) == '{\n    "a": 1\n}'
    assert json.loads(fast.dumps({"big": 2**70})) == {"big": 2**70}  # past 64 bits: orjson refuses
    with pytest.raises(TypeError, match="not JSON serializable"):
        fast.dumps({"x": object()})
