"""Webhook test support: a real HTTP receiver on 127.0.0.1 and a stand-in for the consumer's scheduler.

The receiver (http.server in a thread) records every request and answers from
a script: ``receiver.script(500, 200)`` answers 500 then 200, then the default.
Signatures are checked with the ``standardwebhooks`` package, as a receiver would.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from app.extensions import db
from app.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.integration.scheduling import run_scheduled  # noqa: F401  (re-exported for the tests here)
from app.services.webhooks import endpoints


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow receiver)


@dataclass
class Received:
    path: str
    headers: dict  # lower-case names
    body: bytes
    at: float

    def verify(self, secret: str) -> dict:
        """What a receiver does: raises WebhookVerificationError unless a signature matches."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    def __init__(self):
        self.requests: list[Received] = []
        self._script: list[Answer] = []
        self.default = Answer()
        self._lock = threading.Lock()
        self.release = threading.Event()  # set to wake receivers that sleep
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body, time.monotonic()))
                    answer = receiver._script.pop(0) if receiver._script else receiver.default
                if answer.delay:
                    receiver.release.wait(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the sender gave up (timeout) or died

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, *answers) -> None:
        with self._lock:
            self._script.extend(a if isinstance(a, Answer) else Answer(status=a) for a in answers)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.requests) < n:
            time.sleep(0.02)
        return list(self.requests)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def add_endpoint(ws, url: str, events=("*",), **fields):
    """An endpoint made by the workspace's admin: (endpoint, secret)."""
    with ws.uow(ws.admin) as uow:
        endpoint, secret = endpoints.create_endpoint(uow, url=url, events=list(events), **fields)
        uow.commit()
    return endpoint, secret


def deliveries_of(endpoint_id: int) -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
                                   .order_by(WebhookDelivery.id)))


def attempts_of(delivery_id: int) -> list[WebhookAttempt]:
    return list(db.session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
                                   .order_by(WebhookAttempt.id)))


def endpoint_row(endpoint_id: int) -> WebhookEndpoint:
    db.session.expire_all()
    return db.session.get(WebhookEndpoint, endpoint_id)
