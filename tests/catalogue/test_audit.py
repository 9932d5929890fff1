"""Who did what in the catalogue: every change and sign-in leaves an audit entry, readable by whom it concerns."""

from __future__ import annotations

import csv
import io
import os

import pytest
import sqlalchemy
from sqlalchemy import select, update

from catalogue.models import AuditEntry, db
from tests.accounts import add_member, sign_in_directly
from tests.catalogue.fixtures import as_json, offering_data
from tests.catalogue.test_pages import page
from tests.catalogue.test_sign_in import ask_for_link, use
from tests.smtp import running_smtp_server


@pytest.fixture
def mercantec(make_school, glu):
    return make_school("Mercantec")


def entries(client, headers, **query) -> list[dict]:
    response = client.get("/audit", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def test_a_schools_changes_are_in_its_log_with_the_fields_from_and_to(client, auth, mercantec, make_school):
    school = auth("school", provider_id=mercantec["id"])
    created = client.post("/offerings", json=as_json(offering_data(mercantec, capacity=16)), headers=school)
    offering_id = created.get_json()["id"]
    client.patch(f"/offerings/{offering_id}", json={"capacity": 20}, headers=school)
    client.post(f"/offerings/{offering_id}/cancel", json={"reason": "For få tilmeldte"}, headers=school)
    refused = client.patch(f"/offerings/{offering_id}", json={"capacity": 30}, headers=school)  # cancelled: 409

    log = entries(client, school)

    assert refused.status_code == 409
    log = [entry for entry in log if entry["object_type"] == "offering"]
    assert [entry["action"] for entry in log] == ["offering.cancelled", "offering.changed", "offering.created"]
    cancelled, changed, made = log
    assert changed["changes"] == {"capacity": [16, 20]}
    assert cancelled["changes"]["cancellation_reason"] == [None, "For få tilmeldte"]
    assert made["changes"]["capacity"] == [None, 16]
    assert {entry["object_id"] for entry in log} == {str(offering_id)}
    assert [(entry["actor_type"], entry["actor_role"]) for entry in log] == [("token", "school")] * 3
    assert all(entry["tenant_id"] == mercantec["id"] and entry["request_id"] for entry in log)
    other = make_school("Tradium")
    assert entries(client, auth("school", provider_id=other["id"]), object_type="offering") == []
    assert len(entries(client, auth("admin"), object_type="offering")) == 3
    assert [entry["action"] for entry in entries(client, auth("admin"), object_type="provider")] == [
        "school.created", "school.created"]


def test_only_schools_and_administrators_read_the_catalogues_log(client, auth):
    assert client.get("/audit").status_code == 401
    assert client.get("/audit", headers=auth("hr", organisation="791")).status_code == 403
    assert client.get("/audit", headers=auth("service")).status_code == 403
    assert client.get("/audit?action=nonsense", headers=auth("admin")).status_code == 400


def test_a_sign_in_is_logged_and_shown_on_the_page(app, client, mercantec):
    add_member(app, "admin@mercantec.example", mercantec["id"], "school_admin", "Mette Lund")
    with running_smtp_server() as (handler, port):
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False)
        ask_for_link(client, "admin@mercantec.example")
        secret = handler.messages()[-1].get_body().get_content().split("/log-ind/")[1].split()[0]
    use(client, secret)

    log = page(client, "/log").text
    assert "Logget ind" in log and "Mette Lund <admin@mercantec.example>" in log
    with app.app_context():
        signed_in = db.session.scalars(select(AuditEntry).where(AuditEntry.action.startswith("sign_in"))).all()
    assert [(entry.action, entry.tenant_id, entry.changes) for entry in signed_in] == [
        ("sign_in", mercantec["id"], {"via": [None, "link"]})]


def test_a_refused_post_of_a_used_link_is_logged_although_the_request_rolls_back(app, client, mercantec):
    add_member(app, "admin@mercantec.example", mercantec["id"], "school_admin", "Mette Lund")
    from shared.accounts.sign_in import request_link
    from shared.db import utcnow
    from shared.transaction import commit

    with app.app_context():
        mail = request_link(db.session, app.extensions["accounts"].models, "admin@mercantec.example", None, utcnow())
        commit(db.session)
    use(client, mail.secret)
    other = app.test_client()
    form = other.get("/log-ind")
    csrf = form.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    refused = other.post(f"/log-ind/{mail.secret}", data={"csrf_token": csrf}, content_type="multipart/form-data")

    assert refused.status_code == 400
    with app.app_context():
        refusal = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "sign_in.refused"))
    assert refusal is not None and "allerede brugt" in refusal.changes["reason"][1]


def test_the_log_downloads_as_csv_for_excel(client, auth, mercantec):
    school = auth("school", provider_id=mercantec["id"])
    client.post("/offerings", json=as_json(offering_data(mercantec)), headers=school)

    response = client.get("/audit?format=csv", headers=school)

    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["Tidspunkt (UTC)", "Handling", "Hvem"] and rows[1][1] == "Udbud oprettet"


def test_a_member_signed_in_reads_the_schools_log_on_the_page(app, client, mercantec, auth):
    school = auth("school", provider_id=mercantec["id"])
    client.post("/offerings", json=as_json(offering_data(mercantec)), headers=school)
    add_member(app, "kursus@mercantec.example", mercantec["id"], "course_admin", "Ole Hansen")
    sign_in_directly(app, client, "kursus@mercantec.example")

    log = page(client, "/log").text

    assert "Udbud oprettet" in log and "Skole oprettet" in log and "2 poster" in log


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                    reason="the audit table's trigger is PostgreSQL's")
def test_on_postgresql_young_audit_entries_cannot_be_changed_or_deleted(app, client, auth, mercantec):
    school = auth("school", provider_id=mercantec["id"])
    client.post("/offerings", json=as_json(offering_data(mercantec)), headers=school)

    with app.app_context():
        for statement in (update(AuditEntry).values(actor_name="someone else"), sqlalchemy.delete(AuditEntry)):
            # A DELETE of entries past a year is the retention purge's (tests/catalogue/test_purge.py).
            with pytest.raises(sqlalchemy.exc.DBAPIError, match="cannot be (changed or )?deleted"):
                db.session.execute(statement)
            db.session.rollback()
        made = db.session.scalar(select(AuditEntry.actor_name).where(AuditEntry.action == "offering.created"))
        assert made.startswith("Adgangsnøgle")  # unchanged
