"""`Idempotency-Key` on every POST: a retry with the same key replays the first answer instead of running again.

A client that sends `Idempotency-Key: <key>` with a POST gets, for 24 hours and per bearer token
(the scope is a hash of the Authorization header, or "anonymous"):

- the stored first response (status, body, Content-Type, Location, Link, Retry-After), marked with
  `Idempotent-Replayed: true`, when it repeats the request with the same key and the same body;
- 422 when it uses the key for another request (another method, path, query string or body);
- 409 while the first request with the key is still running.

Why this is safe:

- The unique constraint on (scope, key) decides which of two concurrent first attempts runs. Each
  commits a "running" record before the view starts; the database lets only one insert win. The
  other waits on the unique index until the winner's insert commits, fails, reads the "running"
  record and answers 409, so the view never runs twice at once for one key.
- Records are kept 24 hours (`RETENTION`). An older record no longer counts: it is deleted and the
  key can be used afresh. `purge_expired` removes old records in bulk.
- Responses of 500 and above are not kept: the record is deleted so that a retry runs again.
  Everything below 500, 4xx included, is kept and replayed.

The known gap: views commit their own work, and the response is stored in a second transaction
afterwards. A crash between the two leaves a "running" record without a response. After
`TAKEOVER_AFTER` (60 seconds) a retry takes that record over and runs the view again. That is
why the writes themselves must also refuse duplicates: the enrolment service keeps one active
enrolment per participant and offering (a unique constraint), so such a rerun cannot enrol
twice; it answers with the domain's own conflict instead.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, Response, g, request
from sqlalchemy import JSON, LargeBinary, String, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import UTCDateTime, utcnow
from shared.errors import Conflict, DomainError, FieldError, ValidationFailed

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)
# A "running" record this old belongs to an attempt that died (a crash, a killed worker).
TAKEOVER_AFTER = timedelta(seconds=60)
# The response headers worth replaying; the rest (Date, Content-Length, …) are made afresh.
STORED_HEADERS = ("Content-Type", "Location", "Link", "Retry-After")
RUNNING = "running"
DONE = "done"
ANONYMOUS_SCOPE = "anonymous"
# How often to retry the claim when a competing request changes the record under us.
_CLAIM_ATTEMPTS = 5
_G_KEY = "glu_idempotency_claim"

log = logging.getLogger(__name__)


def idempotency_record_model(db) -> type:
    """Define the `IdempotencyRecord` model on a Flask-SQLAlchemy `db`; call once per `db`."""

    class IdempotencyRecord(db.Model):
        """One Idempotency-Key of one caller and, once its request is done, the response to replay."""

        __tablename__ = "idempotency_record"
        __table_args__ = (UniqueConstraint("scope", "key"),)

        id: Mapped[int] = mapped_column(primary_key=True)
        # SHA-256 (hex) of the Authorization header, or "anonymous".
        scope: Mapped[str] = mapped_column(String(64))
        key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
        # SHA-256 (hex) of the method, path, query string and body of the first request.
        fingerprint: Mapped[str] = mapped_column(String(64))
        state: Mapped[str] = mapped_column(String(8))
        response_status: Mapped[int | None]
        response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
        response_headers: Mapped[dict | None] = mapped_column(JSON)
        created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    return IdempotencyRecord


def purge_expired(db, record_model: type, now: datetime | None = None) -> int:
    """Delete the records older than 24 hours and commit; returns how many went."""
    cutoff = (now or utcnow()) - RETENTION
    result = db.session.execute(
        delete(record_model).where(record_model.created_at < cutoff).execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


@dataclass(frozen=True)
class _Claim:
    """The record this request owns; `created_at` tells it apart from a later takeover of the same record."""

    record_id: int
    created_at: datetime


def install_idempotency(app: Flask, db, record_model: type) -> None:
    """Honour `Idempotency-Key` on every POST of `app`, keeping records in `record_model`."""

    def claim_before_request() -> Response | None:
        if request.method != "POST" or HEADER not in request.headers or request.routing_exception is not None:
            return None
        key = request.headers[HEADER]
        _check_key(key)
        scope = _scope(request.headers.get("Authorization"))
        fingerprint = _fingerprint()
        outcome = _claim(db, record_model, scope, key, fingerprint)
        if isinstance(outcome, Response):
            return outcome
        setattr(g, _G_KEY, outcome)
        return None

    def store_after_request(response: Response) -> Response:
        claim: _Claim | None = g.pop(_G_KEY, None)
        if claim is None:
            return response
        try:
            _finish(db, record_model, claim, response)
        except SQLAlchemyError:
            # The view's work is committed; the client should still get its answer. The record stays
            # "running" and a retry takes it over after TAKEOVER_AFTER.
            log.exception("Could not store the response for an Idempotency-Key")
            db.session.rollback()
        return response

    def forget_claim(error: BaseException | None) -> None:
        # Normally store_after_request has taken it; this keeps a claim from outliving its request
        # when a test or command holds the app context (and so flask.g) across several requests.
        g.pop(_G_KEY, None)

    app.before_request(claim_before_request)
    app.after_request(store_after_request)
    app.teardown_request(forget_claim)


def _check_key(key: str) -> None:
    if not key:
        message = "Idempotency-Key må ikke være tom."
    elif len(key) > MAX_KEY_LENGTH:
        message = f"Idempotency-Key må højst være {MAX_KEY_LENGTH} tegn lang."
    elif not all(" " <= character <= "~" for character in key):
        message = "Idempotency-Key må kun indeholde synlige ASCII-tegn."
    else:
        return
    raise DomainError(message, [FieldError("", message, parameter=HEADER)])


def _scope(authorization: str | None) -> str:
    if not authorization:
        return ANONYMOUS_SCOPE
    return hashlib.sha256(authorization.encode("utf-8", "surrogateescape")).hexdigest()


def _fingerprint() -> str:
    digest = hashlib.sha256()
    # Length-prefixed parts, so no two different requests run together into the same bytes.
    for part in (request.method.encode(), request.path.encode(), request.query_string, request.get_data()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _claim(db, model: type, scope: str, key: str, fingerprint: str) -> _Claim | Response:
    """Insert a "running" record for the key, or decide what its existing record means for this request."""
    session = db.session
    for _ in range(_CLAIM_ATTEMPTS):
        now = utcnow()
        record = model(scope=scope, key=key, fingerprint=fingerprint, state=RUNNING, created_at=now)
        session.add(record)
        try:
            session.flush()
            record_id = record.id
            session.commit()
        except IntegrityError:
            session.rollback()
        else:
            session.expunge(record)
            return _Claim(record_id, now)

        existing = session.execute(select(model).where(model.scope == scope, model.key == key)).scalar_one_or_none()
        if existing is None:
            # Deleted since our insert failed (a 5xx released it, or it was purged): claim again.
            session.rollback()
            continue
        same = (model.id == existing.id) & (model.created_at == existing.created_at)
        if now - existing.created_at >= RETENTION:
            session.execute(delete(model).where(same).execution_options(synchronize_session=False))
            session.commit()
            continue
        if existing.fingerprint != fingerprint:
            session.rollback()
            message = "Idempotency-Key er allerede brugt til en anden forespørgsel."
            raise ValidationFailed(message, [FieldError("", message, parameter=HEADER)])
        if existing.state == RUNNING:
            if now - existing.created_at < TAKEOVER_AFTER:
                session.rollback()
                raise Conflict("En forespørgsel med samme Idempotency-Key er stadig i gang. Prøv igen om lidt.")
            # The first attempt died without an answer: run the request again under this record.
            record_id = existing.id
            taken = session.execute(
                update(model).where(same, model.state == RUNNING).values(created_at=now)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:
                session.commit()
                return _Claim(record_id, now)
            session.rollback()
            continue
        replay = _replay(existing)
        session.rollback()
        return replay
    raise Conflict("Idempotency-Key bruges af en anden forespørgsel lige nu. Prøv igen om lidt.")


def _replay(record) -> Response:
    response = Response(record.response_body or b"", status=record.response_status,
                        headers=dict(record.response_headers or {}))
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _finish(db, model: type, claim: _Claim, response: Response) -> None:
    """Keep the response of a request that owns its record, or release the record after a server error."""
    session = db.session
    # Views commit their own work. This ends any transaction serialising the response opened (lazy
    # loads), so this connection can write; on SQLite a second connection would wait for its lock.
    session.rollback()
    ours = (model.id == claim.record_id) & (model.created_at == claim.created_at) & (model.state == RUNNING)
    if response.status_code >= 500 or response.direct_passthrough:
        # No answer worth replaying (or none we can read without consuming a stream): let a retry run.
        session.execute(delete(model).where(ours).execution_options(synchronize_session=False))
    else:
        headers = {name: response.headers[name] for name in STORED_HEADERS if name in response.headers}
        session.execute(
            update(model).where(ours).values(
                state=DONE, response_status=response.status_code, response_body=response.get_data(),
                response_headers=headers,
            ).execution_options(synchronize_session=False)
        )
    session.commit()
