"""Erasing a person (GDPR art. 17): name and e-mail become a pseudonym everywhere, links die, mails stop,
while seat counts, completions and the audit trail remain."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import String, Text, select, text, update
from sqlalchemy.exc import DBAPIError

from catalogue.models import db as catalogue_db
from enrolment.erasure import erase_participant
from enrolment.models import AuditEntry, Enrolment, OfferingSeats, OutboxMessage, Participant, db
from shared import audit
from shared.db import utcnow
from tests.accounts import Clock
from tests.catalogue.fixtures import in_days
from tests.enrolment.test_mail_delivery import deliver_outbox
from tests.smtp import running_smtp_server

NAME, EMAIL = "Søren Aasted-Ærbø", "soeren.aasted@kommune.example"
# What test_insight takes from here: the fixtures, not the tests.
__all__ = ["EMAIL", "NAME", "clock", "coming", "held", "path_of", "school", "soeren"]


@pytest.fixture
def clock(app):
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def school(make_school):
    return make_school("Mercantec")


@pytest.fixture
def held(school, make_offering, make_organisation):
    """A course of two days from 30 days ahead: Søren's, held and completed by the time he is erased."""
    make_organisation("791", name="Viborg Kommune", requires_approval=False)
    make_organisation("730", name="Randers Kommune", requires_approval=False)
    return make_offering(school, module="GLU-1", capacity=4, min_participants=1, first_day=30, days=2)


@pytest.fixture
def coming(school, make_offering, held):
    """One seat, 60 days ahead: Søren holds it, Bent waits for it."""
    return make_offering(school, module="GLU-3", capacity=1, min_participants=1, first_day=60, days=1)


@pytest.fixture
def soeren(client, hr, held, coming, enrol, clock, auth):
    """Søren enrolled in both, completed the first; Bent waits in the second; a mail to Søren has been sent."""
    first = client.post("/enrolments", headers={**hr(), "Idempotency-Key": "soeren-first"},
                        json={"offering_id": held["id"], "participant": {"name": NAME, "email": EMAIL}}).get_json()
    second = enrol(coming, NAME, email=EMAIL).get_json()
    bent = enrol(coming, "Bent").get_json()
    assert (first["status"], second["status"], bent["status"]) == ("confirmed", "confirmed", "waitlisted")
    registered = client.post("/interests", headers=hr(), json={
        "module": "GLU-5", "regions": ["1082"], "participant": {"name": NAME, "email": EMAIL}})
    assert registered.status_code == 201, registered.get_json()
    with running_smtp_server() as (_, port):
        assert deliver_outbox(client.application, port)[1] == 0
    clock.at = in_days(31) + timedelta(minutes=5)  # the held course's last day has begun
    school = auth("school", provider_id=held["provider_id"])
    day = held["sessions"][0]["id"]
    assert client.put(f"/offerings/{held['id']}/sessions/{day}/attendance", json={"attended": [first["id"]]},
                      headers=school).status_code == 200
    completion = {"result": "completed", "note": f"{NAME} deltog aktivt"}
    assert client.put(f"/enrolments/{first['id']}/completion", json=completion, headers=school).status_code == 200
    return {"id": first["participant"]["id"], "first": first, "second": second, "bent": bent,
            "interest": registered.get_json(), "feed": first["calendar_url"], "page": first["my_courses_url"]}


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def rows_holding(database, needles: list[str]) -> list[tuple[str, str]]:
    """(table, column) of every text, JSON or binary value in the database holding one of `needles` (any case)."""
    found = []
    wanted = [needle.casefold() for needle in needles]
    with database.engine.connect() as connection:
        for table in database.metadata.sorted_tables:
            for row in connection.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is None or isinstance(value, int | float | bool):
                        continue
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    elif not isinstance(value, str):
                        value = json.dumps(value, default=str, ensure_ascii=False)
                    if any(needle in value.casefold() for needle in wanted):
                        found.append((table.name, column))
    return found


def text_columns_like(database, needle: str) -> list[tuple[str, str]]:
    """The same search in SQL: every String, Text and JSON column cast to text, LIKE the needle."""
    found = []
    with database.engine.connect() as connection:
        for table in database.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, String | Text) or column.type.__class__.__name__ == "JSON":
                    as_text = column.cast(Text) if not isinstance(column.type, String | Text) else column
                    if connection.execute(select(column).where(as_text.ilike(f"%{needle}%")).limit(1)).first():
                        found.append((table.name, column.name))
    return found


# --- The "done when" ---------------------------------------------------------------------

def test_an_erased_person_is_found_nowhere_while_counts_and_completion_remain(
        app, client, hr, soeren, coming, catalogue_app):
    assert client.get(path_of(soeren["feed"])).status_code == 200
    assert client.get(path_of(soeren["page"])).status_code == 200
    with app.app_context():
        assert rows_holding(db, [NAME, EMAIL])  # the search finds what is there

    answer = client.post(f"/participants/{soeren['id']}/erase", headers=hr())

    assert answer.status_code == 200, answer.get_json()
    summary = answer.get_json()
    assert (summary["already_erased"], summary["cancelled"]) == (False, 1)
    assert summary["cancelled_enrolments"] == [soeren["second"]["id"]]
    assert summary["promoted_enrolments"] == [soeren["bent"]["id"]]
    needles = [NAME, EMAIL, json.dumps(NAME)[1:-1], "Aasted"]
    with app.app_context():
        assert rows_holding(db, needles) == []
        assert [hit for needle in needles for hit in text_columns_like(db, needle)] == []
    with catalogue_app.app_context():
        assert rows_holding(catalogue_db, needles) == []
    # The links are dead.
    assert client.get(path_of(soeren["feed"])).status_code == 404
    assert client.get(path_of(soeren["page"])).status_code == 404
    with app.app_context():
        person = db.session.get(Participant, soeren["id"])
        assert person.name.startswith("Slettet person ") and person.email.endswith("@invalid")
        assert person.erased_at is not None
        # The waiting list moved up as after any cancellation; the counts are what it leaves.
        assert db.session.get(Enrolment, soeren["bent"]["id"]).status == "confirmed"
        seats = db.session.get(OfferingSeats, coming["id"])
        assert (seats.confirmed, seats.waitlisted) == (1, 0)
        # The completion stays, for the statistics, under the pseudonym.
        first = db.session.get(Enrolment, soeren["first"]["id"])
        assert (first.status, first.completion, first.participant_id) == ("confirmed", "completed", soeren["id"])
        # No mail waits for the erased address (there is none left to write to), and Bent hears of his seat.
        waiting = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mail",
                                                                 OutboxMessage.delivered_at.is_(None))).all()
        assert {mail.recipient for mail in waiting} == {"bent@kommune.example"}
        erased = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "participant.erased")).one()
        assert (erased.object_type, erased.object_id) == ("participant", str(soeren["id"]))


def test_a_second_erasure_is_answered_with_nothing_to_do(app, client, hr, soeren, auth):
    first = client.post(f"/participants/{soeren['id']}/erase", headers=hr()).get_json()

    again = client.post(f"/participants/{soeren['id']}/erase", headers=auth("admin"))

    assert again.status_code == 200
    assert again.get_json()["already_erased"] is True and again.get_json()["cancelled"] == 0
    assert again.get_json()["erased_at"] == first["erased_at"]
    with app.app_context():
        assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "participant.erased")).all()) == 1


def test_an_administrator_erases_anyone(client, soeren, auth):
    assert client.post(f"/participants/{soeren['id']}/erase", headers=auth("admin")).status_code == 200


def test_erasure_is_refused_to_every_other_role(client, soeren, hr, auth, held):
    path = f"/participants/{soeren['id']}/erase"

    assert client.post(path, headers=hr("730")).status_code == 404  # another organisation's person
    assert client.post(path, headers=auth("approver", organisation="791")).status_code == 403
    assert client.post(path, headers=auth("school", provider_id=held["provider_id"])).status_code == 403
    assert client.post(path).status_code == 401
    assert client.post("/participants/999999/erase", headers=hr()).status_code == 404
    assert client.get(path_of(soeren["page"])).status_code == 200  # nothing was erased


# --- What erasure rewrites --------------------------------------------------------------------------

def test_old_audit_entries_naming_the_person_are_rewritten_to_the_pseudonym(app, soeren, clock):
    """Entries written before audit entries named people by id hold the name: erasure rewrites them."""
    with app.test_request_context():
        audit.record(db.session, "enrolment.substituted", "enrolment", soeren["first"]["id"], tenant_id=None,
                     changes={"participant": [NAME, "Bent"]}, actor=audit.SYSTEM)
        audit.record(db.session, "enrolment.cancelled", "enrolment", soeren["second"]["id"], tenant_id=None,
                     changes={"status": ["confirmed", "cancelled"]},
                     actor=audit.AuditActor("participant", soeren["id"], f"{NAME} (Mine kurser)"))
        db.session.commit()
        person = db.session.get(Participant, soeren["id"])
        erasure = erase_participant(db.session, person, actor=audit.SYSTEM, now=clock())
        db.session.commit()

        # The two old entries, and the completion's, whose note (the school's words) names him.
        assert erasure.audit_entries_rewritten == 3
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.tenant_id.is_(None),
                                                              AuditEntry.action.like("enrolment.%"))
                                     .order_by(AuditEntry.id)).all()
        assert entries[0].changes == {"participant": [person.name, "Bent"]}
        assert entries[1].actor_name == f"{person.name} (Mine kurser)"
        assert entries[1].actor_type == "participant"  # who acted stays who acted


def test_mails_naming_the_person_to_others_keep_their_text_with_the_pseudonym(app, soeren, clock):
    with app.test_request_context():
        db.session.add(OutboxMessage(kind="mail", recipient="hr@viborg.example", subject="Aflyst",
                                     body=f"- {NAME}: https://example/alternatives", due_at=None,
                                     delivered_at=utcnow()))
        db.session.commit()
        person = db.session.get(Participant, soeren["id"])
        erase_participant(db.session, person, actor=audit.SYSTEM, now=clock())
        db.session.commit()

        to_hr = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "hr@viborg.example")).one()
        assert to_hr.body == f"- {person.name}: https://example/alternatives"
        to_them = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == person.email)).all()
        assert to_them and all(mail.body is None and mail.calendar is None and mail.delivered_at for mail in to_them)


def test_a_place_in_a_course_on_its_last_day_is_kept_as_history(app, soeren, held, clock):
    with app.test_request_context():
        person = db.session.get(Participant, soeren["id"])
        erasure = erase_participant(db.session, person, actor=audit.SYSTEM, now=clock())
        db.session.commit()

        assert soeren["first"]["id"] not in erasure.cancelled
        assert db.session.get(Enrolment, soeren["first"]["id"]).status == "confirmed"
        assert (db.session.get(OfferingSeats, held["id"]).confirmed) == 1


def test_the_audit_table_stays_closed_to_every_other_update_on_postgresql(app, soeren):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the trigger is PostgreSQL's")
        entry_id = db.session.scalar(select(AuditEntry.id).limit(1))
        with pytest.raises(DBAPIError):
            db.session.execute(update(AuditEntry).where(AuditEntry.id == entry_id).values(changes={}))
        db.session.rollback()
        db.session.execute(text("SELECT set_config('glu.pseudonymising', 'on', true)"))
        with pytest.raises(DBAPIError):  # even pseudonymising, who acted and what stays
            db.session.execute(update(AuditEntry).where(AuditEntry.id == entry_id).values(action="x"))
        db.session.rollback()
        db.session.execute(text("SELECT set_config('glu.pseudonymising', 'on', true)"))
        with pytest.raises(DBAPIError):
            db.session.execute(AuditEntry.__table__.delete().where(AuditEntry.id == entry_id))
        db.session.rollback()
        # The setting ends with its transaction.
        with pytest.raises(DBAPIError):
            db.session.execute(update(AuditEntry).where(AuditEntry.id == entry_id).values(changes={}))
        db.session.rollback()
