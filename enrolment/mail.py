"""Sending one e-mail of the outbox (enrolment.outbox) through the configured SMTP server.

Without SMTP settings — the tests — mails stay in the outbox table, where they can be read back;
`make run` points the services at a local mail sink whose Maildir holds what was sent.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from enrolment.models import OutboxMessage


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


def send_mail(mail: OutboxMessage, settings: SmtpSettings, smtp_factory=smtplib.SMTP) -> None:
    """Send one mail; raises OSError or SMTPException when it could not be sent."""
    with smtp_factory(settings.host, settings.port, timeout=10) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(_message(mail, settings.sender))


def _message(mail: OutboxMessage, sender: str) -> EmailMessage:
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


def _message_id(mail: OutboxMessage, sender: str) -> str:
    """<20270326081502.123456.42@glu-courses.example>: the row's creation and id, at MAIL_FROM's domain."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<{mail.created_at:%Y%m%d%H%M%S.%f}.{mail.id}@{domain}>"
