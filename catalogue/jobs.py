"""The catalogue's background work, run by the job engine (shared.jobs).

- `deliver-webhooks`: tell the enrolment service of a school's change (catalogue.notifications),
  enqueued after every commit that wrote a delivery, and run every minute as the sweep that retries
  failed ones when their backoff is over;
- `purge-idempotency`: every night, forget Idempotency-Keys older than a day;
- `purge`: every night, remove what each purpose keeps past its retention (catalogue.purge);
- `decide-offerings`: every hour, go or no-go (catalogue.decisions): remind schools on an offering's
  decision date, and apply the school's policy once its grace is over. Hourly, so a reminder comes
  early on the day and a run that failed is retried soon; running it more often changes nothing.
"""

from __future__ import annotations

from flask import Flask, current_app

from catalogue import purge
from catalogue.decisions import DecisionReport, run_due_decisions
from catalogue.models import IdempotencyRecord, db
from catalogue.notifications import DELIVER_JOB, DeliveryReport
from shared.clock import copenhagen_today, now
from shared.idempotency import purge_expired
from shared.jobs import Jobs
from shared.mail import register_mail_job
from shared.retention import install_purge_metrics, run_purge
from shared.transaction import commit

DECIDE_JOB = "decide-offerings"
PURGE_JOB = "purge"


def register_jobs(app: Flask, jobs: Jobs) -> None:
    jobs.task(DELIVER_JOB, deliver_webhooks, coalesce=True)
    jobs.periodic(f"{DELIVER_JOB}-sweep", deliver_webhooks, minute="*")
    jobs.periodic("purge-idempotency", purge_idempotency, hour="3", minute="40")
    jobs.periodic(PURGE_JOB, purge_due, hour="4", minute="20")
    install_purge_metrics(app, jobs, "catalogue", purge.PURPOSES)
    jobs.periodic(DECIDE_JOB, decide_offerings, minute="7")
    register_mail_job(jobs)


def deliver_webhooks() -> DeliveryReport:
    return current_app.extensions["webhook_sender"].deliver_due(db.session)


def purge_idempotency() -> int:
    purged = purge_expired(db.session, IdempotencyRecord)
    commit(db.session)
    return purged


def decide_offerings() -> DecisionReport:
    """Read the day through shared.clock, so tests (and the browser tests' shared clock) can move it."""
    return run_due_decisions(db.session, copenhagen_today(now()),
                             webhook=current_app.extensions["webhook_sender"].enabled)


def purge_due(dry_run: bool = False) -> dict[str, int]:
    return run_purge(db.session, "catalogue", purge.purge, dry_run=dry_run)
