"""Mail from the outbox, sent through a real SMTP server (aiosmtpd) and read back as it was received."""

from __future__ import annotations

import re
from email.utils import parseaddr, parsedate_to_datetime

import pytest
import vobject
from sqlalchemy import update

from enrolment import outbox as outbox_module
from enrolment.models import OutboxMessage, db
from shared.db import utcnow
from shared.mail import SmtpSettings
from tests.smtp import free_port, running_smtp_server

SENDER = "Kursusafdelingen på Ærø <kurser@glu-aeroe.example>"


def deliver_outbox(app, port: int) -> tuple[int, int]:
    """Send what waits in the outbox to the SMTP server at 127.0.0.1:`port`; returns (sent, failed).

    The one place these tests call the sending, so a change of its API is adapted here.
    """
    with app.app_context():
        settings = SmtpSettings("127.0.0.1", port, None, None, False, app.config["MAIL_FROM"])
        report = outbox_module.deliver_due(db.session, app.extensions["catalogue_client"], settings)
        return report.delivered, report.failed


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1: yields (handler, port)."""
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def confirmed(app, make_school, make_offering, make_organisation, enrol):
    """Søren is enrolled on a course of two days: a confirmation and a mail for the second day wait in the outbox."""
    app.config["MAIL_FROM"] = SENDER
    make_organisation("791", requires_approval=False)
    offering = make_offering(make_school("Skolen på Ærø"), module="GLU-1", days=2, capacity=4, min_participants=1)
    response = enrol(offering, "Søren Ærbø Åsted", email="soeren@kommune.example")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "confirmed"
    return response.get_json()


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        mails = db.session.query(OutboxMessage).filter_by(kind="mail").order_by(OutboxMessage.id).all()
        db.session.expunge_all()
        return mails


def is_sent(row: OutboxMessage) -> bool:
    return row.delivered_at is not None


def mark_unsent(app) -> None:
    with app.app_context():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.kind == "mail")
                           .values(delivered_at=None, due_at=utcnow()))
        db.session.commit()


def test_sent_mail_has_the_headers_of_its_outbox_row(app, confirmed, smtp_server):
    handler, port = smtp_server

    result = deliver_outbox(app, port)

    rows = outbox(app)
    messages = handler.messages()
    assert result == (2, 0)
    assert len(rows) == len(messages) == 2
    assert all(is_sent(row) and row.attempts == 1 and row.last_error is None for row in rows)
    domain = parseaddr(SENDER)[1].rpartition("@")[2]
    for row, message in zip(rows, messages, strict=True):
        assert message["Subject"] == row.subject
        # The Date header is of the moment the mail was written (to the second, as RFC 5322 has it).
        assert parsedate_to_datetime(message["Date"]) == row.created_at.replace(microsecond=0)
        assert re.fullmatch(rf"<[^<>@\s]+@{re.escape(domain)}>", message["Message-ID"])
    assert len({message["Message-ID"] for message in messages}) == 2


def test_from_to_and_subject_arrive_with_danish_letters(app, confirmed, smtp_server):
    handler, port = smtp_server

    deliver_outbox(app, port)

    envelope, message = handler.envelopes[0], handler.messages()[0]
    assert envelope.mail_from == "kurser@glu-aeroe.example"
    assert envelope.rcpt_tos == ["soeren@kommune.example"]
    # The headers themselves are ASCII (RFC 2047 encoded words), so no server needs SMTPUTF8 for them.
    raw_headers = envelope.original_content.split(b"\r\n\r\n", 1)[0]
    assert raw_headers.isascii()
    sender = message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Kursusafdelingen på Ærø", "kurser@glu-aeroe.example")
    assert message["To"].addresses[0].addr_spec == "soeren@kommune.example"
    assert message["Subject"].startswith("Du er tilmeldt: ")
    assert message["Subject"].endswith(" hos Skolen på Ærø")
    assert "Hej Søren Ærbø Åsted" in message.get_body(preferencelist=("plain",)).get_content()


def test_a_confirmation_carries_an_itip_request(app, confirmed, smtp_server):
    handler, port = smtp_server

    deliver_outbox(app, port)

    for message in handler.messages():
        assert message.get_content_type() == "multipart/alternative"
        part = next(part for part in message.walk() if part.get_content_type() == "text/calendar")
        assert part.get_param("method") == "REQUEST"
        calendar = vobject.readOne(part.get_content())
        assert calendar.method.value == "REQUEST"
        assert len(calendar.vevent_list) == 1
        # A folded line of the description ends in a space ("på "): it arrives, and the text reads whole.
        assert "Udbyder: Skolen på Ærø" in calendar.vevent.description.value


def test_mail_is_seven_bit_on_the_wire(app, confirmed, smtp_server):
    """smtplib never declares BODY=8BITMIME, so what it sends must be 7-bit: Danish letters are encoded."""
    handler, port = smtp_server

    deliver_outbox(app, port)

    assert all(envelope.original_content.isascii() for envelope in handler.envelopes)
    assert all("Søren" in message.get_body(preferencelist=("plain",)).get_content()
               for message in handler.messages())


def test_a_mail_sent_again_is_the_same_message(app, confirmed, smtp_server):
    handler, port = smtp_server

    deliver_outbox(app, port)
    mark_unsent(app)  # as after a crash between sending and recording it
    second = deliver_outbox(app, port)

    first_time, second_time = handler.messages()[:2], handler.messages()[2:]
    assert second == (2, 0)
    assert all(message["Message-ID"] for message in first_time)
    assert [message["Message-ID"] for message in second_time] == [message["Message-ID"] for message in first_time]
    assert [message["Date"] for message in second_time] == [message["Date"] for message in first_time]
    assert all(row.attempts == 2 for row in outbox(app))


def test_a_refused_connection_leaves_the_mail_unsent_to_be_tried_again(app, confirmed):
    nothing_listens = free_port()

    result = deliver_outbox(app, nothing_listens)

    assert result == (0, 2)
    for row in outbox(app):
        assert not is_sent(row)
        assert row.attempts == 1
        assert "ConnectionRefusedError" in row.last_error
        assert row.due_at > row.created_at  # tried again once its backoff is over
