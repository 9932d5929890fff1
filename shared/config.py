"""Configuration for both services, read in one place: defaults, then the environment, then overrides.

Every variable read here is listed in the README's table.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from shared.db import engine_options, normalise_database_url
from shared.retention import check_retention, read_retention

MAX_REQUEST_BYTES = 2 * 1024 * 1024


def configure(app: Flask, service: str, overrides: dict | None = None) -> None:
    """Fill `app.config` for `service` ("catalogue" or "enrolment")."""
    prefix = service.upper()
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    default_database = f"sqlite:///{Path(app.instance_path) / f'{service}.sqlite3'}"
    app.config.update(
        DATABASE_URL=os.environ.get(f"{prefix}_DATABASE_URL") or default_database,
        GLU_TOKEN_SECRET=os.environ.get("GLU_TOKEN_SECRET"),
        PUBLIC_URL=os.environ.get(f"{prefix}_PUBLIC_URL"),
        # The catalogue's pages link to the enrolment service's pages ("Tilmeld mig").
        ENROLMENT_PUBLIC_URL=os.environ.get("ENROLMENT_PUBLIC_URL"),
        CATALOGUE_URL=os.environ.get("CATALOGUE_URL", "http://127.0.0.1:5001"),
        # The enrolment service's pages link back to the catalogue's (the offering, the search).
        CATALOGUE_PUBLIC_URL=os.environ.get("CATALOGUE_PUBLIC_URL"),
        ENROLMENT_URL=os.environ.get("ENROLMENT_URL"),
        SMTP_HOST=os.environ.get("SMTP_HOST"),
        SMTP_PORT=int(os.environ.get("SMTP_PORT", "587")),
        SMTP_USERNAME=os.environ.get("SMTP_USERNAME"),
        SMTP_PASSWORD=os.environ.get("SMTP_PASSWORD"),
        SMTP_STARTTLS=os.environ.get("SMTP_STARTTLS", "true").lower() in ("1", "true", "yes"),
        MAIL_FROM=os.environ.get("MAIL_FROM", "GLU-kurser <noreply@glu-courses.example>"),
        # Megabytes per worker for rendered GET responses on PostgreSQL (shared/response_cache.py); 0 turns it off.
        RESPONSE_CACHE_MB=int(os.environ.get("RESPONSE_CACHE_MB", "32")),
        # The background jobs' queue (shared/jobs.py): postgresql://… or sqlite:///path; unset, a SQLite
        # file per service in instance/. JOBS_IMMEDIATE (tests, via overrides) runs every job at enqueue.
        JOBS_URL=os.environ.get("JOBS_URL"),
        JOBS_IMMEDIATE=False,
        # Counters of the rate limits (shared/rate_limits.py): memory:// (per process) or redis://host:6379.
        RATE_LIMIT_STORAGE_URL=os.environ.get("RATE_LIMIT_STORAGE_URL", "memory://"),
        # How many reverse proxies in front append the client's address to X-Forwarded-For: the per-IP limits
        # count the address that many entries from the right. 0 (the default) counts the direct peer.
        RATE_LIMIT_TRUSTED_PROXIES=int(os.environ.get("RATE_LIMIT_TRUSTED_PROXIES", "0")),
        # A Maildir whose mails /postkasse shows (make run's local mail server); unset, there is no such page.
        MAILBOX_DIR=os.environ.get("MAILBOX_DIR"),
        # Go or no-go (catalogue.decisions): an offering's decision date defaults to this many days before
        # its first day. Two weeks is the usual AMU enrolment deadline, so the count is nearly final by
        # then, and it still leaves participants and their employers time to rearrange work or move to
        # another offering if the course is cancelled.
        DECISION_DAYS_BEFORE_START=int(os.environ.get("DECISION_DAYS_BEFORE_START", "14")),
        # How long each purpose keeps its data (shared.retention: the defaults and why, the legal floors).
        **read_retention(os.environ),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        API_TITLE=f"glu-courses {service}",
        API_VERSION="1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        # /docs is shared.api_docs (Swagger UI from the service itself), not flask-smorest's CDN page.
        OPENAPI_SWAGGER_UI_PATH=None,
    )
    app.config.update(overrides or {})
    if not app.config["GLU_TOKEN_SECRET"]:
        raise RuntimeError(
            "GLU_TOKEN_SECRET is not set: both services sign and verify tokens with it "
            "(make run generates one in .glu-secret)."
        )
    # A retention below its legal floor stops the service here, before any purge could act on it.
    check_retention(app.config)
    url = normalise_database_url(app.config["DATABASE_URL"])
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(url)
    for name in ("PUBLIC_URL", "ENROLMENT_PUBLIC_URL"):
        if app.config.get(name):
            app.config[name] = app.config[name].rstrip("/")
