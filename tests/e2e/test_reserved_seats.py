"""HR reserves three seats, names two, and at the deadline the third is released and the waiting list moves up."""

from __future__ import annotations

from datetime import date

import httpx

from enrolment.jobs import release_reservations
from shared.auth import Role, issue_token
from shared.clock import copenhagen_today
from tests.conftest import TOKEN_SECRET
from tests.e2e.conftest import sign_in_by_link

HR_EMAIL = "admin@viborg.example"
HR_API = {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, Role.HR, organisation='791')}"}


def an_open_course(catalogue_url: str) -> dict:
    """A seeded course no one is enrolled in yet that takes enrolments."""
    found = httpx.get(f"{catalogue_url}/offerings", params={"module": "GLU-2", "per_page": 100}).json()["items"]
    today = copenhagen_today().isoformat()
    return next(offering for offering in found if offering["status"] == "published"
                and offering["enrolment_deadline"] >= today and offering["seats_available"] == offering["capacity"])


def enrol(enrolment_url: str, course: dict, name: str) -> dict:
    email = f"{name.split()[0].lower()}@viborg.example"
    answer = httpx.post(f"{enrolment_url}/enrolments", headers=HR_API, json={
        "offering_id": course["id"], "participant": {"name": name, "email": email}})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_hr_reserves_names_two_and_the_third_seat_goes_to_the_waiting_list_at_the_deadline(
        system, page, mail_server):
    catalogue_url, enrolment_url = system
    course = an_open_course(catalogue_url)
    school = {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, Role.SCHOOL, provider_id=course['provider_id'])}"}
    # Small, so three reserved seats and two enrolments make a waiting list (the minimum may not exceed it).
    small = httpx.patch(f"{catalogue_url}/offerings/{course['id']}", json={"capacity": 4, "min_participants": 1},
                        headers=school)
    assert small.status_code == 200, small.text
    sign_in_by_link(page, enrolment_url, HR_EMAIL, mail_server)

    page.goto(f"{enrolment_url}/hr")
    page.get_by_role("link", name="Reserverede pladser").click()
    page.get_by_label("Udbudsnummer").fill(str(course["id"]))
    page.get_by_label("Antal pladser").fill("3")
    page.get_by_role("button", name="Reservér").click()
    assert "3 pladser er reserveret" in page.locator("main").inner_text()
    assert httpx.get(f"{catalogue_url}/offerings/{course['id']}").json()["seats_available"] == 1

    # The one free seat is taken, and the next in line waits.
    assert enrol(enrolment_url, course, "Ida Iversen")["status"] == "confirmed"
    waiting = enrol(enrolment_url, course, "Jens Jensen")
    assert waiting["status"] == "waitlisted"

    for name, email in (("Karen Kjær", "karen@viborg.example"), ("Lars Lund", "lars@viborg.example")):
        reservation = page.locator("article.reservation").first
        reservation.get_by_label("Navn").fill(name)
        reservation.get_by_label("E-mail").fill(email)
        reservation.get_by_role("button", name="Navngiv").click()
        assert f"{name} har fået en af de reserverede pladser" in page.locator("main").inner_text()
    assert page.locator("article.reservation").first.locator("dd.unnamed").inner_text() == "1"

    deadline = date.fromisoformat(course["enrolment_deadline"])
    system.clock.advance(days=(deadline - copenhagen_today(system.clock())).days + 1)
    with system.enrolment_app.app_context():
        assert release_reservations() == 1
        assert release_reservations() == 0  # once

    promoted = httpx.get(f"{enrolment_url}/enrolments/{waiting['id']}", headers=HR_API).json()
    assert promoted["status"] == "confirmed"
    shown = httpx.get(f"{catalogue_url}/offerings/{course['id']}").json()
    assert (shown["seats_available"], shown["waitlist_length"]) == (0, 0)
    sign_in_by_link(page, enrolment_url, HR_EMAIL, mail_server)  # weeks later: the sign-in has expired
    page.goto(f"{enrolment_url}/hr/reservationer")
    assert "de unavngivne pladser er frigivet" in page.locator("article.reservation").first.inner_text()
    handler, _ = mail_server
    subjects = [message["Subject"] for message in handler.messages() if message["To"] == HR_EMAIL]
    assert any(subject.startswith("Reserveret: 3 pladser") for subject in subjects)
    assert any(subject.startswith("Frigivet: 1 reserverede pladser") for subject in subjects)
