"""Insight (GDPR art. 15 and 20): HR, and the person through their own link, get everything held about them."""

from __future__ import annotations

from sqlalchemy import select

from enrolment.models import Organisation, db
from tests.accounts import add_member, sign_in_directly
from tests.enrolment.test_erasure import *  # noqa: F403 (its fixtures, found by name: __all__ names them)
from tests.enrolment.test_erasure import EMAIL, NAME, path_of
from tests.enrolment.test_pages import post_form, text


def test_hr_exports_everything_held_about_a_person(client, hr, soeren, held, coming):
    answer = client.get(f"/participants/{soeren['id']}/export", headers=hr())

    assert answer.status_code == 200, answer.get_json()
    assert answer.headers["Content-Disposition"] == f'attachment; filename="person-{soeren["id"]}.json"'
    data = answer.get_json()
    person = data["person"]
    assert (person["id"], person["name"], person["email"]) == (soeren["id"], NAME, EMAIL)
    assert person["organisation"] == {"key": "791", "name": "Viborg Kommune"}
    assert person["created_at"] and person["erased_at"] is None

    first, second = data["enrolments"]
    assert (first["id"], first["offering_id"], first["status"], first["status_text"], first["source"]) == (
        soeren["first"]["id"], held["id"], "confirmed", "Bekræftet", "hr")
    assert first["offering"]["module_code"] == "GLU-1"
    assert first["offering"]["module_title"] == "Introduktion til ledelse"
    assert first["offering"]["provider_name"] == "Mercantec"
    assert first["attendance"] == [{"session_id": held["sessions"][0]["id"], "attended": True,
                                    "recorded_at": first["attendance"][0]["recorded_at"]}]
    assert (first["completion"], first["completion_provider_name"]) == ("completed", "Mercantec")
    assert first["completion_note"] == f"{NAME} deltog aktivt"
    assert first["completed_on"] == held["sessions"][-1]["starts_at"][:10]
    assert [entry["action"] for entry in first["history"]] == [
        "enrolment.enrolled", "attendance.recorded", "enrolment.completion_recorded"]
    assert first["history"][0]["changes"] == {"status": [None, "confirmed"], "participant": [None, soeren["id"]]}
    assert (second["id"], second["offering_id"], second["status"]) == (soeren["second"]["id"], coming["id"],
                                                                       "confirmed")
    assert (second["ended_by"], second["moved_to_id"], second["completion"]) == (None, None, None)

    (interest,) = data["interests"]
    assert (interest["id"], interest["module_code"], interest["regions"], interest["registered_by"]) == (
        soeren["interest"]["id"], "GLU-5", ["1082"], "hr")
    assert interest["ended_at"] is None

    assert data["reservations"] == []
    mails = data["mails"]
    assert mails and {mail["recipient"] for mail in mails} == {EMAIL}
    assert all(mail["status"] == "sent" and mail["sent_at"] and NAME in mail["body"] for mail in mails)
    assert "Du er tilmeldt: Introduktion til ledelse hos Mercantec" in [mail["subject"] for mail in mails]

    actions = [entry["action"] for entry in data["audit_entries"]]
    assert actions.count("enrolment.enrolled") == 2 and "interest.registered" in actions
    assert "enrolment.completion_recorded" in actions


def test_the_export_after_erasure_holds_only_the_pseudonym(client, hr, soeren):
    client.post(f"/participants/{soeren['id']}/erase", headers=hr())

    data = client.get(f"/participants/{soeren['id']}/export", headers=hr()).get_json()

    assert data["person"]["name"].startswith("Slettet person") and data["person"]["erased_at"]
    assert NAME not in str(data) and EMAIL not in str(data)
    assert all(mail["body"] is None for mail in data["mails"])
    assert [place["status"] for place in data["enrolments"]] == ["confirmed", "cancelled"]
    assert data["enrolments"][0]["completion"] == "completed"


def test_the_export_is_refused_to_every_other_role(client, soeren, hr, auth, held):
    path = f"/participants/{soeren['id']}/export"

    assert client.get(path, headers=auth("admin")).status_code == 200
    assert client.get(path, headers=hr("730")).status_code == 404  # another organisation's person
    assert client.get(path, headers=auth("approver", organisation="791")).status_code == 403
    assert client.get(path, headers=auth("school", provider_id=held["provider_id"])).status_code == 403
    assert client.get(path).status_code == 401
    assert client.get("/participants/999999/export", headers=hr()).status_code == 404


# --- The pages ------------------------------------------------------------------------------------

def sign_in(client, clock, role: str, organisation: str) -> None:
    """A member of the organisation signed in, at the test's clock (31 days on: the course has been held)."""
    app = client.application
    with app.app_context():
        organisation_id = db.session.scalar(select(Organisation.id).where(Organisation.key == organisation))
    email = f"{role}@{organisation}.example"
    add_member(app, email, organisation_id, role, f"HR-medarbejder {organisation}")
    sign_in_directly(app, client, email, now=clock())


def test_hr_opens_a_persons_insight_page_from_the_list_and_erases_them(client, soeren, clock):
    sign_in(client, clock, "hr", "791")
    listing = text(client.get("/hr"))
    page = client.get(f"/hr/personer/{soeren['id']}/indsigt")
    download = client.get(f"/hr/personer/{soeren['id']}/indsigt.json")
    confirm = client.get(f"/hr/personer/{soeren['id']}/slet")

    assert f"/hr/personer/{soeren['id']}/indsigt" in listing
    assert page.status_code == 200 and NAME in text(page) and "Hent som JSON" in text(page)
    assert "Introduktion til ledelse" in text(page) and "Slet personen" in text(page)
    assert download.status_code == 200 and download.get_json()["person"]["email"] == EMAIL
    assert "attachment" in download.headers["Content-Disposition"]
    assert confirm.status_code == 200 and "kan ikke fortrydes" in text(confirm)
    refused = post_form(client, f"/hr/personer/{soeren['id']}/slet", with_csrf=False)
    assert refused.status_code in (400, 403) and client.get(path_of(soeren["page"])).status_code == 200

    erased = post_form(client, f"/hr/personer/{soeren['id']}/slet")

    assert erased.status_code == 303
    after = text(client.get(erased.headers["Location"]))
    assert "Personen er slettet" in after and NAME not in after and "Slet personen" not in after
    assert client.get(path_of(soeren["page"])).status_code == 404


def test_the_insight_pages_are_refused_to_others(client, soeren, clock):
    assert client.get(f"/hr/personer/{soeren['id']}/indsigt").status_code in (302, 303)  # to signing in
    sign_in(client, clock, "hr", "730")
    assert client.get(f"/hr/personer/{soeren['id']}/indsigt").status_code == 404
    assert client.get(f"/hr/personer/{soeren['id']}/indsigt.json").status_code == 404
    assert post_form(client, f"/hr/personer/{soeren['id']}/slet").status_code == 404
    sign_in(client, clock, "approver", "791")
    assert client.get(f"/hr/personer/{soeren['id']}/indsigt").status_code == 403
    assert client.get(path_of(soeren["page"])).status_code == 200  # nothing was erased


def test_the_leader_reads_their_own_data_through_their_link(client, soeren):
    token = path_of(soeren["page"]).rsplit("/", 1)[1]
    courses = text(client.get(f"/mine-kurser/{token}"))
    page = client.get(f"/mine-kurser/{token}/mine-data")
    download = client.get(f"/mine-kurser/{token}/mine-data.json")

    assert f"/mine-kurser/{token}/mine-data" in courses
    assert page.status_code == 200 and NAME in text(page) and "Slet personen" not in text(page)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert download.status_code == 200 and download.get_json()["person"]["name"] == NAME
    assert len(download.get_json()["enrolments"]) == 2
    # Who acted is named by role: the names of HR's and the school's people are theirs, not the leader's.
    assert {entry["actor_name"] for entry in download.get_json()["audit_entries"]} <= {"HR", "Skolen"}
    assert client.get("/mine-kurser/not-a-token/mine-data").status_code == 404
