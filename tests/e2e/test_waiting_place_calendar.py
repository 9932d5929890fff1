"""A waitlisted leader's calendar tells the truth: TENTATIVE "Venteliste nr. 1" until a seat frees, then the same
events CONFIRMED with a higher SEQUENCE; and a leader who lost the links gets them again by mail."""

from __future__ import annotations

import httpx
from icalendar import Calendar

from shared.auth import Role, issue_token
from tests.conftest import TOKEN_SECRET

LEADER = ("Lene Venter", "lene.venter@viborg.example")


def feed_events(url: str) -> dict[str, tuple[str, int, str]]:
    response = httpx.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    return {str(event["UID"]): (str(event["STATUS"]), int(event["SEQUENCE"]), str(event["SUMMARY"]))
            for event in Calendar.from_ical(response.content).walk("VEVENT")}


def test_a_waiting_place_turns_confirmed_in_the_feed_and_the_links_come_again(system, page, mail_server):
    catalogue_url, enrolment_url = system
    course = httpx.get(f"{catalogue_url}/offerings", params={"module": "GLU-3", "date_from": "2027-02-01",
                                                            "per_page": 1}).json()["items"][0]
    hr = {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, Role.HR, organisation='791')}"}

    def enrol(name: str, email: str) -> dict:
        answer = httpx.post(f"{enrolment_url}/enrolments", headers=hr, json={
            "offering_id": course["id"], "participant": {"name": name, "email": email}})
        assert answer.status_code == 201, answer.text
        return answer.json()

    taken = [enrol(f"Kollega {n}", f"kollega{n}@viborg.example") for n in range(course["capacity"])]
    assert {place["status"] for place in taken} == {"confirmed"}
    lene = enrol(*LEADER)
    assert (lene["status"], lene["waitlist_position"]) == ("waitlisted", 1)

    waiting = feed_events(lene["calendar_url"])
    assert {uid for uid in waiting} == {f"glu-session-{session['id']}@glu-courses" for session in course["sessions"]}
    assert all(status == "TENTATIVE" and summary.startswith("Venteliste nr. 1: ")
               for status, _, summary in waiting.values())

    assert httpx.post(f"{enrolment_url}/enrolments/{taken[0]['id']}/cancel", headers=hr).status_code == 200

    confirmed = feed_events(lene["calendar_url"])
    assert list(confirmed) == list(waiting)
    for uid, (status, sequence, summary) in confirmed.items():
        assert status == "CONFIRMED" and sequence > waiting[uid][1] and not summary.startswith("Venteliste")

    # She lost the mail with her links: "Send mine links igen", in the browser.
    handler, _ = mail_server
    before = len(handler.envelopes)
    page.goto(f"{enrolment_url}/")
    page.get_by_role("link", name="send mine links igen").click()
    page.get_by_label("E-mail").fill(LEADER[1])
    page.get_by_role("button", name="Send mine links").click()
    assert "Tjek din indbakke" in page.locator("main").inner_text()

    [mail] = [message for message in handler.messages()[before:] if message["To"] == LEADER[1]]
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert mail["Subject"] == "Dine links til GLU-kurser"
    assert lene["calendar_url"] in body and lene["my_courses_url"] in body
