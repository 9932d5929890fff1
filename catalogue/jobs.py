"""The catalogue's background work, run by the job engine (shared.jobs).

- `deliver-webhooks`: tell the enrolment service of a school's change (catalogue.notifications),
  enqueued after every commit that wrote a delivery, and run every minute as the sweep that retries
  failed ones when their backoff is over;
- `purge-idempotency`: every night, forget Idempotency-Keys older than a day.
"""

from __future__ import annotations

from flask import Flask, current_app

from catalogue.models import IdempotencyRecord, db
from catalogue.notifications import DELIVER_JOB, DeliveryReport
from shared.idempotency import purge_expired
from shared.jobs import Jobs
from shared.mail import register_mail_job
from shared.transaction import commit


def register_jobs(app: Flask, jobs: Jobs) -> None:
    jobs.task(DELIVER_JOB, deliver_webhooks, coalesce=True)
    jobs.periodic(f"{DELIVER_JOB}-sweep", deliver_webhooks, minute="*")
    jobs.periodic("purge-idempotency", purge_idempotency, hour="3", minute="40")
    register_mail_job(jobs)


def deliver_webhooks() -> DeliveryReport:
    return current_app.extensions["webhook_sender"].deliver_due(db.session)


def purge_idempotency() -> int:
    purged = purge_expired(db.session, IdempotencyRecord)
    commit(db.session)
    return purged
