"""HR enrols many at once from JSON or CSV: a dry run, an outcome per row, all or nothing unless asked otherwise."""

import io

import pytest


@pytest.fixture
def two_seats(make_school, make_offering, make_organisation):
    make_organisation("791")
    return make_offering(make_school("Mercantec"), module="GLU-3", capacity=2, min_participants=1)


def people(*names):
    return [{"name": name, "email": f"{name.lower()}@viborg.example"} for name in names]


def batch(client, headers, offering, participants, query="", **kwargs):
    return client.post(f"/enrolments/batch{query}", json={"offering_id": offering["id"], "participants": participants},
                       headers=headers, **kwargs)


def send_csv(client, headers, offering, text, query="", encoding="utf-8"):
    return client.post(f"/enrolments/batch?offering_id={offering['id']}{query}", data=text.encode(encoding),
                       content_type="text/csv", headers=headers)


def enrolled(client, headers):
    return client.get("/enrolments", headers=headers).get_json()


def test_json_batch_into_two_seats_confirms_two_and_waitlists_the_third(client, hr, two_seats, catalogue_client):
    response = batch(client, hr(), two_seats, people("Anne", "Bent", "Carla"))

    report = response.get_json()
    assert response.status_code == 201
    assert [row["outcome"] for row in report["rows"]] == ["confirmed", "confirmed", "waitlisted"]
    assert [row["waitlist_position"] for row in report["rows"]] == [None, None, 1]
    assert [row["row"] for row in report["rows"]] == [1, 2, 3]
    assert all(row["enrolment_id"] for row in report["rows"])
    assert report["counts"] == {"confirmed": 2, "waitlisted": 1, "duplicate": 0, "invalid": 0}
    assert (report["written"], report["dry_run"], report["mode"]) == (True, False, "all_or_nothing")
    listed = enrolled(client, hr())["items"]
    assert {item["participant"]["name"]: item["source"] for item in listed} == {"Anne": "batch", "Bent": "batch",
                                                                               "Carla": "batch"}
    shown = catalogue_client.get(f"/offerings/{two_seats['id']}").get_json()
    assert (shown["seats_available"], shown["waitlist_length"]) == (0, 1)


def test_csv_with_bom_and_semicolons_is_read(client, hr, two_seats):
    text = "\ufeffnavn;e-mail\r\nSøren Ærø;soren@viborg.example\r\nÅse Øst;aase@viborg.example\r\n\r\n"

    response = send_csv(client, hr(), two_seats, text)

    assert response.status_code == 201
    rows = response.get_json()["rows"]
    assert [(row["name"], row["outcome"]) for row in rows] == [("Søren Ærø", "confirmed"), ("Åse Øst", "confirmed")]


def test_csv_with_commas_is_read(client, hr, two_seats):
    response = send_csv(client, hr(), two_seats, "name,email\nAnne,anne@viborg.example\n")

    assert response.status_code == 201
    assert response.get_json()["rows"][0]["email"] == "anne@viborg.example"


def test_csv_as_a_multipart_file_is_read(client, hr, two_seats):
    upload = (io.BytesIO(b"name;email\nAnne;anne@viborg.example\n"), "ansatte.csv")

    response = client.post(f"/enrolments/batch?offering_id={two_seats['id']}", data={"file": upload},
                           content_type="multipart/form-data", headers=hr())

    assert response.status_code == 201
    assert response.get_json()["counts"]["confirmed"] == 1


def test_csv_without_an_offering_in_the_query_is_refused(client, hr, two_seats):
    response = client.post("/enrolments/batch", data=b"name;email\nAnne;anne@viborg.example\n",
                           content_type="text/csv", headers=hr())

    assert response.status_code == 422
    assert response.get_json()["errors"][0]["parameter"] == "offering_id"


def test_csv_with_unknown_columns_is_refused(client, hr, two_seats):
    response = send_csv(client, hr(), two_seats, "fornavn;email\nAnne;anne@viborg.example\n")

    assert response.status_code == 422
    assert enrolled(client, hr())["total"] == 0


def test_dry_run_reports_the_same_outcomes_and_writes_nothing(client, hr, two_seats, catalogue_client):
    dry = batch(client, hr(), two_seats, people("Anne", "Bent", "Carla"), query="?dry_run=true")

    assert dry.status_code == 200
    report = dry.get_json()
    assert [row["outcome"] for row in report["rows"]] == ["confirmed", "confirmed", "waitlisted"]
    assert report["rows"][2]["waitlist_position"] == 1
    assert [row["enrolment_id"] for row in report["rows"]] == [None, None, None]
    assert (report["written"], report["dry_run"]) == (False, True)
    assert enrolled(client, hr())["total"] == 0
    assert catalogue_client.get(f"/offerings/{two_seats['id']}").get_json()["waitlist_length"] == 0
    real = batch(client, hr(), two_seats, people("Anne", "Bent", "Carla")).get_json()
    assert [row["outcome"] for row in real["rows"]] == [row["outcome"] for row in report["rows"]]


def test_dry_run_reports_invalid_rows_instead_of_refusing(client, hr, two_seats):
    rows = [*people("Anne"), {"name": "Bent", "email": "ikke-en-adresse"}]

    response = batch(client, hr(), two_seats, rows, query="?dry_run=true")

    assert response.status_code == 200
    assert [row["outcome"] for row in response.get_json()["rows"]] == ["confirmed", "invalid"]
    assert response.get_json()["rows"][1]["reason"] == "e-mail: Ugyldig e-mailadresse."


def test_all_or_nothing_with_an_invalid_email_names_the_row_and_writes_nothing(client, hr, two_seats):
    rows = [*people("Anne"), {"name": "Bent", "email": "ikke-en-adresse"}, *people("Carla")]

    response = batch(client, hr(), two_seats, rows)

    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    errors = response.get_json()["errors"]
    assert [error["pointer"] for error in errors] == ["/participants/1/email"]
    assert errors[0]["message"].startswith("Række 2")
    assert enrolled(client, hr())["total"] == 0


def test_all_or_nothing_names_every_invalid_row(client, hr, two_seats):
    rows = [{"name": "", "email": "a@viborg.example"}, *people("Bent"), {"name": "Carla"},
            {"name": "Dorte", "email": "dorte@viborg.example", "phone": "12345678"}]

    response = batch(client, hr(), two_seats, rows)

    pointers = {error["pointer"] for error in response.get_json()["errors"]}
    assert response.status_code == 422
    assert pointers == {"/participants/0/name", "/participants/2/email", "/participants/3/phone"}


def test_partial_enrols_the_valid_rows_and_reports_the_invalid(client, hr, two_seats):
    rows = [*people("Anne"), {"name": "Bent", "email": "ikke-en-adresse"}, *people("Carla")]

    response = batch(client, hr(), two_seats, rows, query="?mode=partial")

    report = response.get_json()
    assert response.status_code == 201
    assert [row["outcome"] for row in report["rows"]] == ["confirmed", "invalid", "confirmed"]
    assert report["rows"][1]["reason"] and report["rows"][1]["enrolment_id"] is None
    assert report["counts"] == {"confirmed": 2, "waitlisted": 0, "duplicate": 0, "invalid": 1}
    assert {item["participant"]["name"] for item in enrolled(client, hr())["items"]} == {"Anne", "Carla"}


def test_partial_with_only_invalid_rows_writes_nothing_and_answers_200(client, hr, two_seats):
    response = batch(client, hr(), two_seats, [{"name": "Anne", "email": "nej"}], query="?mode=partial")

    assert response.status_code == 200
    assert response.get_json()["written"] is False


def test_duplicates_in_the_file_and_already_enrolled_are_reported_not_enrolled(client, hr, two_seats, enrol):
    existing = enrol(two_seats, "Anne", email="anne@viborg.example").get_json()
    rows = [{"name": "Anne A.", "email": "ANNE@viborg.example"}, *people("Bent"),
            {"name": "Bent igen", "email": "Bent@Viborg.example"}]

    response = batch(client, hr(), two_seats, rows)

    report = response.get_json()
    assert response.status_code == 201
    assert [row["outcome"] for row in report["rows"]] == ["duplicate", "confirmed", "duplicate"]
    assert str(existing["id"]) in report["rows"][0]["reason"]
    assert "række 2" in report["rows"][2]["reason"]
    assert report["counts"]["duplicate"] == 2
    assert enrolled(client, hr())["total"] == 2
    # The duplicate row does not rename the person already enrolled.
    assert client.get(f"/enrolments/{existing['id']}", headers=hr()).get_json()["participant"]["name"] == "Anne"


def test_only_duplicates_write_nothing_and_answer_200(client, hr, two_seats, enrol):
    enrol(two_seats, "Anne", email="anne@viborg.example")

    response = batch(client, hr(), two_seats, people("Anne"))

    assert response.status_code == 200
    assert response.get_json()["counts"]["duplicate"] == 1


def test_hr_of_another_organisation_is_refused(client, hr, two_seats, make_organisation):
    make_organisation("730")

    response = client.post("/enrolments/batch", headers=hr("730"), json={
        "offering_id": two_seats["id"], "organisation": "791", "participants": people("Anne")})

    assert response.status_code == 403
    assert enrolled(client, hr())["total"] == 0


def test_admin_enrols_for_the_organisation_named(client, auth, hr, two_seats):
    response = client.post("/enrolments/batch", headers=auth("admin"), json={
        "offering_id": two_seats["id"], "organisation": "791", "participants": people("Anne")})

    assert response.status_code == 201
    assert enrolled(client, hr())["total"] == 1


@pytest.mark.parametrize("role, scope", [("school", {"provider_id": 1}), ("service", {})])
def test_other_roles_are_refused(client, auth, two_seats, role, scope):
    assert batch(client, auth(role, **scope), two_seats, people("Anne")).status_code == 403


def test_a_batch_needs_a_token(client, two_seats):
    assert batch(client, {}, two_seats, people("Anne")).status_code == 401


def test_a_batch_into_a_cancelled_offering_is_refused(client, hr, two_seats, catalogue_client, auth):
    catalogue_client.post(f"/offerings/{two_seats['id']}/cancel", json={},
                          headers=auth("school", provider_id=two_seats["provider_id"]))

    response = batch(client, hr(), two_seats, people("Anne"))

    assert response.status_code == 409
    assert "aflyst" in response.get_json()["detail"]


def test_catalogue_down_answers_503_and_writes_nothing(client, hr, two_seats, catalogue_link):
    catalogue_link.down = True

    response = batch(client, hr(), two_seats, people("Anne", "Bent"))

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert enrolled(client, hr())["total"] == 0


def test_more_than_500_rows_are_refused(client, hr, two_seats):
    rows = [{"name": f"Person {n}", "email": f"p{n}@viborg.example"} for n in range(501)]
    text = "name;email\n" + "".join(f"{row['name']};{row['email']}\n" for row in rows)

    as_json = batch(client, hr(), two_seats, rows)
    as_csv = send_csv(client, hr(), two_seats, text)

    assert (as_json.status_code, as_csv.status_code) == (422, 422)
    assert enrolled(client, hr())["total"] == 0


def test_replaying_a_batch_with_the_same_idempotency_key_enrols_once(client, hr, two_seats):
    headers = {**hr(), "Idempotency-Key": "batch-2027-01"}

    first = batch(client, headers, two_seats, people("Anne", "Bent", "Carla"))
    again = batch(client, headers, two_seats, people("Anne", "Bent", "Carla"))

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert enrolled(client, hr())["total"] == 3
