"""`Idempotency-Key` on every POST: a retry with the same key replays the first answer instead of running again.

A client that sends `Idempotency-Key: <key>` with a POST gets, for 24 hours and per bearer token
(the scope is a hash of the Authorization header, or "anonymous"):

- the stored first response (status, body, Content-Type, Location, Link, Retry-After), marked with
  `Idempotent-Replayed: true`, when it repeats the request with the same key and the same body;
- 422 when it uses the key for another request (another method, path, query string or body).

A repeat that arrives while the first request with its key is still running waits for it and
then gets its answer.

Why this is safe, even when a worker is killed at any moment:

- The key is locked before anything else in the request's transaction: a transaction-scoped
  advisory lock on PostgreSQL (`pg_advisory_xact_lock` on a hash of scope and key), the database's
  write lock on SQLite (every transaction takes it, shared.db). Both are released when the
  transaction ends — and when the connection dies with its worker. A second request with the key
  waits there, then reads what the first one left.
- The record of the response is written in the same transaction as the change it describes, by
  the request's commit point (shared.transaction), so a crash leaves both or neither: a retry either
  replays the answer of work that was committed, or runs afresh after work that was rolled back.
- Responses of 500 and above are not kept, so a retry runs again; everything below 500, 4xx
  included, is kept and replayed. Records are kept 24 hours (`RETENTION`); an older one no longer
  counts, and `purge_expired` (a daily job) removes them in bulk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, Response, g, request
from sqlalchemy import JSON, LargeBinary, String, UniqueConstraint, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.db import UTCDateTime, insert_unless_present, utcnow
from shared.errors import DomainError, FieldError, ValidationFailed

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)
# The response headers worth replaying; the rest (Date, Content-Length, …) are made afresh.
STORED_HEADERS = ("Content-Type", "Location", "Link", "Retry-After")
DONE = "done"
ANONYMOUS_SCOPE = "anonymous"
G_KEY = "glu_idempotency_claim"


def idempotency_record_model(db) -> type:
    """Define the `IdempotencyRecord` model on a Flask-SQLAlchemy `db`; call once per `db`."""

    class IdempotencyRecord(db.Model):
        """One Idempotency-Key of one caller and the response to replay."""

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


def purge_expired(session: Session, record_model: type, now: datetime | None = None) -> int:
    """Delete the records older than 24 hours (the caller commits); returns how many went."""
    cutoff = (now or utcnow()) - RETENTION
    result = session.execute(delete(record_model).where(record_model.created_at < cutoff)
                             .execution_options(synchronize_session=False))
    return result.rowcount


@dataclass(frozen=True)
class Claim:
    """The key this request holds the lock of, and what its record must say."""

    model: type
    scope: str
    key: str
    fingerprint: str


def install_idempotency(app: Flask, db, record_model: type, authenticate: Callable[[], object] | None = None) -> None:
    """Honour `Idempotency-Key` on every POST of `app`; the commit point (shared.transaction) keeps the answer.

    `authenticate` (the services pass shared.auth.current_actor) runs before a stored answer is
    looked up, so a caller whose token has expired or whose key was revoked since gets its 401,
    not the answer it was given while it was valid.
    """

    def claim_before_request() -> Response | None:
        if request.method != "POST" or HEADER not in request.headers or request.routing_exception is not None:
            return None
        key = request.headers[HEADER]
        _check_key(key)
        if authenticate is not None and request.headers.get("Authorization"):
            authenticate()
        claim = Claim(record_model, _scope(request.headers.get("Authorization")), key, _fingerprint())
        replay = _lock_and_look_up(db.session, claim)
        if replay is not None:
            return replay
        setattr(g, G_KEY, claim)
        return None

    app.before_request(claim_before_request)


def claim_of_request() -> Claim | None:
    """The key the current request holds, if it sent one and runs for the first time (taken: store once)."""
    return g.pop(G_KEY, None)


def store(session: Session, claim: Claim, response: Response) -> None:
    """Keep the response for the key, in the session's transaction: committed with the work, or not at all."""
    if response.direct_passthrough:
        return  # a stream cannot be read without consuming it: nothing to replay, so a retry runs again
    headers = {name: response.headers[name] for name in STORED_HEADERS if name in response.headers}
    insert_unless_present(session, claim.model, {
        "scope": claim.scope, "key": claim.key, "fingerprint": claim.fingerprint, "state": DONE,
        "response_status": response.status_code, "response_body": response.get_data(),
        "response_headers": headers, "created_at": utcnow(),
    }, ["scope", "key"])


def _lock_and_look_up(session: Session, claim: Claim) -> Response | None:
    """Lock the key for this transaction, then: the stored answer to replay, a 422, or None to run the view."""
    model = claim.model
    if session.get_bind().dialect.name == "postgresql":
        # Released when the transaction ends or the connection dies: never held by a dead worker.
        session.execute(select(func.pg_advisory_xact_lock(_lock_id(claim))))
    existing = session.scalars(select(model).where(model.scope == claim.scope, model.key == claim.key)).one_or_none()
    if existing is not None and utcnow() - existing.created_at >= RETENTION:
        session.delete(existing)
        session.flush()
        existing = None
    if existing is None:
        return None
    if existing.fingerprint != claim.fingerprint:
        session.rollback()
        message = "Idempotency-Key er allerede brugt til en anden forespørgsel."
        raise ValidationFailed(message, [FieldError("", message, parameter=HEADER)])
    replay = _replay(existing)
    session.rollback()
    return replay


def _lock_id(claim: Claim) -> int:
    """A signed 64-bit number for the advisory lock, from the scope and key."""
    digest = hashlib.sha256(f"{claim.scope}\n{claim.key}".encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


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


def _replay(record) -> Response:
    response = Response(record.response_body or b"", status=record.response_status,
                        headers=dict(record.response_headers or {}))
    response.headers[REPLAYED_HEADER] = "true"
    return response
