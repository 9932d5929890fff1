"""The GLU path: each module with the person's best state in it, the suggestion of the next module with its
offerings in the region, HR's staff × modules overview (and CSV), and who may see which."""

from __future__ import annotations

from datetime import timedelta

import pytest

from enrolment.models import Organisation, Participant, db
from enrolment.pages.paths import MONTHS
from tests.accounts import Clock
from tests.catalogue.fixtures import in_days, location
from tests.enrolment.conftest import request_and_confirm
from tests.enrolment.test_pages import assert_accessible, sign_in, text
from tests.enrolment.test_participant_lists import read_csv


@pytest.fixture
def clock(app):
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def viborg(app, make_organisation):
    key = make_organisation("791", name="Viborg Kommune", requires_approval=False)
    with app.app_context():
        db.session.query(Organisation).filter_by(key=key).update({"region_code": "1082"})
        db.session.commit()
    return key


@pytest.fixture
def mercantec(make_school):
    return make_school("Mercantec")


@pytest.fixture
def odense_school(make_school):
    return make_school("Syddansk Erhvervsskole",
                       location("Odense", municipality_code="461", municipality="Odense Kommune", region_code="1083",
                                postcode="5000"))


def complete(client, auth, clock, offering, enrolment_id):
    """The school records a completion on the course's last day (first_day 30, two days)."""
    clock.at = in_days(31) + timedelta(minutes=5)
    response = client.put(f"/enrolments/{enrolment_id}/completion", json={"result": "completed", "note": None},
                          headers=auth("school", provider_id=offering["provider_id"]))
    assert response.status_code == 200, response.get_json()


def path_of(client, headers, participant_id, **query):
    response = client.get(f"/participants/{participant_id}/path", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def states(path) -> dict[str, str]:
    return {step["module"]: step["state"] for step in path["steps"]}


def test_the_path_has_every_module_in_order_with_the_best_state_of_each(
        client, viborg, mercantec, make_offering, enrol, hr, auth, clock):
    glu1 = make_offering(mercantec, module="GLU-1", capacity=5, min_participants=1)
    glu2_full = make_offering(mercantec, module="GLU-2", capacity=1, min_participants=1)
    glu2_other = make_offering(mercantec, module="GLU-2", capacity=5, min_participants=1)
    anne = enrol(glu1, "Anne").get_json()
    enrol(glu2_full, "Bent")
    enrol(glu2_full, "Anne")  # waitlisted there …
    enrol(glu2_other, "Anne")  # … and enrolled here: enrolled is the better state
    complete(client, auth, clock, glu1, anne["id"])

    path = path_of(client, hr(), anne["participant"]["id"])

    assert [step["module"] for step in path["steps"]] == ["GLU-1", "GLU-2", "GLU-3", "GLU-4", "GLU-5", "GLU-T"]
    assert states(path) == {"GLU-1": "completed", "GLU-2": "enrolled", "GLU-3": "not_yet", "GLU-4": "not_yet",
                            "GLU-5": "not_yet", "GLU-T": "not_yet"}
    first = path["steps"][0]
    assert first["provider_name"] == "Mercantec" and first["completed_on"] == in_days(31).date().isoformat()
    assert path["suggestion"] == "GLU-3"


def test_a_waitlisted_place_shows_its_position_and_the_next_module_is_suggested(
        client, make_organisation, mercantec, make_offering, enrol, hr):
    make_organisation("791", requires_approval=False)
    full = make_offering(mercantec, module="GLU-1", capacity=1, min_participants=1)
    enrol(full, "Bent")
    carla = enrol(full, "Carla").get_json()

    path = path_of(client, hr(), carla["participant"]["id"])

    assert states(path)["GLU-1"] == "waitlisted"
    assert path["steps"][0]["waitlist_position"] == 1 and path["steps"][0]["label"] == "Venteliste"
    assert path["suggestion"] == "GLU-2"


def test_the_suggestion_is_the_next_modules_offerings_in_the_region_that_take_enrolments_soonest_first(
        client, viborg, mercantec, odense_school, make_offering, enrol, hr):
    glu1 = make_offering(mercantec, module="GLU-1")
    anne = enrol(glu1, "Anne").get_json()
    later = make_offering(mercantec, module="GLU-2", first_day=80)
    sooner = make_offering(mercantec, module="GLU-2", first_day=50)
    make_offering(mercantec, module="GLU-2", first_day=40, status="draft")
    make_offering(mercantec, module="GLU-2", first_day=60, status="cancelled")
    in_odense = make_offering(odense_school, module="GLU-2", first_day=45)
    make_offering(mercantec, module="GLU-3", first_day=45)

    path = path_of(client, hr(), anne["participant"]["id"])
    assert path["suggestion"] == "GLU-2" and path["region_code"] == "1082"
    assert [offering["id"] for offering in path["offerings"]] == [sooner["id"], later["id"]]

    elsewhere = path_of(client, hr(), anne["participant"]["id"], region="1083")
    assert [offering["id"] for offering in elsewhere["offerings"]] == [in_odense["id"]]


def test_a_path_of_another_organisations_participant_is_not_found_and_others_are_refused(
        client, viborg, make_organisation, mercantec, make_offering, enrol, hr, auth):
    make_organisation("730")
    anne = enrol(make_offering(mercantec), "Anne").get_json()
    url = f"/participants/{anne['participant']['id']}/path"

    assert client.get(url, headers=hr("730")).status_code == 404
    assert client.get("/participants/999999/path", headers=hr()).status_code == 404
    assert client.get(url).status_code == 401
    for role, scope in (("school", {"provider_id": mercantec["id"]}), ("approver", {"organisation": "791"})):
        response = client.get(url, headers=auth(role, **scope))
        assert response.status_code == 403 and response.content_type == "application/problem+json"
    assert client.get(url, headers=auth("admin")).status_code == 200
    assert client.get(url, headers=hr(), query_string={"region": "9999"}).status_code == 400
    assert client.get("/organisations/791/path", headers=hr("730")).status_code == 404
    assert client.get("/organisations/791/path").status_code == 401


def test_the_catalogue_down_is_a_503(client, viborg, mercantec, make_offering, enrol, hr, catalogue_link):
    anne = enrol(make_offering(mercantec), "Anne").get_json()
    catalogue_link.down = True

    response = client.get(f"/participants/{anne['participant']['id']}/path", headers=hr())

    assert response.status_code == 503 and response.headers["Retry-After"]
    assert client.get("/organisations/791/path", headers=hr()).status_code == 503


def test_hr_sees_its_staff_by_module_filtered_and_as_csv(client, viborg, mercantec, make_offering, enrol, hr, auth,
                                                          clock):
    glu1 = make_offering(mercantec, module="GLU-1")
    anne = enrol(glu1, "Anne").get_json()
    enrol(make_offering(mercantec, module="GLU-2"), "Bent")
    complete(client, auth, clock, glu1, anne["id"])

    rows = client.get("/organisations/791/path", headers=hr()).get_json()["items"]
    assert [(row["name"], row["steps"][0]["state"], row["steps"][1]["state"]) for row in rows] == [
        ("Anne", "completed", "not_yet"), ("Bent", "not_yet", "enrolled")]

    completed = client.get("/organisations/791/path", headers=hr(),
                           query_string={"module": "GLU-1", "state": "completed"}).get_json()["items"]
    assert [row["name"] for row in completed] == ["Anne"]

    response = client.get("/organisations/791/path", headers=hr(), query_string={"format": "csv"})
    assert response.status_code == 200 and response.content_type.startswith("text/csv")
    table = read_csv(response)
    assert table[0][:4] == ["Navn", "E-mail", "GLU-1", "GLU-2"]
    completed_text = f"Gennemført {in_days(31).date().isoformat()} hos Mercantec"
    assert table[1][:4] == ["Anne", "anne@kommune.example", completed_text, "Ikke taget endnu"]
    assert table[2][3] == "Tilmeldt"


# --- The pages ------------------------------------------------------------------------------------

def participant_of(app, participant_id: int) -> Participant:
    with app.app_context():
        found = db.session.get(Participant, participant_id)
        db.session.expunge(found)
        return found


def test_mine_kurser_shows_the_path_and_the_next_modules_offerings_in_the_region(
        app, client, viborg, mercantec, odense_school, make_offering, enrol, auth, clock):
    glu1 = make_offering(mercantec, module="GLU-1", first_day=30, days=2)
    anne = enrol(glu1, "Anne").get_json()
    complete(client, auth, clock, glu1, anne["id"])
    glu2 = make_offering(mercantec, module="GLU-2", first_day=60, days=2)
    enrol(glu2, "Anne")
    glu3 = make_offering(mercantec, module="GLU-3", first_day=90)
    in_odense = make_offering(odense_school, module="GLU-3", first_day=70)
    leader = participant_of(app, anne["participant"]["id"])

    response = client.get(f"/mine-kurser/{leader.page_token}")
    assert_accessible(response)
    page = text(response)

    finished = in_days(31).date()
    assert f"Gennemført {finished.day}. {MONTHS[finished.month - 1]} {finished.year} hos Mercantec" in page
    assert "Tilmeldt " in page and "Ikke taget endnu" in page
    assert "Næste modul: GLU-3" in page
    assert f"/udbud/{glu3['id']}" in page and f"/udbud/{in_odense['id']}" not in page
    assert '<option value="1082" selected>' in page

    elsewhere = text(client.get(f"/mine-kurser/{leader.page_token}?region=1083"))
    assert f"/udbud/{in_odense['id']}" in elsewhere and f"/udbud/{glu3['id']}" not in elsewhere


def test_mine_kurser_still_shows_the_courses_when_the_catalogue_is_down(
        app, client, viborg, mercantec, make_offering, enrol, catalogue_link):
    anne = enrol(make_offering(mercantec), "Anne").get_json()
    leader = participant_of(app, anne["participant"]["id"])
    catalogue_link.down = True

    response = client.get(f"/mine-kurser/{leader.page_token}")

    assert response.status_code == 200 and "Dit forløb kan ikke vises lige nu" in text(response)


def test_hr_sees_the_staff_by_module_page_with_filters_and_a_csv_link(
        client, viborg, mercantec, make_offering, enrol):
    enrol(make_offering(mercantec, module="GLU-1"), "Anne")
    enrol(make_offering(mercantec, module="GLU-2"), "Bent")
    sign_in(client)

    response = client.get("/hr/forloeb")
    assert_accessible(response)
    page = text(response)
    assert "GLU-forløb – Viborg Kommune" in page and "Anne" in page and "Bent" in page
    assert 'href="/hr/forloeb"' in text(client.get("/hr"))

    filtered = text(client.get("/hr/forloeb?modul=GLU-2&status=enrolled"))
    assert "Bent" in filtered and "Anne" not in filtered
    assert "/hr/forloeb.csv?module=GLU-2&amp;state=enrolled" in filtered
    csv_response = client.get("/hr/forloeb.csv?module=GLU-2&state=enrolled")
    assert [row[0] for row in read_csv(csv_response)] == ["Navn", "Bent"]


def test_the_staff_by_module_page_sends_the_signed_out_to_sign_in(client, viborg):
    assert client.get("/hr/forloeb").status_code in (302, 303)


# --- The organisation's region --------------------------------------------------------------------

def test_hr_sets_its_organisations_region_and_the_suggestion_follows_it(
        client, viborg, make_organisation, mercantec, odense_school, make_offering, enrol, hr, auth):
    make_organisation("730")
    anne = enrol(make_offering(mercantec, module="GLU-1"), "Anne").get_json()
    in_odense = make_offering(odense_school, module="GLU-2", first_day=45)

    response = client.patch("/organisations/791", json={"region_code": "1083"}, headers=hr())

    assert response.status_code == 200 and response.get_json()["region_code"] == "1083"
    path = path_of(client, hr(), anne["participant"]["id"])
    assert path["region_code"] == "1083" and [offering["id"] for offering in path["offerings"]] == [in_odense["id"]]
    log = client.get("/audit", headers=auth("admin"), query_string={"action": "organisation.changed"}).get_json()
    assert log["items"][0]["changes"] == {"region_code": ["1082", "1083"]}


def test_an_organisations_region_is_refused_when_unknown_or_another_organisations(client, viborg, make_organisation,
                                                                                   hr, auth):
    make_organisation("730")
    unknown = client.patch("/organisations/791", json={"region_code": "9999"}, headers=hr())
    assert unknown.status_code == 422 and unknown.content_type == "application/problem+json"
    assert client.patch("/organisations/791", json={"region_code": "1083"}, headers=hr("730")).status_code == 404
    assert client.patch("/organisations/791", json={"region_code": "1083"}).status_code == 401
    school = auth("school", provider_id=1)
    assert client.patch("/organisations/791", json={"region_code": "1083"}, headers=school).status_code == 403
    assert client.patch("/organisations/791", json={"region_code": None}, headers=auth("admin")).status_code == 200


def test_a_request_awaiting_approval_shows_as_requested(app, client, make_organisation, mercantec, make_offering, hr):
    make_organisation("791", requires_approval=True)
    offering = make_offering(mercantec, module="GLU-1")
    asked = request_and_confirm(app, client, {"offering_id": offering["id"], "organisation": "791",
                                              "participant": {"name": "Dorte", "email": "dorte@viborg.example"}})
    assert asked.get_json()["status"] == "pending_approval"

    with app.app_context():
        dorte = db.session.query(Participant).filter_by(email="dorte@viborg.example").one().id
    path = path_of(client, hr(), dorte)

    assert states(path)["GLU-1"] == "requested" and path["steps"][0]["label"] == "Anmodet"
    assert path["suggestion"] == "GLU-2"
