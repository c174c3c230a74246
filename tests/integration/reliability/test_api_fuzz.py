"""Schemathesis fuzzes every operation of /api/v1/openapi.json, signed in with an admin token.

Runs in process against the Flask app (WSGI), no server. For every operation,
valid (positive) and schema-breaking (negative) requests are generated with a
fixed seed, and valid ones with a NUL character in every string (PostgreSQL
text cannot hold it: it must be refused); each answer must be:
- no 5xx;
- a status code the operation documents explicitly: the catch-all ``default``
  response flask-smorest adds is removed before fuzzing, so "documented" means
  named in the operation's responses;
- a body and headers matching the documented schema of that status;
- for negative data, a 4xx (schema-breaking input is refused, not stored).
Operations with path parameters are fuzzed twice: with generated ids (mostly
404) and with the ids of objects that exist, so the success paths are checked.
Every finding is reported at the end, operation by operation.

Bounded for CI: MAX_EXAMPLES cases per operation and mode, no shrinking.
"""
from __future__ import annotations

import copy
import traceback

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection,
                                               response_headers_conformance, response_schema_conformance,
                                               status_code_conformance)

from app.extensions import db
from app.services import comments, people
from app.services.webhooks import endpoints, transport, url_safety
from tests.conftest import make_ticket

MAX_EXAMPLES = 12
NUL_EXAMPLES = 4
SEED = 20240601
PUBLIC_ADDRESS = "203.0.113.7"  # not in url_safety's blocked ranges: every fuzzed host "resolves" here

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]


def documented_spec(app) -> dict:
    """The served OpenAPI document without its ``default`` responses."""
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    spec = copy.deepcopy(spec)
    for item in spec["paths"].values():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].pop("default", None)
    return spec


@pytest.fixture
def fuzz_target(app, acme, monkeypatch):
    """An admin token, a few objects to address, and no network: hosts resolve to a fixed
    public address and webhook attempts fail without a connection."""

    def no_dns(host, port):
        return [PUBLIC_ADDRESS]

    def no_network(url, body, headers, *, timeout, allowed_hosts):
        return transport.AttemptResult(error="fuzzing: no network", refused=True)

    monkeypatch.setattr(url_safety, "resolve", no_dns)
    monkeypatch.setattr(transport, "post", no_network)
    with app.app_context():
        with acme.uow(acme.admin) as uow:
            _, secret = people.create_token(uow, acme.admin.id, "fuzzing")
            uow.commit()
        first = make_ticket(acme, subject="Printer on fire", tags=["hardware"])
        make_ticket(acme, subject="VPN down")
        with acme.uow(acme.admin) as uow:
            comments.add_comment(uow, first.number, body="Have you tried turning it off?", public=True)
            uow.commit()
        with acme.uow(acme.admin) as uow:
            endpoint, _ = endpoints.create_endpoint(uow, url="https://hooks.example.com/ticketry", events=["*"],
                                                    description="fuzzing", active=True)
            uow.commit()
        # a delivery to retry: the webhook.test event of the endpoint
        from app.services.webhooks import deliveries

        with acme.uow(acme.admin) as uow:
            delivery = deliveries.send_test_event(uow, endpoint.id)
            uow.commit()
        from app.services.sla import policies

        policy = policies.list_policies(acme.uow(acme.admin))[0]
        pins = {"number": first.number, "webhook_id": endpoint.id, "delivery_id": delivery.id,
                "policy_id": policy.id}
        db.session.remove()
    return {"Authorization": f"Bearer {secret}"}, pins


def with_nul(value):
    """Every string of a query or JSON body with a NUL character in it."""
    if isinstance(value, str):
        return value + "\x00"
    if isinstance(value, list):
        return [with_nul(v) for v in value]
    if isinstance(value, dict):
        return {k: with_nul(v) for k, v in value.items()}
    return value


def _has_string(value) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_string(v) for v in value)
    if isinstance(value, dict):
        return any(_has_string(v) for v in value.values())
    return False


def _fuzz_operation(operation, mode, headers, pins, checks, nul: bool = False) -> list[str]:
    path_names = {p.name for p in operation.path_parameters}
    variants = [None] + ([{k: v for k, v in pins.items() if k in path_names}] if path_names else [])
    found: list[str] = []
    for pinned in variants:
        strategy = operation.as_strategy(generation_mode=mode, headers=headers, path_parameters=pinned)
        seen: set[str] = set()

        @settings(max_examples=NUL_EXAMPLES if nul else MAX_EXAMPLES, deadline=None, database=None,
                  derandomize=True, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=True)
        @given(case=strategy)
        def run(case):
            injected = False
            if nul:  # PostgreSQL text cannot hold NUL: such input must be refused, never a 500
                injected = _has_string(case.query) or _has_string(case.body)
                if case.query:
                    case.query = with_nul(case.query)
                if isinstance(case.body, (dict, list, str)):
                    case.body = with_nul(case.body)
            try:
                response = case.call_and_validate(headers=headers, checks=checks)
                if injected and response.status_code < 400:
                    raise AssertionError(f"accepted a NUL character: {response.status_code} for "
                                         f"query={case.query!r} body={case.body!r}")
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup; collect: every operation is fuzzed, findings listed at the end
                text = str(exc).strip() or traceback.format_exc(limit=3)
                key = text.splitlines()[0][:200]
                if key not in seen:
                    seen.add(key)
                    found.append(f"{operation.label} ({mode}, {'existing ids' if pinned else 'generated ids'}):\n"
                                 f"{text[:3000]}")

        try:
            run()
        except Unsatisfiable:
            pass  # negative mode with every input pinned: nothing to break
    return found


@pytest.mark.parametrize("mode,nul", [(GenerationMode.POSITIVE, False), (GenerationMode.NEGATIVE, False),
                                      (GenerationMode.POSITIVE, True)], ids=["positive", "negative", "nul"])
def test_every_operation_conforms_to_its_schema(app, fuzz_target, mode, nul):
    headers, pins = fuzz_target
    schema = schemathesis.openapi.from_dict(documented_spec(app))
    schema.app = app
    checks = CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, "the OpenAPI document lost operations"
    # Reads first, deletes last: a deleted object is then not needed by a later operation.
    order = {"GET": 0, "POST": 1, "PATCH": 1, "PUT": 1, "DELETE": 2}
    operations.sort(key=lambda op: order.get(op.method.upper(), 1))
    findings: list[str] = []
    for operation in operations:
        if nul and not (operation.query or operation.body):
            continue
        findings += _fuzz_operation(operation, mode, headers, pins, checks, nul=nul)
    assert not findings, f"{len(findings)} finding(s):\n\n" + "\n\n".join(findings)
