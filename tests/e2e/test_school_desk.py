"""A school's course administrator at the desk in real Chromium: create a draft with three days, publish it,
edit a day, copy it to new dates, and import a CSV file through the dry run."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from catalogue.models import Offering, Provider
from catalogue.models import db as catalogue_db
from shared.clock import copenhagen_today
from shared.schemas import OfferingSchema
from tests.e2e.conftest import sign_in_by_link


def in_days(system, days: int) -> str:
    return (copenhagen_today(system.clock()) + timedelta(days=days)).isoformat()


def mercantec_location(system) -> int:
    with system.catalogue_app.app_context():
        provider = catalogue_db.session.scalar(select(Provider).where(Provider.name == "Mercantec"))
        return provider.locations[0].id


def offering_in_catalogue(system, offering_id: int) -> dict:
    """The offering as the catalogue's API shows it."""
    with system.catalogue_app.app_context():
        return OfferingSchema().dump(catalogue_db.session.get(Offering, offering_id))


def test_a_school_member_creates_publishes_edits_and_copies_an_offering(system, page, mail_server):
    catalogue_url, _ = system
    sign_in_by_link(page, catalogue_url, "admin@mercantec.example", mail_server)
    page.goto(f"{catalogue_url}/skole")

    page.get_by_role("link", name="Opret udbud").click()
    page.get_by_label("Modul").select_option("GLU-3")
    page.get_by_label("Sted").select_option(str(mercantec_location(system)))
    page.locator("#day-0-date").fill(in_days(system, 60))
    page.locator("#day-0-start").fill("08:30")
    page.locator("#day-0-end").fill("15:30")
    for _ in range(3):
        page.get_by_role("button", name="Tilføj dag").click()
    assert page.locator("#day-1-date").input_value() == in_days(system, 61)  # the day after, at the same times
    page.get_by_role("button", name="Fjern dag 2").click()
    assert page.locator("input[name=day-date]").count() == 3
    assert page.locator("#day-1-date").input_value() == in_days(system, 62)
    page.locator("#day-1-date").fill(in_days(system, 61))
    assert page.locator("#day-2-start").input_value() == "08:30"
    page.locator("#day-2-date").fill(in_days(system, 68))
    page.get_by_label("Antal pladser").fill("14")
    page.get_by_label("Mindste antal deltagere (valgfrit)").fill("6")
    page.get_by_label("Pris pr. deltager (kr.)").fill("3.250")
    page.get_by_label("Tilmeldingsfrist").fill(in_days(system, 46))
    page.get_by_label("Kontakt (e-mail)").fill("kursus@mercantec.example")
    page.get_by_label("Skolens reference (valgfri)").fill("MERC-E2E-1")
    page.get_by_role("button", name="Gem som kladde").click()

    assert "gemt som kladde" in page.locator("main").inner_text()
    offering_id = int(re.search(r"/skole/udbud/(\d+)/rediger", page.url).group(1))
    draft = offering_in_catalogue(system, offering_id)
    assert draft["status"] == "draft" and len(draft["sessions"]) == 3 and draft["price_dkk"] == 3250

    page.get_by_role("link", name="Se udbuddet, som offentligheden ser det").click()
    assert "Kladde – ikke offentlig endnu" in page.locator("main").inner_text()

    page.goto(f"{catalogue_url}/skole")
    row = page.locator(f"#udbud-{offering_id}")
    row.get_by_role("button", name="Udgiv").click()
    assert page.url.endswith(f"/skole#udbud-{offering_id}")
    assert "Udbuddet er udgivet" in page.locator("main").inner_text()
    assert offering_in_catalogue(system, offering_id)["status"] == "published"

    page.locator(f"#udbud-{offering_id}").get_by_role("link", name="Rediger").click()
    session_ids = [session["id"] for session in offering_in_catalogue(system, offering_id)["sessions"]]
    page.locator("#day-1-start").fill("10:00")
    page.get_by_role("button", name="Gem ændringer").click()
    assert "Ændringerne er gemt (version 3)" in page.locator("main").inner_text()
    edited = offering_in_catalogue(system, offering_id)
    assert [session["id"] for session in edited["sessions"]] == session_ids
    assert edited["sessions"][1]["starts_at"][11:16] == "10:00" and edited["revision"] == 3

    page.get_by_role("link", name="Kopiér til nye datoer").click()
    page.get_by_label("Ny første dag").fill(in_days(system, 120))
    page.get_by_role("button", name="Vis de nye datoer").click()
    assert "kl. 10.00–15.30" in page.locator("#kopiens-dage").inner_text()
    page.get_by_label("Kopiens reference (valgfri)").fill("MERC-E2E-2")
    page.get_by_role("button", name="Opret kopien som kladde").click()

    assert "Kopien er gemt som kladde" in page.locator("main").inner_text()
    copy_id = int(re.search(r"/skole/udbud/(\d+)/rediger", page.url).group(1))
    assert copy_id != offering_id
    assert page.locator("#day-0-date").input_value() == in_days(system, 120)
    assert page.locator("#day-2-date").input_value() == in_days(system, 128)
    assert offering_in_catalogue(system, copy_id)["status"] == "draft"


def test_a_school_member_imports_a_csv_file_through_the_dry_run(system, page, mail_server):
    catalogue_url, _ = system
    sign_in_by_link(page, catalogue_url, "admin@mercantec.example", mail_server)
    location_id = mercantec_location(system)
    header = "module;location_id;sessions;capacity;price_dkk;enrolment_deadline;contact_email;reference;status"

    def row(first: int, reference: str, capacity: str = "16") -> str:
        return (f"GLU-2;{location_id};{in_days(system, first)} 08:30-15:30 | {in_days(system, first + 1)} 08:30-15:30;"
                f"{capacity};2400;{in_days(system, first - 14)};kursus@mercantec.example;{reference};draft")

    page.goto(f"{catalogue_url}/skole")
    page.get_by_role("link", name="Importér CSV").click()
    bad = "\n".join([header, row(80, "CSV-1"), row(90, "CSV-2", capacity="mange")]).encode()
    page.get_by_label("CSV-fil").set_input_files({"name": "hold.csv", "mimeType": "text/csv", "buffer": bad})
    page.get_by_role("button", name="Tjek filen").click()

    table = page.locator("#rækker").inner_text()
    assert "I orden" in table and "capacity" in table and "heltal" in table
    assert page.get_by_role("button", name=re.compile("^Importér")).count() == 0
    with system.catalogue_app.app_context():
        assert catalogue_db.session.scalar(select(Offering.id).where(Offering.reference == "CSV-1")) is None

    fixed = "\n".join([header, row(80, "CSV-1"), row(90, "CSV-2")]).encode()
    page.get_by_label("CSV-fil").set_input_files({"name": "hold.csv", "mimeType": "text/csv", "buffer": fixed})
    page.get_by_role("button", name="Tjek filen").click()
    assert "Alle rækker kan importeres" in page.locator("main").inner_text()
    page.get_by_role("button", name="Importér 2 udbud").click()

    assert "2 udbud er importeret" in page.get_by_role("heading", level=1).inner_text()
    with system.catalogue_app.app_context():
        references = catalogue_db.session.scalars(select(Offering.reference).where(
            Offering.reference.in_(["CSV-1", "CSV-2"])).order_by(Offering.reference)).all()
    assert references == ["CSV-1", "CSV-2"]


def test_the_day_editor_works_without_javascript(system, browser, mail_server):
    catalogue_url, _ = system
    context = browser.new_context(locale="da-DK", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in_by_link(page, catalogue_url, "admin@mercantec.example", mail_server)
        page.goto(f"{catalogue_url}/skole/udbud/ny")
        page.locator("#day-0-date").fill(in_days(system, 70))
        page.locator("#day-0-start").fill("09:00")
        page.locator("#day-0-end").fill("15:00")
        page.get_by_label("Antal pladser").fill("12")
        page.get_by_role("button", name="Tilføj dag").click()  # a round trip: the form comes back with the new day
        page.get_by_role("button", name="Tilføj dag").click()
        assert page.locator("#day-2-date").input_value() == in_days(system, 72)
        page.get_by_role("button", name="Fjern dag 1").click()

        assert [page.locator(f"#day-{row}-date").input_value() for row in range(2)] == [
            in_days(system, 71), in_days(system, 72)]
        assert page.get_by_label("Antal pladser").input_value() == "12"  # what was typed is kept
    finally:
        context.close()
