"""Interest lists across runs: registered by HR or the leader, told (or enrolled) when a hold has a free seat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from enrolment import interests
from enrolment.models import Enrolment, Interest, InterestNotice, OutboxMessage, Participant, db
from shared.clock import copenhagen_today


@pytest.fixture
def viborg(make_organisation, glu):
    return make_organisation("791", requires_approval=False)


@pytest.fixture
def school(make_school, auth, glu):
    mercantec = make_school("Mercantec")
    return mercantec, auth("school", provider_id=mercantec["id"])


def interest_body(name="Anne", module="GLU-3", regions=("midtjylland",), before=None, auto_enrol=False, **extra):
    body = {"module": module, "regions": list(regions), "participant": {"name": name,
                                                                       "email": f"{name.lower()}@kommune.example"},
            "auto_enrol": auto_enrol, **extra}
    if before is not None:
        body["before"] = before.isoformat()
    return body


@pytest.fixture
def register(client, hr, viborg):
    def post(name="Anne", organisation="791", **kwargs):
        return client.post("/interests", json=interest_body(name, **kwargs), headers=hr(organisation))

    return post


def interest_mails(app) -> list[OutboxMessage]:
    with app.app_context():
        mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mail",
                                                               OutboxMessage.subject.like("Der er et hold%"))
                                   .order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
    return mails


def interest_row(app, interest_id: int) -> Interest:
    with app.app_context():
        interest = db.session.get(Interest, interest_id)
        db.session.expunge_all()
    return interest


def places(app, offering_id: int) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(select(Participant.name, Enrolment.status, Enrolment.source)
                                  .join(Enrolment.participant).where(Enrolment.offering_id == offering_id)
                                  .order_by(Enrolment.id)).all()
    return [tuple(row) for row in rows]


def publish(catalogue_client, school, offering) -> None:
    """The school publishes a draft in the catalogue; its webhook reaches this service at once (conftest)."""
    answer = catalogue_client.patch(f"/offerings/{offering['id']}", json={"status": "published"}, headers=school[1])
    assert answer.status_code == 200, answer.get_json()


# --- Registering and its refusals ------------------------------------------------------------------------

def test_hr_registers_interest_for_a_member_of_staff(register, client, hr):
    answer = register("Anne", regions=["midtjylland", "1081"], before=copenhagen_today() + timedelta(days=90))
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["module"] == "GLU-3" and body["regions"] == ["1082", "1081"] and body["registered_by"] == "hr"
    assert body["participant"]["email"] == "anne@kommune.example" and body["ended_at"] is None
    listed = client.get("/interests", headers=hr()).get_json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]


@pytest.mark.parametrize(("changes", "pointer"), [
    ({"module": "GLU-9"}, "/module"),
    ({"regions": ["midtjylland", "Atlantis"]}, "/regions/1"),
    ({"before": "yesterday"}, "/before"),
    ({"before": "today"}, "/before"),
])
def test_unknown_module_or_region_and_a_past_before_are_refused(register, client, hr, changes, pointer):
    days = {"yesterday": -1, "today": 0}
    if "before" in changes:
        changes = {"before": copenhagen_today() + timedelta(days=days[changes["before"]])}
    answer = register("Anne", **changes)
    assert answer.status_code == 422, answer.get_json()
    assert answer.content_type == "application/problem+json"
    assert [error["pointer"] for error in answer.get_json()["errors"]] == [pointer]
    assert client.get("/interests", headers=hr()).get_json()["items"] == []


def test_no_regions_is_refused(register):
    answer = register("Anne", regions=[])
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["pointer"] == "/regions"


def test_a_second_identical_interest_is_a_conflict(register):
    assert register("Anne").status_code == 201
    second = register("Anne", regions=["syddanmark"])
    assert second.status_code == 409 and second.content_type == "application/problem+json"


def test_without_the_catalogue_an_interest_waits(register, catalogue_link):
    catalogue_link.down = True
    answer = register("Anne")
    assert answer.status_code == 503 and "Retry-After" in answer.headers


def test_refusals_by_role(client, auth, hr, register, make_organisation):
    make_organisation("751")
    body = interest_body("Anne")
    assert client.post("/interests", json=body).status_code == 401
    assert client.get("/interests").status_code == 401
    assert client.post("/interests", json=body, headers=auth("school", provider_id=1)).status_code == 403
    assert client.post("/interests", json=body, headers=auth("approver", organisation="791")).status_code == 403
    assert client.post("/interests", json={**body, "organisation": "751"}, headers=hr()).status_code == 403
    mine = register("Anne").get_json()
    assert client.get(f"/interests/{mine['id']}", headers=hr()).get_json()["id"] == mine["id"]
    # Another organisation's interest is as unknown as a missing one.
    assert client.get(f"/interests/{mine['id']}", headers=hr("751")).status_code == 404
    assert client.delete(f"/interests/{mine['id']}", headers=hr("751")).status_code == 404
    assert client.delete(f"/interests/{mine['id']}").status_code == 401
    assert client.delete(f"/interests/{mine['id']}", headers=auth("school", provider_id=1)).status_code == 403
    assert client.get("/interests", headers=auth("approver", organisation="791")).status_code == 403
    assert client.get("/interests/demand", headers=auth("school", provider_id=1)).status_code == 200
    assert client.get("/interests", headers=hr("751")).get_json()["items"] == []
    assert client.get("/interests/demand", headers=hr()).status_code == 403
    assert client.get("/interests/demand").status_code == 401


def test_withdrawing_ends_the_interest_once(register, client, hr):
    interest = register("Anne").get_json()
    withdrawn = client.delete(f"/interests/{interest['id']}", headers=hr())
    assert withdrawn.status_code == 200 and withdrawn.get_json()["end_reason"] == "withdrawn"
    assert client.delete(f"/interests/{interest['id']}", headers=hr()).status_code == 409
    assert client.delete("/interests/999999", headers=hr()).status_code == 404
    assert client.get("/interests?status=active", headers=hr()).get_json()["items"] == []
    assert register("Anne").status_code == 201  # a new one may follow a withdrawn one


def test_schools_see_demand_per_module_and_region_without_names(register, client, auth):
    register("Anne", regions=["midtjylland", "nordjylland"])
    register("Bent", regions=["midtjylland"])
    register("Carla", module="GLU-4", regions=["1082"])
    school = auth("school", provider_id=1)
    everything = client.get("/interests/demand", headers=school).get_json()["items"]
    assert everything == [
        {"module": "GLU-3", "region_code": "1081", "region": "Region Nordjylland", "interested": 1},
        {"module": "GLU-3", "region_code": "1082", "region": "Region Midtjylland", "interested": 2},
        {"module": "GLU-4", "region_code": "1082", "region": "Region Midtjylland", "interested": 1},
    ]
    mid_glu3 = client.get("/interests/demand?module=GLU-3&region=midtjylland", headers=school).get_json()["items"]
    assert [item["interested"] for item in mid_glu3] == [2]
    assert client.get("/interests/demand?region=Atlantis", headers=school).status_code == 422


# --- Matching ---------------------------------------------------------------------------------------------

def test_publishing_a_matching_offering_tells_the_interested_first_registered_first(
        app, register, make_offering, school, catalogue_client):
    register("Anne")
    register("Bent", regions=["hovedstaden"])  # another region
    register("Carla", before=copenhagen_today() + timedelta(days=20))  # the hold starts too late for her
    register("Dorte", regions=["1082", "1084"])
    draft = make_offering(school[0], module="GLU-3", first_day=40, status="draft")
    assert interest_mails(app) == []
    publish(catalogue_client, school, draft)
    mails = interest_mails(app)
    assert [mail.recipient for mail in mails] == ["anne@kommune.example", "dorte@kommune.example"]
    assert mails[0].subject.startswith("Der er et hold i GLU-3")
    assert f"/anmod/{draft['id']}" in mails[0].body and "/mine-kurser/" in mails[0].body


def test_the_job_twice_tells_once(app, register, make_offering, school, catalogue_client):
    register("Anne")
    publish(catalogue_client, school, make_offering(school[0], module="GLU-3", status="draft"))
    with app.app_context():
        assert interests.match_interests(db.session, copenhagen_today()) == 0
        assert db.session.scalar(select(InterestNotice.id).limit(1)) is not None
    assert len(interest_mails(app)) == 1


def test_auto_enrol_takes_free_seats_in_turn_and_the_rest_wait(app, register, make_offering, school,
                                                                catalogue_client, client, hr):
    anne = register("Anne", auto_enrol=True).get_json()
    bent = register("Bent", auto_enrol=True).get_json()
    told = register("Carla").get_json()
    draft = make_offering(school[0], module="GLU-3", capacity=1, min_participants=1, status="draft")
    publish(catalogue_client, school, draft)
    assert places(app, draft["id"]) == [("Anne", "confirmed", "interest")]
    assert interest_row(app, anne["id"]).end_reason == "fulfilled"
    assert interest_row(app, bent["id"]).ended_at is None  # no seat for Bent: he waits for the next one
    assert [mail.recipient for mail in interest_mails(app)] == ["carla@kommune.example"]
    assert interest_row(app, told["id"]).ended_at is None

    # Anne gives her seat back: it is offered to the list again, and Bent takes it.
    enrolment_id = interest_row(app, anne["id"]).enrolment_id
    assert client.post(f"/enrolments/{enrolment_id}/cancel", headers=hr()).status_code == 200
    assert places(app, draft["id"])[-1] == ("Bent", "confirmed", "interest")
    assert interest_row(app, bent["id"]).end_reason == "fulfilled"
    assert len(interest_mails(app)) == 1  # Carla was told of this hold already


def test_auto_enrol_asks_for_approval_where_the_organisation_requires_it(
        app, client, hr, make_organisation, make_offering, school, catalogue_client, glu):
    make_organisation("751", requires_approval=True)
    interest = client.post("/interests", json=interest_body("Erik", auto_enrol=True), headers=hr("751")).get_json()
    draft = make_offering(school[0], module="GLU-3", capacity=3, min_participants=1, status="draft")
    publish(catalogue_client, school, draft)
    assert places(app, draft["id"]) == [("Erik", "pending_approval", "interest")]
    assert interest_row(app, interest["id"]).end_reason == "fulfilled"


def test_a_freed_seat_in_a_full_offering_is_offered_to_the_list(app, register, make_offering, school, enrol,
                                                                 client, hr):
    full = make_offering(school[0], module="GLU-3", capacity=1, min_participants=1)
    anne = enrol(full, "Anne").get_json()
    register("Bent")
    assert interest_mails(app) == []  # no free seat to tell of
    assert client.post(f"/enrolments/{anne['id']}/cancel", headers=hr()).status_code == 200
    assert [mail.recipient for mail in interest_mails(app)] == ["bent@kommune.example"]


def test_a_seat_freed_with_someone_waiting_goes_to_the_waiting_list_not_the_interest_list(
        app, register, make_offering, school, enrol, client, hr):
    full = make_offering(school[0], module="GLU-3", capacity=1, min_participants=1)
    anne = enrol(full, "Anne").get_json()
    enrol(full, "Carla")
    register("Bent", auto_enrol=True)
    assert client.post(f"/enrolments/{anne['id']}/cancel", headers=hr()).status_code == 200
    assert [name for name, status, _ in places(app, full["id"]) if status == "confirmed"] == ["Carla"]
    assert interest_mails(app) == []


def test_an_interest_past_its_date_expires(app, register):
    interest = register("Anne", before=copenhagen_today() + timedelta(days=10)).get_json()
    with app.app_context():
        interests.match_interests(db.session, copenhagen_today() + timedelta(days=10))
    assert interest_row(app, interest["id"]).end_reason == "expired"


# --- Pages ------------------------------------------------------------------------------------------------

def page_token(app, email: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Participant.page_token).where(Participant.email_key == email))


@pytest.fixture
def leader(app, enrol, make_offering, school, viborg):
    """Anne, with a place on a GLU-1 hold: the link to her "Mine kurser"."""
    enrol(make_offering(school[0], module="GLU-1", first_day=20), "Anne")
    return f"/mine-kurser/{page_token(app, 'anne@kommune.example')}"


def test_a_leader_asks_to_be_told_on_mine_kurser_and_removes_it(app, client, leader):
    page = text_of(client.get(leader))
    assert "Giv mig besked, når der er et hold" in page and 'value="GLU-3"' in page
    before = (copenhagen_today() + timedelta(days=60)).isoformat()
    answer = post_form(client, f"{leader}/interesse", {"modul": "GLU-3", "regioner": ["1082"], "foer": before})
    assert answer.status_code == 303
    page = text_of(client.get(leader))
    assert "Du får besked, når der er et hold i GLU-3" in page and "GLU-3 i Midtjylland, start før" in page
    with app.app_context():
        interest = db.session.scalars(select(Interest)).one()
        assert (interest.registered_by, interest.auto_enrol) == ("participant", False)
    removed = post_form(client, f"{leader}/interesse/{interest.id}/fjern")
    assert removed.status_code == 303 and "Du får ikke længere besked om GLU-3" in text_of(client.get(leader))
    assert interest_row(app, interest.id).end_reason == "withdrawn"


def test_a_refused_interest_on_mine_kurser_keeps_what_was_typed(client, leader):
    past = (copenhagen_today() - timedelta(days=1)).isoformat()
    answer = post_form(client, f"{leader}/interesse", {"modul": "GLU-3", "regioner": ["1082"], "foer": past})
    assert answer.status_code == 422
    page = text_of(answer)
    assert 'id="foer-error"' in page and "Datoen skal ligge efter i dag." in page
    assert f'value="{past}"' in page and 'value="1082" checked' in page
    no_region = post_form(client, f"{leader}/interesse", {"modul": "GLU-3"})
    assert no_region.status_code == 422 and 'id="regioner-error"' in text_of(no_region)


def test_someone_elses_interest_cannot_be_removed_through_my_link(app, client, leader, register):
    bent = register("Bent").get_json()
    assert post_form(client, f"{leader}/interesse/{bent['id']}/fjern").status_code == 404
    assert interest_row(app, bent["id"]).ended_at is None


def test_hr_puts_staff_on_the_list_with_automatic_enrolment(app, client, viborg):
    from tests.enrolment.test_pages import sign_in

    sign_in(client, "hr")
    page = text_of(client.get("/hr/interesse"))
    assert "Tilmeld automatisk" in page
    answer = post_form(client, "/hr/interesse", {"navn": "Bent", "email": "bent@kommune.example", "modul": "GLU-3",
                                                 "regioner": ["1082", "1081"], "automatisk": "ja"})
    assert answer.status_code == 303, text_of(answer)[:3000]
    page = text_of(client.get("/hr/interesse"))
    assert "bent@kommune.example" in page and "Midtjylland, Nordjylland" in page
    twice = post_form(client, "/hr/interesse", {"navn": "Bent", "email": "bent@kommune.example", "modul": "GLU-3",
                                                "regioner": ["1082"]})
    assert twice.status_code == 422 and "står allerede på interesselisten" in text_of(twice)
    with app.app_context():
        interest = db.session.scalars(select(Interest)).one()
        assert (interest.auto_enrol, interest.registered_by) == (True, "hr")
    assert post_form(client, f"/hr/interesse/{interest.id}/fjern").status_code == 303
    assert interest_row(app, interest.id).end_reason == "withdrawn"


def test_hr_interest_page_needs_sign_in(client, viborg):
    assert client.get("/hr/interesse").status_code in (302, 303)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def post_form(client, url: str, data: dict | None = None):
    from tests.enrolment.test_pages import csrf

    return client.post(url, data={**(data or {}), "csrf_token": csrf(client)}, content_type="multipart/form-data")


def test_a_raised_capacity_is_offered_to_the_list(app, register, make_offering, school, enrol, catalogue_client):
    full = make_offering(school[0], module="GLU-3", capacity=1, min_participants=1)
    enrol(full, "Anne")
    register("Bent", auto_enrol=True)
    raised = catalogue_client.patch(f"/offerings/{full['id']}", json={"capacity": 2}, headers=school[1])
    assert raised.status_code == 200
    assert places(app, full["id"]) == [("Anne", "confirmed", "hr"), ("Bent", "confirmed", "interest")]
