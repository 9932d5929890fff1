"""The school's desk in the browser, through the test client: create, edit, publish, copy, cancel, import."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.auth import Role, issue_token
from shared.clock import copenhagen_today
from tests.catalogue.fixtures import stored_offerings
from tests.catalogue.test_pages import Page, check_page, csrf_from, page, post_form, sign_in_school
from tests.conftest import TOKEN_SECRET


def day(days: int) -> str:
    return (copenhagen_today() + timedelta(days=days)).isoformat()


@pytest.fixture
def signed_in(client, school):
    """A course administrator of Mercantec, signed in; yields the CSRF token of their session."""
    sign_in_school(client, school["id"])
    return csrf_from(page(client, "/skole"))


def form_of(school: dict, csrf: str, days=((40, "08:30", "15:30"), (41, "08:30", "15:30"), (48, "09:00", "14:00")),
            **fields) -> dict:
    """What the create form sends: the fields, and one row per day (date, start, end, and the session's id)."""
    data = {"csrf_token": csrf, "module": "GLU-3", "location_id": str(school["locations"][0]["id"]),
            "capacity": "16", "min_participants": "6", "price_dkk": "3.250", "enrolment_deadline": day(30),
            "language": "da", "contact_email": "kursus@mercantec.example", "reference": "", "note": "",
            "action": "draft"}
    data.update({"day-date": [day(offset) for offset, _, _ in days], "day-start": [start for _, start, _ in days],
                 "day-end": [end for _, _, end in days], "day-id": [""] * len(days)})
    data.update(fields)
    return data


def shown(response, status: int = 200) -> Page:
    assert response.status_code == status, response.get_data(as_text=True)[:3000]
    return check_page(Page(response.get_data(as_text=True)))


def api(client, offering_id: int, headers: dict | None = None) -> dict:
    return client.get(f"/offerings/{offering_id}", headers=headers or {}).get_json()


def created_id(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    return int(response.headers["Location"].split("/")[-2])


def field_value(parsed: Page, field_id: str) -> str:
    return parsed.one("input", id=field_id)["value"]


# --- Create ---------------------------------------------------------------------------------------

def test_the_new_offering_form_has_every_field_and_one_day(client, signed_in):
    parsed = page(client, "/skole/udbud/ny")

    for name in ("module", "location_id"):
        assert parsed.one("select", name=name)
    for name in ("capacity", "min_participants", "price_dkk", "enrolment_deadline", "contact_email", "reference"):
        assert parsed.one("input", name=name)
    assert parsed.one("textarea", name="note")
    assert len(parsed.all("input", name="day-date")) == 1
    assert {button["value"] for button in parsed.all("button", name="action")} >= {"draft", "publish"}
    assert "Gem som kladde" in parsed.text and "Udgiv" in parsed.text and "Tilføj dag" in parsed.text
    assert "<script>" not in parsed.html and " onclick" not in parsed.html  # a strict CSP allows no inline script
    scripts = [attrs["src"] for attrs in parsed.all("script") if attrs.get("src")]
    assert scripts and all(client.get(src).status_code == 200 for src in scripts)


def test_a_school_member_creates_a_draft_with_three_days_in_danish_time(client, app, school, signed_in, auth):
    response = post_form(client, "/skole/udbud/ny", form_of(school, signed_in))

    offering_id = created_id(response)
    assert response.headers["Location"] == f"/skole/udbud/{offering_id}/rediger"
    made = api(client, offering_id, auth("school", provider_id=school["id"]))
    assert made["status"] == "draft" and made["module"] == "GLU-3" and made["price_dkk"] == 3250
    assert [session["starts_at"][:16] for session in made["sessions"]] == [
        f"{day(40)}T08:30", f"{day(41)}T08:30", f"{day(48)}T09:00"]
    assert made["sessions"][2]["ends_at"][11:16] == "14:00"
    assert api(client, offering_id)["status"] == 404  # a draft: not for the public
    edit = page(client, response.headers["Location"])
    assert "gemt som kladde" in edit.text and "Kladde – ikke offentlig endnu" in edit.text


def test_the_decision_date_is_the_schools_or_else_the_default(client, school, signed_in, auth):
    headers = auth("school", provider_id=school["id"])
    chosen = created_id(post_form(client, "/skole/udbud/ny", form_of(school, signed_in, decision_date=day(33))))
    default = created_id(post_form(client, "/skole/udbud/ny", form_of(school, signed_in, decision_date="")))
    after_first_day = shown(post_form(client, "/skole/udbud/ny", form_of(school, signed_in, decision_date=day(45))),
                            422)

    assert api(client, chosen, headers)["decision_date"] == day(33)
    assert api(client, default, headers)["decision_date"] == day(40 - 14)
    assert "første session" in after_first_day.text_of("decision_date-error")
    assert field_value(after_first_day, "decision_date") == day(45)


def test_udgiv_on_the_new_form_publishes_at_once(client, school, signed_in):
    offering_id = created_id(post_form(client, "/skole/udbud/ny", form_of(school, signed_in, action="publish")))

    assert api(client, offering_id)["status"] == "published"


def test_errors_are_beside_their_fields_and_what_was_typed_is_kept(client, app, school, signed_in):
    data = form_of(school, signed_in, capacity="mange", contact_email="ikke en adresse", note="Husk madpakke",
                   days=((40, "08:30", "15:30"), (41, "25:00", "15:30"), (42, "", "15:00")))

    parsed = shown(post_form(client, "/skole/udbud/ny", data), 422)

    assert "tt:mm" in parsed.error_after("day-1-start")
    assert "hvornår dagen starter" in parsed.error_after("day-2-start")
    assert parsed.error_after("capacity") and parsed.error_after("contact_email")
    summary = parsed.text_of("fejl-liste")
    assert "Dag 2, starter kl.: Skriv klokkeslættet" in summary and "Antal pladser:" in summary
    assert field_value(parsed, "day-1-start") == "25:00" and field_value(parsed, "day-2-end") == "15:00"
    assert field_value(parsed, "capacity") == "mange" and field_value(parsed, "contact_email") == "ikke en adresse"
    assert parsed.text_of("note") == "Husk madpakke"
    assert parsed.one("option", value="GLU-3").get("selected") is not None
    assert stored_offerings(app)[0] == []


def test_the_domains_refusals_are_beside_their_fields_too(client, app, school, signed_in):
    data = form_of(school, signed_in, min_participants="20", capacity="10",
                   days=((40, "08:30", "15:30"), (40, "12:00", "16:00")))

    parsed = shown(post_form(client, "/skole/udbud/ny", data), 422)

    assert "større end kapaciteten" in parsed.text_of("min_participants-error")
    assert "overlapper" in parsed.error_after("day-1-date")
    assert field_value(parsed, "capacity") == "10"
    assert stored_offerings(app)[0] == []


def test_a_day_in_the_past_is_refused_beside_it(client, app, school, signed_in):
    data = form_of(school, signed_in, days=((-2, "08:30", "15:30"), (41, "08:30", "15:30")),
                   enrolment_deadline=day(-3))

    parsed = shown(post_form(client, "/skole/udbud/ny", data), 422)

    assert "fortiden" in parsed.error_after("day-0-date")
    assert stored_offerings(app)[0] == []


def test_the_day_editor_adds_and_removes_days_without_javascript(client, app, school, signed_in):
    added = shown(post_form(client, "/skole/udbud/ny", {**form_of(school, signed_in, note="Kaffe"), "add_day": "1"}))

    assert len(added.all("input", name="day-date")) == 4
    assert field_value(added, "day-3-date") == day(49)  # the day after the last, at the same times
    assert field_value(added, "day-3-start") == "09:00" and added.text_of("note") == "Kaffe"

    typed = form_of(school, signed_in, days=((40, "08:30", "15:30"), (41, "08:30", "15:30"), (48, "09:00", "14:00")))
    removed = shown(post_form(client, "/skole/udbud/ny", {**typed, "remove_day": "1"}))

    assert [attrs["value"] for attrs in removed.all("input", name="day-date")] == [day(40), day(48)]
    assert stored_offerings(app)[0] == []


def test_blank_day_rows_are_left_out_and_no_days_at_all_is_an_error(client, app, school, signed_in):
    with_blank = form_of(school, signed_in, days=((40, "08:30", "15:30"),))
    with_blank.update({"day-date": [day(40), ""], "day-start": ["08:30", ""], "day-end": ["15:30", ""],
                       "day-id": ["", ""]})
    offering_id = created_id(post_form(client, "/skole/udbud/ny", with_blank))
    none = {**form_of(school, signed_in), "day-date": [""], "day-start": [""], "day-end": [""], "day-id": [""]}

    parsed = shown(post_form(client, "/skole/udbud/ny", none), 422)

    assert len(stored_offerings(app)[0]) == 1 and offering_id
    assert "mindst én dag" in parsed.text_of("days-error")


# --- Edit and publish -----------------------------------------------------------------------------

@pytest.fixture
def draft(client, school, signed_in) -> int:
    return created_id(post_form(client, "/skole/udbud/ny", form_of(school, signed_in)))


def edit_form(client, offering_id: int) -> dict:
    """The edit form as the browser would send it back unchanged."""
    parsed = page(client, f"/skole/udbud/{offering_id}/rediger")
    data = {attrs["name"]: attrs.get("value", "") for attrs in parsed.all("input")
            if attrs.get("name") and not attrs["name"].startswith("day-")}
    data["location_id"] = next(attrs["value"] for attrs in parsed.all("option")
                               if "selected" in attrs and attrs["value"].isdigit())
    data["language"] = "da"
    data["note"] = parsed.text_of("note")
    for part in ("date", "start", "end", "id"):
        data[f"day-{part}"] = [attrs["value"] for attrs in parsed.all("input", name=f"day-{part}")]
    return data


def test_editing_a_day_keeps_its_session_id_and_raises_the_revision(client, school, signed_in, draft, auth):
    headers = auth("school", provider_id=school["id"])
    before = api(client, draft, headers)
    data = edit_form(client, draft)
    assert data["day-id"] == [str(session["id"]) for session in before["sessions"]]
    data["day-date"][1] = day(43)
    data["day-start"][1] = "10:00"

    response = post_form(client, f"/skole/udbud/{draft}/rediger", {**data, "action": "draft"})

    assert response.status_code == 303 and response.headers["Location"] == f"/skole/udbud/{draft}/rediger"
    after = api(client, draft, headers)
    assert [session["id"] for session in after["sessions"]] == [session["id"] for session in before["sessions"]]
    assert after["sessions"][1]["starts_at"][:16] == f"{day(43)}T10:00"
    assert after["revision"] == before["revision"] + 1 and after["status"] == "draft"
    assert "Ændringerne er gemt" in page(client, f"/skole/udbud/{draft}/rediger").text


def test_saving_an_unchanged_form_does_not_raise_the_revision(client, school, signed_in, draft, auth):
    headers = auth("school", provider_id=school["id"])
    before = api(client, draft, headers)

    post_form(client, f"/skole/udbud/{draft}/rediger", {**edit_form(client, draft), "action": "draft"})

    assert api(client, draft, headers)["revision"] == before["revision"]
    assert "ingen ændringer" in page(client, f"/skole/udbud/{draft}/rediger").text


def test_a_draft_is_published_from_the_desk_and_the_message_is_shown_at_its_row(client, signed_in, draft):
    desk = page(client, "/skole")
    row = desk.text_of(f"udbud-{draft}")
    assert "Rediger" in row and "Kopiér" in row and "Se som offentligheden" in row and "Udgiv" in row

    response = post_form(client, f"/skole/udbud/{draft}/udgiv", {"csrf_token": signed_in})

    assert response.status_code == 303 and response.headers["Location"] == f"/skole#udbud-{draft}"
    assert api(client, draft)["status"] == "published"
    desk = page(client, "/skole")
    assert "Udbuddet er udgivet" in desk.text and "Udgivne (1)" in desk.text
    assert "Udgiv" not in desk.text_of(f"udbud-{draft}").replace("Udgivet", "")


def test_gem_og_udgiv_on_a_drafts_edit_page_saves_and_publishes(client, signed_in, draft):
    data = edit_form(client, draft)
    data["price_dkk"] = "2.900"

    post_form(client, f"/skole/udbud/{draft}/rediger", {**data, "action": "publish"})

    shown_now = api(client, draft)
    assert shown_now["status"] == "published" and shown_now["price_dkk"] == 2900 and shown_now["revision"] == 2
    assert "Udbuddet er udgivet" in page(client, f"/skole/udbud/{draft}/rediger").text


def test_editing_a_published_offering_keeps_it_published(client, signed_in, draft):
    post_form(client, f"/skole/udbud/{draft}/udgiv", {"csrf_token": signed_in})
    data = edit_form(client, draft)
    data["capacity"] = "20"

    post_form(client, f"/skole/udbud/{draft}/rediger", {**data, "action": "save"})

    shown_now = api(client, draft)
    assert shown_now["capacity"] == 20 and shown_now["status"] == "published" and shown_now["revision"] == 3


def test_the_public_page_of_a_draft_says_it_is_not_public_yet(client, signed_in, draft):
    parsed = page(client, f"/udbud/{draft}")

    assert "Kladde – ikke offentlig endnu" in parsed.text
    assert f"/skole/udbud/{draft}/rediger" in parsed.hrefs()


def test_a_cancelled_offering_cannot_be_edited(client, signed_in, draft, auth, school):
    client.post(f"/offerings/{draft}/cancel", json={"reason": "Syg"}, headers=auth("school", provider_id=school["id"]))

    response = client.get(f"/skole/udbud/{draft}/rediger")

    assert response.status_code == 409 and "aflyst udbud kan ikke ændres" in response.get_data(as_text=True)


# --- Copy -----------------------------------------------------------------------------------------

def test_copying_shows_the_new_days_then_lands_on_the_new_drafts_edit_page(client, app, school, signed_in, draft):
    form = page(client, f"/skole/udbud/{draft}/kopier")
    assert form.one("input", name="first_day")

    preview = shown(post_form(client, f"/skole/udbud/{draft}/kopier", {
        "csrf_token": signed_in, "first_day": day(100), "reference": "", "action": "preview"}))
    assert len(stored_offerings(app)[0]) == 1
    assert "kl. 08.30–15.30" in preview.text_of("kopiens-dage")

    response = post_form(client, f"/skole/udbud/{draft}/kopier", {
        "csrf_token": signed_in, "first_day": day(100), "reference": "MERC-Q3", "action": "copy"})

    copy_id = created_id(response)
    assert copy_id != draft and response.headers["Location"] == f"/skole/udbud/{copy_id}/rediger"
    edit = page(client, response.headers["Location"])
    assert "Kopien er gemt som kladde" in edit.text
    assert [attrs["value"] for attrs in edit.all("input", name="day-date")] == [day(100), day(101), day(108)]
    assert field_value(edit, "reference") == "MERC-Q3"


def test_copying_to_a_bad_day_is_an_error_beside_the_field(client, app, signed_in, draft):
    for first_day, message in (("", "udfyldes"), ("i morgen", ""), (day(-1), "fortiden")):
        parsed = shown(post_form(client, f"/skole/udbud/{draft}/kopier", {
            "csrf_token": signed_in, "first_day": first_day, "action": "copy"}), 422)
        assert message in parsed.error_after("first_day")
        assert field_value(parsed, "first_day") == first_day
    assert len(stored_offerings(app)[0]) == 1


# --- Cancel ---------------------------------------------------------------------------------------

def test_cancelling_asks_for_confirmation_and_a_reason_in_a_danger_style(client, auth, school, signed_in, draft):
    client.put(f"/offerings/{draft}/seats", headers=auth("service"), json={"taken": 5, "waitlisted": 2, "version": 1})
    desk = page(client, "/skole")
    assert f"/skole/udbud/{draft}/aflys" in desk.hrefs()
    assert not desk.all("input", name="reason")  # no cancelling straight from the list

    confirm = page(client, f"/skole/udbud/{draft}/aflys")

    assert "5 tilmeldte og 2 på venteliste får besked" in confirm.text
    assert "Aflys holdet" in confirm.text_of("cancel-button")
    assert confirm.one("button", id="cancel-button")["class"] == "danger"
    refused = shown(post_form(client, f"/skole/udbud/{draft}/aflys", {"csrf_token": signed_in, "reason": " "}), 422)
    assert "Skriv årsagen" in refused.text_of("reason-error")
    assert api(client, draft)["status"] == 404  # still a draft


def test_cancelling_after_confirming_shows_the_message_at_the_row(client, signed_in, draft, auth, school):
    client.put(f"/offerings/{draft}/seats", headers=auth("service"), json={"taken": 5, "waitlisted": 2, "version": 1})
    response = post_form(client, f"/skole/udbud/{draft}/aflys", {"csrf_token": signed_in, "reason": "Syg underviser"})

    assert response.status_code == 303 and response.headers["Location"] == f"/skole#udbud-{draft}"
    shown_now = api(client, draft, auth("school", provider_id=school["id"]))
    assert shown_now["status"] == "cancelled" and shown_now["cancellation_reason"] == "Syg underviser"
    desk = page(client, "/skole")
    assert "Udbuddet er aflyst" in desk.text and "Aflyste (1)" in desk.text
    assert "5 tilmeldte og 2 på venteliste fik besked" in desk.text_of(f"udbud-{draft}")
    assert client.get(f"/skole/udbud/{draft}/aflys").status_code == 409


def test_cancelling_needs_the_csrf_token(client, signed_in, draft):
    assert post_form(client, f"/skole/udbud/{draft}/aflys", {"reason": "Syg"}).status_code == 400


# --- Import ---------------------------------------------------------------------------------------

def csv_file(school: dict, *rows: str) -> bytes:
    header = "module;location_id;sessions;capacity;price_dkk;enrolment_deadline;contact_email;reference"
    return "\n".join([header, *rows]).encode("utf-8")


def csv_row(school: dict, first: int, reference: str, capacity: str = "16", module: str = "GLU-2") -> str:
    return (f"{module};{school['locations'][0]['id']};{day(first)} 08:30-15:30 | {day(first + 1)} 08:30-15:30;"
            f"{capacity};2400;{day(first - 14)};kursus@mercantec.example;{reference}")


def upload(client, csrf: str, content: bytes, name: str = "hold.csv"):
    from io import BytesIO

    return client.post("/skole/import", data={"csrf_token": csrf, "fil": (BytesIO(content), name)},
                       content_type="multipart/form-data")


def test_the_dry_run_shows_every_rows_problems_and_writes_nothing(client, app, school, signed_in):
    content = csv_file(school, csv_row(school, 50, "A-1"), csv_row(school, 60, "A-2", capacity="mange"),
                       csv_row(school, 70, "A-3", module="GLU-9"))

    parsed = shown(upload(client, signed_in, content), 422)

    table = parsed.text_of("rækker")
    assert "3Felt: capacityFejl: Skal være et heltal." in table and "4Felt: moduleFejl: Modulet 'GLU-9'" in table
    assert "I orden" in table  # line 2
    assert not parsed.all("form", action="/skole/import/bekraeft")
    assert stored_offerings(app)[0] == []


def test_a_file_that_passes_is_imported_after_confirming(client, app, school, signed_in, auth):
    content = csv_file(school, csv_row(school, 50, "B-1"), csv_row(school, 60, "B-2"))
    preview = shown(upload(client, signed_in, content))
    assert stored_offerings(app)[0] == []
    carried = preview.one("input", name="data")["value"]
    assert json.loads(carried) == content.decode()

    done = shown(client.post("/skole/import/bekraeft", data={"csrf_token": signed_in, "data": carried},
                             content_type="multipart/form-data"))

    assert "2 udbud er importeret" in done.text
    made = stored_offerings(app)[0]
    assert [offering["reference"] for offering in made] == ["B-1", "B-2"]
    assert all(f"/skole/udbud/{offering['id']}/rediger" in done.hrefs() for offering in made)


def test_a_file_that_cannot_be_read_is_an_error_at_the_file_field(client, school, signed_in):
    parsed = shown(upload(client, signed_in, b"name;colour\nx;y"), 422)

    assert "Ukendt kolonne" in parsed.error_after("fil")
    assert "Vælg en CSV-fil" in shown(client.post("/skole/import", data={"csrf_token": signed_in},
                                                  content_type="multipart/form-data"), 422).error_after("fil")


def test_a_row_for_another_school_refuses_the_whole_file(client, app, school, other_school, signed_in):
    content = "\n".join(["module;provider_id;location_id;sessions;capacity;price_dkk;enrolment_deadline;contact_email",
                         f"GLU-2;{other_school['id']};{other_school['locations'][0]['id']};{day(50)} 08:30-15:30;"
                         f"16;2400;{day(40)};kursus@mercantec.example"]).encode()

    parsed = shown(upload(client, signed_in, content), 422)

    assert "Kun skolen selv" in parsed.error_after("fil")
    assert stored_offerings(app)[0] == []


def test_the_example_file_has_the_columns_and_the_schools_place(client, school, signed_in):
    response = client.get("/skole/import/skabelon.csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("module;location_id;sessions")
    assert f";{school['locations'][0]['id']};" in lines[1]
    assert shown(upload(client, signed_in, response.get_data())).one("input", name="data")


# --- Refusals -------------------------------------------------------------------------------------

DESK_PAGES = ("/skole/udbud/ny", "/skole/udbud/{id}/rediger", "/skole/udbud/{id}/kopier", "/skole/udbud/{id}/aflys",
              "/skole/import", "/skole/import/skabelon.csv")


def test_anonymous_visitors_are_sent_to_sign_in(client, make_offering, school):
    offering = make_offering(school)
    for url in DESK_PAGES:
        response = client.get(url.format(id=offering["id"]))
        assert response.status_code == 302 and response.headers["Location"].startswith("/log-ind?next=/skole"), url
    token = csrf_from(page(client, "/skole/log-ind"))
    for url in ("/skole/udbud/{id}/udgiv", "/skole/udbud/{id}/aflys", "/skole/udbud/ny"):
        response = post_form(client, url.format(id=offering["id"]), {"csrf_token": token, "reason": "x"})
        assert response.status_code == 303 and response.headers["Location"].startswith("/log-ind"), url
    assert api(client, offering["id"])["status"] == "published"


def test_another_schools_offering_is_refused(client, app, make_offering, school, other_school, signed_in):
    published = make_offering(other_school)
    draft = make_offering(other_school, status="draft")
    before = stored_offerings(app)

    for url in ("/skole/udbud/{id}/rediger", "/skole/udbud/{id}/kopier", "/skole/udbud/{id}/aflys"):
        assert client.get(url.format(id=published["id"])).status_code == 403, url
        assert client.get(url.format(id=draft["id"])).status_code == 404, url
    assert post_form(client, f"/skole/udbud/{published['id']}/aflys",
                     {"csrf_token": signed_in, "reason": "x"}).status_code == 403
    assert post_form(client, f"/skole/udbud/{draft['id']}/udgiv", {"csrf_token": signed_in}).status_code == 404
    assert post_form(client, f"/skole/udbud/{published['id']}/rediger",
                     {**form_of(other_school, signed_in), "action": "save"}).status_code == 403
    assert stored_offerings(app) == before


def test_other_roles_are_not_allowed_on_the_desk(client, make_offering, school):
    """HR people have no membership in the catalogue, so they cannot sign in here; an administrator signed in
    with a token works through the API and the members pages, and gets a 403 page on the desk."""
    offering = make_offering(school)
    token = csrf_from(page(client, "/skole/log-ind"))
    post_form(client, "/skole/log-ind", {"csrf_token": token, "token": issue_token(TOKEN_SECRET, Role.ADMIN)})
    for url in DESK_PAGES:
        response = client.get(url.format(id=offering["id"]))
        assert response.status_code == 403 and response.mimetype == "text/html", url
    assert post_form(client, f"/skole/udbud/{offering['id']}/aflys",
                     {"csrf_token": token, "reason": "x"}).status_code == 403
    assert api(client, offering["id"])["status"] == "published"
