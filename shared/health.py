"""Liveness (`/healthz`) and readiness (`/readyz`) for both services.

`/healthz` says the process answers. `/readyz` runs the checks the service's `create_app` gave
(`set_checks`, through shared.observability): each a name and a callable that raises, or returns
False, when what it checks cannot be used. They run side by side, each given `CHECK_TIMEOUT_SECONDS`;
a check still running from an earlier call (a database that does not answer at all) is not
started again but reported as "timeout", so a hanging dependency never piles up threads.

- every check ok: 200 `{"status": "ok", "checks": {...}}`;
- only optional checks (`required=False`) failing: 200 `{"status": "degraded", "checks": {...}}` —
  the service still does part of its work;
- a required check failing: 503 problem+json with the same `checks`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask import Flask, Response, copy_current_request_context, current_app, has_request_context, json
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from shared.errors import PROBLEM_CONTENT_TYPE

blp = Blueprint("health", __name__, description="Liveness and readiness.")
log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0
OK, UNREACHABLE, TIMEOUT = "ok", "unreachable", "timeout"
_READINESS_KEY = "glu.readiness"


@dataclass(frozen=True)
class Check:
    """One thing the service needs: `probe` raises (or returns False) when it cannot be used.

    A failing required check makes the service unready (503); a failing optional one only degraded.
    """

    name: str
    probe: Callable[[], object]
    required: bool = True


@dataclass
class _Readiness:
    checks: list[Check]
    timeout: float
    running: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def set_checks(app: Flask, checks: Iterable[Check], timeout: float = CHECK_TIMEOUT_SECONDS) -> None:
    app.extensions[_READINESS_KEY] = _Readiness(list(checks), timeout)


def database_probe(db) -> Callable[[], None]:
    """A probe running `SELECT 1` on a Flask-SQLAlchemy database.

    It uses a raw pooled connection, so no ORM transaction begins (on SQLite that would take the write lock).
    """

    def probe() -> None:
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            cursor.close()
        finally:
            connection.close()

    return probe


def run_checks(app: Flask) -> dict[str, str]:
    """Each check's result, "ok", "unreachable" or "timeout", in the order given."""
    readiness: _Readiness | None = app.extensions.get(_READINESS_KEY)
    if readiness is None:
        return {}
    results: dict[str, str] = {}
    threads: list[tuple[Check, threading.Thread]] = []
    for check in readiness.checks:
        with readiness.lock:
            if check.name in readiness.running:
                results[check.name] = TIMEOUT
                continue
            readiness.running.add(check.name)
        thread = threading.Thread(target=_in_context(app, _probe(readiness, check, results)),
                                  name=f"readyz-{check.name}", daemon=True)
        thread.start()
        threads.append((check, thread))
    for check, thread in threads:
        thread.join(readiness.timeout)
        if thread.is_alive():
            log.warning("Readiness check %s did not answer within %.1f s", check.name, readiness.timeout)
            results[check.name] = TIMEOUT
    return {check.name: results.get(check.name, TIMEOUT) for check in readiness.checks}


def _probe(readiness: _Readiness, check: Check, results: dict[str, str]) -> Callable[[], None]:
    def run() -> None:
        try:
            outcome = check.probe()
            results[check.name] = UNREACHABLE if outcome is False else OK
            if outcome is False:
                log.warning("Readiness check %s failed", check.name)
        except Exception as error:
            results[check.name] = UNREACHABLE
            log.warning("Readiness check %s failed: %s", check.name, type(error).__name__)
        finally:
            with readiness.lock:
                readiness.running.discard(check.name)

    return run


def _in_context(app: Flask, function: Callable[[], None]) -> Callable[[], None]:
    """Run in a copy of the current request's context (its request id goes with it), or in an app context."""
    if has_request_context():
        return copy_current_request_context(function)

    def run() -> None:
        with app.app_context():
            function()

    return run


class ReadinessSchema(Schema):
    status = fields.String(metadata={"description": "ok, or degraded when only an optional check fails"})
    checks = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": "each check: ok, unreachable or timeout"})


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200)
    def get(self):
        """The process is alive"""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200, ReadinessSchema)
    @blp.alt_response(503, description="A required check failed (problem+json with `checks`).")
    def get(self):
        """Ready to serve: the database answers, and (enrolment) whether the catalogue does"""
        app = current_app._get_current_object()
        readiness: _Readiness | None = app.extensions.get(_READINESS_KEY)
        checks = run_checks(app)
        required = {check.name for check in readiness.checks if check.required} if readiness else set()
        failed = [name for name, result in checks.items() if result != OK]
        headers = {"Cache-Control": "no-store"}
        if any(name in required for name in failed):
            body = {"type": "about:blank", "title": "Tjenesten er midlertidigt utilgængelig", "status": 503,
                    "detail": "Tjenesten er ikke klar: " + ", ".join(n for n in failed if n in required) + ".",
                    "checks": checks}
            return Response(json.dumps(body), status=503, content_type=PROBLEM_CONTENT_TYPE,
                            headers={**headers, "Retry-After": "10"})
        return {"status": "degraded" if failed else "ok", "checks": checks}, 200, headers
