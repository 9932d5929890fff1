"""Erasure in real Chromium: HR of Randers opens a colleague's data from the list of enrolments, reads it,
downloads nothing, erases the person behind a confirmation — and the person's "Mine kurser" link is dead."""

from __future__ import annotations

import httpx

from shared.auth import Role, issue_token
from tests.conftest import TOKEN_SECRET
from tests.e2e.conftest import sign_in_by_link

PERSON = ("Ditte Dahl", "ditte.dahl@randers.example")  # Randers enrols without approval (the seed)


def bearer(role: Role, **scope) -> dict:
    return {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, role, **scope)}"}


def test_hr_opens_a_persons_data_and_erases_them(system, page, mail_server):
    catalogue_url, enrolment_url = system
    offering = httpx.get(f"{catalogue_url}/offerings", params={"module": "GLU-2", "per_page": 1}).json()["items"][0]
    enrolled = httpx.post(f"{enrolment_url}/enrolments", headers=bearer(Role.HR, organisation="730"), json={
        "offering_id": offering["id"], "participant": {"name": PERSON[0], "email": PERSON[1]}})
    assert enrolled.status_code == 201, enrolled.text
    my_courses = enrolled.json()["my_courses_url"]
    assert httpx.get(my_courses).status_code == 200

    sign_in_by_link(page, enrolment_url, "admin@randers.example", mail_server)
    page.goto(f"{enrolment_url}/hr")
    page.get_by_role("link", name=PERSON[0]).first.click()
    page.get_by_role("heading", name=f"Data om {PERSON[0]}").wait_for()
    assert PERSON[1] in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Hent som JSON").is_visible()

    page.get_by_role("link", name="Slet personen").click()
    page.get_by_role("heading", name=f"Slet {PERSON[0]}?").wait_for()
    page.get_by_role("button", name="Slet personen").click()

    main = page.locator("main").inner_text()
    assert "Personen er slettet" in main and PERSON[0] not in main and PERSON[1] not in main
    assert httpx.get(my_courses).status_code == 404
    listed = httpx.get(f"{enrolment_url}/enrolments", headers=bearer(Role.HR, organisation="730"),
                       params={"per_page": 100}).json()["items"]
    assert all(item["participant"]["email"] != PERSON[1] for item in listed)
