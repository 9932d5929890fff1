"""Go or no-go: decision dates, the school's decision, its policy, and the job that reminds and decides."""

from __future__ import annotations

import multiprocessing
import os
from datetime import date, datetime, timedelta

import flask_migrate
import pytest
from sqlalchemy import func, select

from catalogue.jobs import decide_offerings
from catalogue.models import AuditEntry, Offering, db
from shared.clock import COPENHAGEN, copenhagen_today
from shared.go_no_go import day_and_month
from tests.accounts import Clock, add_member, sign_in_directly
from tests.catalogue.fixtures import as_json, in_days, offering_data
from tests.catalogue.test_pages import Page, check_page, csrf_from, page, post_form, sign_in_school
from tests.conftest import TOKEN_SECRET

TODAY = copenhagen_today()


def day(days: int) -> date:
    return TODAY + timedelta(days=days)


@pytest.fixture
def school_headers(auth, school):
    return auth("school", provider_id=school["id"])


@pytest.fixture
def clock(app):
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


def set_day(clock: Clock, when: date, hour: int = 8) -> None:
    clock.at = datetime(when.year, when.month, when.day, hour, 7, tzinfo=COPENHAGEN)


def put_seats(client, auth, offering_id: int, taken: int, waitlisted: int = 0, version: int = 1) -> None:
    answer = client.put(f"/offerings/{offering_id}/seats", headers=auth("service"),
                        json={"taken": taken, "waitlisted": waitlisted, "version": version})
    assert answer.status_code == 200, answer.get_json()


def offering_of(app, offering_id: int) -> Offering:
    with app.app_context():
        offering = db.session.get(Offering, offering_id)
        db.session.expunge(offering)
        return offering


def decided_entries(app, action: str = "offering.decided") -> list[AuditEntry]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                       .order_by(AuditEntry.id)))


def run_job(app) -> None:
    with app.app_context():
        decide_offerings()


def pointers(response) -> list[str]:
    return [problem["pointer"] for problem in response.get_json()["errors"]]


# --- The decision date --------------------------------------------------------------------------------

def test_the_decision_date_defaults_to_two_weeks_before_the_first_day(client, school, school_headers):
    made = client.post("/offerings", json=as_json(offering_data(school, first_day=30)), headers=school_headers)

    assert made.status_code == 201, made.get_json()
    assert made.get_json()["decision_date"] == day(16).isoformat()
    assert made.get_json()["decision"] is None and made.get_json()["decided_at"] is None


def test_a_course_starting_within_two_weeks_is_decided_today(client, school, school_headers):
    made = client.post("/offerings", json=as_json(offering_data(school, first_day=5)), headers=school_headers)

    assert made.get_json()["decision_date"] == TODAY.isoformat()


def test_the_number_of_days_is_configurable(app, client, school, school_headers):
    app.config["DECISION_DAYS_BEFORE_START"] = 21
    made = client.post("/offerings", json=as_json(offering_data(school, first_day=30)), headers=school_headers)

    assert made.get_json()["decision_date"] == day(9).isoformat()


def test_the_school_sets_its_own_decision_date(client, school, school_headers):
    made = client.post("/offerings", json=as_json(offering_data(school, first_day=30, decision_date=day(25))),
                       headers=school_headers)

    assert made.status_code == 201
    assert made.get_json()["decision_date"] == day(25).isoformat()


@pytest.mark.parametrize(("given", "message"), [
    (31, "Afgørelsesdatoen skal ligge senest på dagen for første session."),
    (-1, "Afgørelsesdatoen kan ikke ligge før i dag."),
])
def test_a_decision_date_after_the_first_day_or_before_today_is_refused(client, school, school_headers, given,
                                                                       message):
    refused = client.post("/offerings", json=as_json(offering_data(school, first_day=30, decision_date=day(given))),
                          headers=school_headers)

    assert refused.status_code == 422
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.get_json()["errors"] == [{"pointer": "/decision_date", "message": message}]
    assert client.get("/offerings", query_string={"status": "draft"}, headers=school_headers).get_json()["total"] == 0


def test_an_edit_refuses_a_decision_date_after_the_first_day(client, school, school_headers, make_offering):
    offering = make_offering(school, first_day=30)

    refused = client.patch(f"/offerings/{offering['id']}", json={"decision_date": day(40).isoformat()},
                           headers=school_headers)

    assert refused.status_code == 422 and pointers(refused) == ["/decision_date"]
    assert client.get(f"/offerings/{offering['id']}").get_json()["decision_date"] == day(16).isoformat()


def test_moving_the_days_moves_the_decision_date_with_them(client, school, school_headers, make_offering):
    offering = make_offering(school, first_day=30, decision_date=day(20))
    later = [{"id": session["id"], "starts_at": in_days(37 + n).isoformat(), "ends_at": in_days(37 + n, 15).isoformat()}
             for n, session in enumerate(offering["sessions"])]

    moved = client.patch(f"/offerings/{offering['id']}", json={"sessions": later, "enrolment_deadline":
                                                               day(20).isoformat()}, headers=school_headers)

    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["decision_date"] == day(27).isoformat()


def test_a_minimum_above_the_capacity_is_refused(client, school, school_headers):
    refused = client.post("/offerings", json=as_json(offering_data(school, capacity=4, min_participants=6)),
                          headers=school_headers)

    assert refused.status_code == 422 and pointers(refused) == ["/min_participants"]


# --- The school decides -------------------------------------------------------------------------------

def test_the_school_holds_its_course_as_a_new_revision_in_the_change_feed(app, client, school, school_headers,
                                                                         make_offering):
    offering = make_offering(school)

    held = client.post(f"/offerings/{offering['id']}/decision", json={"decision": "held"}, headers=school_headers)

    assert held.status_code == 200, held.get_json()
    assert held.get_json()["decision"] == "held" and held.get_json()["decided_at"]
    assert held.get_json()["revision"] == offering["revision"] + 1
    assert held.get_json()["change_seq"] > offering["change_seq"]
    assert held.get_json()["status"] == "published"
    [entry] = decided_entries(app)
    assert entry.changes == {"decision": [None, "held"]} and entry.actor_role == "school"


def test_the_school_cancels_by_deciding_with_a_reason(client, auth, school, school_headers, make_offering):
    offering = make_offering(school)
    put_seats(client, auth, offering["id"], taken=3, waitlisted=1)

    cancelled = client.post(f"/offerings/{offering['id']}/decision",
                            json={"decision": "cancelled", "reason": "Underviseren er syg"}, headers=school_headers)

    assert cancelled.status_code == 200, cancelled.get_json()
    body = cancelled.get_json()
    assert (body["status"], body["decision"], body["cancellation_reason"]) == (
        "cancelled", "cancelled", "Underviseren er syg")


def test_cancelling_needs_a_reason(client, school, school_headers, make_offering):
    offering = make_offering(school)

    refused = client.post(f"/offerings/{offering['id']}/decision", json={"decision": "cancelled"},
                          headers=school_headers)

    assert refused.status_code == 422 and pointers(refused) == ["/reason"]
    assert client.get(f"/offerings/{offering['id']}").get_json()["status"] == "published"


def test_an_unknown_decision_is_refused(client, school, school_headers, make_offering):
    offering = make_offering(school)

    refused = client.post(f"/offerings/{offering['id']}/decision", json={"decision": "maybe"}, headers=school_headers)

    assert refused.status_code == 422 and pointers(refused) == ["/decision"]


def test_a_cancellation_by_the_cancel_endpoint_is_the_decision_and_keeps_who_was_told(
        app, client, auth, school, school_headers, make_offering):
    offering = make_offering(school)
    put_seats(client, auth, offering["id"], taken=5, waitlisted=2)

    client.post(f"/offerings/{offering['id']}/cancel", json={"reason": "Ingen lokaler"}, headers=school_headers)

    stored = offering_of(app, offering["id"])
    assert (stored.decision, stored.participants_at_cancellation, stored.waitlisted_at_cancellation) == (
        "cancelled", 5, 2)
    assert stored.decided_at == stored.cancelled_at


@pytest.mark.parametrize("state", ["draft", "cancelled", "held"])
def test_a_draft_a_cancelled_or_a_decided_offering_cannot_be_decided(client, school, school_headers,
                                                                     make_offering, state):
    offering = make_offering(school, status="draft" if state == "draft" else "published")
    if state == "cancelled":
        client.post(f"/offerings/{offering['id']}/cancel", json={"reason": "Nej"}, headers=school_headers)
    if state == "held":
        client.post(f"/offerings/{offering['id']}/decision", json={"decision": "held"}, headers=school_headers)
    before = client.get(f"/offerings/{offering['id']}", headers=school_headers).get_json()

    for decision in ({"decision": "held"}, {"decision": "cancelled", "reason": "For få"}):
        refused = client.post(f"/offerings/{offering['id']}/decision", json=decision, headers=school_headers)
        assert refused.status_code == 409, refused.get_json()
        assert refused.headers["Content-Type"] == "application/problem+json"
    assert client.get(f"/offerings/{offering['id']}", headers=school_headers).get_json() == before


def test_another_school_cannot_decide_and_does_not_see_the_draft(client, auth, school, other_school,
                                                                 make_offering):
    published, draft = make_offering(school), make_offering(school, status="draft")
    other = auth("school", provider_id=other_school["id"])

    assert client.post(f"/offerings/{published['id']}/decision", json={"decision": "held"},
                       headers=other).status_code == 403
    assert client.post(f"/offerings/{draft['id']}/decision", json={"decision": "held"},
                       headers=other).status_code == 404
    assert client.get(f"/offerings/{published['id']}").get_json()["decision"] is None


def test_anonymous_and_hr_cannot_decide_and_an_administrator_can(client, auth, school, make_offering):
    offering = make_offering(school)
    path = f"/offerings/{offering['id']}/decision"

    assert client.post(path, json={"decision": "held"}).status_code == 401
    assert client.post(path, json={"decision": "held"}, headers=auth("hr", organisation="791")).status_code == 403
    assert client.post(path, json={"decision": "held"}, headers=auth("service")).status_code == 403
    assert client.post(path, json={"decision": "held"}, headers=auth("admin")).status_code == 200


# --- The school's policy ------------------------------------------------------------------------------

def test_the_school_sets_its_policy_and_grace(client, auth, school, school_headers):
    assert (school["decision_policy"], school["decision_grace_days"]) == ("hold", 2)

    changed = client.patch(f"/providers/{school['id']}/decision-policy",
                           json={"decision_policy": "cancel", "decision_grace_days": 3}, headers=school_headers)

    assert changed.status_code == 200, changed.get_json()
    shown = client.get(f"/providers/{school['id']}").get_json()
    assert (shown["decision_policy"], shown["decision_grace_days"]) == ("cancel", 3)


def test_only_the_school_itself_or_an_administrator_sets_the_policy(client, auth, school, other_school):
    path = f"/providers/{school['id']}/decision-policy"
    body = {"decision_policy": "cancel"}

    assert client.patch(path, json=body).status_code == 401
    assert client.patch(path, json=body, headers=auth("hr", organisation="791")).status_code == 403
    assert client.patch(path, json=body, headers=auth("school", provider_id=other_school["id"])).status_code == 403
    assert client.patch(path, json=body, headers=auth("admin")).status_code == 200
    assert client.patch("/providers/999/decision-policy", json=body, headers=auth("admin")).status_code == 404


def test_a_bad_policy_or_grace_is_refused(client, school, school_headers):
    refused = client.patch(f"/providers/{school['id']}/decision-policy",
                           json={"decision_policy": "maybe", "decision_grace_days": -1}, headers=school_headers)

    assert refused.status_code == 422
    assert sorted(pointers(refused)) == ["/decision_grace_days", "/decision_policy"]


# --- The job ------------------------------------------------------------------------------------------

@pytest.fixture
def below_minimum(client, auth, school, make_offering):
    """An offering 30 days ahead (decided on day 16) with 4 of at least 6 enrolled."""
    offering = make_offering(school, first_day=30, min_participants=6, contact_email="kursus@mercantec.example")
    put_seats(client, auth, offering["id"], taken=4, waitlisted=1)
    return offering


def test_before_the_decision_date_the_job_does_nothing(app, clock, below_minimum, mailbox):
    set_day(clock, day(15))

    run_job(app)

    assert mailbox.messages() == []
    assert offering_of(app, below_minimum["id"]).decision_reminded_at is None


def test_on_the_decision_date_the_school_is_reminded_once(app, clock, school, below_minimum, mailbox):
    add_member(app, "mette@mercantec.example", school["id"], "school_admin", "Mette Madsen")
    add_member(app, "KURSUS@mercantec.example", school["id"], "course_admin", "Kurt Kursus")
    set_day(clock, day(16))

    run_job(app)
    run_job(app)

    mails = mailbox.messages()
    assert sorted(mail["To"] for mail in mails) == ["kursus@mercantec.example", "mette@mercantec.example"]
    text = mails[0].get_body().get_content()
    assert "4 af mindst 6 tilmeldt — afgøres" in text
    assert f"/skole#udbud-{below_minimum['id']}" in text
    assert mails[0]["Subject"].startswith("Afgør holdet: GLU-1")
    stored = offering_of(app, below_minimum["id"])
    assert stored.decision_reminded_at is not None and stored.decision is None
    assert len(decided_entries(app, "offering.decision_reminded")) == 1


def test_within_the_grace_nothing_is_decided(app, clock, client, below_minimum, school, school_headers):
    client.patch(f"/providers/{school['id']}/decision-policy", json={"decision_policy": "cancel"},
                 headers=school_headers)
    set_day(clock, day(17))

    run_job(app)

    assert offering_of(app, below_minimum["id"]).status == "published"
    assert decided_entries(app) == []


def test_after_the_grace_the_policy_cancel_cancels_a_course_with_too_few(app, clock, client, below_minimum, school,
                                                                         school_headers):
    client.patch(f"/providers/{school['id']}/decision-policy", json={"decision_policy": "cancel"},
                 headers=school_headers)
    set_day(clock, day(18))

    run_job(app)
    run_job(app)

    stored = offering_of(app, below_minimum["id"])
    assert (stored.status, stored.decision, stored.cancellation_reason) == (
        "cancelled", "cancelled", "For få tilmeldte (4 af mindst 6)")
    assert (stored.participants_at_cancellation, stored.waitlisted_at_cancellation) == (4, 1)
    [entry] = decided_entries(app)
    assert entry.actor_type == "system"
    assert stored.decision_reminded_at is not None  # the reminder came first, in the same run


def test_after_the_grace_the_policy_hold_holds_a_course_with_too_few(app, clock, below_minimum):
    set_day(clock, day(18))

    run_job(app)

    stored = offering_of(app, below_minimum["id"])
    assert (stored.status, stored.decision) == ("published", "held")
    assert stored.revision == below_minimum["revision"] + 1


def test_a_course_with_enough_participants_is_held_whatever_the_policy(app, clock, client, auth, below_minimum,
                                                                       school, school_headers):
    client.patch(f"/providers/{school['id']}/decision-policy", json={"decision_policy": "cancel"},
                 headers=school_headers)
    put_seats(client, auth, below_minimum["id"], taken=6, version=2)
    set_day(clock, day(18))

    run_job(app)

    assert offering_of(app, below_minimum["id"]).decision == "held"


def test_a_course_the_school_decided_is_left_alone(app, clock, client, below_minimum, school_headers, mailbox):
    client.post(f"/offerings/{below_minimum['id']}/decision", json={"decision": "held"}, headers=school_headers)
    set_day(clock, day(18))

    run_job(app)

    assert mailbox.messages() == []
    assert len(decided_entries(app)) == 1


def test_a_course_that_has_begun_is_left_alone(app, clock, below_minimum, mailbox):
    set_day(clock, day(30), hour=12)

    run_job(app)

    assert mailbox.messages() == []
    assert offering_of(app, below_minimum["id"]).decision is None


def test_the_job_is_registered_hourly(app):
    jobs = app.extensions["jobs"]
    assert "decide-offerings" in jobs._wrappers


# --- Two workers at once (PostgreSQL) -------------------------------------------------------------------

WORKERS = 2


def _run_job_in_a_process(database_url: str, when: str, barrier) -> None:
    from catalogue import create_app

    clock = Clock()
    clock.at = datetime.fromisoformat(when)
    app = create_app({"DATABASE_URL": database_url, "GLU_TOKEN_SECRET": TOKEN_SECRET, "JOBS_IMMEDIATE": True,
                      "CLOCK": clock})
    with app.app_context():
        db.session.execute(select(1))  # connected before the barrier, so both start their runs together
        barrier.wait(timeout=60)
        decide_offerings()


@pytest.mark.skipif(not (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres"),
                    reason="two processes at once need PostgreSQL's row locks")
def test_two_workers_running_the_job_at_once_remind_and_decide_once(app, client, auth, school, make_offering,
                                                                     school_headers):
    client.patch(f"/providers/{school['id']}/decision-policy", json={"decision_policy": "cancel"},
                 headers=school_headers)
    # Two days on, half are reminded only (their grace has begun), half are past it (decision date today,
    # grace two days) and get the reminder and the decision in one run: cancelled with 2, held with 6.
    reminded = [make_offering(school, first_day=30, decision_date=day(2)) for _ in range(10)]
    decided = [make_offering(school, first_day=30) for _ in range(10)]
    for number, offering in enumerate(decided):
        put_seats(client, auth, offering["id"], taken=6 if number % 2 else 2)
    with app.app_context():
        for offering in decided:
            db.session.get(Offering, offering["id"]).decision_date = TODAY
        db.session.commit()
    when = datetime(TODAY.year, TODAY.month, TODAY.day, 8, tzinfo=COPENHAGEN) + timedelta(days=2)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    processes = [context.Process(target=_run_job_in_a_process,
                                 args=(app.config["DATABASE_URL"], when.isoformat(), barrier))
                 for _ in range(WORKERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * WORKERS

    with app.app_context():
        reminders = db.session.execute(select(AuditEntry.object_id, func.count()).where(
            AuditEntry.action == "offering.decision_reminded").group_by(AuditEntry.object_id)).all()
        decisions = db.session.execute(select(AuditEntry.object_id, func.count()).where(
            AuditEntry.action == "offering.decided").group_by(AuditEntry.object_id)).all()
        states = {offering.id: (offering.status, offering.decision, offering.revision)
                  for offering in db.session.scalars(select(Offering))}
    assert sorted(count for _, count in reminders) == [1] * 20
    assert sorted(count for _, count in decisions) == [1] * 10
    for number, offering in enumerate(decided):
        expected = ("published", "held") if number % 2 else ("cancelled", "cancelled")
        assert states[offering["id"]] == (*expected, offering["revision"] + 1)
    for offering in reminded:
        assert states[offering["id"]] == ("published", None, offering["revision"])


# --- The pages ----------------------------------------------------------------------------------------

def sign_in_admin_of(app, client, school: dict) -> None:
    add_member(app, "mette@mercantec.example", school["id"], "school_admin", "Mette Madsen")
    sign_in_directly(app, client, "mette@mercantec.example")


def test_the_desk_and_the_public_page_show_the_count_and_the_decision_date(app, client, auth, school,
                                                                           below_minimum):
    sign_in_school(client, school["id"])
    expected = f"4 af mindst 6 tilmeldt — afgøres {day_and_month(day(16))}"

    desk = page(client, "/skole")
    public = page(client, f"/udbud/{below_minimum['id']}")

    assert expected in desk.text
    assert expected in public.text


def test_holding_from_the_desk_shows_gennemfoeres_and_the_message_at_the_row(app, client, school, below_minimum):
    sign_in_school(client, school["id"])
    csrf = csrf_from(page(client, "/skole"))

    answer = post_form(client, f"/skole/udbud/{below_minimum['id']}/afgoer", {"csrf_token": csrf})

    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/skole#udbud-{below_minimum['id']}"
    desk = page(client, "/skole")
    assert "Holdet gennemføres: Introduktion til ledelse" in desk.text
    assert "Gennemføres" in desk.text_of(f"udbud-{below_minimum['id']}")
    assert offering_of(app, below_minimum["id"]).decision == "held"
    again = post_form(client, f"/skole/udbud/{below_minimum['id']}/afgoer", {"csrf_token": csrf})
    assert "er ikke afgjort: Holdet er allerede afgjort" in page(client, again.headers["Location"]).text


def test_a_cancelled_row_shows_who_was_told(app, client, auth, school, school_headers, below_minimum):
    client.post(f"/offerings/{below_minimum['id']}/cancel", json={"reason": "Syg underviser"}, headers=school_headers)
    sign_in_school(client, school["id"])

    assert "Aflyst: 4 tilmeldte og 1 på venteliste fik besked" in page(client, "/skole").text


def test_holding_needs_a_signed_in_member_of_the_school(app, client, school, other_school, below_minimum):
    assert post_form(client, f"/skole/udbud/{below_minimum['id']}/afgoer").status_code == 400  # no CSRF
    sign_in_school(client, other_school["id"])
    csrf = csrf_from(page(client, "/skole"))

    answer = post_form(client, f"/skole/udbud/{below_minimum['id']}/afgoer", {"csrf_token": csrf})

    assert "er ikke afgjort: Kun skolen selv" in page(client, answer.headers["Location"]).text
    assert offering_of(app, below_minimum["id"]).decision is None


def test_the_school_admin_sets_the_policy_on_the_settings_page(app, client, school):
    sign_in_admin_of(app, client, school)
    form = page(client, "/skole/indstillinger")
    assert form.one("input", id="decision_policy-hold").get("checked") is not None

    saved = post_form(client, "/skole/indstillinger", {"csrf_token": csrf_from(form), "decision_policy": "cancel",
                                                       "decision_grace_days": "3"})

    assert saved.status_code == 303
    shown = page(client, "/skole/indstillinger")
    assert "Indstillingerne er gemt." in shown.text
    assert shown.one("input", id="decision_policy-cancel").get("checked") is not None
    assert shown.one("input", id="decision_grace_days")["value"] == "3"
    assert client.get(f"/providers/{school['id']}").get_json()["decision_policy"] == "cancel"


def test_bad_settings_are_shown_beside_their_fields_with_what_was_typed(app, client, school):
    sign_in_admin_of(app, client, school)
    csrf = csrf_from(page(client, "/skole/indstillinger"))

    refused = post_form(client, "/skole/indstillinger", {"csrf_token": csrf, "decision_policy": "cancel",
                                                         "decision_grace_days": "mange"})

    assert refused.status_code == 422
    parsed = check_page(Page(refused.get_data(as_text=True)))
    assert parsed.text_of("decision_grace_days-error") == "Fejl: Skal være et heltal."
    assert parsed.one("input", id="decision_grace_days")["value"] == "mange"
    assert parsed.one("input", id="decision_policy-cancel").get("checked") is not None
    assert client.get(f"/providers/{school['id']}").get_json()["decision_policy"] == "hold"


def test_a_course_administrator_sees_the_policy_but_cannot_change_it(app, client, school):
    sign_in_school(client, school["id"])  # a course administrator
    shown = page(client, "/skole/indstillinger")
    assert "Kun skolens administrator kan ændre det." in shown.text and not shown.all("input", name="decision_policy")

    refused = post_form(client, "/skole/indstillinger", {"csrf_token": csrf_from(page(client, "/skole")),
                                                         "decision_policy": "cancel", "decision_grace_days": "2"})

    assert refused.status_code == 403
    assert client.get(f"/providers/{school['id']}").get_json()["decision_policy"] == "hold"


def test_the_settings_page_asks_a_stranger_to_sign_in(client):
    answer = client.get("/skole/indstillinger")

    assert answer.status_code == 302 and "/log-ind" in answer.headers["Location"]


# --- The migration --------------------------------------------------------------------------------------

def test_the_migration_gives_existing_offerings_a_decision_date_and_cancelled_ones_their_decision(
        app, client, school, school_headers, make_offering):
    later, soon, cancelled = (make_offering(school, first_day=30), make_offering(school, first_day=5),
                              make_offering(school, first_day=40))
    client.post(f"/offerings/{cancelled['id']}/cancel", json={"reason": "Nej"}, headers=school_headers)
    with app.app_context():
        flask_migrate.downgrade(revision="0009")
        flask_migrate.upgrade()
        db.engine.dispose()

    assert offering_of(app, later["id"]).decision_date == day(16)
    assert offering_of(app, soon["id"]).decision_date == TODAY
    stored = offering_of(app, cancelled["id"])
    assert (stored.decision, stored.decided_at) == ("cancelled", stored.cancelled_at)
