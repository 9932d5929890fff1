"""A school with its own OpenID provider signs in there (shared.accounts.sso), against a real provider.

The provider is node's certified oidc-provider (tests/oidc_provider); the browser's part is played by
the harness's `sign_in`, which follows the redirects and submits the provider's login form.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.accounts import add_member, sign_in_directly
from tests.catalogue.test_pages import csrf_from, page, post_form
from tests.catalogue.test_sign_in import ask_for_link
from tests.oidc_provider import harness
from tests.oidc_provider.fixtures import ANNA, CARLA, CLIENT, SCHOOL_DOMAIN, oidc_provider  # noqa: F401 (a fixture)

PUBLIC_URL = "http://127.0.0.1:5901"  # a loopback redirect URI, which the test provider takes on any port


@pytest.fixture
def school(app, make_school, oidc_provider):  # noqa: F811 (the fixture imported above)
    app.config["PUBLIC_URL"] = PUBLIC_URL
    mercantec = make_school("Mercantec")
    add_member(app, "admin@mercantec.example", mercantec["id"], "school_admin", "Mette Lund")
    admin = app.test_client()
    sign_in_directly(app, admin, "admin@mercantec.example")
    form = page(admin, "/medlemmer")
    saved = post_form(admin, "/medlemmer/sso", {
        "csrf_token": csrf_from(form), "issuer": oidc_provider.issuer, "client_id": CLIENT.client_id,
        "client_secret": CLIENT.client_secret, "email_domains": f"{SCHOOL_DOMAIN}, skole2.example"})
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    return mercantec


def through_the_provider(client, email: str, login: str) -> object:
    """Give the address on /log-ind, sign in at the provider as `login`, and bring its answer back."""
    asked = ask_for_link(client, email)
    assert asked.status_code == 303, asked.get_data(as_text=True)[:2000]
    callback = harness.sign_in(asked.headers["Location"], login)
    parts = urlsplit(callback)
    return client.get(f"{parts.path}?{parts.query}")


def test_a_member_at_the_schools_domain_signs_in_at_the_schools_provider(app, client, school):
    add_member(app, ANNA.email, school["id"], "course_admin", "Anna Hansen")

    answer = through_the_provider(client, ANNA.email, ANNA.sub)

    assert answer.status_code == 303 and answer.headers["Location"] == "/skole"
    signed_in = page(client, "/skole").text
    assert "Logget ind som Anna Hansen" in signed_in and "Mercantec" in signed_in
    assert "Single sign-on" in page(client, "/min-profil").text


def test_someone_the_provider_knows_but_who_is_no_member_is_told_so(app, client, school):
    answer = through_the_provider(client, ANNA.email, ANNA.sub)

    assert answer.status_code == 400
    assert "har ikke adgang til Mercantec endnu" in answer.get_data(as_text=True)
    assert client.get("/skole").headers["Location"].startswith("/log-ind")


def test_an_address_the_provider_vouches_for_outside_the_schools_domains_is_refused(app, client, school):
    # Carla's provider account has an address at another firm: the school's provider may not speak for it.
    add_member(app, CARLA.email, school["id"], "course_admin", "Carla Berg")

    answer = through_the_provider(client, f"carla@{SCHOOL_DOMAIN}", CARLA.sub)

    assert answer.status_code == 400
    assert client.get("/skole").headers["Location"].startswith("/log-ind")


def test_a_callback_this_browser_did_not_start_is_refused(app, client, school):
    other_browser = app.test_client()
    asked = ask_for_link(other_browser, ANNA.email)
    callback = urlsplit(harness.sign_in(asked.headers["Location"], ANNA.sub))

    answer = client.get(f"{callback.path}?{callback.query}")

    assert answer.status_code == 400 and "Prøv igen" in answer.get_data(as_text=True)


def test_cancelling_at_the_provider_comes_back_as_a_danish_message(app, client, school):
    asked = ask_for_link(client, ANNA.email)
    callback = urlsplit(harness.sign_in(asked.headers["Location"], ANNA.sub, cancel=True))

    answer = client.get(f"{callback.path}?{callback.query}")

    assert answer.status_code == 400 and 'class="error"' in answer.get_data(as_text=True)


def test_settings_are_checked_beside_their_fields_and_a_domain_belongs_to_one_school(app, school, make_school):
    other = make_school("Tradium")
    add_member(app, "admin@tradium.example", other["id"], "school_admin", "Anne Friis")
    admin = app.test_client()
    sign_in_directly(app, admin, "admin@tradium.example")
    form = page(admin, "/medlemmer")

    bad = post_form(admin, "/medlemmer/sso", {"csrf_token": csrf_from(form), "issuer": "http://idp.example",
                                              "client_id": "", "client_secret": "", "email_domains": "ikke et domæne"})
    taken = post_form(admin, "/medlemmer/sso", {"csrf_token": csrf_from(form), "issuer": "https://idp.example",
                                                "client_id": "x", "client_secret": "y", "email_domains": SCHOOL_DOMAIN})

    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    for field in ("issuer", "client_id", "client_secret", "email_domains"):
        assert f'id="sso-{field}-fejl"' in html
    assert 'value="http://idp.example"' in html
    assert taken.status_code == 422 and "bruges allerede" in taken.get_data(as_text=True)


def test_addresses_of_other_domains_still_sign_in_by_link(client, school):
    assert ask_for_link(client, "admin@mercantec.example").status_code == 200
