"""One sign-in link used twice at the same moment, from two worker processes: one session, one refusal.

As tests/enrolment/test_competing_pairs.py: on PostgreSQL only the link's row lock
(shared.accounts.sign_in.redeem_link) orders the two; on SQLite the database's write lock does.
"""

from __future__ import annotations

from sqlalchemy import func, select

from enrolment.models import ACCOUNTS, Organisation, db
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
