"""The retention purge removes what each purpose keeps past its period, and nothing a moment before it.

The clock is moved to each period's edge: one second (or one day, for periods counted in days of the
course) before it nothing goes; just past it exactly the rows that are due go. A dry run reports the
same counts and removes nothing.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from enrolment import jobs
from enrolment.models import ACCOUNTS, AuditEntry, Enrolment, OutboxMessage, Participant, db
from enrolment.purge import purge
from shared.clock import COPENHAGEN
from shared.db import utcnow
from shared.retention import Retention, instant_years_before, months_before, years_before
from tests.accounts import Clock
from tests.catalogue.fixtures import in_days


@pytest.fixture
def clock(app):
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def offering(make_school, make_offering, make_organisation):
    """Two days from 30 days ahead: the course's last day is in 31 days."""
    make_organisation("791", name="Viborg Kommune", requires_approval=False)
    make_organisation("730", name="Randers Kommune", requires_approval=False)
    return make_offering(make_school("Mercantec"), module="GLU-3", capacity=5, min_participants=1, first_day=30,
                         days=2)


@pytest.fixture
def places(offering, enrol) -> dict[str, int]:
    return {name: enrol(offering, name, organisation=organisation).get_json()["id"]
            for name, organisation in (("Anne", "791"), ("Bent", "730"))}


def settings(app, **changes) -> Retention:
    return Retention.from_config({**app.config, **{f"RETENTION_{name.upper()}": value
                                                   for name, value in changes.items()}})


def run(app, at: datetime, *, dry_run: bool = False, **changes) -> dict[str, int]:
    with app.app_context():
        counts = purge(db.session, now=at, settings=settings(app, **changes), dry_run=dry_run)
        db.session.commit()
        return counts


def names(app) -> dict[int, str]:
    with app.app_context():
        return dict(db.session.execute(select(Participant.id, Participant.name)).all())


def noon(day) -> datetime:
    return datetime.combine(day, time(12), tzinfo=COPENHAGEN)


LAST_DAY = 31  # days from today


# --- Enrolments' personal data ----------------------------------------------------------------------

def test_participants_are_erased_the_day_after_the_enrolment_period_from_the_course_last_day(app, places):
    last_day = in_days(LAST_DAY).date()
    on_the_last_day_of_the_period = noon(months_before(last_day, -6))
    before = names(app)

    assert run(app, on_the_last_day_of_the_period)["enrolment"] == 0
    assert names(app) == before
    assert run(app, on_the_last_day_of_the_period + timedelta(days=1), dry_run=True)["enrolment"] == 2
    assert names(app) == before

    assert run(app, on_the_last_day_of_the_period + timedelta(days=1))["enrolment"] == 2
    assert all(name.startswith("Slettet person") for name in names(app).values())
    with app.app_context():  # their places stay, under the pseudonym: the invoice basis and the statistics
        assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 2
    assert run(app, on_the_last_day_of_the_period + timedelta(days=2))["enrolment"] == 0  # erased once


def test_a_completion_is_kept_as_long_as_its_organisation_decides(app, client, auth, places):
    last_day = in_days(LAST_DAY).date()
    assert client.patch("/organisations/791", json={"completion_retention_years": 2},
                        headers=auth("hr", organisation="791")).get_json()["completion_retention_years"] == 2
    with app.app_context():
        db.session.execute(update(Enrolment).values(completion="completed", completed_on=last_day))
        db.session.commit()
    anne, bent = (places["Anne"], places["Bent"])

    # Past the enrolment period, both completions are still needed: Viborg keeps 2 years, Randers the default 10.
    assert run(app, noon(months_before(last_day, -6)) + timedelta(days=1))["enrolment"] == 0
    assert run(app, noon(years_before(last_day, -2)))["enrolment"] == 0
    assert run(app, noon(years_before(last_day, -2)) + timedelta(days=1))["enrolment"] == 1
    with app.app_context():
        erased = {enrolment.id: enrolment.participant.erased_at is not None
                  for enrolment in db.session.scalars(select(Enrolment))}
    assert erased == {anne: True, bent: False}
    assert run(app, noon(years_before(last_day, -10)))["enrolment"] == 0
    assert run(app, noon(years_before(last_day, -10)) + timedelta(days=1))["enrolment"] == 1


def test_only_hr_of_the_organisation_or_an_administrator_sets_its_completion_retention(client, auth, offering):
    body = {"completion_retention_years": 3}
    assert client.patch("/organisations/791", json=body, headers=auth("hr", organisation="730")).status_code == 404
    assert client.patch("/organisations/791", json=body,
                        headers=auth("approver", organisation="791")).status_code == 403
    assert client.patch("/organisations/791", json=body,
                        headers=auth("school", provider_id=offering["provider_id"])).status_code == 403
    assert client.patch("/organisations/791", json=body).status_code == 401
    assert client.patch("/organisations/791", json={"completion_retention_years": -1},
                        headers=auth("admin")).status_code == 422
    answer = client.patch("/organisations/791", json=body, headers=auth("admin"))
    assert answer.status_code == 200 and answer.get_json()["completion_retention_years"] == 3
    entries = client.get("/audit", headers=auth("admin"),
                         query_string={"action": "organisation.changed"}).get_json()["items"]
    assert entries[0]["changes"] == {"completion_retention_years": [None, 3]}


def test_an_open_interest_keeps_the_participant(app, client, auth, places):
    last_day = in_days(LAST_DAY).date()
    assert client.post("/interests", headers=auth("hr", organisation="730"), json={
        "module": "GLU-4", "regions": ["1082"], "participant": {"name": "Bent", "email": "bent@kommune.example"}},
    ).status_code == 201, "an interest of Bent's, still open"
    assert run(app, noon(months_before(last_day, -6)) + timedelta(days=1))["enrolment"] == 1


# --- The outbox -------------------------------------------------------------------------------------

def test_mail_bodies_go_the_retention_after_delivery_and_the_rows_stay(app, places):
    delivered = utcnow() - timedelta(days=1)
    with app.app_context():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.kind == "mail")
                           .values(delivered_at=delivered, due_at=None))
        mails = db.session.scalar(select(func.count()).where(OutboxMessage.kind == "mail"))
        db.session.commit()
    assert mails >= 2
    edge = delivered + timedelta(weeks=4)

    assert run(app, edge)["mail_body"] == 0
    assert run(app, edge + timedelta(seconds=1), dry_run=True)["mail_body"] == mails
    assert run(app, edge + timedelta(seconds=1))["mail_body"] == mails
    with app.app_context():
        rows = db.session.execute(select(OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.body)
                                  .where(OutboxMessage.kind == "mail")).all()
    assert len(rows) == mails and all(recipient and subject and body is None for recipient, subject, body in rows)


def test_mails_not_yet_sent_keep_their_bodies(app, places):
    with app.app_context():
        waiting = db.session.scalar(select(func.count()).where(OutboxMessage.kind == "mail",
                                                               OutboxMessage.delivered_at.is_(None)))
    assert waiting >= 2  # no SMTP in the tests: the mails wait
    assert run(app, utcnow() + timedelta(weeks=400))["mail_body"] == 0


def test_delivered_seat_counts_go_after_the_delivery_days(app, places):
    delivered = utcnow() - timedelta(hours=1)
    with app.app_context():
        db.session.add(OutboxMessage(kind="seat_counts", offering_id=1, created_at=delivered, due_at=None,
                                     delivered_at=delivered))
        db.session.add(OutboxMessage(kind="seat_counts", offering_id=1, created_at=delivered, due_at=delivered))
        db.session.execute(update(OutboxMessage).where(OutboxMessage.kind == "seat_counts",
                                                       OutboxMessage.delivered_at.is_not(None))
                           .values(delivered_at=delivered))
        done = db.session.scalar(select(func.count()).where(OutboxMessage.kind == "seat_counts",
                                                            OutboxMessage.delivered_at.is_not(None)))
        db.session.commit()
    edge = delivered + timedelta(days=30)

    assert run(app, edge)["delivery"] == 0
    assert run(app, edge + timedelta(seconds=1), dry_run=True)["delivery"] == done
    assert run(app, edge + timedelta(seconds=1))["delivery"] == done
    with app.app_context():  # the one still due stays, to be delivered
        assert db.session.scalar(select(func.count()).where(OutboxMessage.kind == "seat_counts")) == 1


# --- Sign-in links and sessions -----------------------------------------------------------------------

def test_sign_in_links_and_ended_sessions_go_after_the_sign_in_days(app):
    models = ACCOUNTS
    start = utcnow()
    with app.app_context():
        person = models.Person(name="Karen Holm", email="karen@viborg.example", email_key="karen@viborg.example")
        db.session.add(person)
        db.session.flush()
        db.session.add_all([
            models.SignInLink(token_hash="a" * 64, purpose="sign_in", person_id=person.id, created_at=start,
                              expires_at=start + timedelta(minutes=15)),
            models.WebSession(token_hash="b" * 64, person_id=person.id, created_at=start, last_seen_at=start,
                              ended_at=start + timedelta(minutes=15)),
            # Never signed out: it ends 8 hours after its last request.
            models.WebSession(token_hash="c" * 64, person_id=person.id, created_at=start,
                              last_seen_at=start + timedelta(minutes=15) - timedelta(hours=8)),
        ])
        db.session.commit()
    edge = start + timedelta(minutes=15) + timedelta(days=7)

    assert run(app, edge)["sign_in"] == 0
    assert run(app, edge + timedelta(seconds=1), dry_run=True)["sign_in"] == 3
    assert run(app, edge + timedelta(seconds=1))["sign_in"] == 3
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(models.WebSession)) == 0
        assert db.session.scalar(select(func.count()).select_from(models.SignInLink)) == 0


# --- Audit entries ------------------------------------------------------------------------------------

def add_audit_entry(app, at: datetime) -> int:
    with app.app_context():
        entry = AuditEntry(at=at, actor_type="system", actor_name="GLU-kurser", action="organisation.changed",
                           object_type="organisation", object_id="1", tenant_id=None, changes={})
        db.session.add(entry)
        db.session.commit()
        return entry.id


def test_audit_entries_go_after_the_audit_years(app):
    now = utcnow().replace(microsecond=0)
    old = add_audit_entry(app, instant_years_before(now, 7) - timedelta(seconds=1))
    add_audit_entry(app, instant_years_before(now, 7))

    assert run(app, now, dry_run=True, audit_years=7)["audit"] == 1
    assert run(app, now, audit_years=7)["audit"] == 1
    with app.app_context():
        assert db.session.get(AuditEntry, old) is None
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.at < instant_years_before(now, 1))) == 1


def new_year(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=COPENHAGEN)


def test_audit_entries_are_kept_the_bookkeeping_years_after_their_financial_year(app):
    """The audit trail shows what was bought under which EAN: bogføringsloven § 10 counts 5 years from the
    end of the financial year, whatever the (shorter) audit period."""
    year = utcnow().astimezone(COPENHAGEN).year
    last_of_old_year = add_audit_entry(app, new_year(year - 6) - timedelta(seconds=1))
    first_of_next = add_audit_entry(app, new_year(year - 5))
    now = utcnow()

    assert run(app, now, audit_years=2, dry_run=True)["audit"] == 1
    assert run(app, now, audit_years=2)["audit"] == 1
    with app.app_context():
        assert db.session.get(AuditEntry, last_of_old_year) is None
        assert db.session.get(AuditEntry, first_of_next) is not None


@pytest.mark.postgres_only
@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="the trigger is PostgreSQL's")
def test_the_database_refuses_to_delete_a_young_audit_entry_or_change_any(app):
    now = utcnow()
    young = add_audit_entry(app, now - timedelta(days=364))
    old = add_audit_entry(app, now - timedelta(days=367))
    with app.app_context():
        with pytest.raises(DBAPIError, match="cannot be deleted"):
            db.session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": young})
        db.session.rollback()
        with pytest.raises(DBAPIError, match="cannot be changed"):
            db.session.execute(text("UPDATE audit_entry SET actor_name = 'x' WHERE id = :id"), {"id": old})
        db.session.rollback()
        db.session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": old})
        db.session.commit()
        assert db.session.get(AuditEntry, old) is None and db.session.get(AuditEntry, young) is not None


# --- The job, the command, the log and /metrics ---------------------------------------------------------

def test_the_nightly_job_purges_logs_counts_audits_and_counts_for_metrics(app, client, auth, places, clock, caplog):
    clock.at = noon(months_before(in_days(LAST_DAY).date(), -6)) + timedelta(days=1)
    with app.app_context():
        counts = jobs.purge_due()
    assert counts["enrolment"] == 2
    assert "enrolment=2" in caplog.text and "Anne" not in caplog.text
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'glu_purged_total{purpose="enrolment",service="enrolment"} 2.0' in metrics
    assert 'glu_purged_total{purpose="audit",service="enrolment"} 0.0' in metrics
    entries = client.get("/audit", headers=auth("admin"), query_string={"action": "retention.purged"})
    assert entries.get_json()["items"][0]["changes"]["enrolment"] == [None, 2], entries.get_json()


def test_the_command_counts_with_dry_run_and_purges_without(app, places, clock):
    clock.at = noon(months_before(in_days(LAST_DAY).date(), -6)) + timedelta(days=1)
    before = names(app)
    dry = app.test_cli_runner().invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0 and "Prøvekørsel" in dry.output and "enrolment 2" in dry.output
    assert names(app) == before
    done = app.test_cli_runner().invoke(args=["purge"])
    assert done.exit_code == 0 and "enrolment 2" in done.output
    assert all(name.startswith("Slettet person") for name in names(app).values())


def test_the_job_is_registered_to_run_every_night(app):
    assert "purge" in app.extensions["jobs"]._wrappers


def test_utc_helpers_are_calendar_true():
    assert instant_years_before(datetime(2028, 2, 29, 12, tzinfo=UTC), 1) == datetime(2027, 2, 28, 12, tzinfo=UTC)
