"""Erasing a person (GDPR art. 17): name and e-mail become a pseudonym everywhere, links die, mails stop,
while seat counts, completions and the audit trail remain."""

from __future__ import annotations

from sqlalchemy import select

from enrolment.erasure import erase_participant
from enrolment.models import Enrolment, OfferingSeats, OutboxMessage, Participant, db
from shared import audit
from shared.db import utcnow


def test_erasing_a_confirmed_person_cancels_the_place_and_the_next_in_line_moves_up(
        app, client, enrol, make_school, make_offering, make_organisation):
    make_organisation("791", requires_approval=False)
    offering = make_offering(make_school("Mercantec"), capacity=1, min_participants=1)
    anne = enrol(offering, "Anne").get_json()
    bent = enrol(offering, "Bent").get_json()
    assert bent["status"] == "waitlisted"
    with app.app_context():
        person = db.session.get(Enrolment, anne["id"]).participant
        erasure = erase_participant(db.session, person, actor=audit.SYSTEM, now=utcnow())
        db.session.commit()
        assert erasure.cancelled == (anne["id"],) and erasure.promoted == (bent["id"],)
        assert db.session.get(Enrolment, bent["id"]).status == "confirmed"
        seats = db.session.get(OfferingSeats, offering["id"])
        assert (seats.confirmed, seats.waitlisted) == (1, 0)
        assert not db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "anne@kommune.example"
                                                                  )).all()
        again = erase_participant(db.session, person, actor=audit.SYSTEM, now=utcnow())
        assert again.already_erased
