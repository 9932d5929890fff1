"""What an operator sees of a running service: request ids, JSON logs, Prometheus metrics, readiness.

`install_observability(app, service, readiness=[...])` is called once from each service's
`create_app`, before the database and the API are set up, and gives the app:

- **A request id** for every request (`request_id()`): the client's `X-Request-ID` if it is sane
  (1–64 characters of A–Z, a–z, 0–9, `-`, `_`, `.`), otherwise a new uuid4 hex. It is returned in
  the response's `X-Request-ID`, stamped on every log line written while the request runs, and sent
  on with the enrolment service's calls to the catalogue (`forwarded_headers()`), so one id
  follows a request across both services.
- **JSON logs**: one object per line on stderr — `time` (UTC), `level`, `logger`, `message` and,
  inside a request, `request_id`, `method` and `path` — plus one access line per request (logger
  `glu.http`, with `status` and `duration_ms`), except under gunicorn, whose JSON access log
  (gunicorn.conf.py) is that line there. No personal data: the path is logged without its
  query string and with every non-numeric URL variable as its name (`/feeds/participants/<token>.ics`,
  `/mine-kurser/<token>`), and every message and traceback is scrubbed of e-mail addresses, bearer
  tokens, JWTs, query strings of URLs, SQL parameters and PostgreSQL's `Key (…)=(…)` details. The
  database engine is also told to leave SQL parameters out of its error messages. Configured once
  per process, on the root logger, next to whatever handlers are there already (pytest's caplog).
- **Prometheus metrics** at `GET /metrics` (text exposition format): requests counted and timed by
  endpoint — the URL rule (`/enrolments/<int:enrolment_id>`), never the raw path; `unmatched` when
  no rule matched — method and status, and the enrolment service's outcomes and promotions
  (`count_enrolment`, `count_promotions`). When `PROMETHEUS_MULTIPROC_DIR` is set (gunicorn with
  several workers), prometheus_client keeps the values in files in that directory and `/metrics`
  adds up every worker's; otherwise the per-process registry is served.
- **Readiness** at `GET /readyz` (shared.health), with the checks the service passes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from flask import Flask, Response, current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from shared import health

# prometheus_client writes a worker's values into PROMETHEUS_MULTIPROC_DIR as soon as a metric is
# created; a missing directory would make this import fail, so make it first.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import (  # noqa: E402 (after the directory exists)
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_REQUEST_ID_KEY = "glu.request_id"
_STARTED_KEY = "glu.request_started"
_SERVICE_KEY = "glu.service"

access_log = logging.getLogger("glu.http")

# --- Request ids -------------------------------------------------------------------------------------


def request_id() -> str | None:
    """The current request's id (the client's sane X-Request-ID, or a new one); None outside a request."""
    if not has_request_context():
        return None
    environ = request.environ
    if _REQUEST_ID_KEY not in environ:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        environ[_REQUEST_ID_KEY] = given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    return environ[_REQUEST_ID_KEY]


def forwarded_headers() -> dict[str, str]:
    """Headers to send with a call to another service on behalf of the current request."""
    current = request_id()
    return {REQUEST_ID_HEADER: current} if current else {}


# --- Metrics -------------------------------------------------------------------------------------------

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
HTTP_REQUESTS = Counter(
    "glu_http_requests", "HTTP requests answered, by endpoint (URL rule), method and status.",
    ["service", "endpoint", "method", "status"])
HTTP_DURATION = Histogram(
    "glu_http_request_duration_seconds", "Time to answer an HTTP request, by endpoint (URL rule), method and status.",
    ["service", "endpoint", "method", "status"])

ENROLMENT_OUTCOMES = ("confirmed", "waitlisted", "pending_approval", "rejected", "duplicate", "refused")
ENROLMENTS = Counter(
    "glu_enrolments", "Enrolment decisions by outcome: confirmed, waitlisted, pending_approval, rejected "
    "(a request HR turned down), duplicate (already enrolled) and refused (the offering takes no enrolments).",
    ["outcome"])
PROMOTIONS = Counter("glu_waitlist_promotions", "Places confirmed from the waiting list.")
RESPONSE_CACHE = Counter(
    "glu_response_cache", "GET responses served from the per-worker response cache (hit) or rendered (miss).",
    ["result"])

_PENDING_KEY = "glu.pending_metrics"


def count_enrolment(outcome: str, session: Session | None = None) -> None:
    """Count an enrolment decision: given the database session, once it commits (a dry run or a
    rollback counts nothing); without one, at once (a refusal, whose transaction is rolled back)."""
    if outcome not in ENROLMENT_OUTCOMES:
        raise ValueError(f"unknown enrolment outcome {outcome!r}")
    _count(ENROLMENTS.labels(outcome=outcome), 1, session)


def count_promotions(number: int, session: Session) -> None:
    """Count places given to people from the waiting list, once `session` commits."""
    if number:
        _count(PROMOTIONS, number, session)


def _count(metric, amount: int, session: Session | None) -> None:
    if session is None:
        metric.inc(amount)
    else:
        session.info.setdefault(_PENDING_KEY, []).append((metric, amount))


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction may still roll back
    for metric, amount in session.info.pop(_PENDING_KEY, []):
        metric.inc(amount)


@event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


def metrics_registry() -> CollectorRegistry:
    """Every worker's values in multiprocess mode (PROMETHEUS_MULTIPROC_DIR), else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_view() -> Response:
    return Response(generate_latest(metrics_registry()), headers={"Content-Type": CONTENT_TYPE_LATEST})


def endpoint_label() -> str:
    """The URL rule the request matched (no ids or tokens), or "unmatched"."""
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


# --- Logging -------------------------------------------------------------------------------------------

_REDACTIONS = [
    # e-mail addresses
    (re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"), "<email>"),
    # bearer tokens and JWTs
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer <token>"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "<token>"),
    # the query string of a URL
    (re.compile(r"((?:https?|webcal)://[^\s'\"?#<>]*)\?[^\s'\"#<>]*"), r"\1?<query>"),
    # SQLAlchemy's "[parameters: (...)]" line in an error message
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: <hidden>]"),
    # PostgreSQL's "DETAIL:  Key (email_key)=(anne@…) already exists."
    (re.compile(r"(Key \([^)\n]*\))=\([^\n]*\)"), r"\1=(<hidden>)"),
]
# An unmatched path may still hold a secret (a mistyped feed address): long opaque segments are hidden.
_OPAQUE_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_=-]{20,}")
_RULE_VARIABLE = re.compile(r"<(?:[a-zA-Z_][a-zA-Z0-9_]*(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
_EXTRA_FIELDS = ("status", "duration_ms", "endpoint")


def redact(text: str) -> str:
    """`text` without e-mail addresses, tokens, query strings or SQL parameters."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def loggable_path() -> str:
    """The request's path without query string, with every URL variable that is not a number as its name.

    `/enrolments/12/cancel` stays as it is; `/feeds/participants/<token>.ics` and `/mine-kurser/<token>`
    never show the secret.
    """
    rule = request.url_rule
    if rule is None:
        return redact(_OPAQUE_SEGMENT.sub("<redacted>", request.path))
    values = request.view_args or {}

    def fill(match: re.Match) -> str:
        value = values.get(match.group(1))
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return str(value) if is_number else f"<{match.group(1)}>"

    return request.script_root + _RULE_VARIABLE.sub(fill, rule.rule)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and, in a request, its id, method and path."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if has_request_context():
            entry.update(request_id=request_id(), method=request.method, path=loggable_path())
        for name in _EXTRA_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (pytest swaps it per test), like logging.lastResort."""

    glu_json = True

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _not_werkzeug_access_line(record: logging.LogRecord) -> bool:
    """werkzeug's development server logs each request line with its query string; glu.http replaces it."""
    return not (record.name == "werkzeug" and record.levelno == logging.INFO
                and re.search(r'"[A-Z]+ \S+ HTTP/', record.getMessage()))


def configure_logging() -> None:
    """JSON lines on stderr from the root logger at INFO. Idempotent; other handlers (caplog's) are kept."""
    root = logging.getLogger()
    if not any(getattr(handler, "glu_json", False) for handler in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        handler.addFilter(_not_werkzeug_access_line)
        root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)


# --- Installing it ---------------------------------------------------------------------------------------


def install_observability(app: Flask, service: str, readiness: Iterable[health.Check] = ()) -> None:
    """Request ids, JSON logs, /metrics and /readyz's checks for `app`; call right after `configure`.

    Called before the database is set up (it keeps SQL parameters out of the engine's error
    messages) and before the API (so its after_request hook runs last and sees the final status).
    """
    configure_logging()
    app.extensions[_SERVICE_KEY] = service
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
                                               "hide_parameters": True}
    health.set_checks(app, readiness)
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request(_finish_request)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])


def _start_request() -> None:
    request.environ[_STARTED_KEY] = time.perf_counter()
    request_id()


def _finish_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    started = request.environ.get(_STARTED_KEY)
    elapsed = time.perf_counter() - started if started is not None else 0.0
    method = request.method if request.method in HTTP_METHODS else "other"
    labels = {"service": _service(), "endpoint": endpoint_label(), "method": method,
              "status": str(response.status_code)}
    HTTP_REQUESTS.labels(**labels).inc()
    HTTP_DURATION.labels(**labels).observe(elapsed)
    # Under gunicorn its JSON access log (gunicorn.conf.py) is the one line per request; elsewhere this is.
    if not request.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
        access_log.info("%s %s %s in %.0f ms", method, loggable_path(), response.status_code, elapsed * 1000,
                        extra={"status": response.status_code, "duration_ms": round(elapsed * 1000, 1),
                               "endpoint": labels["endpoint"]})
    return response


def _service() -> str:
    return current_app.extensions.get(_SERVICE_KEY, current_app.name)
