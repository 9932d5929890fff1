"""The outbox: e-mails are written in the transaction that causes them and sent after it commits.

A mail that cannot be sent is tried again later (`flask --app enrolment send-mail`, from cron)
and never blocks or rolls back the enrolment that caused it. Without SMTP settings — development
and tests — mails stay in the outbox table, where they can be read back.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session as DbSession

from enrolment.models import OutboxMail, db
from shared.db import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    sender: str

    @classmethod
    def from_config(cls, config) -> SmtpSettings | None:
        if not config.get("SMTP_HOST"):
            return None
        return cls(config["SMTP_HOST"], int(config["SMTP_PORT"]), config.get("SMTP_USERNAME"),
                   config.get("SMTP_PASSWORD"), config["SMTP_STARTTLS"], config["MAIL_FROM"])


def enqueue_mail(db: DbSession, recipient: str, subject: str, body: str, calendar: bytes | None = None,
                 method: str | None = None) -> OutboxMail:
    mail = OutboxMail(recipient=recipient, subject=subject, body=body, calendar=calendar, calendar_method=method)
    db.add(mail)
    return mail


def send_pending(db: DbSession, settings: SmtpSettings, *, smtp_factory=smtplib.SMTP, now: datetime | None = None,
                 ) -> tuple[int, int]:
    """Send every unsent mail with attempts left; returns (sent, failed). Commits after each mail."""
    pending = db.scalars(select(OutboxMail).where(OutboxMail.sent_at.is_(None), OutboxMail.attempts < MAX_ATTEMPTS)
                         .order_by(OutboxMail.id).with_for_update(skip_locked=True)).all()
    sent = failed = 0
    for mail in pending:
        mail.attempts += 1
        try:
            with smtp_factory(settings.host, settings.port, timeout=10) as smtp:
                if settings.starttls:
                    smtp.starttls()
                if settings.username:
                    smtp.login(settings.username, settings.password or "")
                smtp.send_message(_message(mail, settings.sender))
        except (OSError, smtplib.SMTPException) as error:
            mail.last_error = repr(error)[:500]
            failed += 1
        else:
            mail.sent_at = now or utcnow()
            sent += 1
        db.commit()
    return sent, failed


def _message(mail: OutboxMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    # Both from the outbox row, not the moment of sending: a resend after a crash is the same message.
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = _message_id(mail, sender)
    # Quoted-printable: 7-bit on the wire (smtplib never asks for 8BITMIME), and the trailing space of a
    # folded iCalendar line survives servers that strip it.
    message.set_content(mail.body, cte="quoted-printable")
    if mail.calendar:
        # As an alternative part with the method, Outlook and Google update the event at once.
        message.add_alternative(mail.calendar.decode("utf-8"), subtype="calendar", cte="quoted-printable",
                                params={"method": mail.calendar_method or "PUBLISH"})
    return message


def _message_id(mail: OutboxMail, sender: str) -> str:
    """<20270326081502.123456.42@glu-courses.example>: the row's creation and id, at MAIL_FROM's domain."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<{mail.created_at:%Y%m%d%H%M%S.%f}.{mail.id}@{domain}>"


# --- Sending right after the commit ---------------------------------------------------------------

_WROTE_MAIL = "glu.wrote_mail"


def _note_new_mail(session: DbSession, flush_context, instances) -> None:
    if any(isinstance(item, OutboxMail) for item in session.new):
        session.info[_WROTE_MAIL] = True


def install_mail_sending(app: Flask) -> None:
    """After a commit that wrote mail, send it on a background thread if SMTP is configured."""
    settings = SmtpSettings.from_config(app.config)
    if settings is None:
        return

    def send_after_commit(session: DbSession) -> None:
        if session.info.pop(_WROTE_MAIL, False):
            threading.Thread(target=_send_in_background, args=(app, settings), daemon=True).start()

    if not event.contains(db.session, "before_flush", _note_new_mail):
        event.listen(db.session, "before_flush", _note_new_mail)
    event.listen(db.session, "after_commit", send_after_commit)


def _send_in_background(app: Flask, settings: SmtpSettings) -> None:
    with app.app_context():
        try:
            send_pending(db.session, settings)
        except Exception:  # the cron job will try again; the request is long answered
            log.exception("Sending mail failed")
        finally:
            db.session.remove()
