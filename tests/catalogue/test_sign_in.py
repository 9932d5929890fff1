"""A school's people sign in as themselves: a one-time link by e-mail, a session that ends (shared.accounts).

The mails go through a real SMTP server and the links are read from what arrived.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalogue.models import ACCOUNTS, db
from shared.auth import Role, issue_token
from tests.accounts import Clock, add_member, secrets_in, sign_in_directly
from tests.catalogue.test_pages import csrf_from, page, post_form
from tests.conftest import TOKEN_SECRET

ADMIN_EMAIL = "admin@mercantec.example"


@pytest.fixture
def clock(app):
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def mercantec(make_school):
    return make_school("Mercantec")


@pytest.fixture
def mette(app, mercantec):
    add_member(app, ADMIN_EMAIL, mercantec["id"], "school_admin", "Mette Lund")
    return ADMIN_EMAIL


def ask_for_link(client, email: str, next_path: str = ""):
    form = page(client, "/log-ind" + (f"?next={next_path}" if next_path else ""))
    return post_form(client, "/log-ind", {"csrf_token": csrf_from(form), "email": email, "next": next_path})


def use(client, secret: str):
    confirm = page(client, f"/log-ind/{secret}")
    return post_form(client, f"/log-ind/{secret}", {"csrf_token": csrf_from(confirm)})


def test_a_school_admin_signs_in_by_the_link_in_the_mail(client, mette, mailbox, clock):
    asked = ask_for_link(client, "  Admin@Mercantec.example ")

    assert asked.status_code == 200 and "Tjek din e-mail" in asked.get_data(as_text=True)
    [mail] = mailbox.messages()
    assert mail["To"] == ADMIN_EMAIL and "logge ind" in mail["Subject"]
    [secret] = secrets_in([mail])
    signed_in = use(client, secret)
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/skole"
    school = page(client, "/skole").text
    assert "Mercantec" in school and "Logget ind som Mette Lund" in school and "Skoleadministrator" in school


def test_an_unknown_address_gets_the_same_answer_and_no_mail(app, client, mette, mailbox, mercantec):
    add_member(app, "former@mercantec.example", None, None, "Tidligere ansat")  # known, but a member of nothing

    answers = [ask_for_link(client, email) for email in ("nobody@mercantec.example", "former@mercantec.example")]

    assert [answer.status_code for answer in answers] == [200, 200]
    first, second = (answer.get_data(as_text=True).replace(email, "") for answer, email in
                     zip(answers, ("nobody@mercantec.example", "former@mercantec.example"), strict=True))
    assert first == second
    assert mailbox.messages() == []


def test_a_link_works_once(client, mette, mailbox):
    ask_for_link(client, ADMIN_EMAIL)
    [secret] = secrets_in(mailbox.messages())
    page(client, f"/log-ind/{secret}")  # a mail scanner opening the link uses nothing up
    assert use(client, secret).status_code == 303

    client.delete_cookie("session")
    again = use_refused(client, secret)
    assert "allerede brugt" in again and "Send mig et link" in again


def use_refused(client, secret: str) -> str:
    response = client.get(f"/log-ind/{secret}")
    assert response.status_code == 400
    return response.get_data(as_text=True)


def test_a_link_expires_after_15_minutes(client, mette, mailbox, clock):
    ask_for_link(client, ADMIN_EMAIL)
    [secret] = secrets_in(mailbox.messages())

    clock.advance(minutes=15, seconds=1)

    assert "udløbet" in use_refused(client, secret)


def test_a_tampered_link_is_refused(client, mette, mailbox):
    ask_for_link(client, ADMIN_EMAIL)
    [secret] = secrets_in(mailbox.messages())

    assert "ugyldigt" in use_refused(client, secret[:-2] + ("AA" if not secret.endswith("AA") else "BB"))


def test_next_is_followed_only_to_a_local_path(client, mette, mailbox):
    ask_for_link(client, ADMIN_EMAIL, "/soeg?q=ledelse")
    ask_for_link(client, ADMIN_EMAIL, "//evil.example/skole")
    local, foreign = secrets_in(mailbox.messages())

    assert use(client, local).headers["Location"] == "/soeg?q=ledelse"
    client.delete_cookie("session")
    assert use(client, foreign).headers["Location"] == "/skole"


def test_asking_again_and_again_is_a_429_with_retry_after(client, mette, mailbox):
    answers = [ask_for_link(client, ADMIN_EMAIL) for _ in range(6)]

    assert [answer.status_code for answer in answers] == [200] * 5 + [429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert "Vent lidt" in answers[-1].get_data(as_text=True)
    assert len(mailbox.messages()) == 5


def test_many_addresses_from_one_ip_are_limited_too(client, mette, mailbox):
    answers = [ask_for_link(client, f"person{number}@mercantec.example") for number in range(31)]

    assert [answer.status_code for answer in answers] == [200] * 30 + [429]


def test_a_malformed_address_is_named_beside_the_field_and_kept(client, mette, mailbox):
    answer = ask_for_link(client, "mette.mercantec")

    assert answer.status_code == 422
    form = page_of(answer)
    assert 'value="mette.mercantec"' in form and 'id="email-fejl"' in form
    assert mailbox.messages() == []


def page_of(response) -> str:
    return response.get_data(as_text=True)


def test_signing_out_ends_the_session_on_the_server(client, mette):
    sign_in_directly(client.application, client, ADMIN_EMAIL)
    with client.session_transaction() as cookie:
        copied = dict(cookie)
    school = page(client, "/skole")

    post_form(client, "/log-ud", {"csrf_token": csrf_from(school)})
    with client.session_transaction() as cookie:  # a copy of the cookie kept from before
        cookie.update(copied)

    assert client.get("/skole").headers["Location"].startswith("/log-ind")


def test_a_session_ends_after_a_working_day_idle_and_not_while_used(client, mette, clock):
    sign_in_directly(client.application, client, ADMIN_EMAIL)
    clock.advance(hours=7)
    assert client.get("/skole").status_code == 200
    clock.advance(hours=7, minutes=59)
    assert client.get("/skole").status_code == 200

    clock.advance(hours=8, minutes=1)

    assert client.get("/skole").headers["Location"].startswith("/log-ind")


def test_every_sign_in_is_a_new_session_id(client, mette, mailbox):
    with client.session_transaction() as cookie:
        cookie["sid"] = "chosen-by-an-attacker"
    for _ in range(2):
        ask_for_link(client, ADMIN_EMAIL)
    first, second = secrets_in(mailbox.messages())

    use(client, first)
    with client.session_transaction() as cookie:
        after_first = cookie["sid"]
    use(client, second)
    with client.session_transaction() as cookie:
        after_second = cookie["sid"]

    assert len({"chosen-by-an-attacker", after_first, after_second}) == 3


def test_a_member_removed_loses_access_at_the_next_request(app, client, mette):
    sign_in_directly(app, client, ADMIN_EMAIL)
    assert client.get("/skole").status_code == 200

    with app.app_context():
        db.session.delete(db.session.scalar(select(ACCOUNTS.Membership)))
        db.session.commit()

    assert client.get("/skole").headers["Location"].startswith("/log-ind")


def test_the_token_page_takes_only_administrators_tokens(client, mercantec):
    school_token = issue_token(TOKEN_SECRET, Role.SCHOOL, provider_id=mercantec["id"])
    form = page(client, "/skole/log-ind")

    refused = post_form(client, "/skole/log-ind", {"csrf_token": csrf_from(form), "token": school_token})
    form = page(client, "/skole/log-ind")
    admin = post_form(client, "/skole/log-ind", {"csrf_token": csrf_from(form),
                                                  "token": issue_token(TOKEN_SECRET, Role.ADMIN)})

    assert refused.status_code == 200 and "Kun administratorer" in refused.get_data(as_text=True)
    assert admin.status_code == 302


def test_create_admin_makes_an_administrator_who_signs_in_by_link(app, client, mailbox):
    result = app.test_cli_runner().invoke(args=["create-admin", "ops@glu.example", "--name", "Drift"])
    assert result.exit_code == 0, result.output

    ask_for_link(client, "ops@glu.example")
    [secret] = secrets_in(mailbox.messages())
    use(client, secret)

    profile = page(client, "/min-profil").text
    assert "Drift" in profile and "Du er systemadministrator." in profile


def test_the_profile_lists_sessions_and_ends_another_one(app, client, mette):
    other_browser = app.test_client()
    sign_in_directly(app, other_browser, ADMIN_EMAIL)
    sign_in_directly(app, client, ADMIN_EMAIL)
    profile = page(client, "/min-profil")
    with app.app_context():
        other_id = min(db.session.scalars(select(ACCOUNTS.WebSession.id)))

    post_form(client, f"/min-profil/sessioner/{other_id}/afslut", {"csrf_token": csrf_from(profile)})

    assert other_browser.get("/skole").headers["Location"].startswith("/log-ind")
    assert client.get("/skole").status_code == 200


def test_session_cookies_are_http_only_lax_and_secure_behind_https(app, client, mette, mailbox):
    ask_for_link(client, ADMIN_EMAIL)
    [secret] = secrets_in(mailbox.messages())

    cookie = use(client, secret).headers["Set-Cookie"]

    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # http://localhost in the tests; install_pages sets it for an https PUBLIC_URL
