"""API keys across the services: each checks its own keys and asks the other about the other's (RFC 7662).

Here `app` and `client` are the enrolment service's, `catalogue_app` and `catalogue_client` the
catalogue's; they reach each other over in-process WSGI, so a key is checked by the real other app.
Both run on one injectable clock: the other service's answers are kept `KEY_CACHE_SECONDS`, and
the tests move the clock past that instead of sleeping.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalogue.models import ApiKey as CatalogueKey
from enrolment.models import ApiKey as EnrolmentKey
from enrolment.models import Organisation, db
from shared.accounts.introspection import INTROSPECTION_PATH, KEY_CACHE_SECONDS, KeyIntrospection
from tests.accounts import Clock, add_member, sign_in_directly
from tests.catalogue.test_api_keys import bearer, new_key, revoke
from tests.conftest import TOKEN_SECRET


@pytest.fixture
def clock(app, catalogue_app):
    clock = Clock()
    app.config["CLOCK"] = catalogue_app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def enrolment_link(app):
    """The enrolment service over in-process WSGI, which a test can take down, as the catalogue reaches it."""
    from tests.enrolment.conftest import SwitchableTransport

    return SwitchableTransport(app)


@pytest.fixture(autouse=True)
def catalogue_asks_the_enrolment_service(catalogue_app, enrolment_link):
    # As ENROLMENT_URL and ENROLMENT_TRANSPORT would make it, but the enrolment app exists only after the catalogue's.
    catalogue_app.extensions["key_introspection"] = KeyIntrospection(
        "http://enrolment.test", TOKEN_SECRET, "tilmeldingstjenesten", transport=enrolment_link)


@pytest.fixture
def mercantec(make_school):
    return make_school("Mercantec")


@pytest.fixture
def offering(mercantec, make_offering):
    return make_offering(mercantec, module="GLU-3", capacity=2, min_participants=1)


@pytest.fixture
def school_admin(catalogue_app, catalogue_client, mercantec, clock):
    """Mette, school admin at Mercantec, signed in on the catalogue's pages."""
    add_member(catalogue_app, "admin@mercantec.example", mercantec["id"], "school_admin", "Mette Lund")
    sign_in_directly(catalogue_app, catalogue_client, "admin@mercantec.example")
    return catalogue_client


@pytest.fixture
def viborg(app, make_organisation) -> int:
    make_organisation("791", name="Viborg Kommune", requires_approval=False)
    with app.app_context():
        return db.session.scalar(select(Organisation.id).where(Organisation.key == "791"))


@pytest.fixture
def hr_admin(app, client, viborg, clock):
    """Camilla, HR admin in Viborg Kommune, signed in on the enrolment service's pages."""
    add_member(app, "admin@viborg.example", viborg, "hr_admin", "Camilla Juhl")
    sign_in_directly(app, client, "admin@viborg.example")
    return client


def introspections(link) -> int:
    return sum(1 for method, path in link.sent if path == INTROSPECTION_PATH)


def only_key(app, model):
    with app.app_context():
        return app.extensions["accounts"].db.session.scalars(select(model)).one()


def participants(client, offering, secret):
    return client.get(f"/offerings/{offering['id']}/participants", headers=bearer(secret))


def test_a_school_key_works_on_both_services_and_stops_on_both_within_seconds_of_revocation(
        client, catalogue_app, school_admin, offering, catalogue_link, clock):
    secret = new_key(school_admin)

    assert school_admin.patch(f"/offerings/{offering['id']}", json={"capacity": 3},
                              headers=bearer(secret)).status_code == 200
    listed = participants(client, offering, secret)
    assert listed.status_code == 200 and listed.get_json()["items"] == []

    assert revoke(school_admin, only_key(catalogue_app, CatalogueKey).id).status_code == 303

    assert school_admin.get("/offerings", headers=bearer(secret)).status_code == 401  # the catalogue: at once
    clock.advance(seconds=KEY_CACHE_SECONDS - 1)
    assert participants(client, offering, secret).status_code == 200  # the enrolment service's kept answer
    clock.advance(seconds=2)
    refused = participants(client, offering, secret)
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert "tilbagekaldt" in refused.get_json()["detail"]


def test_the_other_service_asks_once_per_few_seconds_and_counts_it_as_use(
        client, catalogue_app, school_admin, offering, catalogue_link, clock):
    secret = new_key(school_admin)

    for _ in range(3):
        assert participants(client, offering, secret).status_code == 200

    assert introspections(catalogue_link) == 1
    assert only_key(catalogue_app, CatalogueKey).last_used_at == clock.at
    clock.advance(seconds=KEY_CACHE_SECONDS + 1)
    participants(client, offering, secret)
    assert introspections(catalogue_link) == 2


def test_an_unknown_key_of_the_other_service_is_refused_and_that_answer_kept_too(
        client, offering, catalogue_link, clock):
    made_up = "glu_c_" + "A" * 43

    assert participants(client, offering, made_up).status_code == 401
    assert participants(client, offering, made_up).status_code == 401
    assert introspections(catalogue_link) == 1


def test_a_school_key_sees_only_its_own_schools_participants(client, school_admin, make_school, make_offering):
    other = make_offering(make_school("Tech College Aalborg"))
    secret = new_key(school_admin)

    assert participants(client, other, secret).status_code in (403, 404)


def test_an_expired_key_is_refused_on_the_other_service(client, school_admin, offering, clock):
    secret = new_key(school_admin, days=0)  # works until midnight
    assert participants(client, offering, secret).status_code == 200

    clock.advance(days=1)

    assert participants(client, offering, secret).status_code == 401


def test_while_the_catalogue_cannot_be_asked_its_keys_get_503_not_500(client, school_admin, offering, catalogue_link):
    secret = new_key(school_admin)
    catalogue_link.down = True

    refused = participants(client, offering, secret)

    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert refused.mimetype == "application/problem+json" and "kataloget" in refused.get_json()["detail"]
    catalogue_link.down = False
    assert participants(client, offering, secret).status_code == 200  # the failure was not kept


def test_an_hr_key_enrols_for_its_organisation(app, hr_admin, offering):
    secret = new_key(hr_admin, name="Lønsystemet", role="hr")

    enrolled = hr_admin.post("/enrolments", headers=bearer(secret), json={
        "offering_id": offering["id"], "participant": {"name": "Anne", "email": "anne@viborg.example"}})

    assert enrolled.status_code == 201
    assert enrolled.get_json()["organisation"] == "791"
    assert only_key(app, EnrolmentKey).role == "hr"


def test_an_approver_key_sees_enrolments_but_cannot_enrol(hr_admin, offering):
    secret = new_key(hr_admin, name="Godkendelser", role="approver")

    assert hr_admin.get("/enrolments", headers=bearer(secret)).status_code == 200
    refused = hr_admin.post("/enrolments", headers=bearer(secret), json={
        "offering_id": offering["id"], "participant": {"name": "Anne", "email": "anne@viborg.example"}})
    assert refused.status_code == 403


def test_an_organisations_key_is_refused_on_another_organisations_enrolment(
        app, hr_admin, hr, offering, make_organisation, enrol):
    make_organisation("730", name="Randers Kommune", requires_approval=False)
    theirs = enrol(offering, "Bent", organisation="730").get_json()
    secret = new_key(hr_admin, role="hr")

    assert hr_admin.get(f"/enrolments/{theirs['id']}", headers=bearer(secret)).status_code in (403, 404)
    assert hr_admin.post(f"/enrolments/{theirs['id']}/cancel", headers=bearer(secret)).status_code in (403, 404)


def test_an_enrolment_key_is_checked_by_the_catalogue_and_stops_there_within_seconds(
        app, hr_admin, catalogue_client, mercantec, enrolment_link, clock):
    secret = new_key(hr_admin, role="hr")
    body = {"module": "GLU-1", "provider_id": mercantec["id"]}

    assert catalogue_client.post("/offerings", json=body, headers=bearer(secret)).status_code == 403  # HR: known
    assert introspections(enrolment_link) == 1
    assert revoke(hr_admin, only_key(app, EnrolmentKey).id).status_code == 303
    assert hr_admin.get("/enrolments", headers=bearer(secret)).status_code == 401
    clock.advance(seconds=KEY_CACHE_SECONDS + 1)

    assert catalogue_client.post("/offerings", json=body, headers=bearer(secret)).status_code == 401


def test_the_keys_page_of_the_enrolment_service(hr_admin):
    new_key(hr_admin, name="Lønsystemet", role="hr")

    shown = hr_admin.get("/noegler").get_data(as_text=True)

    assert "Lønsystemet" in shown and "Camilla Juhl" in shown and "glu_e_" in shown


def test_introspection_is_for_the_services_only(client, auth, hr_admin):
    secret = new_key(hr_admin, role="hr")

    anonymous = client.post(INTROSPECTION_PATH, data={"token": secret})
    school = client.post(INTROSPECTION_PATH, data={"token": secret}, headers=auth("school", provider_id=1))
    service = client.post(INTROSPECTION_PATH, data={"token": secret}, headers=auth("service"))
    unknown = client.post(INTROSPECTION_PATH, data={"token": "glu_e_nothing"}, headers=auth("service"))
    a_key = client.post(INTROSPECTION_PATH, data={"token": secret}, headers=bearer(secret))

    assert (anonymous.status_code, school.status_code, a_key.status_code) == (401, 403, 403)
    assert service.status_code == 200 and service.headers["Cache-Control"] == "no-store"
    assert service.get_json() | {"key_id": 0, "exp": 0} == {
        "active": True, "role": "hr", "member_role": "hr", "organisation": "791", "key_id": 0, "exp": 0}
    assert unknown.get_json() == {"active": False}
    assert INTROSPECTION_PATH in client.get("/openapi.json").get_json()["paths"]


def test_operators_tokens_keep_working_on_both(client, catalogue_client, auth, offering):
    assert client.get(f"/offerings/{offering['id']}/participants",
                      headers=auth("school", provider_id=offering["provider_id"])).status_code == 200
    assert catalogue_client.get("/offerings", headers=auth("admin")).status_code == 200


def test_the_enrolment_service_stores_only_hashes(app, hr_admin):
    secret = new_key(hr_admin, role="hr")

    with app.app_context():
        rows = db.session.execute(select(EnrolmentKey.__table__)).all()
    assert rows and not any(secret in str(value) for row in rows for value in row)

