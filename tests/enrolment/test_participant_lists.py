"""A school sees its own offerings' participants (no e-mails); HR exports its own organisation's enrolments as CSV."""

import csv
import io

import pytest

from tests.enrolment.conftest import request_and_confirm

BOM = "\ufeff"


@pytest.fixture
def school(make_school):
    return make_school("Mercantec")


@pytest.fixture
def offering(school, make_offering, make_organisation):
    make_organisation("791", name="Viborg Kommune", requires_approval=True)
    make_organisation("730", name="Randers Kommune", requires_approval=True)
    return make_offering(school, module="GLU-3", capacity=2, min_participants=1)


@pytest.fixture
def filled(client, offering, enrol, hr):
    """Anne and Bent (Viborg) confirmed, Carla (Randers) waitlisted, Dorte cancelled, Erik pending, Frida rejected."""
    enrol(offering, "Anne")
    enrol(offering, "Bent")
    enrol(offering, "Carla", organisation="730")
    dorte = enrol(offering, "Dorte", organisation="730").get_json()
    client.post(f"/enrolments/{dorte['id']}/cancel", headers=hr("730"))
    for name in ("Erik", "Frida"):
        request_and_confirm(client.application, client, {
            "offering_id": offering["id"], "organisation": "791",
            "participant": {"name": name, "email": f"{name.lower()}@viborg.example"}})
    frida = client.get("/enrolments?status=pending_approval", headers=hr()).get_json()["items"][1]
    assert client.post(f"/enrolments/{frida['id']}/reject", headers=hr()).status_code == 200
    return offering


def school_headers(auth, offering):
    return auth("school", provider_id=offering["provider_id"])


def read_csv(response):
    text = response.get_data(as_text=True)
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text.removeprefix(BOM)), delimiter=";"))


def test_school_sees_its_own_participant_list(client, auth, filled):
    response = client.get(f"/offerings/{filled['id']}/participants", headers=school_headers(auth, filled))

    body = response.get_json()
    assert response.status_code == 200
    assert body["total"] == 5
    shown = [(item["name"], item["organisation"], item["status"], item["waitlist_position"]) for item in body["items"]]
    assert shown == [
        ("Anne", "Viborg Kommune", "confirmed", None),
        ("Bent", "Viborg Kommune", "confirmed", None),
        ("Carla", "Randers Kommune", "waitlisted", 1),
        ("Erik", "Viborg Kommune", "pending_approval", None),
        ("Dorte", "Randers Kommune", "cancelled", None),
    ]
    assert "@" not in response.get_data(as_text=True)


def test_school_gets_its_participant_list_as_csv(client, auth, filled):
    response = client.get(f"/offerings/{filled['id']}/participants.csv", headers=school_headers(auth, filled))

    rows = read_csv(response)
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert rows[0] == ["Navn", "Organisation", "Status", "Plads på venteliste"]
    assert rows[1:] == [
        ["Anne", "Viborg Kommune", "Bekræftet", ""],
        ["Bent", "Viborg Kommune", "Bekræftet", ""],
        ["Carla", "Randers Kommune", "Venteliste", "1"],
        ["Erik", "Viborg Kommune", "Afventer godkendelse", ""],
        ["Dorte", "Randers Kommune", "Afmeldt", ""],
    ]
    assert "@" not in response.get_data(as_text=True)


def test_another_school_sees_nothing_of_the_list(client, auth, filled, make_school):
    other = auth("school", provider_id=make_school("Tradium")["id"])

    json_response = client.get(f"/offerings/{filled['id']}/participants", headers=other)
    csv_response = client.get(f"/offerings/{filled['id']}/participants.csv", headers=other)

    assert (json_response.status_code, csv_response.status_code) == (403, 403)
    assert "Anne" not in json_response.get_data(as_text=True) + csv_response.get_data(as_text=True)


def test_admin_sees_any_participant_list(client, auth, filled):
    assert client.get(f"/offerings/{filled['id']}/participants", headers=auth("admin")).get_json()["total"] == 5


@pytest.mark.parametrize("path", ["participants", "participants.csv"])
def test_hr_service_and_anonymous_are_refused_the_school_list(client, auth, hr, filled, path):
    url = f"/offerings/{filled['id']}/{path}"

    assert client.get(url, headers=hr()).status_code == 403
    assert client.get(url, headers=auth("service")).status_code == 403
    assert client.get(url).status_code == 401


def test_an_offering_nobody_has_enrolled_in_yet_has_an_empty_list(client, auth, offering, make_school):
    own = client.get(f"/offerings/{offering['id']}/participants", headers=school_headers(auth, offering))
    other = client.get(f"/offerings/{offering['id']}/participants",
                       headers=auth("school", provider_id=make_school("Tradium")["id"]))

    assert own.status_code == 200 and own.get_json()["items"] == [] and own.get_json()["total"] == 0
    assert other.status_code == 403


def test_an_offering_the_catalogue_does_not_know_is_404(client, auth, school):
    response = client.get("/offerings/987654/participants", headers=auth("school", provider_id=school["id"]))

    assert response.status_code == 404


# --- HR's export ----------------------------------------------------------------------------------

def test_hr_export_holds_only_its_own_organisations_people(client, hr, filled):
    response = client.get("/enrolments/export", headers=hr("791"))

    rows = read_csv(response)
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="tilmeldinger.csv"'
    assert rows[0] == ["Tilmelding", "Udbud", "Navn", "E-mail", "Status", "Plads på venteliste", "Oprettet",
                       "Gennemførelse", "Afsluttet", "Skole"]
    assert [(row[2], row[3], row[4]) for row in rows[1:]] == [
        ("Anne", "anne@kommune.example", "Bekræftet"),
        ("Bent", "bent@kommune.example", "Bekræftet"),
        ("Erik", "erik@viborg.example", "Afventer godkendelse"),
        ("Frida", "frida@viborg.example", "Afvist"),
    ]
    assert all(row[1] == str(filled["id"]) and len(row[6]) == 10 for row in rows[1:])


def test_hr_export_filters_by_status_and_shows_waitlist_positions(client, hr, filled):
    rows = read_csv(client.get("/enrolments/export?status=waitlisted", headers=hr("730")))

    assert [(row[2], row[4], row[5]) for row in rows[1:]] == [("Carla", "Venteliste", "1")]


def test_hr_cannot_export_another_organisation(client, hr, filled):
    assert client.get("/enrolments/export?organisation=730", headers=hr("791")).status_code == 403


def test_admin_export_with_an_organisation_filter(client, auth, filled):
    everyone = read_csv(client.get("/enrolments/export", headers=auth("admin")))
    randers = read_csv(client.get("/enrolments/export?organisation=730", headers=auth("admin")))

    assert len(everyone) == 1 + 6
    assert [row[2] for row in randers[1:]] == ["Carla", "Dorte"]


@pytest.mark.parametrize("role, scope", [("school", {"provider_id": 1}), ("service", {})])
def test_export_is_for_hr_and_admin_only(client, auth, role, scope):
    assert client.get("/enrolments/export", headers=auth(role, **scope)).status_code == 403
    assert client.get("/enrolments/export").status_code == 401


def test_formula_injection_is_neutralised(client, auth, hr, offering, enrol):
    for name, email in (("=HYPERLINK(\"http://x.example\")", "a@kommune.example"), ("+45 Anne", "b@kommune.example"),
                        ("-Bent", "c@kommune.example"), ("@SUM(A1)", "d@kommune.example")):
        assert enrol(offering, name, email=email).status_code == 201

    exported = [row[2] for row in read_csv(client.get("/enrolments/export", headers=hr()))[1:]]
    school_list = [row[0] for row in read_csv(client.get(f"/offerings/{offering['id']}/participants.csv",
                                                         headers=school_headers(auth, offering)))[1:]]

    expected = ["'=HYPERLINK(\"http://x.example\")", "'+45 Anne", "'-Bent", "'@SUM(A1)"]
    assert exported == expected
    assert school_list == expected


def test_the_export_opens_with_a_utf8_bom(client, hr, offering, enrol):
    enrol(offering, "Søren Ærø", email="soren@kommune.example")

    data = client.get("/enrolments/export", headers=hr()).get_data()

    assert data.startswith(b"\xef\xbb\xbf")
    assert "Søren Ærø" in data.decode("utf-8-sig")
