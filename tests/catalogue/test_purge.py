"""The catalogue's retention purge: delivered webhooks, sign-in links and sessions, audit entries.

Each at its edge: one second before the period nothing goes, just past it exactly the due rows.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from catalogue import jobs
from catalogue.models import ACCOUNTS, AuditEntry, WebhookDelivery, db
from catalogue.purge import purge
from shared.clock import COPENHAGEN
from shared.db import utcnow
from shared.retention import Retention, instant_years_before
from tests.accounts import Clock


def run(app, at: datetime, *, dry_run: bool = False) -> dict[str, int]:
    with app.app_context():
        counts = purge(db.session, now=at, settings=Retention.from_config(app.config), dry_run=dry_run)
        db.session.commit()
        return counts


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_webhook_deliveries_go_the_delivery_days_after_delivery_or_giving_up(app, school, make_offering):
    offering = make_offering(school)
    start = utcnow()
    with app.app_context():
        db.session.query(WebhookDelivery).delete()
        for delivered_at, next_attempt_at in ((start, None), (None, None), (None, start + timedelta(days=90))):
            db.session.add(WebhookDelivery(offering_id=offering["id"], change_seq=1, payload={}, created_at=start,
                                           attempts=1, delivered_at=delivered_at, next_attempt_at=next_attempt_at))
        db.session.commit()
    edge = start + timedelta(days=30)

    assert run(app, edge)["delivery"] == 0
    assert run(app, edge + timedelta(seconds=1), dry_run=True)["delivery"] == 2
    assert count(app, WebhookDelivery) == 3
    assert run(app, edge + timedelta(seconds=1))["delivery"] == 2
    assert count(app, WebhookDelivery) == 1  # the one still to be tried stays


def test_sign_in_links_and_ended_sessions_go_after_the_sign_in_days(app):
    start = utcnow()
    with app.app_context():
        person = ACCOUNTS.Person(name="Sofie Skov", email="sofie@skole.example", email_key="sofie@skole.example")
        db.session.add(person)
        db.session.flush()
        db.session.add_all([
            ACCOUNTS.SignInLink(token_hash="a" * 64, purpose="invitation", person_id=person.id, created_at=start,
                                expires_at=start + timedelta(days=7)),
            ACCOUNTS.WebSession(token_hash="b" * 64, person_id=person.id, created_at=start, last_seen_at=start,
                                ended_at=start + timedelta(days=7)),
            ACCOUNTS.WebSession(token_hash="c" * 64, person_id=person.id, created_at=start, last_seen_at=start),
        ])
        db.session.commit()
    edge = start + timedelta(days=14)

    assert run(app, edge)["sign_in"] == 1  # the session nobody ended: idle since start, over 8 hours ago
    assert run(app, edge + timedelta(seconds=1))["sign_in"] == 2
    assert count(app, ACCOUNTS.WebSession) == 0 and count(app, ACCOUNTS.SignInLink) == 0


def add_audit_entry(app, at: datetime) -> int:
    with app.app_context():
        entry = AuditEntry(at=at, actor_type="system", actor_name="GLU-kurser", action="offering.changed",
                           object_type="offering", object_id="1", tenant_id=None, changes={})
        db.session.add(entry)
        db.session.commit()
        return entry.id


def test_audit_entries_go_after_the_audit_years(app):
    """Five years, and not before five years have passed since the end of the entry's financial year."""
    now = utcnow()
    year = now.astimezone(COPENHAGEN).year
    old = add_audit_entry(app, datetime(year - 5, 1, 1, tzinfo=COPENHAGEN) - timedelta(seconds=1))
    kept = add_audit_entry(app, datetime(year - 5, 1, 1, tzinfo=COPENHAGEN))
    assert run(app, now, dry_run=True)["audit"] == 1
    assert run(app, now)["audit"] == 1
    with app.app_context():
        assert db.session.get(AuditEntry, old) is None and db.session.get(AuditEntry, kept) is not None


def test_a_clock_ahead_of_the_database_leaves_young_audit_entries_alone(app):
    young = add_audit_entry(app, utcnow() - timedelta(days=30))
    assert run(app, utcnow() + timedelta(days=365 * 10))["audit"] == 0
    with app.app_context():
        assert db.session.get(AuditEntry, young) is not None


@pytest.mark.postgres_only
@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="the trigger is PostgreSQL's")
def test_the_database_refuses_to_delete_a_young_audit_entry_or_change_any(app):
    now = utcnow()
    young = add_audit_entry(app, now - timedelta(days=364))
    old = add_audit_entry(app, now - timedelta(days=367))
    with app.app_context():
        with pytest.raises(DBAPIError, match="cannot be deleted"):
            db.session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": young})
        db.session.rollback()
        with pytest.raises(DBAPIError, match="cannot be changed"):
            db.session.execute(text("UPDATE audit_entry SET actor_name = 'x' WHERE id = :id"), {"id": old})
        db.session.rollback()
        db.session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": old})
        db.session.commit()
        assert db.session.get(AuditEntry, old) is None and db.session.get(AuditEntry, young) is not None


def test_the_job_and_the_command_purge_log_and_count_for_metrics(app, client, auth, caplog):
    clock = Clock()
    app.config["CLOCK"] = clock
    add_audit_entry(app, instant_years_before(clock.at, 6))
    dry = app.test_cli_runner().invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0 and "audit 1" in dry.output
    with app.app_context():
        assert jobs.purge_due()["audit"] == 1
    assert "audit=1" in caplog.text
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'glu_purged_total{purpose="audit",service="catalogue"} 1.0' in metrics
    entries = client.get("/audit", headers=auth("admin"), query_string={"action": "retention.purged"}).get_json()
    assert entries["items"][0]["changes"]["audit"] == [None, 1]
    assert "purge" in app.extensions["jobs"]._wrappers
