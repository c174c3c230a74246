"""Notification test support: a real SMTP server on 127.0.0.1 (aiosmtpd) and a stand-in for the scheduler.

The server records every message it accepts and answers from a script:
``smtp.script("451 4.3.0 Mailbox busy")`` answers that to the next DATA
command, then 250 again. ``stop()`` and ``start()`` take it down and bring it
back on the same port (connection refused in between).
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage as MimeMessage

from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.extensions import db
from app.models import EmailMessage, Notification
from tests.integration.scheduling import run_scheduled  # noqa: F401  (re-exported for the tests here)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> MimeMessage:
        return message_from_bytes(self.raw, policy=policy.default)

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None and body.get_content_type() == f"text/{subtype}", self.raw[:500]
        return body.get_content()


class SmtpServer:
    def __init__(self):
        self.delivered: list[Delivered] = []
        self.refused: list[str] = []
        self._script: list[str] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller: Controller | None = None
        self.start()

    # aiosmtpd calls this for each message's DATA
    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self._lock:
            reply = self._script.pop(0) if self._script else None
            if reply is not None:
                self.refused.append(reply)
                return reply
            self.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos),
                                            envelope.original_content or envelope.content))
        return "250 2.0.0 OK: queued"

    def script(self, *replies: str) -> None:
        with self._lock:
            self._script.extend(replies)

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Delivered]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.delivered) < n:
            time.sleep(0.02)
        return list(self.delivered)


class SilentServer:
    """Accepts TCP connections and never says a word: an SMTP client times out waiting for the greeting."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


def emails(*where) -> list[EmailMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(EmailMessage).where(*where).order_by(EmailMessage.id)))


def notifications(*where) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).where(*where).order_by(Notification.id)))


def only(rows):
    assert len(rows) == 1, rows
    return rows[0]
