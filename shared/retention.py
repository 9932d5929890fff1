"""How long each purpose keeps its data, read from the config (shared.config), and the legal floors.

Every period is an environment variable (`RETENTION_*`, listed in the README with why its default
is what it is) and is checked when either service starts (`check_retention`, called by
shared.config.configure): a period below its legal floor stops the service with a message that
names the variable and the rule, rather than a purge that would later delete what the law says to
keep. The purge jobs (enrolment.purge, catalogue.purge) and the privacy notice
(shared.privacy_notice) read the same `Retention`, so what the notice says is what the job does;
docs/record-of-processing.md states the same defaults, and a test holds it to them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from flask import current_app, has_app_context
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session as DbSession

from shared import audit
from shared.clock import COPENHAGEN, now
from shared.db import utcnow
from shared.jobs import read_counters
from shared.transaction import commit, rollback

log = logging.getLogger("glu.retention")

# The defaults, and why (the README's table says the same):
DEFAULTS = {
    # Personal data of enrolments, counted from the course's last day: long enough for questions about
    # the course, a late certificate, HR's follow-up and a complaint about a place, short enough that a
    # leader's name is not kept for a course long past. Six months covers a school's reporting round.
    "RETENTION_ENROLMENT_MONTHS": 6,
    # Completion records, counted from the course's last day: the organisation decides (its column on
    # Organisation); this is the default for an organisation that has not. A GLU path (6 modules) often
    # takes a leader several years, and the completions are what the next module builds on.
    "RETENTION_COMPLETION_YEARS": 10,
    # Bookkeeping: the trail of what an organisation bought under which EAN number and order reference
    # (the audit entries of enrolments and of the organisation's invoice details) is accounting material,
    # which bogføringsloven § 10 says to keep for five years. The legal floor as well as the default.
    "RETENTION_INVOICE_YEARS": 5,
    # Sign-in links (valid 15 minutes, invitations 7 days) and ended or expired sessions, counted from
    # their end: a week is enough to look into a reported misuse; after that they only say who signed in.
    "RETENTION_SIGN_IN_DAYS": 7,
    # The body of a mail the outbox has delivered: a month to answer "what did the mail say?" while the
    # recipient still remembers it; the row (to whom, subject, when) stays, so delivery can be shown.
    "RETENTION_MAIL_BODY_WEEKS": 4,
    # Delivered machine messages (the catalogue's webhooks, the enrolment service's seat counts to it):
    # a month of them explains any disagreement between the services; older ones explain nothing.
    "RETENTION_DELIVERY_DAYS": 30,
    # Audit entries: who did what is the evidence of a change (and of an erasure) for as long as a
    # complaint or a claim about it can come; five years, like the bookkeeping period.
    "RETENTION_AUDIT_YEARS": 5,
}

# Floors: below these the service refuses to start.
INVOICE_MINIMUM_YEARS = 5  # bogføringsloven § 10: accounting material is kept for five years
AUDIT_MINIMUM_YEARS = 1  # the database's own floor too (the audit_entry trigger refuses younger DELETEs)


class RetentionRefused(RuntimeError):
    """A retention setting the service will not run with; the message names the variable and why."""


@dataclass(frozen=True)
class Retention:
    enrolment_months: int
    completion_years: int
    invoice_years: int
    sign_in_days: int
    mail_body_weeks: int
    delivery_days: int
    audit_years: int

    @classmethod
    def from_config(cls, config: Mapping) -> Retention:
        return cls(**{field.name: int(config[_variable(field.name)]) for field in fields(cls)})

    @property
    def sign_in(self) -> timedelta:
        return timedelta(days=self.sign_in_days)

    @property
    def mail_body(self) -> timedelta:
        return timedelta(weeks=self.mail_body_weeks)

    @property
    def delivery(self) -> timedelta:
        return timedelta(days=self.delivery_days)

    def audit_cutoff(self, now: datetime) -> datetime:
        """Audit entries before this may go: older than the audit period, and of a financial year that ended
        more than the bookkeeping period ago, since they are the trail of what was bought under which EAN
        (bogføringsloven § 10 counts from the end of the financial year; the calendar year, Danish time,
        as for municipalities and the state)."""
        books_closed = datetime(now.astimezone(COPENHAGEN).year - self.invoice_years, 1, 1, tzinfo=COPENHAGEN)
        return min(instant_years_before(now, self.audit_years), books_closed)


def _variable(name: str) -> str:
    """enrolment_months -> RETENTION_ENROLMENT_MONTHS."""
    return f"RETENTION_{name.upper()}"


def read_retention(environ: Mapping[str, str]) -> dict[str, int]:
    """The RETENTION_* config values: the environment's, else the defaults; not a number is refused here."""
    values = {}
    for variable, default in DEFAULTS.items():
        raw = environ.get(variable)
        if raw is None or raw.strip() == "":
            values[variable] = default
            continue
        try:
            values[variable] = int(raw)
        except ValueError:
            raise RetentionRefused(f"{variable}={raw!r} is not a whole number.") from None
    return values


def check_retention(config: Mapping) -> Retention:
    """The config's retention, or RetentionRefused naming the variable and the rule it breaks."""
    retention = Retention.from_config(config)
    for field in fields(Retention):
        if getattr(retention, field.name) < 0:
            raise RetentionRefused(f"{_variable(field.name)} cannot be negative.")
    if retention.invoice_years < INVOICE_MINIMUM_YEARS:
        raise RetentionRefused(
            f"RETENTION_INVOICE_YEARS={retention.invoice_years} is below the legal minimum: the Danish bookkeeping "
            f"act (bogføringsloven § 10) requires accounting material to be kept for {INVOICE_MINIMUM_YEARS} years.")
    if retention.audit_years < AUDIT_MINIMUM_YEARS:
        raise RetentionRefused(
            f"RETENTION_AUDIT_YEARS={retention.audit_years} is below the minimum of {AUDIT_MINIMUM_YEARS} year: the "
            f"audit log is the evidence of every change (the database refuses to delete younger entries too).")
    return retention


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day where it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (following - timedelta(days=1)).day))


def years_before(day: date, years: int) -> date:
    return months_before(day, 12 * years)


def instant_years_before(instant: datetime, years: int) -> datetime:
    """`instant` moved back `years` calendar years (29 February becomes 28 February)."""
    earlier = years_before(instant.date(), years)
    return instant.replace(year=earlier.year, month=earlier.month, day=earlier.day)


# --- What both services purge alike: sign-in links and sessions, audit entries ---------------------------

def remove(db: DbSession, model: type, condition, *, dry_run: bool) -> int:
    """Delete `model`'s rows matching `condition` (or, with `dry_run`, only count them); how many."""
    count = db.scalar(select(func.count()).select_from(model).where(condition))
    if count and not dry_run:
        db.execute(delete(model).where(condition).execution_options(synchronize_session=False))
    return count


def purge_sign_in(db: DbSession, accounts, now: datetime, retention: Retention, *, dry_run: bool) -> int:
    """Sign-in links past their expiry, and sessions ended (or idle past IDLE_LIMIT), `sign_in_days` ago."""
    from shared.accounts.sign_in import IDLE_LIMIT

    cutoff = now - retention.sign_in
    links = remove(db, accounts.SignInLink, accounts.SignInLink.expires_at < cutoff, dry_run=dry_run)
    session = accounts.WebSession
    # A session nobody ended still ends IDLE_LIMIT after its last request (shared.accounts.sign_in).
    sessions = remove(db, session, or_(session.ended_at < cutoff,
                                       and_(session.ended_at.is_(None), session.last_seen_at < cutoff - IDLE_LIMIT)),
                      dry_run=dry_run)
    return links + sessions


def purge_audit(db: DbSession, audit_model: type, now: datetime, retention: Retention, *, dry_run: bool) -> int:
    """Audit entries past the audit period and the bookkeeping period (Retention.audit_cutoff)."""
    cutoff = retention.audit_cutoff(now)
    # Never past the database's own floor (migrations: audit DELETEs of entries younger than a year are
    # refused), measured from the real time and a day short, so a clock that is ahead (a test's, or a
    # skewed server's) leaves young entries be instead of failing the whole purge on the trigger.
    floor = instant_years_before(utcnow(), AUDIT_MINIMUM_YEARS) - timedelta(days=1)
    return remove(db, audit_model, audit_model.at < min(cutoff, floor), dry_run=dry_run)


def run_purge(session: DbSession, service: str, purge, *, dry_run: bool = False) -> dict[str, int]:
    """A service's purge (enrolment.purge.purge, catalogue.purge.purge) at the clock's now, so tests move
    it, in one transaction of its own (rolled back for a dry run) with one audit entry of the counts; its
    counts logged and counted."""
    counts = purge(session, now=now(), settings=Retention.from_config(current_app.config), dry_run=dry_run)
    if dry_run:
        rollback(session)
    else:
        audit.record(session, "retention.purged", "retention", "purge", tenant_id=None, actor=audit.SYSTEM,
                     changes={purpose: [None, count] for purpose, count in counts.items()})
        commit(session)
    report_purge(service, counts, dry_run=dry_run)
    return counts


def report_purge(service: str, counts: dict[str, int], *, dry_run: bool) -> None:
    """The run's counts, and nothing else, in the log; counted for /metrics unless it was a dry run."""
    log.info("Purge%s (%s): %s", " (dry run)" if dry_run else "", service,
             ", ".join(f"{purpose}={count}" for purpose, count in counts.items()))
    if dry_run or not has_app_context():
        return
    storage = current_app.extensions["jobs"].huey.storage
    for purpose, count in counts.items():
        if count:
            try:
                storage.incr(f"{_PURGED_PREFIX}{purpose}", count)
            except Exception:
                log.exception("Could not count the purge of %s for /metrics", purpose)


# glu_purged_total{service, purpose} is kept in the job queue's counter table, like glu_jobs_total
# (shared.jobs): the purge runs in a job consumer or in a CLI process, and /metrics is answered by
# gunicorn's workers, so a counter in process memory would never reach a scrape.
_PURGED_PREFIX = "glu.purged_total:"


class _PurgedCollector:
    def __init__(self, jobs, service: str, purposes: tuple[str, ...]):
        self.jobs, self.service, self.purposes = jobs, service, purposes

    def describe(self):
        return []

    def collect(self):
        keys = [f"{_PURGED_PREFIX}{purpose}" for purpose in self.purposes]
        try:
            values = dict(read_counters(self.jobs.huey.storage, keys))
        except Exception:
            log.warning("The purge counters could not be read for /metrics", exc_info=True)
            return
        family = CounterMetricFamily("glu_purged", "Rows removed (or personal data erased) by the retention "
                                     "purge, by purpose.", labels=["service", "purpose"])
        for purpose, key in zip(self.purposes, keys, strict=True):
            family.add_metric([self.service, purpose], int(values.get(key) or 0))
        yield family


def install_purge_metrics(app, jobs, service: str, purposes: tuple[str, ...]) -> None:
    """Append glu_purged_total to /metrics (as shared.jobs appends its own: see _add_to_metrics_view there)."""
    view = app.view_functions.get("metrics")
    if view is None:
        return
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_PurgedCollector(jobs, service, purposes))

    @functools.wraps(view)
    def metrics_with_purges(*args, **kwargs):
        response = app.make_response(view(*args, **kwargs))
        if response.status_code == 200:
            response.set_data(response.get_data() + generate_latest(registry))
        return response

    app.view_functions["metrics"] = metrics_with_purges
