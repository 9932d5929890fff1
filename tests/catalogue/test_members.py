"""A school admin invites a colleague, changes roles and removes members on /medlemmer; others may not."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalogue.models import ACCOUNTS, db
from tests.accounts import add_member, secrets_in, sign_in_directly
from tests.catalogue.test_pages import csrf_from, page, post_form
from tests.catalogue.test_sign_in import use


@pytest.fixture
def mercantec(make_school):
    return make_school("Mercantec")


@pytest.fixture
def mette(app, mercantec):
    add_member(app, "admin@mercantec.example", mercantec["id"], "school_admin", "Mette Lund")
    return "admin@mercantec.example"


def invite(client, **fields):
    form = page(client, "/medlemmer")
    return post_form(client, "/medlemmer/inviter", {"csrf_token": csrf_from(form), **fields})


def membership_of(app, email: str):
    with app.app_context():
        return db.session.execute(select(ACCOUNTS.Membership.id, ACCOUNTS.Membership.role)
                                  .join(ACCOUNTS.Membership.person)
                                  .where(ACCOUNTS.Person.email_key == email)).one_or_none()


def test_a_school_admin_invites_a_colleague_who_signs_in_with_the_link(app, client, mette, mailbox):
    sign_in_directly(app, client, mette)

    invited = invite(client, name="Ole Hansen", email="ole@mercantec.example", role="course_admin")

    assert invited.status_code == 303
    assert "Ole Hansen er inviteret" in page(client, "/medlemmer").text
    [mail] = mailbox.messages()
    assert mail["To"] == "ole@mercantec.example" and "inviteret" in mail["Subject"]
    colleague = app.test_client()
    assert use(colleague, secrets_in([mail])[0]).headers["Location"] == "/skole"
    school = page(colleague, "/skole").text
    assert "Logget ind som Ole Hansen" in school and "Kursusadministrator" in school
    assert colleague.get("/medlemmer").status_code == 403


def test_a_bad_invitation_is_shown_beside_its_field_with_the_values_kept(app, client, mette, mailbox):
    sign_in_directly(app, client, mette)

    answers = [invite(client, name="Ole Hansen", email="ole.mercantec", role="course_admin"),
               invite(client, name="", email="ole@mercantec.example", role="course_admin"),
               invite(client, name="Mette igen", email=mette, role="course_admin")]

    assert [answer.status_code for answer in answers] == [422, 422, 422]
    first, second, third = (answer.get_data(as_text=True) for answer in answers)
    assert 'id="invite-email-fejl"' in first and 'value="Ole Hansen"' in first
    assert 'id="invite-name-fejl"' in second and 'value="ole@mercantec.example"' in second
    assert "allerede medlem" in third
    assert mailbox.messages() == []


def test_roles_change_and_members_go_but_the_last_admin_stays(app, client, mette, mercantec):
    add_member(app, "ole@mercantec.example", mercantec["id"], "course_admin", "Ole Hansen")
    sign_in_directly(app, client, mette)
    ole, _ = membership_of(app, "ole@mercantec.example")
    own, _ = membership_of(app, mette)

    form = page(client, "/medlemmer")
    post_form(client, f"/medlemmer/{ole}/rolle", {"csrf_token": csrf_from(form), "role": "school_admin"})
    assert membership_of(app, "ole@mercantec.example").role == "school_admin"
    post_form(client, f"/medlemmer/{ole}/fjern", {"csrf_token": csrf_from(form)})
    assert membership_of(app, "ole@mercantec.example") is None

    post_form(client, f"/medlemmer/{own}/fjern", {"csrf_token": csrf_from(form)})
    assert "mindst én administrator" in page(client, "/medlemmer").text
    assert membership_of(app, mette) is not None


def test_another_schools_admin_cannot_touch_these_members(app, client, mette, mercantec, make_school):
    other = make_school("Tradium")
    add_member(app, "admin@tradium.example", other["id"], "school_admin", "Anne Friis")
    own, _ = membership_of(app, mette)
    sign_in_directly(app, client, "admin@tradium.example")

    form = page(client, "/medlemmer")
    post_form(client, f"/medlemmer/{own}/fjern", {"csrf_token": csrf_from(form)})

    assert membership_of(app, mette) is not None
    assert "findes ikke" in page(client, "/medlemmer").text
    assert "Mette Lund" not in page(client, "/medlemmer").text


def test_the_system_administrator_invites_a_schools_first_admin(app, client, mercantec, mailbox):
    add_member(app, "ops@glu.example", None, None, "Drift", is_admin=True)
    sign_in_directly(app, client, "ops@glu.example")

    chooser = page(client, "/medlemmer")
    form = page(client, f"/medlemmer?tenant={mercantec['id']}")
    answer = post_form(client, f"/medlemmer/inviter?tenant={mercantec['id']}", {
        "csrf_token": csrf_from(form), "name": "Mette Lund", "email": "admin@mercantec.example",
        "role": "school_admin"})

    assert "Mercantec" in chooser.text
    assert answer.status_code == 303
    assert membership_of(app, "admin@mercantec.example").role == "school_admin"
    assert [mail["To"] for mail in mailbox.messages()] == ["admin@mercantec.example"]
