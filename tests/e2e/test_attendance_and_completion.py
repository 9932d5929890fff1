"""In a real browser: HR enrols a leader, the school marks attendance and completion on its desk, and the
completion shows on the leader's "Mine kurser" and in HR's export. The clock is moved to the course's last
day (both services read system.clock), never slept on."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import httpx

from shared.auth import Role, issue_token
from shared.clock import COPENHAGEN, copenhagen_today
from tests.conftest import TOKEN_SECRET
from tests.e2e.conftest import sign_in_by_link

MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
          "november", "december")


def bearer(role: Role, **scope) -> dict:
    return {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, role, **scope)}"}


def a_mercantec_offering(catalogue_url: str) -> dict:
    """A published Mercantec offering of at least two days that still takes enrolments."""
    providers = httpx.get(f"{catalogue_url}/providers", params={"per_page": 100}).json()["items"]
    mercantec = next(provider for provider in providers if provider["name"] == "Mercantec")
    offerings = httpx.get(f"{catalogue_url}/offerings", params={
        "provider": mercantec["id"], "per_page": 50, "date_from": copenhagen_today().isoformat()}).json()["items"]
    return next(offering for offering in offerings if len(offering["sessions"]) >= 2
                and offering["enrolment_deadline"] >= copenhagen_today().isoformat())


def test_the_school_records_attendance_and_completion_which_the_leader_and_hr_then_see(system, page, mail_server):
    catalogue_url, enrolment_url = system
    offering = a_mercantec_offering(catalogue_url)
    hr = bearer(Role.HR, organisation="791")
    enrolled = httpx.post(f"{enrolment_url}/enrolments", headers=hr, json={
        "offering_id": offering["id"], "participant": {"name": "Lone Leder", "email": "lone.leder@viborg.example"}})
    assert enrolled.status_code == 201, enrolled.text
    place = enrolled.json()
    assert place["status"] == "confirmed"
    first, last = offering["sessions"][0], offering["sessions"][-1]
    already = system.clock.at
    system.clock.at = datetime.fromisoformat(last["starts_at"]) + timedelta(minutes=30)
    try:
        sign_in_by_link(page, catalogue_url, "admin@mercantec.example", mail_server)

        page.goto(f"{catalogue_url}/skole")
        page.locator(f"#udbud-{offering['id']}").get_by_role("link", name="Deltagere").click()
        main = page.locator("main")
        assert "Lone Leder" in main.inner_text() and "Viborg Kommune" in main.inner_text()
        page.get_by_label("Emne").fill("Husk pc")
        page.get_by_label("Besked").fill("Tag en bærbar pc med.")
        page.get_by_role("button", name="Send beskeden").click()
        assert re.search(r"Beskeden er sendt til \d+ tilmeldte?\.", main.inner_text())

        page.get_by_role("link", name="Fremmøde og gennemførelse").click()
        day_one = page.locator(f"#dag-{first['id']}")
        day_one.get_by_label(re.compile("Lone Leder")).check()
        day_one.get_by_role("button", name="Gem fremmøde for dag 1").click()
        assert "Fremmødet er gemt" in main.inner_text()
        assert page.locator(f"#dag-{first['id']}").get_by_label(re.compile("Lone Leder")).is_checked()

        completion = page.locator(f"#deltager-{place['id']}")
        completion.get_by_label("Gennemført", exact=True).check()
        completion.get_by_label("Bemærkning (valgfri)").fill("Aktiv hele vejen")
        completion.get_by_role("button", name=re.compile("^Gem")).click()
        assert "Lone Leder: gennemført er gemt." in main.inner_text()

        last_day = datetime.fromisoformat(last["starts_at"]).astimezone(COPENHAGEN).date()
        finished = f"Gennemført {last_day.day}. {MONTHS[last_day.month - 1]} {last_day.year} hos Mercantec"
        page.goto(place["my_courses_url"])
        assert finished in page.locator("main").inner_text()

        export = httpx.get(f"{enrolment_url}/enrolments/export", headers=hr)
        rows = list(csv.reader(io.StringIO(export.text.removeprefix("\ufeff")), delimiter=";"))
        header, lone = rows[0], next(row for row in rows if row[2] == "Lone Leder")
        assert dict(zip(header, lone, strict=True))["Gennemførelse"] == "Gennemført"
        assert dict(zip(header, lone, strict=True))["Afsluttet"] == last_day.isoformat()
        assert dict(zip(header, lone, strict=True))["Skole"] == "Mercantec"
    finally:
        system.clock.at = already
