"""Interest lists in real Chromium: a leader asks to be told of a GLU-3 hold through their link, HR asks for a
colleague to be enrolled, the school publishes a matching hold — the leader is told by mail, the colleague enrolled."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx

from shared.auth import Role, issue_token
from shared.clock import COPENHAGEN, copenhagen_today
from tests.conftest import TOKEN_SECRET

LEADER = ("Lene Lund", "lene.lund@viborg.example")
COLLEAGUE = ("Bo Brink", "bo.brink@randers.example")  # Randers enrols without approval (the seed)


def bearer(role: Role, **scope) -> dict:
    return {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, role, **scope)}"}


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def mails_to(mail_server, address: str, since: int = 0) -> list:
    handler, _ = mail_server
    return [message for message in handler.messages()[since:] if message["To"] == address]


def at(day, hour: int) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=COPENHAGEN).isoformat()


def test_a_leader_is_told_and_a_colleague_enrolled_when_the_school_publishes_a_matching_hold(
        system, page, mail_server):
    catalogue_url, enrolment_url = system
    today = copenhagen_today(system.clock())
    first_day, before = today + timedelta(days=6), today + timedelta(days=8)
    seeded = httpx.get(f"{catalogue_url}/offerings", params={"module": "GLU-3", "region": "1082", "per_page": 100,
                                                             "date_to": before.isoformat()}).json()["items"]
    assert seeded == [], "no seeded GLU-3 hold in Midtjylland starts that soon, so the one published here is news"

    # The leader has a place on a GLU-1 hold, so her mail holds her "Mine kurser" link.
    glu1 = httpx.get(f"{catalogue_url}/offerings", params={"module": "GLU-1", "per_page": 1}).json()["items"][0]
    enrolled = httpx.post(f"{enrolment_url}/enrolments", headers=bearer(Role.HR, organisation="791"), json={
        "offering_id": glu1["id"], "participant": {"name": LEADER[0], "email": LEADER[1]}})
    assert enrolled.status_code == 201, enrolled.text
    link = next(line.split(": ", 1)[1].strip() for message in mails_to(mail_server, LEADER[1])
                for line in text_of(message).splitlines() if line.startswith("Mine kurser:"))

    page.goto(link)
    panel = page.locator("#interesse")
    panel.get_by_label("Modul").select_option("GLU-3")
    panel.get_by_label("Midtjylland").check()
    panel.get_by_label("Holdet skal starte før (valgfrit)").fill(before.isoformat())
    panel.get_by_role("button", name="Giv mig besked").click()
    assert "Du får besked, når der er et hold i GLU-3" in page.locator("main").inner_text()
    assert "GLU-3 i Midtjylland, start før" in page.locator("#interesse").inner_text()

    # HR of Randers asks for a colleague to be enrolled automatically.
    registered = httpx.post(f"{enrolment_url}/interests", headers=bearer(Role.HR, organisation="730"), json={
        "module": "GLU-3", "regions": ["midtjylland"], "participant": {"name": COLLEAGUE[0], "email": COLLEAGUE[1]},
        "before": before.isoformat(), "auto_enrol": True})
    assert registered.status_code == 201, registered.text

    # Mercantec (Viborg, Region Midtjylland) publishes a GLU-3 hold starting before the leader's date.
    handler, _ = mail_server
    since = len(handler.envelopes)
    mercantec = next(provider for provider in httpx.get(f"{catalogue_url}/providers").json()["items"]
                     if provider["name"] == "Mercantec")
    published = httpx.post(f"{catalogue_url}/offerings", headers=bearer(Role.SCHOOL, provider_id=mercantec["id"]),
                           json={"module": "GLU-3", "location_id": mercantec["locations"][0]["id"],
                                 "sessions": [{"starts_at": at(first_day, 9), "ends_at": at(first_day, 15)}],
                                 "capacity": 12, "min_participants": 1, "price_dkk": 1500,
                                 "enrolment_deadline": (today + timedelta(days=2)).isoformat(),
                                 "contact_email": "glu@mercantec.example", "status": "published"})
    assert published.status_code == 201, published.text
    offering = published.json()

    told = [text_of(message) for message in mails_to(mail_server, LEADER[1], since)
            if message["Subject"].startswith("Der er et hold i GLU-3")]
    assert len(told) == 1, "the leader is told once"
    assert re.search(rf"/anmod/{offering['id']}\b", told[0]) and "/mine-kurser/" in told[0]

    places = httpx.get(f"{enrolment_url}/enrolments", params={"offering_id": offering["id"]},
                       headers=bearer(Role.HR, organisation="730")).json()["items"]
    assert [(place["participant"]["email"], place["status"], place["source"]) for place in places] == [
        (COLLEAGUE[1], "confirmed", "interest")]
    assert [message["Subject"].split(":")[0] for message in mails_to(mail_server, COLLEAGUE[1], since)] == [
        "Du er tilmeldt"], "the colleague hears of the place, once"
    interests = httpx.get(f"{enrolment_url}/interests", headers=bearer(Role.HR, organisation="730")).json()["items"]
    assert [item["end_reason"] for item in interests] == ["fulfilled"]

    # The school sees the leader's interest in its region's demand until she is enrolled.
    demand = httpx.get(f"{enrolment_url}/interests/demand", params={"module": "GLU-3", "region": "1082"},
                       headers=bearer(Role.SCHOOL, provider_id=mercantec["id"])).json()["items"]
    assert [row["interested"] for row in demand] == [1]
