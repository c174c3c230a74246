"""Email: one row per person and event, sent by a job with flask-mail, retried, logged.

``queue_email`` (called by the notification handler, in its unit of work)
renders templates/email/<template>.html and .txt, writes an EmailMessage row
(unique per event and person: an event never emails a person twice) with its
own Message-ID, and asks for the ``notification.send_email`` job after commit.
No email is ever sent inside a web request.

An attempt (``attempt_email``, what the job does) is three short steps, no
write lock held during the SMTP conversation:

1. claim: one conditional UPDATE takes attempt ``n + 1`` and a lease;
2. send with flask-mail: the same Message-ID on every attempt. Without
   MAIL_SERVER nothing touches the network: the email is logged and kept as
   ``stored`` (the embedded default), visible in the email log;
3. settle: ``sent``; or, for a transient failure (connection refused or
   dropped, timeout, a 4xx reply), ``retrying`` at the next step of
   MAIL_RETRY_SCHEDULE (±10 % jitter) until the attempts are used up, then
   ``failed``; a 5xx reply (or any other error) is ``failed`` at once, the
   server's reply kept as the last error.

The sweeper (each minute) requeues what the queue lost and attempts whose
worker died (the lease expired). Admins see every row in the email log and may
send failed ones again with a fresh attempt budget.
"""
from __future__ import annotations

import logging
import random
import re
import smtplib
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid, parseaddr
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import flask_mail
from flask import current_app

from app.observability.metrics import EMAILS
from app.observability.tracing import traced
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import EmailMessage, Tenant, User
from app.models.base import utcnow
from app.models.notifications import EMAIL_STATUSES
from app.repositories.notifications import EmailRepository, claim_email, due_emails, settle_email
from app.repositories.pagination import MAX_LIMIT, Page
from app.repositories.sqlite import begin_write
from app.repositories.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

SEND_JOB = "notification.send_email"
TEMPLATES = {"ticket.assigned": "ticket-assigned", "comment.created": "comment-added",
             "ticket.sla_warning": "sla-warning", "ticket.sla_breached": "sla-breach"}
STATUS_LABELS = {"queued": "Queued", "retrying": "Retrying", "sent": "Sent", "failed": "Failed",
                 "stored": "Stored (not sent)"}
RETRYABLE = ("failed", "retrying", "stored")
SWEEP_GRACE_SECONDS = 60  # a due email without a lease is taken for lost after this long
SWEEP_BATCH = 500
EARLY_SECONDS = 2.0  # a job may run this much before the due time (clock and scheduler slack)
LEASE_MARGIN_SECONDS = 60.0
LOST = "No result within the lease: the worker stopped during this attempt."


@dataclass(frozen=True)
class MailSettings:
    schedule: tuple[float, ...]  # seconds between attempts
    timeout: float

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1


def current_settings() -> MailSettings:
    config = current_app.config
    raw = str(config.get("MAIL_RETRY_SCHEDULE", "60,300,900,3600,14400"))
    schedule = tuple(float(part) for part in raw.split(",") if part.strip()) or (60.0,)
    return MailSettings(schedule=schedule, timeout=float(config.get("MAIL_TIMEOUT", 30)))


def _mail_state():
    """Flask-Mail's settings of this app (MAIL_SERVER, MAIL_PORT, … read by Mail.init_app)."""
    return current_app.extensions["mail"]


def sends_for_real() -> bool:
    """False without MAIL_SERVER (or with Flask-Mail's MAIL_SUPPRESS_SEND): emails are stored."""
    state = _mail_state()
    return bool(state.server) and not state.suppress


# -- writing an email --------------------------------------------------------------------------------
def external_url(endpoint: str, anchor: str | None = None, **values) -> str:
    """An absolute link under BASE_URL: jobs have no request to take the host from."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{anchor}" if anchor else url


def tenant_time(tenant: Tenant, moment: datetime) -> str:
    try:
        zone = ZoneInfo(tenant.timezone)
    except Exception:
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).strftime("%d %b %Y, %H:%M %Z")


def render_email(template: str, context: dict) -> tuple[str, str]:
    """(plain text, HTML) of templates/email/<template>; the HTML part is autoescaped."""
    env = current_app.jinja_env
    text = env.get_template(f"email/{template}.txt").render(**context)
    html = env.get_template(f"email/{template}.html").render(**context)
    return text, html


def _one_line(text: str, limit: int = 255) -> str:
    """Header-safe: no line breaks, no runs of blanks."""
    return re.sub(r"\s+", " ", text).strip()[:limit]


def _message_id() -> str:
    _, address = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")
    domain = address.rpartition("@")[2] or urlsplit(current_app.config["BASE_URL"]).hostname or "ticketry.local"
    return make_msgid(idstring="ticketry", domain=domain)


def queue_email(uow: UnitOfWork, *, user: User, event_id: str, event_type: str, ticket_number: int,
                ticket_subject: str, headline: str, subject: str, extra: dict) -> int | None:
    """Write the email of this event to this person and ask for its job; None if it exists already."""
    template = TEMPLATES[event_type]
    tenant = uow.tenant
    ticket_url = external_url("tickets.show", number=ticket_number)
    context = dict(tenant_name=tenant.name, recipient_name=user.name, ticket_number=ticket_number,
                   ticket_subject=ticket_subject, ticket_url=ticket_url, headline=headline,
                   preferences_url=external_url("notifications.preferences"), **extra)
    if extra.get("comment_url_fragment"):
        context["comment_url"] = f"{ticket_url}#{extra['comment_url_fragment']}"
    subject = _one_line(f"[{tenant.name}] {subject}")
    context["subject"] = subject
    text, html = render_email(template, context)
    now = utcnow()
    email_id = EmailRepository(uow.session, uow.tenant_id).add_once(dict(
        user_id=user.id, event_id=event_id, event_type=event_type, template=template, ticket_number=ticket_number,
        recipient=user.email, subject=subject, body_text=text, body_html=html, message_id=_message_id(),
        status="queued", attempts=0, max_attempts=current_settings().max_attempts, next_attempt_at=now,
        created_at=now, updated_at=now))
    if email_id is not None:
        uow.enqueue_after_commit(SEND_JOB, email_id)
    return email_id


# -- sending: what the job does --------------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    transient: bool
    code: int | None
    text: str


def _reply(code: int, message) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}".strip()


def classify(exc: BaseException) -> Failure:
    """Transient: the server may take it later (4xx, connection refused or dropped, timeouts).
    Permanent: a 5xx reply (kept verbatim) and anything else."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, message = next(iter(exc.recipients.values()))
        transient = all(400 <= c < 500 for c, _ in exc.recipients.values())
        return Failure(transient, code, _reply(code, message))
    if isinstance(exc, smtplib.SMTPResponseException):
        return Failure(400 <= exc.smtp_code < 500, exc.smtp_code, _reply(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return Failure(True, None, f"Connection dropped: {exc}" if str(exc) else "Connection dropped.")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return Failure(True, None, f"Timed out: {exc}" if str(exc) else "Timed out.")
    if isinstance(exc, ConnectionRefusedError):
        return Failure(True, None, f"Connection refused: {exc}")
    if isinstance(exc, smtplib.SMTPException):  # e.g. no STARTTLS or AUTH on the server: settings to fix
        return Failure(False, None, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, OSError):  # resets, unreachable networks, DNS, TLS
        return Failure(True, None, f"{type(exc).__name__}: {exc}")
    return Failure(False, None, f"{type(exc).__name__}: {exc}")


class SmtpConnection(flask_mail.Connection):
    """Flask-Mail's connection with a socket timeout (its own has none: a silent server would hang
    the worker), and a QUIT that never hides the outcome: a message the server accepted stays sent
    when the goodbye fails, and a failure stays the failure it was."""

    def __init__(self, state, timeout: float):
        super().__init__(state)
        self.timeout = timeout

    def configure_host(self):
        state = self.mail
        smtp_class = smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP
        host = smtp_class(state.server, state.port, timeout=self.timeout)
        host.set_debuglevel(int(state.debug))
        if state.use_tls:
            host.starttls()
        if state.username and state.password:
            host.login(state.username, state.password)
        return host

    def __exit__(self, exc_type, exc_value, tb) -> None:
        if self.host is not None:
            try:
                self.host.quit()
            except (smtplib.SMTPException, OSError):
                self.host.close()


def _send(claim, settings: MailSettings) -> None:
    message = flask_mail.Message(subject=claim.subject, recipients=[claim.recipient], body=claim.body_text,
                                 html=claim.body_html, sender=current_app.config.get("MAIL_DEFAULT_SENDER"))
    message.msgId = claim.message_id  # ours, on every attempt: receivers can drop a duplicate
    with SmtpConnection(_mail_state(), settings.timeout) as connection:
        message.send(connection)


def retry_delay(settings: MailSettings, attempt: int) -> float:
    step = settings.schedule[min(max(attempt - 1, 0), len(settings.schedule) - 1)]
    return step * random.uniform(0.9, 1.1)


@dataclass(frozen=True)
class Outcome:
    tenant_id: int | None = None
    status: str | None = None  # None: nothing was attempted (done, not due, or in flight elsewhere)
    retry_at: datetime | None = None


@traced("email.send")
def attempt_email(email_id: int) -> Outcome:
    """Claim, send (or store), settle: one attempt of one email."""
    settings, now = current_settings(), utcnow()
    session = db.session
    begin_write(session)
    claim = claim_email(session, email_id, now, now + timedelta(seconds=EARLY_SECONDS),
                        now + timedelta(seconds=settings.timeout * 3 + LEASE_MARGIN_SECONDS))
    session.commit()
    if claim is None:
        return Outcome()
    if not sends_for_real():
        log.info("email %s stored, not sent (no MAIL_SERVER): to=%s subject=%r message-id=%s",
                 claim.id, claim.recipient, claim.subject, claim.message_id)
        return _settle(claim, "stored", error=None, code=None)
    try:
        _send(claim, settings)
    except Exception as exc:  # classified: retried, or failed with the server's reply
        failure = classify(exc)
        if failure.transient and claim.attempts < claim.max_attempts:
            retry_at = utcnow() + timedelta(seconds=retry_delay(settings, claim.attempts))
            log.warning("email %s attempt %d failed (%s); retry at %s", claim.id, claim.attempts, failure.text,
                        retry_at.isoformat())
            return _settle(claim, "retrying", error=failure.text, code=failure.code, retry_at=retry_at)
        log.error("email %s failed after %d attempt(s): %s", claim.id, claim.attempts, failure.text)
        return _settle(claim, "failed", error=failure.text, code=failure.code)
    log.info("email %s sent to %s (message-id %s)", claim.id, claim.recipient, claim.message_id)
    return _settle(claim, "sent", error=None, code=None)


def _settle(claim, status: str, *, error: str | None, code: int | None, retry_at: datetime | None = None) -> Outcome:
    now = utcnow()
    values = dict(status=status, next_attempt_at=retry_at, updated_at=now)
    if status == "sent":
        values.update(sent_at=now, last_error=None, last_code=None)
    elif status != "stored":
        values.update(last_error=(error or "")[:1000] or None, last_code=code)
    session = db.session
    begin_write(session)
    current = settle_email(session, claim.id, claim.attempts, **values)
    session.commit()
    EMAILS.labels(outcome=status).inc()
    return Outcome(claim.tenant_id, status, retry_at if current else None)


def sweep(now: datetime | None = None) -> list[int]:
    """Ids of emails to enqueue again: due and not in flight (see the module docstring)."""
    now = now or utcnow()
    begin_write(db.session)
    ids = []
    for row in due_emails(db.session, now, now - timedelta(seconds=SWEEP_GRACE_SECONDS), SWEEP_BATCH):
        if row.lease_expires_at is not None:  # the attempt's worker died or stalled
            row.lease_expires_at, row.updated_at, row.last_error = None, now, LOST
        if row.attempts >= row.max_attempts:
            row.status, row.next_attempt_at = "failed", None
            row.last_error = row.last_error or "Attempts used up."
            continue
        ids.append(row.id)
    db.session.commit()
    if ids:
        log.warning("email sweeper requeued %d email(s)", len(ids))
    return ids


# -- admins: the email log and its Retry button -----------------------------------------------------------
def _require_admin(uow: UnitOfWork) -> None:
    user = uow.actor.user
    if user is None or not user.has_role("admin"):
        raise PermissionDenied("The email log is for admins.")


def list_emails(uow: UnitOfWork, *, status: str | None = None, page: int = 1, limit: int = 25) -> Page:
    _require_admin(uow)
    if status and status not in EMAIL_STATUSES:
        raise ValidationFailed.one("status", f"Must be one of: {', '.join(EMAIL_STATUSES)}.")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed.one("limit", f"Must be between 1 and {MAX_LIMIT}.")
    return EmailRepository(uow.session, uow.tenant_id).page(status=status or None, page=max(1, page), limit=limit)


def email_counts(uow: UnitOfWork) -> dict[str, int]:
    _require_admin(uow)
    return EmailRepository(uow.session, uow.tenant_id).count_by_status()


def get_email(uow: UnitOfWork, email_id: int) -> EmailMessage:
    _require_admin(uow)
    row = EmailRepository(uow.session, uow.tenant_id).get(email_id)
    if row is None:
        raise NotFound("Email", email_id)
    return row


def retry_email(uow: UnitOfWork, email_id: int) -> EmailMessage:
    """Send a failed, retrying or stored email again now, with a fresh attempt budget."""
    _require_admin(uow)
    row = EmailRepository(uow.session, uow.tenant_id).get(email_id, for_update=True)
    if row is None:
        raise NotFound("Email", email_id)
    if row.status not in RETRYABLE:
        raise Conflict(f"A {row.status} email cannot be sent again: only failed, retrying and stored ones.")
    if row.lease_expires_at is not None and row.lease_expires_at > utcnow():
        raise Conflict("This email is being sent right now.")
    before, now = row.status, utcnow()
    row.status, row.next_attempt_at, row.lease_expires_at, row.updated_at = "queued", now, None, now
    row.max_attempts = row.attempts + current_settings().max_attempts
    uow.session.flush()
    uow.audit("RETRY", "EmailMessage", row.id, {"before": {"status": before}, "after": {"status": "queued"},
                                                "recipient": row.recipient, "eventId": row.event_id},
              ticket_number=row.ticket_number)
    uow.enqueue_after_commit(SEND_JOB, row.id)
    return row
