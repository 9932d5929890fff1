"""The enrolment service's background work, run by the job engine (shared.jobs).

- `deliver-outbox`: mails and the catalogue's seat counts (enrolment.outbox), enqueued after every
  commit that wrote to the outbox, and run every minute as a sweep for anything left due;
- `sync-changes`: read the catalogue's change feed every minute, in case a webhook was lost;
- `sync-seats`: every hour, read every known offering from the catalogue again (the safety net of
  the safety net: an offering whose change never reached the feed);
- `purge-idempotency`: every night, forget Idempotency-Keys older than a day;
- `purge`: every night, remove what each purpose keeps past its retention (enrolment.purge);
- `release-reservations`: every hour, give back the unnamed reserved seats of offerings whose
  enrolment deadline has passed, and move their waiting lists up (enrolment.reservations);
- `match-interests`: offer free seats to the modules' interest lists (enrolment.interests), enqueued
  after every commit that left seats free with nobody waiting or registered an interest; run every
  night too, to end the interests past their date.
"""

from __future__ import annotations

from flask import Flask, current_app

from enrolment import change_feed, interests, outbox, purge, reservations
from enrolment.changes import refresh_all
from enrolment.models import IdempotencyRecord, db
from shared.clock import copenhagen_today, now
from shared.idempotency import purge_expired
from shared.jobs import Jobs
from shared.mail import SmtpSettings, register_mail_job
from shared.retention import install_purge_metrics, run_purge
from shared.transaction import commit

PURGE_JOB = "purge"


def register_jobs(app: Flask, jobs: Jobs) -> None:
    jobs.task(outbox.DELIVER_JOB, deliver_outbox, coalesce=True)
    jobs.periodic(f"{outbox.DELIVER_JOB}-sweep", deliver_outbox, minute="*")
    jobs.periodic("sync-changes", sync_changes, minute="*")
    jobs.periodic("sync-seats", sync_seats, minute="17")
    jobs.periodic("purge-idempotency", purge_idempotency, hour="3", minute="30")
    jobs.periodic(PURGE_JOB, purge_due, hour="4", minute="10")
    install_purge_metrics(app, jobs, "enrolment", purge.PURPOSES)
    register_mail_job(jobs)
    jobs.task(interests.MATCH_JOB, match_interests, coalesce=True)
    jobs.periodic(f"{interests.MATCH_JOB}-nightly", match_interests, hour="2", minute="15")
    jobs.periodic(reservations.RELEASE_JOB, release_reservations, minute="7")


def deliver_outbox() -> outbox.Delivery:
    return outbox.deliver_due(db.session, current_app.extensions["catalogue_client"],
                              SmtpSettings.from_config(current_app.config))


def sync_changes() -> change_feed.CatchUp:
    return change_feed.catch_up(db.session, current_app.extensions["catalogue_client"])


def sync_seats() -> tuple[int, int]:
    return refresh_all(db.session, current_app.extensions["catalogue_client"])


def purge_idempotency() -> int:
    purged = purge_expired(db.session, IdempotencyRecord)
    commit(db.session)
    return purged


def release_reservations() -> int:
    """The day is read through shared.clock, so tests move it with app.config["CLOCK"]."""
    return reservations.release_past_deadline(db.session, copenhagen_today(now()))


def match_interests() -> int:
    return interests.match_interests(db.session, copenhagen_today(now()))


def purge_due(dry_run: bool = False) -> dict[str, int]:
    return run_purge(db.session, "enrolment", purge.purge, dry_run=dry_run)
