"""The catalogue's retention purge: what each purpose keeps past its period goes (shared.retention).

Run every night by the job engine (catalogue.jobs, `purge`) and by hand (`flask --app catalogue purge
[--dry-run]`). The catalogue holds no participants (its pages read participant lists from the
enrolment service and store none), so its purposes are:

- `delivery`: webhook deliveries to the enrolment service delivered (or given up) more than
  RETENTION_DELIVERY_DAYS ago;
- `sign_in`: the schools' people's sign-in links and ended sessions (shared.retention);
- `audit`: audit entries past the audit (or bookkeeping) period (shared.retention).

Idempotency records are forgotten after a day by `purge-idempotency` (shared.idempotency).
`purge` returns the count per purpose; with `dry_run` it removes nothing and returns the same counts.
The caller commits, with one audit entry of the counts (shared.retention.run_purge).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_
from sqlalchemy.orm import Session as DbSession

from catalogue.models import ACCOUNTS, AuditEntry, WebhookDelivery
from shared.retention import Retention, purge_audit, purge_sign_in, remove

PURPOSES = ("delivery", "sign_in", "audit")


def purge(db: DbSession, *, now: datetime, settings: Retention, dry_run: bool = False) -> dict[str, int]:
    counts = {
        "delivery": purge_deliveries(db, now, settings, dry_run=dry_run),
        "sign_in": purge_sign_in(db, ACCOUNTS, now, settings, dry_run=dry_run),
        "audit": purge_audit(db, AuditEntry, now, settings, dry_run=dry_run),
    }
    return counts


def purge_deliveries(db: DbSession, now: datetime, settings: Retention, *, dry_run: bool) -> int:
    cutoff = now - settings.delivery
    # Given up: no delivery and no next attempt (catalogue.notifications, MAX_ATTEMPTS).
    return remove(db, WebhookDelivery, or_(
        WebhookDelivery.delivered_at < cutoff,
        and_(WebhookDelivery.delivered_at.is_(None), WebhookDelivery.next_attempt_at.is_(None),
             WebhookDelivery.created_at < cutoff)), dry_run=dry_run)
