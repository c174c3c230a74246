"""The email side of notifications: classifying SMTP failures, backoff, rendering, links, one row per event."""
from __future__ import annotations

import smtplib
import socket
import uuid

import pytest
from flask_mail import BadHeaderError
from sqlalchemy import func, select

from app.extensions import db
from app.models import EmailMessage
from app.services import mail


@pytest.mark.parametrize(("exc", "transient", "code", "text"), [
    (smtplib.SMTPDataError(451, b"4.3.0 Mailbox busy"), True, 451, "451 4.3.0 Mailbox busy"),
    (smtplib.SMTPResponseException(421, b"4.7.0 Try again  later"), True, 421, "421 4.7.0 Try again later"),
    (smtplib.SMTPSenderRefused(452, b"4.3.1 Out of space", "a@b"), True, 452, "452 4.3.1 Out of space"),
    (smtplib.SMTPRecipientsRefused({"a@b": (450, b"4.2.1 Later")}), True, 450, "450 4.2.1 Later"),
    (smtplib.SMTPDataError(554, b"5.7.1 Message refused"), False, 554, "554 5.7.1 Message refused"),
    (smtplib.SMTPSenderRefused(550, b"5.7.1 Not allowed", "a@b"), False, 550, "550 5.7.1 Not allowed"),
    (smtplib.SMTPRecipientsRefused({"a@b": (550, b"5.1.1 No such user")}), False, 550, "550 5.1.1 No such user"),
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"), False, 535, "535 5.7.8 Bad credentials"),
])
def test_smtp_replies_4xx_are_transient_5xx_permanent(exc, transient, code, text):
    assert mail.classify(exc) == mail.Failure(transient, code, text)


@pytest.mark.parametrize(("exc", "transient", "starts"), [
    (ConnectionRefusedError(111, "Connection refused"), True, "Connection refused"),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), True, "Connection dropped"),
    (socket.timeout("timed out"), True, "Timed out"),
    (TimeoutError(), True, "Timed out"),
    (ConnectionResetError(104, "reset"), True, "ConnectionResetError"),
    (socket.gaierror(-2, "Name or service not known"), True, "gaierror"),
    (smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."), False, "SMTPNotSupportedError"),
    (BadHeaderError(), False, "BadHeaderError"),
    (ValueError("odd"), False, "ValueError"),
])
def test_network_failures_are_transient_the_rest_permanent(exc, transient, starts):
    failure = mail.classify(exc)
    assert failure.transient is transient and failure.code is None and failure.text.startswith(starts)


def test_retry_delay_follows_the_schedule_with_jitter():
    settings = mail.MailSettings(schedule=(60.0, 300.0), timeout=5.0)
    assert settings.max_attempts == 3
    for attempt, base in ((1, 60), (2, 300), (3, 300), (9, 300)):
        delay = mail.retry_delay(settings, attempt)
        assert base * 0.9 <= delay <= base * 1.1


def test_settings_and_links_come_from_the_config(ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_RETRY_SCHEDULE", "1, 2,3")
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 7)
    assert mail.current_settings() == mail.MailSettings(schedule=(1.0, 2.0, 3.0), timeout=7.0)
    monkeypatch.setitem(app.config, "BASE_URL", "https://support.example.org/helpdesk/")
    assert mail.external_url("tickets.show", number=42) == "https://support.example.org/helpdesk/tickets/42"
    assert mail.external_url("notifications.preferences") == (
        "https://support.example.org/helpdesk/settings/notifications")


def test_html_part_is_autoescaped_and_text_part_is_not(ctx):
    context = dict(tenant_name="A&B <Corp>", recipient_name="Pat", ticket_number=7,
                   ticket_subject="<img src=x onerror=alert(1)>", ticket_url="https://h/tickets/7",
                   headline="Pat replied to ticket #7.", preferences_url="https://h/settings/notifications",
                   comment_body="<script>steal()</script>\nline two", comment_public=True,
                   comment_url="https://h/tickets/7#comment-1", subject="s")
    text, html = mail.render_email("comment-added", context)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;steal()&lt;/script&gt;" in html and "A&amp;B &lt;Corp&gt;" in html
    assert "<script>steal()</script>\nline two" in text and "A&B <Corp>" in text
    for part in (text, html):
        assert "https://h/tickets/7" in part and "https://h/settings/notifications" in part


@pytest.mark.parametrize("template", ["ticket-assigned", "comment-added", "sla-warning", "sla-breach"])
def test_every_template_has_both_parts_with_tenant_ticket_link_and_preferences(ctx, template):
    context = dict(tenant_name="Acme", recipient_name="Pat", ticket_number=12, ticket_subject="VPN down",
                   ticket_url="https://h/tickets/12", headline="Something happened.",
                   preferences_url="https://h/settings/notifications", clock="Resolution", due="09 Jun 2025, 09:30",
                   comment_body="Hi", comment_public=True, subject="[Acme] x")
    for part in mail.render_email(template, context):
        for expected in ("Acme", "#12", "VPN down", "https://h/tickets/12", "Something happened.",
                         "https://h/settings/notifications"):
            assert expected in part, (template, expected)


def test_queue_email_writes_one_row_per_event_and_person(ctx, acme):
    event_id = str(uuid.uuid4())
    values = dict(user=acme.agent, event_id=event_id, event_type="ticket.assigned", ticket_number=3,
                  ticket_subject="Line\nbreak  subject", headline="Ticket #3 was assigned to you.",
                  subject="#3 assigned to you: Line\nbreak  subject", extra={})
    with acme.uow(acme.lead) as uow:
        first = mail.queue_email(uow, **values)
        second = mail.queue_email(uow, **values)
        other = mail.queue_email(uow, **{**values, "user": acme.lead})
        uow.commit()
    assert first is not None and second is None and other not in (None, first)
    assert db.session.scalar(select(func.count()).select_from(EmailMessage)) == 2
    row = db.session.get(EmailMessage, first)
    assert row.subject == "[Acme] #3 assigned to you: Line break subject"  # one header line
    assert row.message_id.endswith("@localhost>") and row.max_attempts == mail.current_settings().max_attempts
