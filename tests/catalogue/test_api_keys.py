"""A school's members make API keys on /noegler for their integrations, use them on the API and revoke them.

The other service's side (a catalogue key used on the enrolment API, and the other way round) is in
tests/enrolment/test_api_keys.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from catalogue.models import ApiKey, db
from shared.accounts.sign_in import secret_hash
from shared.clock import copenhagen_today
from tests.accounts import Clock, add_member, sign_in_directly
from tests.catalogue.test_pages import Page, check_page, csrf_from, page, post_form


@pytest.fixture
def clock(app):
    app.config["CLOCK"] = clock = Clock()
    return clock


@pytest.fixture
def mercantec(make_school):
    return make_school("Mercantec")


@pytest.fixture
def mette(app, client, mercantec, clock):
    """Mette, school admin at Mercantec, signed in on the catalogue's pages."""
    add_member(app, "admin@mercantec.example", mercantec["id"], "school_admin", "Mette Lund")
    sign_in_directly(app, client, "admin@mercantec.example")
    return client


def make_key(client, *, name="Skolens hjemmeside", role="course_admin", days=30, expires_on=None):
    """Make a key on /noegler as the browser `client`; (the response, the page it shows)."""
    form = page(client, "/noegler")
    last_day = expires_on if expires_on is not None else (copenhagen_today() + timedelta(days=days)).isoformat()
    response = post_form(client, "/noegler", {"csrf_token": csrf_from(form), "name": name, "role": role,
                                             "expires_on": last_day})
    return response, check_page(Page(response.get_data(as_text=True)))


def new_key(client, **fields) -> str:
    response, shown = make_key(client, **fields)
    assert response.status_code == 201, shown.text
    return shown.one("input", id="hemmelighed")["value"]


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def revoke(client, key_id: int):
    form = page(client, "/noegler")
    return post_form(client, f"/noegler/{key_id}/tilbagekald", {"csrf_token": csrf_from(form)})


def stored_keys(app) -> list:
    with app.app_context():
        return db.session.scalars(select(ApiKey).order_by(ApiKey.id)).all()


def test_a_school_admin_makes_a_key_sees_it_once_and_edits_an_offering_with_it(app, mette, make_offering, mercantec):
    offering = make_offering(mercantec)

    response, shown = make_key(mette, name="Skolens kursussystem")

    assert response.status_code == 201
    secret = shown.one("input", id="hemmelighed")["value"]
    assert secret.startswith("glu_c_") and len(secret) > 40
    assert f'curl -H "Authorization: Bearer {secret}"' in shown.text
    edited = mette.patch(f"/offerings/{offering['id']}", json={"capacity": 20}, headers=bearer(secret))
    assert edited.status_code == 200 and edited.get_json()["capacity"] == 20
    listed = page(mette, "/noegler")
    assert secret not in listed.html  # shown once: never again
    row = listed.text_of(f"noegle-{stored_keys(app)[0].id}")
    assert "Skolens kursussystem" in row and secret[:12] in row and "Kursusadministrator" in row
    assert "Mette Lund" in row and "Aldrig" not in row  # used just now


def test_only_the_hash_of_a_key_is_stored(app, mette):
    secret = new_key(mette)

    [key] = stored_keys(app)
    assert key.key_hash == secret_hash(secret)
    with app.app_context():
        rows = db.session.execute(select(ApiKey.__table__)).all()
    assert not any(secret in str(value) for row in rows for value in row)


def test_a_revoked_key_is_refused_at_once_with_a_danish_problem(app, mette, make_offering, mercantec):
    offering = make_offering(mercantec)
    secret = new_key(mette)
    assert mette.patch(f"/offerings/{offering['id']}", json={"capacity": 20}, headers=bearer(secret)).status_code == 200

    revoked = revoke(mette, stored_keys(app)[0].id)

    assert revoked.status_code == 303
    assert "tilbagekaldt" in page(mette, "/noegler").text
    refused = mette.patch(f"/offerings/{offering['id']}", json={"capacity": 21}, headers=bearer(secret))
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["detail"] == "API-nøglen er tilbagekaldt."
    assert "Bearer" in refused.headers["WWW-Authenticate"]
    assert revoke(mette, stored_keys(app)[0].id).status_code == 303  # a second time changes nothing
    assert mette.get("/offerings", headers=bearer(secret)).status_code == 401


def test_a_key_stops_working_at_the_midnight_after_its_last_day(app, mette, clock, make_offering, mercantec):
    offering = make_offering(mercantec)
    secret = new_key(mette, days=1)
    assert mette.patch(f"/offerings/{offering['id']}", json={"capacity": 20}, headers=bearer(secret)).status_code == 200

    clock.advance(days=2)

    refused = mette.patch(f"/offerings/{offering['id']}", json={"capacity": 21}, headers=bearer(secret))
    assert refused.status_code == 401 and "udløbet" in refused.get_json()["detail"]


def test_a_key_is_refused_on_another_schools_offering(app, mette, make_offering, make_school):
    other = make_offering(make_school("Tech College Aalborg"))
    secret = new_key(mette)

    refused = mette.patch(f"/offerings/{other['id']}", json={"capacity": 20}, headers=bearer(secret))

    assert refused.status_code in (403, 404)
    assert mette.post(f"/offerings/{other['id']}/cancel", json={"reason": "Nej"},
                      headers=bearer(secret)).status_code in (403, 404)


def test_a_course_administrator_cannot_give_a_key_a_role_above_their_own(app, client, mercantec, clock):
    add_member(app, "ole@mercantec.example", mercantec["id"], "course_admin", "Ole Hansen")
    sign_in_directly(app, client, "ole@mercantec.example")
    offered = page(client, "/noegler")
    assert [option["value"] for option in offered.all("option")] == ["course_admin"]

    response, shown = make_key(client, name="Lønsystemet", role="school_admin")

    assert response.status_code == 422
    assert "højere end din egen" in shown.text_of("key-role-fejl")
    assert shown.one("input", id="key-name")["value"] == "Lønsystemet"  # what was typed stays
    assert stored_keys(app) == []


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"name": "  "}, "key-name-fejl", "Giv nøglen et navn"),
    ({"expires_on": ""}, "key-expires-fejl", "sidste dag"),
    ({"expires_on": "30-06-2027"}, "key-expires-fejl", "ÅÅÅÅ-MM-DD"),
    ({"days": 366}, "key-expires-fejl", "højst virke et år"),
    ({"days": -1}, "key-expires-fejl", "overskredet"),
])
def test_a_key_needs_a_name_and_an_expiry_at_most_a_year_ahead(app, mette, fields, field, message):
    response, shown = make_key(mette, **fields)

    assert response.status_code == 422
    assert message in shown.text_of(field)
    assert stored_keys(app) == []


def test_a_school_sees_and_revokes_only_its_own_keys(app, mette, client, make_school, clock):
    other_school = make_school("Tech College Aalborg")
    add_member(app, "admin@tech.example", other_school["id"], "school_admin", "Lars Mølgaard")
    other = app.test_client()
    sign_in_directly(app, other, "admin@tech.example")
    secret = new_key(other, name="Aalborgs system")
    key_id = stored_keys(app)[0].id

    assert "Aalborgs system" not in page(mette, "/noegler").text
    assert revoke(mette, key_id).status_code == 303
    assert stored_keys(app)[0].revoked_at is None
    assert mette.get("/offerings", headers=bearer(secret)).status_code == 200


def test_keys_are_made_by_people_signed_in_not_by_keys(app, mette):
    secret = new_key(mette)
    keyed = app.test_client()

    answer = keyed.get("/noegler", headers=bearer(secret))

    assert answer.status_code == 302 and "/log-ind" in answer.headers["Location"]


def test_last_used_is_written_at_most_once_a_minute(app, mette, clock):
    secret = new_key(mette)
    mette.get("/offerings", headers=bearer(secret))
    first = stored_keys(app)[0].last_used_at

    clock.advance(seconds=30)
    mette.get("/offerings", headers=bearer(secret))
    assert stored_keys(app)[0].last_used_at == first

    clock.advance(seconds=31)
    mette.get("/offerings", headers=bearer(secret))
    assert stored_keys(app)[0].last_used_at == clock.at


def test_made_up_keys_and_tokens_of_issue_token_are_told_apart(app, client, auth, mercantec, make_offering):
    offering = make_offering(mercantec)

    made_up = client.get("/offerings", headers=bearer("glu_c_" + "A" * 43))
    unknown_service = client.get("/offerings", headers=bearer("glu_x_" + "A" * 43))
    jwt = client.patch(f"/offerings/{offering['id']}", json={"capacity": 20},
                       headers=auth("school", provider_id=mercantec["id"]))

    assert made_up.status_code == 401 and made_up.get_json()["detail"] == "API-nøglen er ugyldig."
    assert unknown_service.status_code == 401
    assert jwt.status_code == 200  # operators' and the services' tokens work as before


def test_an_enrolment_key_is_refused_where_the_enrolment_service_is_not_configured(client):
    refused = client.get("/offerings", headers=bearer("glu_e_" + "A" * 43))

    assert refused.status_code == 401 and "kan ikke kontrolleres her" in refused.get_json()["detail"]


def test_an_administrator_makes_a_key_for_a_school_of_their_choice(app, client, mercantec, clock):
    add_member(app, "admin@glu-courses.example", None, None, "Sys Admin", is_admin=True)
    sign_in_directly(app, client, "admin@glu-courses.example")
    form = page(client, f"/noegler?tenant={mercantec['id']}")

    response = post_form(client, f"/noegler?tenant={mercantec['id']}", {
        "csrf_token": csrf_from(form), "name": "Import", "role": "school_admin",
        "expires_on": (copenhagen_today() + timedelta(days=10)).isoformat()})

    assert response.status_code == 201
    [key] = stored_keys(app)
    assert (key.tenant_id, key.role) == (mercantec["id"], "school_admin")


def test_a_response_kept_for_a_key_is_not_served_once_the_key_has_expired(app, mette, clock):
    # On PostgreSQL the catalogue keeps rendered GETs while no commit changes the data; a key's expiry
    # commits nothing, so the key is checked before a kept response is used.
    secret = new_key(mette, days=0)
    assert mette.get("/offerings", headers=bearer(secret)).status_code == 200
    assert mette.get("/offerings", headers=bearer(secret)).status_code == 200

    clock.advance(days=1)

    assert mette.get("/offerings", headers=bearer(secret)).status_code == 401


def test_making_and_revoking_a_key_and_using_it_are_in_the_log(app, mette, make_offering, mercantec):
    offering = make_offering(mercantec)
    secret = new_key(mette)
    mette.application.test_client().patch(f"/offerings/{offering['id']}", json={"capacity": 20},
                                          headers=bearer(secret))
    [key] = stored_keys(app)
    revoke(mette, key.id)

    log = mette.get("/audit", headers={}).status_code  # the API is for tokens and keys; the page for people
    page_text = page(mette, "/log").text

    assert log == 401
    assert "Nøgle oprettet" in page_text and "Nøgle tilbagekaldt" in page_text and "Udbud ændret" in page_text
    with app.app_context():
        from catalogue.models import AuditEntry, db

        changed = db.session.query(AuditEntry).filter_by(action="offering.changed").one()
        assert (changed.actor_type, changed.actor_id) == ("key", key.id)


def test_a_revoked_key_repeating_a_post_with_its_idempotency_key_gets_a_401_not_the_stored_answer(app, mette,
                                                                                                    mercantec, glu):
    from tests.catalogue.fixtures import as_json, offering_data

    secret = new_key(mette)
    headers = {**bearer(secret), "Idempotency-Key": "import-1"}
    body = as_json(offering_data(mercantec))
    first = app.test_client().post("/offerings", json=body, headers=headers)
    [key] = stored_keys(app)
    revoke(mette, key.id)

    repeated = app.test_client().post("/offerings", json=body, headers=headers)

    assert first.status_code == 201
    assert repeated.status_code == 401 and repeated.mimetype == "application/problem+json"
