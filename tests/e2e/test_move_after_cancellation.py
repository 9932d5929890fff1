"""The school cancels a course; HR opens the alternatives from the mail and moves a person with one click."""

from __future__ import annotations

import re

import httpx
import vobject

from shared.auth import Role, issue_token
from tests.conftest import TOKEN_SECRET
from tests.e2e.conftest import sign_in_by_link

HR_EMAIL = "admin@viborg.example"
PERSON = ("Mette Mortensen", "mette@viborg.example")


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def mails_to(mail_server, address: str, since: int = 0) -> list:
    handler, _ = mail_server
    return [message for message in handler.messages()[since:] if message["To"] == address]


def a_course_with_alternatives(catalogue_url: str) -> dict:
    """A seeded GLU-4 course with at least one later GLU-4 course that still takes enrolments."""
    found = httpx.get(f"{catalogue_url}/offerings", params={"module": "GLU-4", "per_page": 100,
                                                            "date_from": "2027-01-15"}).json()["items"]
    assert len(found) >= 2, "the seed has several GLU-4 courses"
    return found[0]


def test_hr_moves_a_person_from_a_cancelled_course_with_one_click_and_the_feed_follows(system, page, mail_server):
    catalogue_url, enrolment_url = system
    course = a_course_with_alternatives(catalogue_url)
    sign_in_by_link(page, enrolment_url, HR_EMAIL, mail_server)

    page.goto(f"{enrolment_url}/hr/tilmeld")
    page.get_by_label("Udbuds-nr.").fill(str(course["id"]))
    page.get_by_label("Deltagere").fill(";".join(PERSON))
    page.locator("form button").last.click()
    page.get_by_role("button", name="Bekræft tilmelding").click()
    assert "Bekræftet" in page.locator("main").inner_text()
    feed_url = next(line.split(": ", 1)[1].strip() for message in mails_to(mail_server, PERSON[1])
                    for line in text_of(message).splitlines() if line.startswith("Abonnér på din kalender:"))

    handler, _ = mail_server
    before = len(handler.envelopes)
    school = {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, Role.SCHOOL, provider_id=course['provider_id'])}"}
    cancelled = httpx.post(f"{catalogue_url}/offerings/{course['id']}/cancel", json={"reason": "For få tilmeldte"},
                           headers=school)
    assert cancelled.status_code == 200

    to_person = [text_of(message) for message in mails_to(mail_server, PERSON[1], before)]
    assert any("/andre-hold/" in body for body in to_person), "the participant is offered the alternatives"
    to_hr = text_of(mails_to(mail_server, HR_EMAIL, before)[-1])
    assert PERSON[0] in to_hr
    link = re.search(r"https?://\S+/hr/tilmeldinger/\d+/andre-hold", to_hr).group(0)

    page.goto(link)
    assert "skolen har aflyst holdet" in page.locator("main").inner_text()
    alternatives = page.locator("ol.alternatives > li")
    assert alternatives.count() >= 1
    chosen = int(alternatives.first.locator("input[name=udbud]").get_attribute("value"))
    alternatives.first.get_by_role("button", name=re.compile("^Flyt hertil")).click()

    page.wait_for_url(f"{enrolment_url}/hr*")
    assert f"{PERSON[0]} er flyttet til" in page.locator("p.notice").inner_text()
    new_course = httpx.get(f"{catalogue_url}/offerings/{chosen}").json()
    assert new_course["module"] == "GLU-4"

    feed = httpx.get(feed_url)
    assert feed.status_code == 200
    statuses = {event.uid.value: event.status.value for event in vobject.readOne(feed.text).vevent_list}
    old_days = {f"glu-session-{session['id']}@glu-courses" for session in course["sessions"]}
    new_days = {f"glu-session-{session['id']}@glu-courses" for session in new_course["sessions"]}
    assert statuses == {**{uid: "CANCELLED" for uid in old_days}, **{uid: "CONFIRMED" for uid in new_days}}
    moved_mail = [message for message in mails_to(mail_server, PERSON[1], before)
                  if message["Subject"].startswith("Du er flyttet til")]
    assert len(moved_mail) == 1
