"""Domain errors and the one place that turns every error into RFC 9457 problem+json.

Domain functions raise the exceptions below; they never build responses. The handlers
registered by `register_problem_handlers` cover domain errors, werkzeug's HTTP errors
(including webargs' validation errors raised through flask-smorest) and anything
unexpected, so no error ever leaves the API as HTML.

A database that cannot be reached (PostgreSQL restarting or failing over, an SQLite file that cannot
be opened or stays locked) is a 503 with Retry-After, not a 500: `database_unavailable_response`
tells such an error from a genuine bug, and code that catches database errors outside a view (an
`after_request` hook, say) calls it to answer the same way.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from flask import Flask, Response, has_request_context, json, make_response
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError

PROBLEM_CONTENT_TYPE = "application/problem+json"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldError:
    """One offending field: a JSON pointer into the request body (or a query parameter)."""

    pointer: str
    message: str
    parameter: str | None = None

    def as_dict(self) -> dict:
        item = {"pointer": self.pointer, "message": self.message}
        if self.parameter is not None:
            item["parameter"] = self.parameter
        return item


class DomainError(Exception):
    status = 400
    title = "Ugyldig forespørgsel"

    def __init__(self, detail: str, errors: list[FieldError] | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


class Unauthorized(DomainError):
    status = 401
    title = "Manglende eller ugyldig adgangsnøgle"

    def __init__(self, detail: str):
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="glu-courses"'})


class Forbidden(DomainError):
    status = 403
    title = "Ingen adgang"


class NotFound(DomainError):
    status = 404
    title = "Findes ikke"


class Conflict(DomainError):
    status = 409
    title = "Konflikt"


class ValidationFailed(DomainError):
    status = 422
    title = "Ugyldige data"

    @classmethod
    def field(cls, pointer: str, message: str) -> ValidationFailed:
        return cls(message, [FieldError(pointer, message)])


class ServiceUnavailable(DomainError):
    status = 503
    title = "Tjenesten er midlertidigt utilgængelig"

    def __init__(self, detail: str, retry_after_seconds: int = 30):
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


def problem_response(
    status: int, title: str, detail: str | None = None, errors: list[FieldError] | None = None,
    headers: dict | None = None,
) -> Response:
    from shared.pages import error_page, is_page_request  # pages are optional; the API never needs them

    if has_request_context() and is_page_request():
        # A Response, so the headers (Retry-After, Allow, …) go with the HTML page too.
        response = make_response(error_page(status, title, detail))
    else:
        body = {"type": "about:blank", "title": title, "status": status}
        if detail:
            body["detail"] = detail
        if errors:
            body["errors"] = [error.as_dict() for error in errors]
        response = Response(json.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# Danish text for the marshmallow and webargs messages a client is most likely to meet;
# anything not listed passes through in English rather than being lost.
_DANISH_MESSAGES = {
    "Missing data for required field.": "Feltet skal udfyldes.",
    "Unknown field.": "Ukendt felt.",
    "Field may not be null.": "Feltet må ikke være tomt (null).",
    "Not a valid integer.": "Skal være et heltal.",
    "Not a valid number.": "Skal være et tal.",
    "Not a valid string.": "Skal være en tekst.",
    "Not a valid boolean.": "Skal være true eller false.",
    "Not a valid list.": "Skal være en liste.",
    "Not a valid date.": "Skal være en dato (ÅÅÅÅ-MM-DD).",
    "Not a valid datetime.": "Skal være et tidspunkt i ISO 8601 med tidszone.",
    "Not a valid aware datetime.": "Tidspunktet skal have en tidszone, fx +01:00.",
    "Not a valid email address.": "Ugyldig e-mailadresse.",
    "Invalid input type.": "Forkert datatype.",
    "Not a valid mapping type.": "Skal være et objekt.",
    "Invalid value.": "Ugyldig værdi.",
    "Invalid JSON body.": "Forespørgslen er ikke gyldig JSON.",
    "Number too large.": "Tallet er for stort.",
}


# marshmallow's validator messages carry numbers and choices, so they are matched as patterns.
_DANISH_PATTERNS = [
    (re.compile(r"^Must be greater than or equal to (.+) and less than or equal to (.+)\.$"),
     r"Skal være mellem \1 og \2."),
    (re.compile(r"^Must be greater than or equal to (.+)\.$"), r"Skal være mindst \1."),
    (re.compile(r"^Must be less than or equal to (.+)\.$"), r"Må højst være \1."),
    (re.compile(r"^Length must be between (.+) and (.+)\.$"), r"Længden skal være mellem \1 og \2."),
    (re.compile(r"^Shorter than minimum length (.+)\.$"), r"Længden skal være mindst \1."),
    (re.compile(r"^Longer than maximum length (.+)\.$"), r"Længden må højst være \1."),
    (re.compile(r"^Must be one of: (.+)\.$"), r"Skal være en af: \1."),
    (re.compile(r"^String does not match expected pattern\.$"), r"Har ikke det forventede format."),
    (re.compile(r"^Not a valid URL\.$"), r"Ugyldig webadresse."),
]


def _danish(message: str) -> str:
    if message in _DANISH_MESSAGES:
        return _DANISH_MESSAGES[message]
    for pattern, replacement in _DANISH_PATTERNS:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


def field_errors_from_messages(messages: dict, pointer: str = "") -> list[FieldError]:
    """Flatten marshmallow's nested error dict into JSON-pointer field errors."""
    errors: list[FieldError] = []
    for key, value in messages.items():
        if key == "_schema":
            here = pointer
        else:
            token = str(key).replace("~", "~0").replace("/", "~1")
            here = f"{pointer}/{token}"
        if isinstance(value, dict):
            errors.extend(field_errors_from_messages(value, here))
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, dict):
                    errors.extend(field_errors_from_messages(item, here))
                else:
                    errors.append(FieldError(here, _danish(str(item))))
        else:
            errors.append(FieldError(here, _danish(str(value))))
    return errors


def _errors_from_webargs(messages: dict) -> list[FieldError]:
    """webargs keys its messages by location: body fields become pointers, query fields parameters."""
    errors: list[FieldError] = []
    for location, by_field in messages.items():
        if not isinstance(by_field, dict):
            by_field = {"_schema": by_field}
        if location in ("json", "form", "files"):
            errors.extend(field_errors_from_messages(by_field))
        else:
            for error in field_errors_from_messages(by_field):
                name = error.pointer.lstrip("/").split("/", 1)[0] or None
                message = "Ukendt parameter." if error.message == "Ukendt felt." else error.message
                errors.append(FieldError(error.pointer, message, parameter=name))
    return errors


_HTTP_TITLES = {
    400: "Ugyldig forespørgsel",
    401: "Manglende eller ugyldig adgangsnøgle",
    403: "Ingen adgang",
    404: "Findes ikke",
    405: "Metoden er ikke tilladt",
    406: "Formatet kan ikke leveres",
    409: "Konflikt",
    413: "Forespørgslen er for stor",
    415: "Ikke-understøttet indholdstype",
    422: "Ugyldige data",
    429: "For mange forespørgsler",
    500: "Intern fejl",
    503: "Tjenesten er midlertidigt utilgængelig",
}


def handle_http_exception(error: HTTPException) -> Response:
    # Flask wraps an error raised outside the view (an after_request hook) in a 500 of its own.
    unavailable = database_unavailable_response(getattr(error, "original_exception", None))
    if unavailable is not None:
        return unavailable
    data = getattr(error, "data", None) or {}
    errors = _errors_from_webargs(data["messages"]) if "messages" in data else []
    status = error.code or 500
    if errors:
        detail = "; ".join(f"{e.parameter or e.pointer or 'body'}: {e.message}" for e in errors[:5])
    elif status == 404:
        detail = "Adressen findes ikke."
    elif status == 413:
        detail = "Forespørgslens indhold er større end tilladt."
    elif status == 405:
        detail = "Metoden er ikke tilladt på denne adresse; se Allow-headeren."
    elif status == 415:
        detail = "Send indholdet som application/json."
    else:
        detail = error.description
    headers = dict(data.get("headers") or {})
    if status == 405 and error.get_headers():
        headers.update({k: v for k, v in error.get_headers() if k == "Allow"})
    title = _HTTP_TITLES.get(status, error.name)
    return problem_response(status, title, detail, errors, headers)


def handle_domain_error(error: DomainError) -> Response:
    return problem_response(error.status, error.title, error.detail, error.errors, error.headers)


def handle_unexpected_error(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    unavailable = database_unavailable_response(error)
    if unavailable is not None:
        return unavailable
    log.exception("Unhandled error", exc_info=error)
    return handle_http_exception(InternalServerError("Der opstod en uventet fejl. Prøv igen senere."))


def handle_integrity_error(error: IntegrityError) -> Response:
    """A unique or foreign key constraint caught what a check before it could not (two requests racing)."""
    # Never the driver's message: PostgreSQL's names the conflicting value (an e-mail address, say).
    constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
    log.warning("Integrity error (%s): constraint %s", type(error.orig).__name__, constraint or "not named")
    return problem_response(409, "Konflikt", "Ændringen strider mod data, der lige er gemt. Hent og prøv igen.")


# --- The database cannot be reached ------------------------------------------------------------------

DATABASE_RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE_DETAIL = "Databasen kan ikke nås lige nu. Prøv igen om lidt."

# PostgreSQL's SQLSTATE classes that mean the server, not the request, is the trouble: 08 connection
# exception, 53 insufficient resources (53300 too many connections, as after a restart), 57 operator
# intervention (57P01 admin shutdown, 57P03 cannot connect now: starting up or in recovery, 57014 a
# statement cancelled). Not 40 (serialization failures, deadlocks) or 55P03 (lock not available):
# those are about this request's transaction and stay what they were.
_POSTGRES_OUTAGE_CLASSES = ("08", "53", "57")
# 25006 read-only transaction: a write reached a standby, which happens while a failover settles.
_POSTGRES_OUTAGE_STATES = frozenset({"25006"})
# SQLite's primary result codes for a file it cannot use: BUSY and LOCKED (still locked once the busy
# timeout is over), READONLY, IOERR, FULL and CANTOPEN. Not SQLITE_ERROR ("no such table": a bug).
_SQLITE_OUTAGE_CODES = frozenset({5, 6, 8, 10, 13, 14})
_SQLITE_OUTAGE_MESSAGES = ("unable to open database file", "database is locked", "database table is locked",
                           "attempt to write a readonly database", "disk i/o error", "database or disk is full")


def _driver_error_is_outage(error: BaseException) -> bool:
    """Whether a DB-API driver's own exception (psycopg, sqlite3) says the database cannot be used."""
    module = type(error).__module__
    if module.startswith("psycopg"):
        import psycopg  # only when the driver is in use; an SQLite-only installation needs no psycopg

        sqlstate = getattr(error, "sqlstate", None)
        if sqlstate:
            return sqlstate[:2] in _POSTGRES_OUTAGE_CLASSES or sqlstate in _POSTGRES_OUTAGE_STATES
        # No SQLSTATE: psycopg's own errors. An OperationalError then is a connection refused, timed
        # out or lost ("server closed the connection unexpectedly", "the connection is lost").
        return isinstance(error, psycopg.OperationalError)
    if module == "sqlite3":
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _SQLITE_OUTAGE_CODES
        return any(message in str(error).lower() for message in _SQLITE_OUTAGE_MESSAGES)
    return False


def _outage_cause(error: BaseException | None) -> BaseException | None:
    """The exception in `error`'s chain that makes it a database outage, or None when it is not one.

    The chain (__cause__, __context__) is followed so that an outage met while handling another error,
    or re-raised as something else, is still recognised.
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen and len(seen) < 16:
        seen.add(id(error))
        if isinstance(error, PoolTimeoutError | DisconnectionError):
            return error  # no connection free in the pool in time; a connection found dead at checkout
        if isinstance(error, DBAPIError) and not isinstance(error, IntegrityError):
            # SQLAlchemy saw the connection die (and has thrown it and the pool's older ones away).
            if error.connection_invalidated or _driver_error_is_outage(error.orig):
                return error
        elif not isinstance(error, SQLAlchemyError) and _driver_error_is_outage(error):
            return error  # a raw driver error, from a raw_connection() say
        error = error.__cause__ or error.__context__
    return None


def is_database_unavailable(error: BaseException | None) -> bool:
    """Whether `error` means the database cannot be reached now, rather than a bug or bad data."""
    return _outage_cause(error) is not None


def _describe(error: BaseException) -> str:
    """Driver, error class, SQLSTATE and the first line of the driver's message: never SQL or parameters."""
    driver_error = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    name = f"{type(driver_error).__module__}.{type(driver_error).__name__}"
    sqlstate = getattr(driver_error, "sqlstate", None)
    lines = str(driver_error).strip().splitlines()
    first_line = lines[0][:200] if lines else ""
    invalidated = " (connection discarded)" if getattr(error, "connection_invalidated", False) else ""
    return f"{name}{f' [{sqlstate}]' if sqlstate else ''}{invalidated}: {first_line}"


def database_unavailable_response(error: BaseException | None) -> Response | None:
    """A 503 with Retry-After when `error` means the database cannot be reached now, else None.

    For any caught exception: an outage (a refused, timed-out or lost connection, a pool with no
    connection free in time, an SQLite file that cannot be opened or stays locked) gives the same
    answer the error handlers give — problem+json, or the HTML error page on a page route — and a
    warning in the log; anything else gives None, and the caller carries on as it would have
    (re-raise it, say, to get a 500). Call it inside a request, e.g. from an after_request hook whose
    commit failed, after rolling the session back.
    """
    cause = _outage_cause(error)
    if cause is None:
        return None
    log.warning("Database unavailable, answering 503: %s", _describe(cause))
    return problem_response(
        503, ServiceUnavailable.title, DATABASE_UNAVAILABLE_DETAIL,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS), "Cache-Control": "no-store"})


def handle_database_error(error: SQLAlchemyError) -> Response:
    """A database that cannot be reached is a 503; any other database error is a bug (500)."""
    unavailable = database_unavailable_response(error)
    if unavailable is not None:
        return unavailable
    return handle_unexpected_error(error)


def register_problem_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(SQLAlchemyError, handle_database_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected_error)
