"""Worker processes for test_concurrency: each plays one gunicorn worker with a handful of threads.

A worker builds its own enrolment and catalogue apps on the databases the test's fixtures made,
lets every thread wait at a shared barrier and then fires its POST through the enrolment app's
test client. `run_worker` is a module-level function so the "spawn" start method can pickle it by
reference; a spawned child gets the parent's `sys.path`, and `repo_root` in the job makes sure
the project's packages are importable even so.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback

import httpx

# How many catalogue requests one worker runs at a time. The catalogue is a service of its own with
# a bounded number of workers; bounding it here also keeps both services' connection pools within
# PostgreSQL's default max_connections (100) while 50 enrolment requests each hold a connection.
CATALOGUE_SLOTS = 3


class _LogCollector(logging.Handler):
    """Keeps the warnings and errors the apps log (unhandled errors, integrity errors, catalogue down)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []
        self._lines_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + "".join(traceback.format_exception(*record.exc_info))
        with self._lines_lock:
            self.lines.append(line)


def run_worker(job: dict) -> dict:
    """Fire `job["requests"]` at once (after the barrier) from one thread each; return what came back.

    job: repo_root, enrolment_database, catalogue_database, token_secret, barrier (a Manager's
    Barrier shared by every thread of every worker), barrier_timeout, request_timeout, and
    requests: [{"label", "body", "headers"}] for POST /enrolments.
    """
    if job["repo_root"] not in sys.path:
        sys.path.insert(0, job["repo_root"])
    import catalogue
    import enrolment
    from catalogue.models import db as catalogue_db
    from enrolment.models import db as enrolment_db

    try:
        catalogue_app = catalogue.create_app({"DATABASE_URL": job["catalogue_database"],
                                              "GLU_TOKEN_SECRET": job["token_secret"], "TESTING": True})
        transport = BoundedTransport(httpx.WSGITransport(app=catalogue_app), CATALOGUE_SLOTS)
        enrolment_app = enrolment.create_app({
            "DATABASE_URL": job["enrolment_database"], "GLU_TOKEN_SECRET": job["token_secret"], "TESTING": True,
            "CATALOGUE_URL": "http://catalogue.test", "CATALOGUE_TRANSPORT": transport,
        })
    except BaseException:
        job["barrier"].abort()  # the other workers fail at once instead of waiting for the barrier's timeout
        raise
    collector = _LogCollector()
    logging.getLogger().addHandler(collector)
    results: list[dict | None] = [None] * len(job["requests"])

    def fire(index: int, request: dict) -> None:
        client = enrolment_app.test_client()
        try:
            job["barrier"].wait(job["barrier_timeout"])
            response = client.post("/enrolments", json=request["body"], headers=request["headers"])
            results[index] = {
                "label": request["label"], "status": response.status_code, "content_type": response.content_type,
                "json": response.get_json(silent=True), "replayed": response.headers.get("Idempotent-Replayed"),
            }
        except BaseException:  # reported to the test, which fails with it
            results[index] = {"label": request["label"], "status": None, "error": traceback.format_exc()}

    threads = [threading.Thread(target=fire, args=(index, request), daemon=True)
               for index, request in enumerate(job["requests"])]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + job["request_timeout"]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for index, thread in enumerate(threads):
            if thread.is_alive():
                results[index] = {"label": job["requests"][index]["label"], "status": None,
                                  "error": f"no answer within {job['request_timeout']} s"}
    finally:
        logging.getLogger().removeHandler(collector)
        for app, db in ((enrolment_app, enrolment_db), (catalogue_app, catalogue_db)):
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    return {"results": results, "log": collector.lines}


class BoundedTransport(httpx.BaseTransport):
    """An httpx transport that lets at most `slots` requests at a time through to `inner`."""

    def __init__(self, inner: httpx.BaseTransport, slots: int):
        self._inner = inner
        self._slots = threading.BoundedSemaphore(slots)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._slots:
            return self._inner.handle_request(request)
