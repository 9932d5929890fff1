"""E-mail through the configured SMTP server, for both services (RFC 5322 messages, quoted-printable).

Two ways in:
- the enrolment service's outbox (enrolment.outbox) sends its rows with `send_mail`: mails about
  places, written in the transaction of the change;
- `queue_mail` hands a short mail (a sign-in link, an invitation) to the `send-mail` job after the
  request's commit, retried by the job engine. A worker killed in the instant between the commit
  and the enqueue loses that mail; the person asks for a new link, which is why such mails do not
  need an outbox row of their own.

Without SMTP settings (most tests) the outbox's mails stay in its table and `send-mail` logs that
it had nowhere to send; `make run` points both services at a local mail server whose Maildir the
mailbox page shows (shared.mailbox).
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol

from flask import current_app

from shared.db import utcnow
from shared.transaction import after_commit

log = logging.getLogger(__name__)
SEND_MAIL_JOB = "send-mail"


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


class Mail(Protocol):
    recipient: str
    subject: str
    body: str
    calendar: bytes | None
    calendar_method: str | None
    created_at: datetime
    message_key: str  # unique per mail, the same on every resend: the Message-ID's left part


@dataclass(frozen=True)
class PlainMail:
    recipient: str
    subject: str
    body: str
    created_at: datetime
    message_key: str
    calendar: bytes | None = None
    calendar_method: str | None = None


def send_mail(mail: Mail, settings: SmtpSettings, smtp_factory=smtplib.SMTP) -> None:
    """Send one mail; raises OSError or SMTPException when it could not be sent."""
    with smtp_factory(settings.host, settings.port, timeout=10) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message_of(mail, settings.sender))


def message_of(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    # Both fixed when the mail was written, not when it is sent: a resend after a crash is the same message.
    message["Date"] = format_datetime(mail.created_at)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{mail.message_key}@{domain}>"
    # Quoted-printable: 7-bit on the wire (smtplib never asks for 8BITMIME), and the trailing space of a
    # folded iCalendar line survives servers that strip it.
    message.set_content(mail.body, cte="quoted-printable")
    if mail.calendar:
        # As an alternative part with the method, Outlook and Google update the event at once.
        message.add_alternative(mail.calendar.decode("utf-8"), subtype="calendar", cte="quoted-printable",
                                params={"method": mail.calendar_method or "PUBLISH"})
    return message


def queue_mail(session, recipient: str, subject: str, body: str) -> None:
    """Send this mail by the `send-mail` job once the session's transaction has committed."""
    created = utcnow()
    after_commit(session, SEND_MAIL_JOB, recipient=recipient, subject=subject, body=body,
                 created_at=created.isoformat(), message_key=f"{created:%Y%m%d%H%M%S.%f}.{uuid.uuid4().hex[:12]}")


def register_mail_job(jobs) -> None:
    jobs.task(SEND_MAIL_JOB, send_queued_mail)


def send_queued_mail(recipient: str, subject: str, body: str, created_at: str, message_key: str) -> None:
    settings = SmtpSettings.from_config(current_app.config)
    if settings is None:
        log.warning("Mail %s not sent: SMTP_HOST is not set", message_key)
        return
    send_mail(PlainMail(recipient, subject, body, datetime.fromisoformat(created_at), message_key), settings)
