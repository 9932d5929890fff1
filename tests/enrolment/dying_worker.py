"""A worker process that enrols someone and is killed (SIGKILL) right after the commit, before any side effect.

Spawned by test_crash_recovery: it builds its own enrolment and catalogue apps on the test's
databases, replaces the job engine's `enqueue` — the first thing after a commit — by a SIGKILL of
its own process, and POSTs one enrolment. Nothing after the commit runs: no job is enqueued, no
mail sent, no seat count told to the catalogue.
"""

from __future__ import annotations

import os
import signal
import sys


def enrol_and_die(job: dict) -> None:
    if job["repo_root"] not in sys.path:
        sys.path.insert(0, job["repo_root"])
    import httpx

    import catalogue
    import enrolment

    catalogue_app = catalogue.create_app({"DATABASE_URL": job["catalogue_database"],
                                          "GLU_TOKEN_SECRET": job["token_secret"], "TESTING": True,
                                          "JOBS_IMMEDIATE": True})
    app = enrolment.create_app({
        "DATABASE_URL": job["enrolment_database"], "GLU_TOKEN_SECRET": job["token_secret"], "TESTING": True,
        "CATALOGUE_URL": "http://catalogue.test", "CATALOGUE_TRANSPORT": httpx.WSGITransport(app=catalogue_app),
        "JOBS_IMMEDIATE": True,
    })

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    app.extensions["jobs"].enqueue = die
    app.test_client().post("/enrolments", json=job["body"], headers=job["headers"])
    raise AssertionError("the worker outlived its commit")
