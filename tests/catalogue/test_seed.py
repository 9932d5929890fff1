from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from catalogue.models import Location, Module, Offering, Programme, Provider, Session
from catalogue.seed import DEMO_NOTE, seed_catalogue
from shared.geography import REGIONS
from shared.schemas import COPENHAGEN

TODAY = date(2026, 11, 22)

GLU_TITLES = {
    "GLU-1": "Introduktion til ledelse",
    "GLU-2": "Ledelse og udvikling",
    "GLU-3": "Situationsbestemt ledelse",
    "GLU-4": "Kommunikation og konflikthåndtering",
    "GLU-5": "Forandringsledelse",
}


@pytest.fixture
def seeded(db_session):
    report = seed_catalogue(db_session, TODAY)
    db_session.commit()
    return report


def row_counts(db_session) -> dict:
    return {model.__name__: db_session.scalar(select(func.count()).select_from(model))
            for model in (Programme, Module, Provider, Location, Offering, Session)}


def references(db_session) -> list[tuple[int, str]]:
    statement = select(Offering.provider_id, Offering.reference).order_by(Offering.provider_id, Offering.reference)
    return [tuple(row) for row in db_session.execute(statement)]


def demo_offerings(db_session) -> list[Offering]:
    return list(db_session.scalars(select(Offering)))


def test_seeding_twice_for_the_same_day_adds_nothing_the_second_time(db_session, seeded):
    counts, first_references = row_counts(db_session), references(db_session)

    report = seed_catalogue(db_session, TODAY)
    db_session.commit()

    assert seeded == "GLU: 6 moduler, 14 skoler, 150 demo-udbud (150 nye)"
    assert report == "GLU: 6 moduler, 14 skoler, 150 demo-udbud (0 nye)"
    assert row_counts(db_session) == counts
    assert references(db_session) == first_references
    assert len(set(first_references)) == len(first_references) == 150


def test_seed_loads_the_five_glu_modules_and_the_add_on_module(db_session, seeded):
    modules = db_session.scalars(select(Module).order_by(Module.position)).all()

    assert [module.code for module in modules] == [*GLU_TITLES, "GLU-T"]
    assert {module.code: module.title for module in modules if module.code != "GLU-T"} == GLU_TITLES
    assert all(module.programme.code == "GLU" and module.content and module.target_group for module in modules)


def test_only_glu4_speaks_of_conflict_and_only_the_add_on_of_economy(db_session, seeded):
    modules = db_session.scalars(select(Module)).all()

    assert [module.code for module in modules if " konflikt" in module.search_text] == ["GLU-4"]
    assert [module.code for module in modules if " økonomi" in module.search_text] == ["GLU-T"]


def test_demo_offerings_cover_every_region_and_every_module(db_session, seeded):
    offerings = demo_offerings(db_session)

    assert {offering.location.region_code for offering in offerings} == set(REGIONS)
    assert {offering.module.code for offering in offerings} == {*GLU_TITLES, "GLU-T"}
    assert {offering.provider_id for offering in offerings} == set(db_session.scalars(select(Provider.id)))


def test_every_seeded_offering_is_marked_as_demo_data(db_session, seeded):
    offerings = demo_offerings(db_session)

    assert all(offering.demo and offering.note == DEMO_NOTE for offering in offerings)
    assert all(offering.contact_email.endswith(".example") for offering in offerings)
    assert all(offering.reference.startswith("DEMO-") for offering in offerings)


def test_a_few_seeded_offerings_are_cancelled(db_session, seeded):
    statuses = [offering.status for offering in demo_offerings(db_session)]

    assert statuses.count("cancelled") == 5
    assert statuses.count("published") == 145


def test_sessions_fall_on_weekdays_in_the_coming_year(db_session, seeded):
    for offering in demo_offerings(db_session):
        days = [session.starts_at.astimezone(COPENHAGEN).date() for session in offering.sessions]
        assert TODAY + timedelta(days=14) <= days[0] <= TODAY + timedelta(days=365)
        assert all(day.weekday() < 5 for day in days)
        assert offering.enrolment_deadline == days[0] - timedelta(days=14)


def test_seed_command_loads_the_catalogue_that_search_serves(app):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["seed", "--today", "2026-11-22"])
    second = runner.invoke(args=["seed", "--today", "2026-11-22"])
    response = app.test_client().get("/offerings", query_string={"q": "konflikt", "per_page": 100})

    assert first.exit_code == 0, first.output
    assert "150 demo-udbud (150 nye)" in first.output
    assert "(0 nye)" in second.output
    assert response.get_json()["total"] > 0
    assert {item["module"] for item in response.get_json()["items"]} == {"GLU-4"}
    assert all(item["demo"] for item in response.get_json()["items"])
