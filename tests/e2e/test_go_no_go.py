"""Go or no-go in a real browser: the school chooses to cancel automatically, is reminded on the decision
date, nobody decides, and the job cancels the course; its participants are told with the reason."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from catalogue.jobs import decide_offerings
from shared.auth import Role, issue_token
from shared.clock import COPENHAGEN, copenhagen_today
from shared.go_no_go import day_and_month
from tests.conftest import TOKEN_SECRET
from tests.e2e.conftest import sign_in_by_link

SCHOOL_ADMIN = "admin@mercantec.example"
PEOPLE = (("Dorte Dam", "dorte.dam@viborg.example"), ("Erik Eg", "erik.eg@viborg.example"))


def bearer(role: Role, **scope) -> dict:
    return {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, role, **scope)}"}


def mails(mail_server, since: int, subject_start: str) -> list:
    handler, _ = mail_server
    return [message for message in handler.messages()[since:] if message["Subject"].startswith(subject_start)]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def run_the_job(system) -> None:
    """What the engine's hourly decide-offerings does, run now, in the catalogue's app (it reads system.clock)."""
    with system.catalogue_app.app_context():
        decide_offerings()


def an_offering_below_its_minimum(catalogue_url: str, enrolment_url: str) -> dict:
    """A new Mercantec course 30 days ahead (at least 6 participants), with 2 of Viborg's people enrolled."""
    mercantec = next(provider for provider in httpx.get(f"{catalogue_url}/providers").json()["items"]
                     if provider["name"] == "Mercantec")
    first_day = copenhagen_today() + timedelta(days=30)
    sessions = [{"starts_at": datetime(day.year, day.month, day.day, 9, tzinfo=COPENHAGEN).isoformat(),
                 "ends_at": datetime(day.year, day.month, day.day, 15, tzinfo=COPENHAGEN).isoformat()}
                for day in (first_day, first_day + timedelta(days=1))]
    made = httpx.post(f"{catalogue_url}/offerings", headers=bearer(Role.SCHOOL, provider_id=mercantec["id"]), json={
        "module": "GLU-2", "location_id": mercantec["locations"][0]["id"], "sessions": sessions, "capacity": 12,
        "min_participants": 6, "price_dkk": 2400, "enrolment_deadline": (first_day - timedelta(days=14)).isoformat(),
        "contact_email": "kursus@mercantec.example", "reference": "GO-NO-GO-1"})
    assert made.status_code == 201, made.text
    offering = made.json()
    for name, email in PEOPLE:
        enrolled = httpx.post(f"{enrolment_url}/enrolments", headers=bearer(Role.HR, organisation="791"),
                              json={"offering_id": offering["id"], "participant": {"name": name, "email": email}})
        assert enrolled.status_code == 201 and enrolled.json()["status"] == "confirmed", enrolled.text
    return offering


def test_the_school_is_reminded_and_then_its_policy_cancels_a_course_with_too_few(system, page, mail_server):
    catalogue_url, enrolment_url = system
    handler, _ = mail_server
    sign_in_by_link(page, catalogue_url, SCHOOL_ADMIN, mail_server)
    page.goto(f"{catalogue_url}/skole")
    page.get_by_role("link", name="Indstillinger").click()
    page.get_by_label("Aflys automatisk").check()
    page.get_by_label("Frist efter afgørelsesdatoen (dage)").fill("2")
    page.get_by_role("button", name="Gem indstillingerne").click()
    assert "Indstillingerne er gemt." in page.locator("main").inner_text()
    assert page.get_by_label("Aflys automatisk").is_checked()

    offering = an_offering_below_its_minimum(catalogue_url, enrolment_url)
    decision_date = datetime.fromisoformat(offering["decision_date"]).date()
    assert decision_date == copenhagen_today() + timedelta(days=16)
    line = f"2 af mindst 6 tilmeldt — afgøres {day_and_month(decision_date)}"
    already = system.clock.at
    try:
        # The day before the decision date nothing happens; on it, the school is reminded.
        before = len(handler.envelopes)
        system.clock.at = datetime.combine(decision_date - timedelta(days=1), datetime.min.time(), COPENHAGEN) \
            + timedelta(hours=8)
        run_the_job(system)
        assert mails(mail_server, before, "Afgør holdet") == []
        system.clock.at += timedelta(days=1)
        run_the_job(system)
        reminders = mails(mail_server, before, "Afgør holdet")
        assert SCHOOL_ADMIN in {message["To"] for message in reminders}
        assert "kursus@mercantec.example" in {message["To"] for message in reminders}
        reminder = text_of(reminders[0])
        assert line in reminder and "aflyses holdet automatisk" in reminder

        sign_in_by_link(page, catalogue_url, SCHOOL_ADMIN, mail_server)  # the clock moved past the session
        page.goto(f"{catalogue_url}/skole")
        row = page.locator(f"#udbud-{offering['id']}")
        assert line in row.inner_text()
        assert row.get_by_role("button", name="Holdet gennemføres").is_visible()
        assert row.get_by_role("link", name="Aflys …").is_visible()

        # Nobody decides; once the two days' grace are over, the job cancels and the participants are told.
        before = len(handler.envelopes)
        system.clock.at += timedelta(days=2)
        run_the_job(system)
        cancelled = httpx.get(f"{catalogue_url}/offerings/{offering['id']}").json()
        assert (cancelled["status"], cancelled["decision"]) == ("cancelled", "cancelled")
        told = mails(mail_server, before, "Aflyst:")
        assert {message["To"] for message in told} >= {email for _, email in PEOPLE}
        to_dorte = next(text_of(message) for message in told if message["To"] == PEOPLE[0][1])
        assert "For få tilmeldte (2 af mindst 6)" in to_dorte

        sign_in_by_link(page, catalogue_url, SCHOOL_ADMIN, mail_server)
        page.goto(f"{catalogue_url}/skole")
        assert "Aflyst: 2 tilmeldte fik besked" in page.locator(f"#udbud-{offering['id']}").inner_text()
    finally:
        system.clock.at = already
