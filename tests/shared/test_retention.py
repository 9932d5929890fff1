"""Retention settings: read from the environment with stated defaults, refused at start below the legal floors."""

from __future__ import annotations

import pytest

from catalogue import create_app as create_catalogue
from enrolment import create_app as create_enrolment
from shared.retention import DEFAULTS, Retention, RetentionRefused, check_retention, months_before, read_retention
from tests.conftest import TOKEN_SECRET

SERVICES = [create_catalogue, create_enrolment]


def config(tmp_path) -> dict:
    return {"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "GLU_TOKEN_SECRET": TOKEN_SECRET}


def test_the_defaults_hold_without_the_environment():
    assert Retention.from_config(read_retention({})) == Retention(
        enrolment_months=6, completion_years=10, invoice_years=5, sign_in_days=7, mail_body_weeks=4,
        delivery_days=30, audit_years=5)


@pytest.mark.parametrize("create_app", SERVICES)
def test_each_setting_is_read_from_its_environment_variable(create_app, tmp_path, monkeypatch):
    for number, variable in enumerate(DEFAULTS, start=10):
        monkeypatch.setenv(variable, str(number))
    app = create_app(config(tmp_path))
    assert {variable: app.config[variable] for variable in DEFAULTS} == {
        variable: number for number, variable in enumerate(DEFAULTS, start=10)}


@pytest.mark.parametrize("create_app", SERVICES)
def test_an_invoice_retention_below_five_years_is_refused_at_start(create_app, tmp_path, monkeypatch):
    monkeypatch.setenv("RETENTION_INVOICE_YEARS", "4")
    with pytest.raises(RetentionRefused, match=r"RETENTION_INVOICE_YEARS=4 .*bogføringsloven § 10"):
        create_app(config(tmp_path))


@pytest.mark.parametrize("create_app", SERVICES)
def test_an_audit_retention_below_a_year_is_refused_at_start(create_app, tmp_path):
    with pytest.raises(RetentionRefused, match="RETENTION_AUDIT_YEARS=0"):
        create_app({**config(tmp_path), "RETENTION_AUDIT_YEARS": 0})


def test_a_setting_that_is_not_a_number_or_negative_is_refused():
    with pytest.raises(RetentionRefused, match="RETENTION_SIGN_IN_DAYS='a week'"):
        read_retention({"RETENTION_SIGN_IN_DAYS": "a week"})
    with pytest.raises(RetentionRefused, match="RETENTION_MAIL_BODY_WEEKS cannot be negative"):
        check_retention({**DEFAULTS, "RETENTION_MAIL_BODY_WEEKS": -1})


def test_five_years_of_invoices_is_accepted():
    assert check_retention({**DEFAULTS, "RETENTION_INVOICE_YEARS": 5}).invoice_years == 5


def test_months_are_calendar_months():
    from datetime import date

    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert months_before(date(2026, 3, 15), -6) == date(2026, 9, 15)
    assert months_before(date(2026, 1, 31), 1) == date(2025, 12, 31)
