"""In a real browser: a leader with GLU-1 and GLU-2 completed (recorded by the school through the API, with the
clock moved to each course's last day) opens "Mine kurser" and sees GLU-3 suggested with offerings in their
region; HR opens its staff × modules page and sees the leader's row."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from shared.auth import Role
from shared.clock import copenhagen_today
from tests.e2e.conftest import sign_in_by_link
from tests.e2e.test_attendance_and_completion import bearer


def an_offering_taking_enrolments(catalogue_url: str, module: str, **query) -> dict:
    offerings = httpx.get(f"{catalogue_url}/offerings", params={
        "module": module, "per_page": 50, "date_from": copenhagen_today().isoformat(), **query}).json()["items"]
    return next(offering for offering in offerings if offering["enrolment_deadline"] >= copenhagen_today().isoformat())


def test_a_leader_with_two_modules_completed_is_suggested_the_third_in_their_region(system, page, mail_server):
    catalogue_url, enrolment_url = system
    hr = bearer(Role.HR, organisation="791")
    leader = {"name": "Gitte Forløb", "email": "gitte.forloeb@viborg.example"}
    already = system.clock.at
    try:
        for module in ("GLU-1", "GLU-2"):
            offering = an_offering_taking_enrolments(catalogue_url, module)
            enrolled = httpx.post(f"{enrolment_url}/enrolments", headers=hr,
                                  json={"offering_id": offering["id"], "participant": leader})
            assert enrolled.status_code == 201 and enrolled.json()["status"] == "confirmed", enrolled.text
            place = enrolled.json()
            system.clock.at = datetime.fromisoformat(offering["sessions"][-1]["starts_at"]) + timedelta(minutes=30)
            completed = httpx.put(f"{enrolment_url}/enrolments/{place['id']}/completion",
                                  headers=bearer(Role.SCHOOL, provider_id=offering["provider_id"]),
                                  json={"result": "completed", "note": None})
            assert completed.status_code == 200, completed.text
            system.clock.at = already
    finally:
        system.clock.at = already
    in_region = an_offering_taking_enrolments(catalogue_url, "GLU-3", region="1082")

    page.goto(place["my_courses_url"])
    path = page.locator("#forloeb")
    rows = path.locator("tbody tr")
    assert rows.count() == 6
    assert "Gennemført" in path.locator('tr[data-module="GLU-1"]').inner_text()
    assert "Gennemført" in path.locator('tr[data-module="GLU-2"]').inner_text()
    assert "Ikke taget endnu" in path.locator('tr[data-module="GLU-3"]').inner_text()
    assert "Næste modul: GLU-3" in path.inner_text()
    assert path.get_by_label("Region").input_value() == "1082"
    suggested = path.locator("ul.suggested-offerings li")
    assert 1 <= suggested.count() <= 3
    assert path.locator(f'li[data-offering="{in_region["id"]}"]').count() == 1 or suggested.count() == 3

    sign_in_by_link(page, enrolment_url, "admin@viborg.example", mail_server)
    page.goto(f"{enrolment_url}/hr")
    page.get_by_role("link", name="GLU-forløb").click()
    row = page.locator("table.paths tr", has_text="Gitte Forløb")
    assert row.count() == 1
    assert row.locator("td").nth(0).get_attribute("data-state") == "completed"
    assert row.locator("td").nth(2).get_attribute("data-state") == "not_yet"
