"""A worker killed between its commit and the side effects: the outbox still delivers the mail and the seat counts.

The enrolment is committed together with its outbox messages; the process then dies (SIGKILL)
before it can enqueue their delivery. The job engine's sweep, which runs every minute, finds the
messages due and delivers them: the mail reaches a real SMTP server and the catalogue shows the
seat taken.
"""

from __future__ import annotations

import multiprocessing
import signal
from pathlib import Path

import pytest
from sqlalchemy import select

from enrolment.models import Enrolment, OutboxMessage
from enrolment.models import db as enrolment_db
from tests.conftest import TOKEN_SECRET
from tests.enrolment.dying_worker import enrol_and_die
from tests.enrolment.test_mail_delivery import smtp_server  # noqa: F401 (a fixture)

REPO_ROOT = str(Path(__file__).resolve().parents[2])


@pytest.fixture
def two_seats(make_school, make_offering, make_organisation, enrol):
    make_organisation("791", requires_approval=False)
    offering = make_offering(make_school("Mercantec"), module="GLU-2", capacity=2, min_participants=1)
    assert enrol(offering, "Anne").status_code == 201  # the offering is known from here on
    return offering


def test_a_worker_killed_after_its_commit_loses_no_mail_and_no_seat_count(
        app, two_seats, hr, enrolment_database, catalogue_database, catalogue_client, smtp_server):  # noqa: F811
    handler, port = smtp_server
    body = {"offering_id": two_seats["id"], "participant": {"name": "Bent Berg", "email": "bent@viborg.example"}}
    worker = multiprocessing.get_context("spawn").Process(target=enrol_and_die, args=({
        "repo_root": REPO_ROOT, "enrolment_database": enrolment_database, "catalogue_database": catalogue_database,
        "token_secret": TOKEN_SECRET, "body": body, "headers": hr("791"),
    },))
    worker.start()
    worker.join(120)

    assert worker.exitcode == -signal.SIGKILL
    with app.app_context():
        bent = enrolment_db.session.scalars(select(Enrolment).join(Enrolment.participant)
                                            .where(Enrolment.offering_id == two_seats["id"],
                                                   Enrolment.status == "confirmed")).all()
        waiting = enrolment_db.session.scalars(select(OutboxMessage).where(OutboxMessage.delivered_at.is_(None),
                                                                           OutboxMessage.kind == "seat_counts")).all()
        enrolment_db.session.remove()
    assert len(bent) == 2  # Anne's and Bent's: the commit happened
    assert len(waiting) == 1  # ... and its seat counts wait in the outbox
    assert catalogue_client.get(f"/offerings/{two_seats['id']}").get_json()["seats_available"] == 1

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False)
    with app.app_context():
        app.extensions["jobs"].enqueue("deliver-outbox")  # what the engine's sweep does every minute

    assert catalogue_client.get(f"/offerings/{two_seats['id']}").get_json()["seats_available"] == 0
    received = [message for message in handler.messages() if message["To"] == "bent@viborg.example"]
    assert received and received[0]["Subject"].startswith("Du er tilmeldt")
    assert len({message["Message-ID"] for message in received}) == len(received)  # each sent once
