"""Emails to a real SMTP server on 127.0.0.1: content, retries, failures, the server down and up, no duplicates.

Jobs run in process (Huey immediate mode): an assignment's outbox event runs
the notification handler, whose send job runs after its commit. Scheduled
retries run through ``run_scheduled``, as the consumer's scheduler would.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, EmailMessage, OutboxEvent
from app.queue import huey
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services import comments, events, mail, notifications, tickets
from app.tasks import notification as notification_tasks
from tests.conftest import make_ticket
from tests.integration.notifications.conftest import point_mail_at
from tests.integration.notifications.support import emails, only, run_scheduled

SCRIPT_SUBJECT = '<script>alert("x")</script> & <b>bold</b>'


def assign(ws, number: int, user, by=None):
    with ws.uow(by or ws.lead) as uow:
        tickets.update_ticket(uow, number, {"assignee_id": user.id})
        uow.commit()


def test_assignment_email_arrives_with_both_parts_links_and_escaped_ticket_text(ctx, acme, smtp):
    ticket = make_ticket(acme, acme.lead, subject=SCRIPT_SUBJECT)
    assign(acme, ticket.number, acme.agent)

    delivered = only(smtp.wait_for(1))
    row = only(emails())
    message = delivered.message
    assert delivered.rcpt_tos == ["agent@acme.test"]
    assert message["To"] == "agent@acme.test"
    assert message["Message-ID"] == row.message_id and row.message_id.startswith("<")
    assert message["Subject"] == f"[Acme] #{ticket.number} assigned to you: {SCRIPT_SUBJECT}"
    alternative = [part for part in message.walk() if part.get_content_type() == "multipart/alternative"]
    assert [p.get_content_type() for p in only(alternative).iter_parts()] == ["text/plain", "text/html"]

    text, html = delivered.part("plain"), delivered.part("html")
    ticket_url = f"https://help.example.com/tickets/{ticket.number}"
    preferences_url = "https://help.example.com/settings/notifications"
    for part in (text, html):
        assert "Acme" in part and f"#{ticket.number}" in part
        assert ticket_url in part and preferences_url in part
        assert "was assigned to you by Lead Acme" in part
    assert SCRIPT_SUBJECT in text  # plain text carries the subject as written
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert f'href="{ticket_url}"' in html and f'href="{preferences_url}"' in html

    assert (row.status, row.attempts, row.last_error, row.template) == ("sent", 1, None, "ticket-assigned")
    assert row.sent_at is not None and row.recipient == "agent@acme.test" and row.user_id == acme.agent.id


def test_comment_email_goes_to_assignee_and_followers_but_not_the_author(ctx, acme, smtp):
    ticket = make_ticket(acme, acme.agent, subject="VPN down", assignee_id=acme.agent.id)
    with acme.uow(acme.admin) as uow:
        notifications.follow_ticket(uow, ticket.number)
        uow.commit()
    with acme.uow(acme.lead) as uow:
        notifications.follow_ticket(uow, ticket.number)
        comment = comments.add_comment(uow, ticket.number, body="Restart <the> router & retry", public=False)
        uow.commit()

    delivered = smtp.wait_for(2)
    assert sorted(d.rcpt_tos[0] for d in delivered) == ["admin@acme.test", "agent@acme.test"]
    html = delivered[0].part("html")
    text = delivered[0].part("plain")
    assert "Restart &lt;the&gt; router &amp; retry" in html and "Restart <the> router & retry" in text
    assert "Lead Acme added an internal note to ticket" in text
    assert f"/tickets/{ticket.number}#comment-{comment.id}" in text
    assert {e.template for e in emails()} == {"comment-added"}


def test_a_4xx_reply_is_retried_then_delivered(ctx, acme, smtp):
    smtp.script("451 4.3.0 Mailbox busy, try later")
    ticket = make_ticket(acme, acme.lead)
    assign(acme, ticket.number, acme.agent)

    row = only(emails())
    assert (row.status, row.attempts, row.last_code) == ("retrying", 1, 451)
    assert row.last_error == "451 4.3.0 Mailbox busy, try later"
    assert row.next_attempt_at is not None and smtp.delivered == []

    assert run_scheduled(until=lambda: only(emails()).status == "sent")
    row = only(emails())
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert len(smtp.wait_for(1)) == 1 and smtp.refused == ["451 4.3.0 Mailbox busy, try later"]


def test_a_5xx_reply_fails_at_once_with_the_reply_kept(ctx, acme, smtp):
    smtp.script("554 5.7.1 Message refused: policy")
    ticket = make_ticket(acme, acme.lead)
    assign(acme, ticket.number, acme.agent)

    row = only(emails())
    assert (row.status, row.attempts, row.last_code) == ("failed", 1, 554)
    assert row.last_error == "554 5.7.1 Message refused: policy"
    assert row.next_attempt_at is None and row.sent_at is None
    assert huey.scheduled_count() == 0 and smtp.delivered == []


def test_server_down_then_up_is_retried_and_delivered_once(ctx, acme, smtp):
    smtp.stop()
    ticket = make_ticket(acme, acme.lead)
    assign(acme, ticket.number, acme.agent)

    row = only(emails())
    assert row.status == "retrying" and row.attempts == 1
    assert row.last_error.startswith("Connection refused")

    smtp.start()
    assert run_scheduled(until=lambda: only(emails()).status == "sent")
    assert run_scheduled()  # nothing else is pending
    assert len(smtp.wait_for(1)) == 1
    assert only(emails()).attempts == 2
    # A late duplicate of the job finds the email sent and does nothing.
    notification_tasks.send_email.call_local(row.id)
    assert len(smtp.delivered) == 1


def test_a_silent_server_times_out_and_is_retried_until_failed(ctx, acme, silent):
    ticket = make_ticket(acme, acme.lead)
    assign(acme, ticket.number, acme.agent)
    row = only(emails())
    assert row.status == "retrying" and "timed out" in row.last_error
    assert run_scheduled(until=lambda: only(emails()).status == "failed", timeout=20)
    row = only(emails())
    assert row.attempts == row.max_attempts == 4 and "timed out" in row.last_error


def test_one_event_never_emails_one_person_twice(ctx, acme, smtp):
    ticket = make_ticket(acme, acme.lead)
    assign(acme, ticket.number, acme.agent)
    assert len(smtp.wait_for(1)) == 1
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.event_type == "ticket.assigned"))
    email = only(emails())

    # The event job again (a relay, a retry): the handler has run, nothing happens.
    assert events.process_event(event.event_id) == 0
    # The handler itself again, as if its ProcessedEvent row were lost: the unique key holds.
    with UnitOfWork(acme.tenant, Actor.system("test")) as uow:
        notifications.notify_about_event(uow, db.session.get(OutboxEvent, event.id))
        uow.commit()
    # The send job twice more.
    notification_tasks.send_email.call_local(email.id)
    notification_tasks.send_email(email.id)

    assert only(emails()).id == email.id
    assert len(smtp.wait_for(2, timeout=0.5)) == 1


def test_without_mail_server_emails_are_stored_and_logged_not_sent(ctx, acme, app, caplog, monkeypatch):
    assert not app.config["MAIL_SERVER"]
    # Alembic's logging setup (the migrations of the test database) disables loggers that existed then.
    monkeypatch.setattr(logging.getLogger("app.services.mail"), "disabled", False)
    ticket = make_ticket(acme, acme.lead)
    with caplog.at_level("INFO", logger="app.services.mail"):
        assign(acme, ticket.number, acme.agent)
    row = only(emails())
    assert (row.status, row.attempts, row.sent_at) == ("stored", 1, None)
    assert "stored, not sent" in caplog.text and row.message_id in caplog.text
    assert f"#{ticket.number}" in row.body_text and "<html" in row.body_html


def test_sla_warning_and_breach_email_the_assignee_and_the_leads(ctx, acme, smtp):
    import time_machine
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from app.services.sla.sweep import sweep_breaches

    paris = ZoneInfo("Europe/Paris")
    with time_machine.travel(datetime(2025, 6, 6, 16, 30, tzinfo=paris), tick=False):
        ticket = make_ticket(acme, acme.admin, priority="urgent", assignee_id=acme.agent.id)
    smtp.wait_for(1)
    assert [d.rcpt_tos for d in smtp.delivered] == [["agent@acme.test"]]  # the assignment
    with time_machine.travel(datetime(2025, 6, 9, 9, 20, tzinfo=paris), tick=False):
        assert sweep_breaches() == {"reply_warning": 1}
    with time_machine.travel(datetime(2025, 6, 9, 9, 31, tzinfo=paris), tick=False):
        assert sweep_breaches() == {"reply_breach": 1}

    warning = emails(EmailMessage.template == "sla-warning")
    breach = emails(EmailMessage.template == "sla-breach")
    assert sorted(e.recipient for e in warning) == sorted(e.recipient for e in breach) == [
        "agent@acme.test", "lead@acme.test"]
    assert {e.status for e in warning + breach} == {"sent"}
    delivered = smtp.wait_for(5)
    subjects = sorted(d.message["Subject"] for d in delivered[1:])
    assert subjects == [f"[Acme] SLA at risk on #{ticket.number}: Printer on fire"] * 2 + [
        f"[Acme] SLA breached on #{ticket.number}: Printer on fire"] * 2
    text = next(d for d in delivered if "breached" in d.message["Subject"]).part("plain")
    assert "The first response target of ticket" in text and "was due 09 Jun 2025, 09:30 CEST" in text


def test_the_sweeper_requeues_what_the_queue_lost(ctx, acme, smtp, app, monkeypatch):
    from datetime import timedelta

    from app.models.base import utcnow

    monkeypatch.setattr(mail, "SWEEP_GRACE_SECONDS", 0)
    lost = []
    from app.repositories import unit_of_work

    monkeypatch.setattr(unit_of_work, "job_dispatcher", [lambda name, args: lost.append((name, args))])
    ticket = make_ticket(acme, acme.lead)
    assign(acme, ticket.number, acme.agent)
    row = only(emails())
    assert row.status == "queued" and ("notification.send_email", (row.id,)) in lost and smtp.delivered == []

    # An attempt whose worker died: its lease ran out.
    db.session.execute(EmailMessage.__table__.update().values(lease_expires_at=utcnow() - timedelta(seconds=1),
                                                              attempts=1))
    db.session.commit()
    assert notification_tasks.sweep_emails_once() == 1
    assert only(emails()).status == "sent" and len(smtp.wait_for(1)) == 1
    assert only(emails()).attempts == 2
    assert notification_tasks.sweep_emails_once() == 0


def test_admin_retry_sends_a_failed_email_again_with_an_audit_row(ctx, acme, smtp):
    smtp.script("550 5.1.1 No such user")
    ticket = make_ticket(acme, acme.lead)
    assign(acme, ticket.number, acme.agent)
    row = only(emails())
    assert row.status == "failed"

    with acme.uow(acme.admin) as uow:
        mail.retry_email(uow, row.id)
        uow.commit()
    row = only(emails())
    assert (row.status, row.attempts, row.max_attempts) == ("sent", 2, 5)
    assert len(smtp.wait_for(1)) == 1
    audit = db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "EmailMessage"))
    assert audit.action == "RETRY" and audit.changes["before"] == {"status": "failed"}


def test_mail_settings_come_from_flask_mails_own_names(ctx, app, monkeypatch, acme):
    point_mail_at(app, monkeypatch, 2525, MAIL_USE_TLS=True, MAIL_USERNAME="u", MAIL_PASSWORD="p",
                  MAIL_DEFAULT_SENDER="Help <help@example.com>")
    state = app.extensions["mail"]
    assert (state.server, state.port, state.use_tls, state.username, state.password) == (
        "127.0.0.1", 2525, True, "u", "p")
    assert mail.sends_for_real()
