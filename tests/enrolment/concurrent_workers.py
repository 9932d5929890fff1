"""Worker processes for the concurrency tests: each plays one gunicorn worker with a handful of threads.

`spawn_workers` starts the processes once for a test; each builds its own enrolment and catalogue
apps on the databases the test's fixtures made (the catalogue sends its webhooks to the worker's
own enrolment app, synchronously, as tests/enrolment/conftest.py wires the in-process apps). The
test then fires ROUNDS at them: between rounds it sets up what the next round needs through its
usual fixtures and clients, and `Workers.fire(requests)` hands the round's requests out to the
processes, lets every request wait at the round's barrier in a thread of its own and returns the
answers once all are in. Spawning is slow (seconds per process), a round is not.

A request is a dict:
    {"label": unique in the round, "service": "enrolment" | "catalogue", "method": "POST", "path": "/…",
     "headers": {…}, "json": {…} (optional), "form": {…} (optional, posted as multipart/form-data),
     "csrf_page": "/…" (optional: GET this page with the same client before the barrier and post its
     hidden csrf_token with the form)}
and its answer:
    {"label", "status", "content_type", "json", "replayed" (Idempotent-Replayed), "location",
     "flashes" (for a form: the messages the page flashed into the session)}
or, when no answer came, {"label", "status": None, "error": the traceback}.

`run_worker` is a module-level function so the "spawn" start method can pickle it by reference; a
spawned child gets the parent's `sys.path`, and `repo_root` in the job makes sure the project's
packages are importable even so.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import re
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import TOKEN_SECRET

# How many catalogue requests one worker runs at a time. The catalogue is a service of its own with
# a bounded number of workers; bounding it here also keeps both services' connection pools within
# PostgreSQL's default max_connections (100) while 50 enrolment requests each hold a connection.
CATALOGUE_SLOTS = 3
REPO_ROOT = str(Path(__file__).resolve().parents[2])
# Spawning and importing the apps in every process comes before the first barrier; then every
# request must be answered. Waiting for a round's answers gets a little longer than both together.
BARRIER_TIMEOUT = 90
REQUEST_TIMEOUT = 100
ROUND_TIMEOUT = 120
# How long a worker waits for its next round before it gives up (the test is gone).
IDLE_TIMEOUT = 300
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


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

    def take(self) -> list[str]:
        with self._lines_lock:
            lines, self.lines = self.lines, []
        return lines


# --- In the parent: the processes and the rounds --------------------------------------------------

class Workers:
    """Worker processes started once; `fire` runs one round of requests in them."""

    def __init__(self, processes: list, inboxes: list, outbox, barriers: list):
        self.processes = processes
        self._inboxes = inboxes
        self._outbox = outbox
        self._barriers = barriers
        self._round = 0

    def fire(self, requests: list[dict]) -> tuple[list[dict], str]:
        """Send every request at the same moment; the answers (in request order) and what the apps logged.

        Request n of round r goes to process (r + n) % processes, so the processes take turns at each part.
        """
        number = self._round
        if number >= len(self._barriers):
            raise AssertionError(f"only {len(self._barriers)} rounds were planned when the workers were spawned")
        self._round += 1
        count = len(self._inboxes)
        shares: list[list[dict]] = [[] for _ in range(count)]
        for index, request in enumerate(requests):
            shares[(number + index) % count].append(request)
        for inbox, share in zip(self._inboxes, shares, strict=True):
            inbox.put({"round": number, "requests": share})
        outcomes = self._collect(number, count)
        answers = {answer["label"]: answer for outcome in outcomes for answer in outcome["results"]}
        log = "\n".join(line for outcome in outcomes for line in outcome["log"])
        failed = [answer for answer in answers.values() if answer["status"] is None]
        assert not failed, "requests without an answer:\n" + "\n".join(answer["error"] for answer in failed) + log
        return [answers[request["label"]] for request in requests], log

    def _collect(self, number: int, count: int) -> list[dict]:
        outcomes: list[dict] = []
        deadline = time.monotonic() + ROUND_TIMEOUT
        while len(outcomes) < count:
            try:
                outcome = self._outbox.get(timeout=1.0)
            except queue.Empty:
                dead = [process.exitcode for process in self.processes if not process.is_alive()]
                if dead or time.monotonic() > deadline:
                    raise AssertionError(f"round {number}: {len(outcomes)} of {count} workers answered "
                                         f"(exit codes of those gone: {dead})") from None
                continue
            if "error" in outcome:
                raise AssertionError(f"a worker failed:\n{outcome['error']}")
            assert outcome["round"] == number, outcome
            outcomes.append(outcome)
        return outcomes

    def stop(self) -> None:
        for barrier in self._barriers:
            barrier.abort()  # a worker still waiting in an unfinished round gives up at once
        for inbox in self._inboxes:
            inbox.put(None)
        for process in self.processes:
            process.join(30)
        for process in self.processes:
            if process.is_alive():
                process.terminate()
                process.join()


@contextmanager
def spawn_workers(enrolment_database: str, catalogue_database: str, processes: int, round_sizes: list[int],
                  token_secret: str = TOKEN_SECRET) -> Iterator[Workers]:
    """Start `processes` worker processes for rounds of `round_sizes` requests (one barrier each).

    with spawn_workers(enrolment_database, catalogue_database, 2, [2] * 5) as workers:
        answers, log = workers.fire([...])
    """
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barriers = [manager.Barrier(size) for size in round_sizes]
        inboxes = [manager.Queue() for _ in range(processes)]
        outbox = manager.Queue()
        workers = Workers([], inboxes, outbox, barriers)
        try:
            for inbox in inboxes:
                job = {"repo_root": REPO_ROOT, "enrolment_database": enrolment_database,
                       "catalogue_database": catalogue_database, "token_secret": token_secret,
                       "barriers": barriers, "inbox": inbox, "outbox": outbox}
                process = context.Process(target=run_worker, args=(job,), daemon=True)
                process.start()
                workers.processes.append(process)
            yield workers
        finally:
            workers.stop()


# --- In a worker process --------------------------------------------------------------------------

def run_worker(job: dict) -> None:
    """Build the apps, then run the rounds that come to `job["inbox"]` until None comes; answers go to `job["outbox"]`.

    job: repo_root, enrolment_database, catalogue_database, token_secret, barriers (a Manager's
    Barrier per round, shared by every request of the round in every worker), inbox and outbox
    (Manager queues). A round is {"round": n, "requests": [request, …]} (see the module's docstring).
    """
    if job["repo_root"] not in sys.path:
        sys.path.insert(0, job["repo_root"])
    try:
        apps = _Apps(job)
    except BaseException:
        for barrier in job["barriers"]:
            barrier.abort()  # the other workers fail at once instead of waiting for the barrier's timeout
        job["outbox"].put({"error": traceback.format_exc()})
        return
    collector = _LogCollector()
    logging.getLogger().addHandler(collector)
    try:
        while True:
            try:
                work = job["inbox"].get(timeout=IDLE_TIMEOUT)
            except queue.Empty:
                return
            if work is None:
                return
            barrier = job["barriers"][work["round"]]
            results = _run_round(apps, work["requests"], barrier)
            job["outbox"].put({"round": work["round"], "results": results, "log": collector.take()})
    finally:
        logging.getLogger().removeHandler(collector)
        apps.close()


class _Apps:
    """A worker's enrolment and catalogue apps, wired to each other as in the tests' conftest."""

    def __init__(self, job: dict):
        import catalogue
        import enrolment
        from catalogue.notifications import WebhookSender

        secret = job["token_secret"]
        # Jobs (the outbox's mails and seat counts, the catalogue's webhooks) run at once, in the request
        # that asked for them, once it has committed: each request's effects are done when it is answered.
        self.catalogue = catalogue.create_app({"DATABASE_URL": job["catalogue_database"],
                                               "GLU_TOKEN_SECRET": secret, "TESTING": True, "JOBS_IMMEDIATE": True})
        transport = BoundedTransport(httpx.WSGITransport(app=self.catalogue), CATALOGUE_SLOTS)
        self.enrolment = enrolment.create_app({
            "DATABASE_URL": job["enrolment_database"], "GLU_TOKEN_SECRET": secret, "TESTING": True,
            "CATALOGUE_URL": "http://catalogue.test", "CATALOGUE_TRANSPORT": transport, "JOBS_IMMEDIATE": True,
        })
        # A school's change reaches this worker's enrolment app by a signed webhook, sent before the answer.
        self.catalogue.extensions["webhook_sender"] = WebhookSender(
            "http://enrolment.test", secret, transport=httpx.WSGITransport(app=self.enrolment))

    def app(self, service: str):
        return {"enrolment": self.enrolment, "catalogue": self.catalogue}[service]

    def close(self) -> None:
        from catalogue.models import db as catalogue_db
        from enrolment.models import db as enrolment_db

        for app, db in ((self.enrolment, enrolment_db), (self.catalogue, catalogue_db)):
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def _run_round(apps: _Apps, requests: list[dict], barrier) -> list[dict]:
    """Fire `requests` at once (after the barrier) from one thread each; return what came back."""
    results: list[dict | None] = [None] * len(requests)

    def fire(index: int, request: dict) -> None:
        client = apps.app(request["service"]).test_client()
        try:
            form = dict(request["form"]) if "form" in request else None
            if request.get("csrf_page"):
                page = client.get(request["csrf_page"], headers=request.get("headers", {}))
                found = _CSRF_INPUT.search(page.get_data(as_text=True))
                if page.status_code != 200 or found is None:
                    raise AssertionError(f"{request['csrf_page']}: {page.status_code}, no csrf_token")
                form["csrf_token"] = found.group(1)
        except BaseException:
            barrier.abort()
            results[index] = {"label": request["label"], "status": None, "error": traceback.format_exc()}
            return
        try:
            barrier.wait(BARRIER_TIMEOUT)
            if form is not None:
                response = client.open(request["path"], method=request["method"], data=form,
                                       content_type="multipart/form-data", headers=request.get("headers", {}))
            else:
                response = client.open(request["path"], method=request["method"], json=request.get("json"),
                                       headers=request.get("headers", {}))
            answer = {
                "label": request["label"], "status": response.status_code, "content_type": response.content_type,
                "json": response.get_json(silent=True), "replayed": response.headers.get("Idempotent-Replayed"),
                "location": response.headers.get("Location"),
            }
            if form is not None:
                with client.session_transaction() as session:
                    answer["flashes"] = [message for _, message in session.get("_flashes", [])]
            results[index] = answer
        except BaseException:  # reported to the test, which fails with it
            results[index] = {"label": request["label"], "status": None, "error": traceback.format_exc()}

    threads = [threading.Thread(target=fire, args=(index, request), daemon=True)
               for index, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + REQUEST_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for index, thread in enumerate(threads):
        if thread.is_alive():
            results[index] = {"label": requests[index]["label"], "status": None,
                              "error": f"no answer within {REQUEST_TIMEOUT} s"}
    return results


class BoundedTransport(httpx.BaseTransport):
    """An httpx transport that lets at most `slots` requests at a time through to `inner`."""

    def __init__(self, inner: httpx.BaseTransport, slots: int):
        self._inner = inner
        self._slots = threading.BoundedSemaphore(slots)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._slots:
            return self._inner.handle_request(request)
