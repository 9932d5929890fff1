"""A mailed link pressed twice at the same moment, from two worker processes: decided once.

As tests/enrolment/test_competing_pairs.py: on PostgreSQL only a row lock orders the two (the
sign-in link's in shared.accounts.sign_in.redeem_link, the offering's in
enrolment.leader_requests.confirm_request); on SQLite the database's write lock does.
"""

from __future__ import annotations

from sqlalchemy import func, select

from enrolment.leader_requests import confirmation_token
from enrolment.models import ACCOUNTS, Enrolment, OfferingSeats, Organisation, OutboxMessage, db
from shared.accounts.sign_in import request_link
from shared.db import utcnow
from shared.transaction import commit
from tests.accounts import add_member
from tests.enrolment.concurrent_workers import spawn_workers

ROUNDS = 6
PROCESSES = 2


def test_a_link_used_twice_at_once_signs_in_once(enrolment_database, catalogue_database, app, make_organisation):
    make_organisation("791")
    with app.app_context():
        viborg_id = db.session.scalar(select(Organisation.id).where(Organisation.key == "791"))
    add_member(app, "camilla@viborg.example", viborg_id, "hr_admin", "Camilla Juhl")

    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [2] * ROUNDS) as workers:
        for n in range(ROUNDS):
            with app.app_context():
                mail = request_link(db.session, ACCOUNTS, "camilla@viborg.example", None, utcnow())
                commit(db.session)
                sessions_before = db.session.scalar(select(func.count()).select_from(ACCOUNTS.WebSession))
            path = f"/log-ind/{mail.secret}"

            answers, log = workers.fire([{"label": f"click-{side}", "service": "enrolment", "method": "POST",
                                          "path": path, "headers": {}, "form": {}, "csrf_page": path}
                                         for side in "ab"])

            with app.app_context():
                sessions_after = db.session.scalar(select(func.count()).select_from(ACCOUNTS.WebSession))
                db.session.remove()
            codes = sorted(answer["status"] for answer in answers)
            where = f"round {n}: {answers}\n{log}"
            assert codes == [303, 400], where
            assert sessions_after - sessions_before == 1, f"{where}: the link started two sessions"


def test_a_confirmation_pressed_twice_at_once_places_the_request_once(enrolment_database, catalogue_database, app,
                                                                       client, make_organisation, make_school,
                                                                       make_offering):
    make_organisation("730", requires_approval=False)
    school = make_school("Tradium")
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [2] * ROUNDS) as workers:
        for n in range(ROUNDS):
            offering = make_offering(school, module="GLU-1", capacity=5, min_participants=1, first_day=30 + n)
            email = f"leder{n}@randers.example"
            asked = client.post("/requests", json={"offering_id": offering["id"], "organisation": "730",
                                                   "participant": {"name": f"Leder {n}", "email": email}})
            with app.app_context():
                token = confirmation_token(db.session.get(Enrolment, asked.get_json()["id"]), utcnow())
            path = f"/anmod/bekraeft/{token}"

            answers, log = workers.fire([{"label": f"press-{side}", "service": "enrolment", "method": "POST",
                                          "path": path, "headers": {}, "form": {}, "csrf_page": path}
                                         for side in "ab"])

            with app.app_context():
                seats = db.session.get(OfferingSeats, offering["id"])
                confirmations = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.recipient == email, OutboxMessage.subject.startswith("Du er tilmeldt"),
                    OutboxMessage.subject.not_like("%(dag %")))  # the one mail, not each further day's
                db.session.remove()
            where = f"round {n}: {answers}\n{log}"
            assert sorted(answer["status"] for answer in answers) == [200, 409], where
            assert (seats.confirmed, confirmations) == (1, 1), f"{where}: the request was placed twice"
