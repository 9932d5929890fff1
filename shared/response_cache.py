"""Rendered GET responses, reused for exactly as long as PostgreSQL shows the same data.

A response is stored under the database snapshot the request began with (`pg_current_snapshot()`:
which transactions had committed) and everything else a view reads from the request: the URL
with its query, the host, and the Authorization header (a school sees its own drafts). Two
requests that begin with the same snapshot read the same rows, so the stored response is what
rendering again would give. The next commit anywhere on the server changes the snapshot, and the
next request renders afresh: there is no time-to-live and no invalidation to forget, and nothing
served is staler than the database (seat counts included, see README).

The view's own statements run after the snapshot is taken, so a stored response can only be as new
as its key or newer, never older.

A snapshot names transaction ids, which count on within one PostgreSQL server (64 bits with the
epoch, never reused), including across a pg_restore into it. They are not unique between servers: a
restore onto a fresh server (or a switch to a replica or another database) starts again at low ids,
and a snapshot seen before could come back with other rows behind it: a response from the lost
time after the backup would be served. So the key also names the database (its oid, new when it is
made afresh and restored into) and the server (when it started; a restarted one merely renders anew).

Only on PostgreSQL (SQLite has no snapshot to name), only 200s to GET, per worker process, bounded
by bytes with the least recently used out first.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import Flask, Response, current_app, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

from shared.auth import current_actor
from shared.db import single_read
from shared.lru import BoundedLru
from shared.observability import RESPONSE_CACHE

_SNAPSHOT = text("SELECT pg_current_snapshot()::text || ' ' || d.oid || ' ' || pg_postmaster_start_time()::text"
                 " FROM pg_database d WHERE d.datname = current_database()")


@dataclass(frozen=True)
class _Stored:
    body: bytes
    headers: list[tuple[str, str]]


class ResponseCache(BoundedLru[_Stored]):
    def __init__(self, db: SQLAlchemy, max_bytes: int):
        # One large response must not push out everything else: none over an eighth of the whole.
        super().__init__(lambda stored: len(stored.body), max_bytes, largest=max_bytes // 8)
        self._db = db

    def respond(self, view, args, kwargs) -> Response:
        # The caller first: a response kept for a token must not outlive the token. An API key revoked
        # at the other service, or any token past its expiry, commits nothing here to change the snapshot.
        current_actor()
        # Outside the request's transaction: the view's own statements come later, so still no older.
        with single_read(self._db.session) as connection:
            snapshot = connection.scalar(_SNAPSHOT)
        key = (snapshot, request.host_url, request.full_path, request.headers.get("Authorization"))
        stored = self.get(key)
        if stored is not None:
            RESPONSE_CACHE.labels(result="hit").inc()
            return Response(stored.body, headers=stored.headers)
        RESPONSE_CACHE.labels(result="miss").inc()
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == 200 and not response.direct_passthrough:
            self.put(key, _Stored(response.get_data(), list(response.headers.items())))
        return response


def install_response_cache(app: Flask, db: SQLAlchemy) -> None:
    megabytes = app.config["RESPONSE_CACHE_MB"]
    if megabytes > 0 and app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        app.extensions["response_cache"] = ResponseCache(db, megabytes * 1024 * 1024)


def cached_while_unchanged(view):
    """For a GET view whose response depends only on the database and the request's URL, host and token."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        cache: ResponseCache | None = current_app.extensions.get("response_cache")
        if cache is None or request.method != "GET":
            return view(*args, **kwargs)
        return cache.respond(view, args, kwargs)

    return wrapper
