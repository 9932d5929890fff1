"""Background jobs for both services, on huey: a queue in a database, consumers that run it, ETAs and cron.

Each service's `create_app` calls `install_jobs(app, service)` and registers its jobs on what it returns:

    jobs = install_jobs(app, "enrolment")
    jobs.task("deliver-outbox", deliver_outbox)              # run when enqueued, retried on failure
    jobs.periodic("sync-seats", sync_seats, minute="*/5")    # cron, once per slot across every consumer
    ...
    jobs.enqueue("deliver-outbox")                            # after the commit that wrote the work
    jobs.schedule("remind", eta, enrolment_id=12)             # once, at eta (an aware datetime)

`python -m shared.jobs enrolment` builds the app with `create_app()` and runs the consumer: worker
threads that take jobs from the queue, and a scheduler that moves due ETAs and retries into it and
starts the periodic jobs. Run as many consumers as you like; see "Why nothing runs twice" below.

**Where the queue lives** (`JOBS_URL`, read in shared.config):

- `postgresql://…` — huey's PostgresHuey (psycopg 3): its own tables (`huey_task`, `huey_schedule`,
  `huey_kv`, `huey_counter`) in that database, made when first used. Workers wait on LISTEN/NOTIFY,
  so a job enqueued starts at once.
- `sqlite:///path` — huey's SqliteHuey in that file; unset: `instance/<service>-jobs.sqlite3`, what
  `make run` uses. Workers poll it every 0.1–0.5 s, so a job enqueued starts well within a second.
- `JOBS_IMMEDIATE=True` (config, for the tests) — huey's immediate mode: every job runs at once, in
  the process and thread that enqueues it; a job scheduled for later waits in memory for `run_due`.

**Running a job.** A job's function runs inside `with app.app_context():`, a fresh context for every
run, so it has its own `db.session` (removed afterwards) and never sees a request's. It gets the
keyword arguments it was enqueued with; they must be JSON values and go through JSON even in immediate
mode, so a test sees what production sees. A job that raises is retried with exponential backoff
(`retry_delay` × `retry_backoff`ⁿ: 1, 2, 4, … 128 s by default), then logged with its traceback and
counted as failed. Nothing enqueued here is part of the caller's database transaction: enqueue
after the commit, and keep the durable truth (an outbox row) in the service's own database.

**Why nothing runs twice**, however many consumers run:

- *A job enqueued* is taken by exactly one worker: huey's dequeue deletes the row it returns in one
  atomic step — `DELETE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING data` on PostgreSQL,
  SELECT and DELETE inside `BEGIN EXCLUSIVE` on SQLite.
- *A job scheduled at an ETA* (and every retry) waits in huey's schedule table until a scheduler
  moves it into the queue, with the same kind of atomic delete-and-return (`DELETE … FOR UPDATE SKIP
  LOCKED RETURNING`; `BEGIN EXCLUSIVE`): one scheduler gets the row, the others find it gone.
- *A periodic job* is started by every consumer's scheduler, so each start first claims its slot
  (the job's name and the minute, in UTC): `put_if_empty` on huey's key-value table, one INSERT under
  the primary key (queue, key) — `INSERT … ON CONFLICT DO NOTHING` and its row count on PostgreSQL,
  `INSERT OR ABORT` in `BEGIN EXCLUSIVE` on SQLite. The first insert wins; every other scheduler's
  insert of the same key fails, so the slot is enqueued once. The schedulers look every second
  (a slot claimed is not asked for again by the same process), so a slot starts within about a
  second of its minute and is not skipped by a scheduler's drift. Claims are deleted after about an hour.

The price is the other side of "at most once": huey deletes a job from the queue when a worker takes
it, so a consumer killed outright (SIGKILL, out of memory) loses the attempt it was running. On
SIGTERM or SIGINT the consumer stops taking jobs, lets running ones finish for up to
`SHUTDOWN_TIMEOUT_SECONDS`, and puts back in the queue whatever is still running then. Write jobs so
that running one again is harmless, and let a periodic job sweep up what a lost attempt left.

**Metrics** (added to the app's `/metrics`, read from the queue's storage at scrape time, so they
are the same whichever gunicorn worker answers and include every consumer, in any container):
`glu_jobs_total{service, job, outcome}` (`complete`, `retrying`, `failed`; counted by the consumer
through huey's signals into huey's counter table), `glu_jobs_queue_depth{service}` (jobs ready to
run) and `glu_jobs_scheduled{service}` (jobs waiting for their ETA or their next retry).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import logging
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from huey import MemoryHuey, PostgresHuey, SqliteHuey, crontab
from huey import signals as huey_signals
from huey.api import Huey, Task
from huey.constants import EmptyData
from huey.consumer import Consumer, Scheduler
from huey.storage import PostgresStorage, SqliteStorage
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from shared.db import POSTGRES_CONNECT_ARGS
from shared.observability import configure_logging

log = logging.getLogger("glu.jobs")

EXTENSION_KEY = "jobs"
OUTCOMES = ("complete", "retrying", "failed")
CRONTAB_FIELDS = frozenset({"minute", "hour", "day", "month", "day_of_week"})
# Job names end up in metric labels, storage keys and huey's registry ("shared.jobs.<name>").
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_POSTGRES_URL = re.compile(r"^postgres(?:ql)?(?:\+\w+)?://")
_SQLITE_PREFIX = "sqlite:///"

# The consumer: SQLite is polled, from 0.1 s after the last job up to every 0.5 s when idle; PostgreSQL
# workers wait on LISTEN/NOTIFY, and the delay only paces retries after a storage error.
SQLITE_POLL_SECONDS = (0.1, 0.5)
POSTGRES_ERROR_DELAY_SECONDS = (0.1, 10.0)
# Below compose's stop_grace_period (40 s), like gunicorn's graceful_timeout.
SHUTDOWN_TIMEOUT_SECONDS = 30.0

_CLAIM_PREFIX = "glu.periodic:"
_WAITING_PREFIX = "glu.waiting:"
# A coalesced job's mark older than this is taken for a run that was lost (its consumer killed after
# taking it, before clearing the mark): the next enqueue adds a run again. A run merely waiting this
# long in a busy queue gets a second one beside it, which is harmless.
COALESCE_STALE_SECONDS = 10.0
_CLAIM_KEPT = timedelta(hours=1)
_CLAIM_SWEEP_EVERY = timedelta(minutes=10)
_COUNT_PREFIX = "glu.jobs_total:"


class Jobs:
    """The service's jobs: register them (`task`, `periodic`), send work to them (`enqueue`, `schedule`)."""

    def __init__(self, app: Flask, service: str, huey: Huey):
        self.app = app
        self.service = service
        self.huey = huey
        self._wrappers: dict[str, object] = {}
        self._coalesced: set[str] = set()
        self._schema_ready = not _is_sql(huey.storage)
        self._schema_lock = threading.Lock()
        # Periodic slots this process has already tried to claim (the scheduler asks every second).
        self._slots_tried: dict[str, datetime] = {}
        self._last_sweep: datetime | None = None
        self._connect_signals()

    # --- Registering ---------------------------------------------------------------------------------

    def task(self, name: str, function: Callable[..., object], *, retries: int = 8, retry_delay: float = 1.0,
             retry_backoff: float = 2.0, coalesce: bool = False) -> None:
        """Register `function` as the job `name`: run with the enqueued keyword arguments, retried when it raises.

        `coalesce=True` is for a job without arguments that does whatever is due (the outbox's
        delivery): at most one run of it waits in the queue. Enqueueing it while a run waits and has
        not started adds nothing, because that run will see what the caller committed: it clears
        its mark as it starts, before it reads. Under load one run then serves many commits. The
        mark is a key in huey's key-value table set with `put_if_empty`; one older than
        `COALESCE_STALE_SECONDS` (its run lost with a killed consumer) counts as absent.
        """
        self._new_name(name)
        if coalesce:
            self._coalesced.add(name)
        wrapper = self.huey.task(retries=retries, retry_delay=retry_delay, retry_backoff=retry_backoff,
                                 name=name)(self._in_app_context(function, coalesced_as=name if coalesce else None))
        self._wrappers[name] = wrapper

    def periodic(self, name: str, function: Callable[[], object], **crontab_fields: str | int) -> None:
        """Register `function` to run at the times of a crontab in UTC (`minute="*/5"`, `hour="3", minute="0"`).

        Fields are huey's crontab (minute, hour, day, month, day_of_week), `*` where not given. Each
        slot runs once across every consumer (see the module's docstring). A failed run is not retried:
        the next slot is its retry.
        """
        unknown = set(crontab_fields) - CRONTAB_FIELDS
        if unknown:
            raise TypeError(f"periodic() takes crontab fields {sorted(CRONTAB_FIELDS)}, not {sorted(unknown)}")
        matches = crontab(**{field: str(value) for field, value in crontab_fields.items()}, strict=True)

        def due(timestamp: datetime) -> bool:
            return matches(timestamp) and self._claim_slot(name, timestamp)

        wrapper = self.huey.periodic_task(due, name=self._new_name(name))(self._in_app_context(function))
        self._wrappers[name] = wrapper

    def _new_name(self, name: str) -> str:
        if not _NAME.fullmatch(name):
            raise ValueError(f"job name {name!r}: use 1–100 of A–Z a–z 0–9 _ . -")
        if name in self._wrappers:
            raise ValueError(f"job {name!r} is registered already")
        return name

    def _in_app_context(self, function: Callable[..., object], coalesced_as: str | None = None
                        ) -> Callable[..., object]:
        app, storage = self.app, self.huey.storage

        # Defined here, so huey registers every job as "shared.jobs.<name>" wherever its function lives.
        def run(**kwargs):
            if coalesced_as is not None:
                storage.pop_data(_waiting_key(coalesced_as))  # from now on an enqueue adds a run again
            with app.app_context():
                return function(**kwargs)

        return run

    # --- Sending work ----------------------------------------------------------------------------------

    def enqueue(self, name: str, /, **kwargs) -> None:
        """Run the job `name` soon (in immediate mode: now) with these keyword arguments (JSON values)."""
        if name in self._coalesced and kwargs:
            raise TypeError(f"job {name!r} is coalesced: it takes no arguments")
        task = self._task(name, kwargs)
        self._ensure_schema()
        if name not in self._coalesced:
            self.huey.enqueue(task)
        elif self._mark_waiting(name):
            try:
                self.huey.enqueue(task)
            except Exception:
                self.huey.storage.pop_data(_waiting_key(name))
                raise

    def _mark_waiting(self, name: str) -> bool:
        """Mark a run of the coalesced job `name` as waiting; False if one waits already."""
        storage, key, now = self.huey.storage, _waiting_key(name), time.time()
        if storage.put_if_empty(key, repr(now).encode()):
            return True
        marked = storage.peek_data(key)
        if marked is EmptyData:  # the waiting run started in between
            return storage.put_if_empty(key, repr(now).encode())
        if now - float(marked) < COALESCE_STALE_SECONDS:
            return False
        storage.put_data(key, repr(now).encode())
        return True

    def schedule(self, name: str, eta: datetime, /, **kwargs) -> None:
        """Run the job `name` once at `eta`, an aware datetime (one already past runs at once)."""
        if eta.tzinfo is None or eta.utcoffset() is None:
            raise ValueError("schedule() needs an aware datetime (with its offset), not a naive one")
        # huey keeps times as naive UTC.
        task = self._task(name, kwargs, eta=eta.astimezone(UTC).replace(tzinfo=None))
        self._ensure_schema()
        if self.huey.immediate:
            self.huey.enqueue(task)  # runs now if due, else waits in memory for run_due()
        else:
            self.huey.add_schedule(task)

    def _task(self, name: str, kwargs: dict, eta: datetime | None = None) -> Task:
        wrapper = self._wrappers.get(name)
        if wrapper is None:
            raise ValueError(f"no job {name!r} is registered (known: {sorted(self._wrappers)})")
        try:
            arguments = json.loads(json.dumps(kwargs))
        except (TypeError, ValueError) as error:
            raise TypeError(f"job {name!r}: keyword arguments must be JSON values ({error})") from None
        # The task class itself, not wrapper.s(): that would take arguments named id, eta, retries, … as options.
        return wrapper.task_class((), arguments, eta=eta)

    def run_due(self, now: datetime | None = None) -> int:
        """Run, in this process, every scheduled job (ETAs, retries) due at `now`; for immediate mode in tests."""
        timestamp = (now.astimezone(UTC).replace(tzinfo=None) if now is not None and now.tzinfo is not None
                     else now or _utcnow())
        self._ensure_schema()
        due = self.huey.read_schedule(timestamp)
        for task in due:
            self.huey.execute(task, timestamp)
        return len(due)

    # --- Looking at the queue --------------------------------------------------------------------------

    def queue_depth(self) -> int:
        """Jobs waiting in the queue, ready to run (not those waiting for an ETA or a retry)."""
        self._ensure_schema()
        return self.huey.pending_count()

    def scheduled_count(self) -> int:
        """Jobs waiting for their ETA or their next retry."""
        self._ensure_schema()
        return self.huey.scheduled_count()

    def counts(self) -> dict[tuple[str, str], int]:
        """{(job, outcome): runs} from the storage's counters, every registered job's outcomes included."""
        self._ensure_schema()
        counts = {(name, outcome): 0 for name in self._wrappers for outcome in OUTCOMES}
        for key, value in read_counters(self.huey.storage, [_count_key(job, outcome) for job, outcome in counts]):
            if key.startswith(_COUNT_PREFIX):
                outcome, _, job = key[len(_COUNT_PREFIX):].partition(":")
                if outcome in OUTCOMES:
                    counts[(job, outcome)] = int(value)
        return counts

    # --- The consumer ----------------------------------------------------------------------------------

    def consumer(self, workers: int = 2, *, handle_signals: bool = True) -> Consumer:
        """huey's consumer for this queue: `workers` threads and the scheduler (with the periodic jobs).

        `run()` it in the main thread; or, in a test, `start()` it with handle_signals=False and `stop()` it.
        """
        self._ensure_schema()
        delay, max_delay = POSTGRES_ERROR_DELAY_SECONDS if self.huey.storage.blocking else SQLITE_POLL_SECONDS
        return _Consumer(self.huey, handle_signals=handle_signals, workers=workers, worker_type="thread",
                         periodic=True, initial_delay=delay, max_delay=max_delay, backoff=1.15, scheduler_interval=1,
                         shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS)

    def _ensure_schema(self) -> None:
        """Make huey's tables the first time this process needs them (create_app itself touches no database)."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            storage = self.huey.storage
            if isinstance(storage, SqliteStorage):
                Path(storage.filename).parent.mkdir(parents=True, exist_ok=True)
            # CREATE TABLE IF NOT EXISTS from several processes at once can still collide on PostgreSQL's
            # catalogue (a unique violation in pg_type); the loser tries again and finds the tables.
            for attempt in range(3):
                try:
                    storage.initialize_schema()
                    break
                except Exception:
                    if attempt == 2:
                        raise
                    time.sleep(0.2 * (attempt + 1))
            self._schema_ready = True

    # --- Periodic slots --------------------------------------------------------------------------------

    def _claim_slot(self, name: str, timestamp: datetime) -> bool:
        """True for exactly one scheduler, of all consumers, per job and minute (`timestamp`: naive UTC)."""
        slot = timestamp.replace(second=0, microsecond=0)
        if self._slots_tried.get(name) == slot:
            return False
        self._slots_tried[name] = slot
        try:
            self._ensure_schema()
            claimed = self.huey.storage.put_if_empty(_claim_key(name, slot), b"1")
        except Exception:
            log.exception("Could not claim the %s run of job %s", f"{slot:%Y-%m-%d %H:%M}", name)
            self._slots_tried.pop(name, None)  # ask again at the next look
            return False
        if claimed and (self._last_sweep is None or slot - self._last_sweep >= _CLAIM_SWEEP_EVERY):
            self._last_sweep = slot
            self._forget_claims_before(slot - _CLAIM_KEPT)
        return claimed

    def _forget_claims_before(self, cutoff: datetime) -> None:
        """Delete claims of slots before `cutoff`: no scheduler asks for a slot an hour after its minute."""
        try:
            for key in self.huey.storage.result_items():
                if key.startswith(_CLAIM_PREFIX) and _claim_slot_of(key) < cutoff:
                    self.huey.storage.delete_data(key)
        except Exception:
            log.exception("Could not delete old claims of periodic jobs")

    # --- Signals: metrics and logs ----------------------------------------------------------------------

    def _connect_signals(self) -> None:
        huey = self.huey
        huey.signal(huey_signals.SIGNAL_COMPLETE)(self._completed)
        huey.signal(huey_signals.SIGNAL_ERROR)(self._failed)
        huey.signal(huey_signals.SIGNAL_RETRYING)(self._retrying)
        huey.signal(huey_signals.SIGNAL_INTERRUPTED)(self._interrupted)

    def _completed(self, signal_name: str, task: Task) -> None:
        self._count(task.name, "complete")

    def _failed(self, signal_name: str, task: Task, error: BaseException) -> None:
        # Sent for every attempt that raised, before huey decides; task.retries is what is left.
        if task.retries:
            log.warning("Job %s failed, %s retries left, next in %.3g s: %r", task.name, task.retries,
                        task.retry_delay, error)
        else:
            log.error("Job %s failed for good", task.name, exc_info=(type(error), error, error.__traceback__))
            self._count(task.name, "failed")

    def _retrying(self, signal_name: str, task: Task) -> None:
        self._count(task.name, "retrying")

    def _interrupted(self, signal_name: str, task: Task) -> None:
        # The consumer is shutting down with the job still running: put it back for the next consumer.
        log.warning("Job %s was still running at shutdown; it goes back in the queue", task.name)
        try:
            self.huey.enqueue(task)
        except Exception:
            log.exception("Job %s could not be put back in the queue and is lost", task.name)

    def _count(self, job: str, outcome: str) -> None:
        try:
            self.huey.storage.incr(_count_key(job, outcome))
        except Exception:
            log.exception("Could not count job %s as %s", job, outcome)


# --- Building it -----------------------------------------------------------------------------------------

def install_jobs(app: Flask, service: str) -> Jobs:
    """The service's job queue (from JOBS_URL / JOBS_IMMEDIATE), as `app.extensions["jobs"]`, with its metrics."""
    if EXTENSION_KEY in app.extensions:
        raise RuntimeError("install_jobs() was called for this app already")
    jobs = Jobs(app, service, make_huey(service, app.config.get("JOBS_URL"), app.instance_path,
                                        immediate=bool(app.config.get("JOBS_IMMEDIATE"))))
    app.extensions[EXTENSION_KEY] = jobs
    _log_failures_once()
    _add_to_metrics_view(app, jobs)
    return jobs


class _NotHueysTaskTraceback(logging.Filter):
    """huey logs every failed attempt with its traceback; Jobs logs it instead, with the job and its retries."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "huey" and str(record.msg).startswith("Unhandled exception in task"))


def _log_failures_once() -> None:
    huey_log = logging.getLogger("huey")
    if not any(isinstance(existing, _NotHueysTaskTraceback) for existing in huey_log.filters):
        huey_log.addFilter(_NotHueysTaskTraceback())


def make_huey(service: str, url: str | None, instance_path: str, *, immediate: bool = False) -> Huey:
    """huey for `service`'s queue: PostgreSQL, SQLite (default: a file in instance/) or immediate (in memory).

    No connection is made and no table created here; Jobs does that when the queue is first used.
    """
    options = {"name": service, "results": False, "utc": True}
    if immediate:
        return MemoryHuey(immediate=True, **options)
    if not url:
        url = f"{_SQLITE_PREFIX}{Path(instance_path) / f'{service}-jobs.sqlite3'}"
    if _POSTGRES_URL.match(url):
        dsn = _POSTGRES_URL.sub("postgresql://", url)
        given = parse_qs(urlsplit(dsn).query)
        connect = {name: value for name, value in POSTGRES_CONNECT_ARGS.items() if name not in given}
        return PostgresHuey(dsn=dsn, create_tables=False, **connect, **options)
    if url.startswith(_SQLITE_PREFIX) and len(url) > len(_SQLITE_PREFIX):
        return SqliteHuey(filename=url[len(_SQLITE_PREFIX):], create_tables=False, **options)
    raise ValueError(f"JOBS_URL must be postgresql://… or sqlite:///path, not {url.split('://')[0]}://…")


class _Scheduler(Scheduler):
    # Look for periodic jobs every second rather than every 60 s from the consumer's start: a slot then
    # starts at the beginning of its minute and no minute is skipped by drift. Claims make it safe.
    periodic_task_seconds = 1


class _Consumer(Consumer):
    """huey's consumer with SIGTERM and SIGINT both graceful (finish running jobs, up to the shutdown timeout)."""

    scheduler_class = _Scheduler

    def __init__(self, huey: Huey, *, handle_signals: bool = True, **options):
        self.handle_signals = handle_signals
        super().__init__(huey, graceful_signal="TERM", **options)
        # huey makes one signal graceful and the other immediate; Ctrl-C and `docker stop` should both drain.
        self._signal_actions[signal.SIGINT] = (False, True)

    def _set_signal_handlers(self) -> None:
        if self.handle_signals:
            super()._set_signal_handlers()


def run_consumer(service: str, workers: int = 2) -> None:
    """Build `service`'s app (`<service>.create_app()`) and run its consumer until SIGTERM or SIGINT."""
    configure_logging()
    app = importlib.import_module(service).create_app()
    jobs = app.extensions.get(EXTENSION_KEY)
    if jobs is None:
        log.warning("%s.create_app() does not install_jobs: the consumer runs with no jobs registered", service)
        jobs = install_jobs(app, service.rpartition(".")[2])
    log.info("Jobs consumer for %s with %d worker threads; jobs: %s", jobs.service, workers,
             ", ".join(sorted(jobs._wrappers)) or "none")
    jobs.consumer(workers).run()
    log.info("Jobs consumer for %s stopped", jobs.service)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.jobs", description="Run a service's background jobs.")
    parser.add_argument("service", help="catalogue or enrolment (a module with create_app())")
    parser.add_argument("--workers", type=int, default=2, help="worker threads (default 2)")
    arguments = parser.parse_args(argv)
    if arguments.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        run_consumer(arguments.service, arguments.workers)
    except KeyboardInterrupt:  # Ctrl-C before the consumer's own signal handlers were in place
        return 130
    return 0


# --- Metrics ---------------------------------------------------------------------------------------------

class _JobsCollector:
    """glu_jobs_total, glu_jobs_queue_depth and glu_jobs_scheduled, asked of the storage at each scrape."""

    def __init__(self, jobs: Jobs):
        self.jobs = jobs

    def describe(self):
        return []  # nothing is read when the collector is registered, only when scraped

    def collect(self):
        service = self.jobs.service
        try:
            counts = self.jobs.counts()
            depth, scheduled = self.jobs.queue_depth(), self.jobs.scheduled_count()
        except Exception:
            log.warning("The job queue could not be read for /metrics", exc_info=True)
            return
        total = CounterMetricFamily("glu_jobs", "Job runs by outcome: complete, retrying (failed, to be tried "
                                    "again) and failed (no retries left).", labels=["service", "job", "outcome"])
        for (job, outcome), value in sorted(counts.items()):
            total.add_metric([service, job, outcome], value)
        yield total
        queue = GaugeMetricFamily("glu_jobs_queue_depth", "Jobs in the queue, ready to run.", labels=["service"])
        queue.add_metric([service], depth)
        yield queue
        waiting = GaugeMetricFamily("glu_jobs_scheduled", "Jobs waiting for their ETA or their next retry.",
                                    labels=["service"])
        waiting.add_metric([service], scheduled)
        yield waiting


def _add_to_metrics_view(app: Flask, jobs: Jobs) -> None:
    """Append the jobs' metrics to /metrics (shared.observability), in either of its modes.

    In multiprocess mode that view builds a registry of the workers' files on every scrape, so a
    collector registered anywhere else would not be in it; the text of one more registry is appended
    instead (the families' names differ, so the exposition stays valid).
    """
    view = app.view_functions.get("metrics")
    if view is None:
        return
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_JobsCollector(jobs))

    @functools.wraps(view)
    def metrics_with_jobs(*args, **kwargs):
        response = app.make_response(view(*args, **kwargs))
        if response.status_code == 200:
            response.set_data(response.get_data() + generate_latest(registry))
        return response

    app.view_functions["metrics"] = metrics_with_jobs


# --- Storage helpers -------------------------------------------------------------------------------------

def _is_sql(storage) -> bool:
    return isinstance(storage, SqliteStorage | PostgresStorage)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _waiting_key(name: str) -> str:
    return f"{_WAITING_PREFIX}{name}"


def _claim_key(name: str, slot: datetime) -> str:
    return f"{_CLAIM_PREFIX}{name}:{slot:%Y-%m-%dT%H:%M}"


def _claim_slot_of(key: str) -> datetime:
    return datetime.strptime(key[-16:], "%Y-%m-%dT%H:%M")


def _count_key(job: str, outcome: str) -> str:
    return f"{_COUNT_PREFIX}{outcome}:{job}"


def read_counters(storage, keys: list[str]) -> list[tuple[str, int]]:
    """Every counter of this queue: one SELECT on the SQL storages; the given keys elsewhere (memory)."""
    if isinstance(storage, SqliteStorage):
        return storage.sql("select key, value from counter where queue = ?", (storage.name,), results=True)
    if isinstance(storage, PostgresStorage):
        return storage.sql(f"select key, value from {storage.table_counter} where queue = %s", (storage.name,),
                           results=True)
    return [(key, storage.incr(key, 0)) for key in keys]


if __name__ == "__main__":
    # Run the importable module's main, not this __main__ copy's: create_app registers jobs on that one.
    import shared.jobs

    sys.exit(shared.jobs.main())
