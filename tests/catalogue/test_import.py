"""A school publishes many offerings from a CSV file: a dry run reports every row, a real run is all or nothing."""

import io
from datetime import timedelta

import pytest

from catalogue.models import Offering, db
from shared.clock import copenhagen_today


def csv_file(school: dict, *rows: str, header: str | None = None) -> bytes:
    header = header or ("module;location_id;sessions;capacity;min_participants;price_dkk;enrolment_deadline;"
                        "language;contact_email;reference")
    location_id = school["locations"][0]["id"]
    return ("\n".join([header, *(row.format(location=location_id) for row in rows)]) + "\n").encode("utf-8")


def day(offset: int) -> str:
    return (copenhagen_today() + timedelta(days=offset)).isoformat()


def good_row(module="GLU-2", first=40, reference="HOLD-1") -> str:
    return (f"{module};{{location}};{day(first)} 08:30-15:30 | {day(first + 1)} 08:30-15:30;16;6;3.250,00;"
            f"{day(first - 14)};da;glu@skole.example;{reference}")


@pytest.fixture
def school(make_school, glu):
    return make_school("Mercantec")


@pytest.fixture
def post_csv(client, auth, school):
    def post(body: bytes, dry_run: bool = False, **kwargs):
        return client.post("/offerings/import", data=body, content_type="text/csv",
                           query_string={"dry_run": str(dry_run).lower()},
                           headers=auth("school", provider_id=school["id"]), **kwargs)

    return post


def count_offerings(app) -> int:
    with app.app_context():
        return db.session.query(Offering).count()


def test_import_publishes_every_row(client, app, school, post_csv):
    response = post_csv(csv_file(school, good_row("GLU-1", 30, "A"), good_row("GLU-2", 50, "B")))

    assert response.status_code == 201
    report = response.get_json()
    assert (report["valid"], report["created"], report["dry_run"]) == (True, 2, False)
    offering = client.get(f"/offerings/{report['rows'][0]['offering_id']}").get_json()
    assert offering["module"] == "GLU-1"
    assert offering["price_dkk"] == 3250
    assert offering["provider_id"] == school["id"]
    assert offering["sessions"][0]["starts_at"].endswith(("T08:30:00+01:00", "T08:30:00+02:00"))
    assert offering["reference"] == "A"


def test_dry_run_reports_every_rows_problems_and_writes_nothing(app, school, post_csv):
    body = csv_file(
        school,
        good_row(reference="OK"),
        good_row("GLU-9", reference="BAD-MODULE"),
        f"GLU-1;{{location}};{day(40)} 15:30-08:30;0;6;100;{day(20)};da;not-an-email;BAD-MANY",
        good_row(reference="OK"),
    )

    response = post_csv(body, dry_run=True)

    assert response.status_code == 200
    report = response.get_json()
    assert report["valid"] is False
    assert report["created"] == 0
    assert [(row["line"], row["valid"]) for row in report["rows"]] == [(2, True), (3, False), (4, False), (5, False)]
    assert [error["pointer"] for error in report["rows"][1]["errors"]] == ["/module"]
    third = {error["pointer"] for error in report["rows"][2]["errors"]}
    assert {"/capacity", "/contact_email", "/sessions/0/ends_at"} <= third
    assert [error["pointer"] for error in report["rows"][3]["errors"]] == ["/reference"]
    assert count_offerings(app) == 0


def test_clean_dry_run_writes_nothing(app, school, post_csv):
    response = post_csv(csv_file(school, good_row()), dry_run=True)

    assert response.status_code == 200
    assert response.get_json()["valid"] is True
    assert response.get_json()["rows"][0]["offering_id"] is None
    assert count_offerings(app) == 0


def test_one_bad_row_stops_the_whole_import(app, school, post_csv):
    body = csv_file(school, good_row(reference="A"), good_row(reference="B").replace(";16;", ";0;"))

    response = post_csv(body)

    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert response.get_json()["errors"][0]["pointer"] == "/rows/3/capacity"
    assert count_offerings(app) == 0


def test_excel_csv_with_bom_and_comma_separator_is_read(school, post_csv):
    header = "\ufeffmodule,location_id,sessions,capacity,price_dkk,enrolment_deadline,contact_email"
    row = f"GLU-3,{{location}},{day(40)} 09.00-15.00,12,1200 kr.,{day(26)},glu@skole.example"

    response = post_csv(csv_file(school, row, header=header))

    assert response.status_code == 201, response.get_json()


def test_file_upload_as_form_field_is_read(client, auth, school):
    body = csv_file(school, good_row())

    response = client.post("/offerings/import", data={"file": (io.BytesIO(body), "hold.csv")},
                           headers=auth("school", provider_id=school["id"]))

    assert response.status_code == 201


@pytest.mark.parametrize(("body", "pointer"), [
    (b"", ""),
    (b"modul;sted\nGLU-1;1\n", "/columns/modul"),
    (b"module;location_id;sessions\n", ""),
    ("module;location_id;sessions\nGLU-1;1;x\n".encode("utf-16"), ""),
])
def test_unreadable_files_are_refused_with_the_reason(app, post_csv, body, pointer):
    response = post_csv(body)

    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert response.get_json()["errors"][0]["pointer"] == pointer
    assert count_offerings(app) == 0


def test_row_with_more_cells_than_columns_is_invalid(school, post_csv):
    response = post_csv(csv_file(school, good_row() + ";extra"), dry_run=True)

    assert response.get_json()["rows"][0]["valid"] is False


def test_bad_sessions_text_names_the_column(school, post_csv):
    row = f"GLU-1;{{location}};tomorrow morning;16;6;1200;{day(20)};da;glu@skole.example;X"

    response = post_csv(csv_file(school, row), dry_run=True)

    assert response.get_json()["rows"][0]["errors"][0]["pointer"] == "/sessions"
