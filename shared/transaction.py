"""One commit per request, and what the transaction asked for handed on after it (Indico's RH.process).

Views do not commit. A request's transaction ends in `end_transaction`, the last thing before
the response leaves: a response below 400 commits — together with the Idempotency-Key's record
of that very response (shared.idempotency), so a worker that dies at any point leaves both or
neither — and anything else rolls back. Only after the commit are the jobs the transaction asked
for (`after_commit`) handed to the job engine (shared.jobs): the outbox's delivery, the catalogue's
webhooks. The outbox rows themselves were written in the transaction; a job lost between the
commit and its enqueueing (a worker killed there) is picked up by the engine's periodic sweep.

Commands and jobs that change data end their transactions with `commit` too.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from shared import idempotency
from shared.errors import handle_integrity_error, handle_unexpected_error

log = logging.getLogger(__name__)
_JOBS = "glu.jobs_after_commit"
_KEPT = "glu.kept_if_refused"


def after_commit(session: Session, job: str, **kwargs) -> None:
    """Enqueue the job named `job` with these arguments once this transaction has committed.

    Asked twice for the same job with the same arguments, it is enqueued once.
    """
    wanted = session.info.setdefault(_JOBS, [])
    if (job, kwargs) not in wanted:
        wanted.append((job, kwargs))


def keep_if_refused(session: Session, instance) -> None:
    """Write `instance` even if this request ends in a refusal, which rolls back everything else.

    For the records of refusals themselves (an audit entry of a refused sign-in): they are added
    after the rollback and committed on their own.
    """
    session.info.setdefault(_KEPT, []).append(instance)


def commit(session: Session) -> None:
    """Commit, then hand the jobs the transaction asked for to the job engine."""
    session.commit()
    wanted = session.info.pop(_JOBS, [])
    engine = current_app.extensions.get("jobs")
    for job, kwargs in wanted:
        try:
            engine.enqueue(job, **kwargs)
        except Exception:  # committed work stays committed; the engine's periodic sweep delivers it
            log.exception("Could not enqueue job %s after a commit", job)


def rollback(session: Session) -> None:
    session.rollback()
    session.info.pop(_JOBS, None)


def _keep_refusal_records(session: Session) -> None:
    kept = session.info.pop(_KEPT, [])
    if kept:
        session.add_all(kept)
        commit(session)


def install_commit_point(app: Flask, db) -> None:
    """End every request's transaction in one place: commit below 400, otherwise roll back."""

    def end_transaction(response: Response) -> Response:
        claim = idempotency.claim_of_request()
        session = db.session
        try:
            if response.status_code < 400:
                session.info.pop(_KEPT, None)  # added already, with everything else
                if claim is not None:
                    idempotency.store(session, claim, response)
                commit(session)
                return response
            kept = session.info.get(_KEPT)
            rollback(session)
            if kept:
                session.info[_KEPT] = kept
                _keep_refusal_records(session)
            if claim is not None and response.status_code < 500:
                # A refusal changed nothing, and a retry would be refused alike: keep it to replay.
                idempotency.store(session, claim, response)
                commit(session)
            return response
        except IntegrityError as error:
            rollback(session)
            return handle_integrity_error(error)
        except SQLAlchemyError as error:
            rollback(session)
            return handle_unexpected_error(error)

    app.after_request(end_transaction)
    app.teardown_request(lambda error: g.pop(idempotency.G_KEY, None))
