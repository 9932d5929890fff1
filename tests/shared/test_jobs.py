"""Background jobs (shared/jobs.py) on real huey storage, with real consumers.

Every test that touches a queue runs on a SqliteHuey file in tmp_path and, when TEST_DATABASE_URL names a
PostgreSQL server, again on PostgresHuey in a fresh database there. The apps are small Flask apps of
this module's own. Time is explicit where huey lets it be: a worker's or scheduler's turn is taken by
hand at a given `now` (huey's own Worker and Scheduler, whose sleeps return at once); the few tests with
running consumers wait for a condition with a deadline, never for a fixed time.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, current_app, g
from huey import MemoryHuey, PostgresHuey, SqliteHuey
from huey.consumer import Scheduler, Worker
from prometheus_client.parser import text_string_to_metric_families

from shared.jobs import install_jobs, make_huey
from shared.observability import install_observability

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 10.0
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
# Set, so the sleeps at the end of a worker's or scheduler's turn return at once.
NO_SLEEP = threading.Event()
NO_SLEEP.set()


def utcnow() -> datetime:
    """Naive UTC, huey's own time."""
    return datetime.now(UTC).replace(tzinfo=None)


def wait_for(condition, what: str, timeout: float = DEADLINE_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)


@pytest.fixture(params=["sqlite", "postgresql"])
def jobs_url(request, tmp_path, database_factory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("PostgresHuey is tested when TEST_DATABASE_URL names a PostgreSQL server")
    return database_factory(f"jobs_{uuid.uuid4().hex[:8]}")


@pytest.fixture
def make_jobs(tmp_path):
    """A small app with /metrics and its Jobs on the given queue; two made with one URL are two consumers' apps."""
    made = []

    def make(url: str | None = None, service: str = "demo", **config):
        app = Flask(__name__, instance_path=str(tmp_path / "instance"))
        app.config.update(JOBS_URL=url, **config)
        install_observability(app, service)
        jobs = install_jobs(app, service)
        made.append(jobs)
        return jobs

    yield make
    for jobs in made:
        jobs.huey.storage.close()


@contextmanager
def consuming(*all_jobs, workers: int = 1):
    """A real consumer (worker threads and the scheduler) per Jobs, in this process, without signal handlers."""
    consumers = [jobs.consumer(workers, handle_signals=False) for jobs in all_jobs]
    for consumer in consumers:
        consumer.start()
    try:
        yield consumers
    finally:
        for consumer in consumers:  # all at once: a PostgreSQL worker takes up to 1 s to see it (LISTEN)
            consumer.stop_flag.set()
        for consumer in consumers:
            consumer.stop(graceful=True)


def worker_turn(jobs, now: datetime) -> None:
    """One turn of a consumer's worker at `now`: take one job from the queue and run it."""
    Worker(jobs.huey, NO_SLEEP, 0.1, 0.1, 1.0).loop(now)


def scheduler_turn(jobs, now: datetime) -> None:
    """One turn of a consumer's scheduler at `now`: due ETAs and retries into the queue, periodic jobs started."""
    Scheduler(jobs.huey, NO_SLEEP, 1, True).loop(now)


def run_queue(jobs, now: datetime) -> None:
    """Workers' turns until the queue is empty (no turn on an empty queue: PostgreSQL's would wait 1 s)."""
    while jobs.queue_depth():
        worker_turn(jobs, now)


def metric(jobs, name: str, **labels) -> float | None:
    response = jobs.app.test_client().get("/metrics")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()):
                return sample.value
    return None


# --- Running a job ---------------------------------------------------------------------------------------


def test_a_job_enqueued_runs_soon_in_a_fresh_app_context_with_its_arguments(make_jobs, jobs_url):
    jobs = make_jobs(jobs_url)
    runs = []

    def record(**kwargs):
        assert not hasattr(g, "seen"), "every run has an app context of its own"
        g.seen = True
        runs.append((current_app._get_current_object(), kwargs, time.monotonic()))

    jobs.task("record", record)

    with consuming(jobs):
        enqueued = time.monotonic()
        # Names huey itself uses for options (id, eta, retries, …) are the job's arguments here.
        jobs.enqueue("record", offering_id=7, id=3, eta="in a minute", retries=["a", "b"], pair=(1, 2))
        jobs.enqueue("record", offering_id=8)
        wait_for(lambda: len(runs) == 2, "both jobs ran")

    first, second = runs
    assert first[0] is jobs.app and second[0] is jobs.app
    assert first[1] == {"offering_id": 7, "id": 3, "eta": "in a minute", "retries": ["a", "b"], "pair": [1, 2]}
    assert second[1] == {"offering_id": 8}
    # Soon, not at the next idle poll of huey's default 10 s; how soon is for make bench (a shared machine).
    assert first[2] - enqueued < 5.0  # polling on SQLite, LISTEN/NOTIFY on PostgreSQL
    assert jobs.queue_depth() == 0


def test_a_failing_job_is_retried_with_growing_delays_then_logged_and_counted_failed(make_jobs, jobs_url, caplog):
    jobs = make_jobs(jobs_url)
    attempts = []

    def broken():
        attempts.append(utcnow())
        raise RuntimeError("the mail server said no")

    jobs.task("broken", broken, retries=3, retry_delay=1.0, retry_backoff=2.0)
    jobs.enqueue("broken")

    caplog.set_level(logging.INFO)
    worker_turn(jobs, utcnow())
    delays = []
    for _ in range(3):
        [retry] = jobs.huey.scheduled()
        delays.append((retry.eta - attempts[-1]).total_seconds())
        scheduler_turn(jobs, retry.eta - timedelta(milliseconds=100))
        assert (jobs.queue_depth(), len(attempts)) == (0, len(delays)), "not before its time"
        scheduler_turn(jobs, retry.eta)
        assert jobs.queue_depth() == 1
        worker_turn(jobs, retry.eta)

    assert len(attempts) == 4
    assert delays == pytest.approx([1.0, 2.0, 4.0], abs=0.25)
    assert (jobs.queue_depth(), jobs.scheduled_count()) == (0, 0), "given up after the last retry"
    assert jobs.counts() == {("broken", "complete"): 0, ("broken", "retrying"): 3, ("broken", "failed"): 1}
    ours = [record for record in caplog.records if record.name == "glu.jobs"]
    assert [record.levelname for record in ours] == ["WARNING"] * 3 + ["ERROR"]
    assert "3 retries left" in ours[0].getMessage() and "the mail server said no" in ours[0].getMessage()
    assert ours[-1].getMessage() == "Job broken failed for good"
    assert ours[-1].exc_info[1].args == ("the mail server said no",)
    assert not [record for record in caplog.records if "Unhandled exception in task" in record.getMessage()]


# --- Coalesced jobs ----------------------------------------------------------------------------------------


def test_a_coalesced_job_waits_in_the_queue_once_however_often_it_is_enqueued(make_jobs, jobs_url):
    jobs = make_jobs(jobs_url)
    runs = []

    def deliver():
        runs.append(utcnow())
        if len(runs) == 1:
            jobs.enqueue("deliver")  # a commit while the run is under way: it may have read too early

    jobs.task("deliver", deliver, coalesce=True)
    for _ in range(3):
        jobs.enqueue("deliver")
    assert jobs.queue_depth() == 1

    worker_turn(jobs, utcnow())
    assert len(runs) == 1
    assert jobs.queue_depth() == 1, "the run cleared its mark as it started, so the commit during it queued one"
    jobs.enqueue("deliver")
    run_queue(jobs, utcnow())
    assert len(runs) == 2 and jobs.queue_depth() == 0
    jobs.enqueue("deliver")
    assert jobs.queue_depth() == 1
    with pytest.raises(TypeError, match="coalesced"):
        jobs.enqueue("deliver", offering_id=1)


def test_a_coalesced_run_lost_with_its_consumer_is_queued_again_once_its_mark_is_stale(make_jobs, jobs_url,
                                                                                         monkeypatch):
    jobs = make_jobs(jobs_url)
    jobs.task("deliver", lambda: None, coalesce=True)
    jobs.enqueue("deliver")
    jobs.huey.dequeue()  # taken by a consumer that was killed before the run began
    jobs.enqueue("deliver")
    assert jobs.queue_depth() == 0, "the mark is fresh: the run is taken to be waiting"

    later = time.time() + 11
    monkeypatch.setattr("shared.jobs.time.time", lambda: later)
    jobs.enqueue("deliver")
    jobs.enqueue("deliver")
    assert jobs.queue_depth() == 1


def test_a_coalesced_job_in_immediate_mode_runs_at_every_enqueue(make_jobs):
    jobs = make_jobs(JOBS_IMMEDIATE=True)
    runs = []
    jobs.task("deliver", lambda: runs.append(1), coalesce=True)
    jobs.enqueue("deliver")
    jobs.enqueue("deliver")
    assert runs == [1, 1]


# --- ETAs ------------------------------------------------------------------------------------------------


def test_a_job_scheduled_at_an_eta_runs_once_at_it_with_two_consumers(make_jobs, jobs_url):
    first, second = make_jobs(jobs_url), make_jobs(jobs_url)
    runs = []
    for jobs in (first, second):
        jobs.task("remind", lambda enrolment_id, jobs=jobs: runs.append((jobs, enrolment_id)))
    eta = datetime(2031, 3, 1, 13, 0, tzinfo=COPENHAGEN)
    at = eta.astimezone(UTC).replace(tzinfo=None)  # 12:00 UTC

    first.schedule("remind", eta, enrolment_id=12)
    assert (second.scheduled_count(), second.queue_depth()) == (1, 0)

    for jobs in (first, second):
        scheduler_turn(jobs, at - timedelta(seconds=1))
    assert (second.scheduled_count(), second.queue_depth(), runs) == (1, 0, [])

    for jobs in (second, first):  # both schedulers see it due; one moves it
        scheduler_turn(jobs, at + timedelta(seconds=1))
    assert (first.scheduled_count(), first.queue_depth()) == (0, 1)

    worker_turn(second, at + timedelta(seconds=1))
    worker_turn(first, at + timedelta(seconds=1))  # finds the queue empty
    for jobs in (first, second):
        scheduler_turn(jobs, at + timedelta(minutes=5))
    run_queue(first, at + timedelta(minutes=5))

    assert runs == [(second, 12)]


def test_jobs_scheduled_at_one_eta_run_once_each_on_two_running_consumers(make_jobs, jobs_url):
    first, second = make_jobs(jobs_url), make_jobs(jobs_url)
    runs = []
    lock = threading.Lock()

    def remind(number):
        with lock:
            runs.append((number, datetime.now(UTC)))

    for jobs in (first, second):
        jobs.task("remind", remind)
    eta = datetime.now(UTC) + timedelta(seconds=1.2)
    for number in range(10):
        (first, second)[number % 2].schedule("remind", eta, number=number)

    with consuming(first, second, workers=2):
        wait_for(lambda: len(runs) >= 10, "every reminder ran")
        wait_for(lambda: first.queue_depth() + first.scheduled_count() == 0, "nothing left")

    assert sorted(number for number, _ in runs) == list(range(10))
    assert min(ran for _, ran in runs) >= eta


# --- Periodic jobs ---------------------------------------------------------------------------------------


def test_a_periodic_slot_runs_once_when_two_consumers_schedulers_start_it(make_jobs, jobs_url):
    first, second = make_jobs(jobs_url), make_jobs(jobs_url)
    runs = []
    for jobs in (first, second):
        jobs.periodic("tick", lambda: runs.append("tick"), minute="*")
        jobs.periodic("every-five", lambda: runs.append("every-five"), minute="*/5")
    noon = datetime(2031, 3, 1, 12, 0, 5)

    scheduler_turn(first, noon)
    scheduler_turn(second, noon + timedelta(seconds=30))  # another consumer, the same minute
    scheduler_turn(first, noon + timedelta(seconds=50))  # the first again, still the same minute
    assert second.queue_depth() == 2
    run_queue(second, noon + timedelta(seconds=50))
    assert sorted(runs) == ["every-five", "tick"]

    scheduler_turn(second, noon + timedelta(minutes=1))
    scheduler_turn(first, noon + timedelta(minutes=1, seconds=20))
    run_queue(first, noon + timedelta(minutes=1, seconds=20))
    assert sorted(runs) == ["every-five", "tick", "tick"]

    # Claims are kept an hour: a later claim deletes the older ones.
    scheduler_turn(first, noon + timedelta(hours=1, minutes=30))
    claims = [key for key in first.huey.storage.result_items() if key.startswith("glu.periodic:")]
    assert sorted(claims) == ["glu.periodic:every-five:2031-03-01T13:30", "glu.periodic:tick:2031-03-01T13:30"]


def test_periodic_takes_only_crontab_fields_and_names_are_unique(make_jobs, jobs_url):
    jobs = make_jobs(jobs_url)
    jobs.periodic("nightly", lambda: None, hour=2, minute=0)

    with pytest.raises(TypeError, match="crontab fields"):
        jobs.periodic("other", lambda: None, minutes="*")
    with pytest.raises(ValueError):
        jobs.periodic("other", lambda: None, minute="every")
    with pytest.raises(ValueError, match="registered already"):
        jobs.task("nightly", lambda: None)
    with pytest.raises(ValueError, match="job name"):
        jobs.task("no spaces", lambda: None)


# --- Immediate mode (the tests of the services) ------------------------------------------------------------


def test_immediate_mode_runs_a_job_at_enqueue_in_its_own_app_context(make_jobs):
    jobs = make_jobs(JOBS_IMMEDIATE=True)
    runs = []

    def record(**kwargs):
        runs.append((dict(g.__dict__), kwargs))

    jobs.task("record", record)
    jobs.task("broken", lambda: 1 / 0, retries=1)

    with jobs.app.test_request_context("/"):
        g.from_the_request = True
        jobs.enqueue("record", when=(1, 2))
        assert runs == [({}, {"when": [1, 2]})]  # its own context, and JSON's values

    jobs.enqueue("broken")  # does not raise: logged, counted, its retry waits in memory
    assert jobs.counts()[("broken", "retrying")] == 1

    eta = datetime(2031, 3, 1, 9, 0, tzinfo=COPENHAGEN)
    jobs.schedule("record", eta, enrolment_id=4)
    assert len(runs) == 1 and jobs.scheduled_count() == 2
    assert jobs.run_due(eta - timedelta(seconds=1)) == 1  # the retry only
    assert jobs.run_due(eta) == 1
    assert runs[-1] == ({}, {"enrolment_id": 4})
    assert jobs.counts()[("broken", "failed")] == 1

    with pytest.raises(ValueError, match="no job 'missing'"):
        jobs.enqueue("missing")
    with pytest.raises(TypeError, match="JSON"):
        jobs.enqueue("record", at=datetime.now(UTC))
    with pytest.raises(ValueError, match="aware"):
        jobs.schedule("record", datetime(2031, 3, 1, 9, 0))


# --- Where the queue is ----------------------------------------------------------------------------------


def test_the_queue_is_built_from_jobs_url(tmp_path):
    postgres = make_huey("catalogue", "postgresql+psycopg://catalogue:pw@db:5432/catalogue", str(tmp_path))
    assert isinstance(postgres, PostgresHuey) and postgres.name == "catalogue"
    assert postgres.storage.dsn == "postgresql://catalogue:pw@db:5432/catalogue"
    assert postgres.storage.connection_params["connect_timeout"] == 3
    given = make_huey("catalogue", "postgresql://db/catalogue?connect_timeout=10", str(tmp_path))
    assert "connect_timeout" not in given.storage.connection_params  # the URL's own wins

    sqlite = make_huey("enrolment", f"sqlite:///{tmp_path / 'q.sqlite3'}", str(tmp_path))
    assert isinstance(sqlite, SqliteHuey) and sqlite.storage.filename == str(tmp_path / "q.sqlite3")
    default = make_huey("enrolment", None, str(tmp_path / "instance"))
    assert default.storage.filename == str(tmp_path / "instance" / "enrolment-jobs.sqlite3")
    immediate = make_huey("enrolment", "postgresql://db/x", str(tmp_path), immediate=True)
    assert isinstance(immediate, MemoryHuey) and immediate.immediate

    with pytest.raises(ValueError, match="JOBS_URL"):
        make_huey("enrolment", "redis://localhost:6379/0", str(tmp_path))


def test_install_jobs_touches_no_database_until_the_queue_is_used(make_jobs, tmp_path):
    jobs = make_jobs(None)  # the default: instance/demo-jobs.sqlite3
    jobs.task("noop", lambda: None)
    default = tmp_path / "instance" / "demo-jobs.sqlite3"
    assert jobs.app.extensions["jobs"] is jobs
    with pytest.raises(RuntimeError, match="already"):
        install_jobs(jobs.app, "demo")
    assert not default.exists()
    jobs.enqueue("noop")
    assert default.exists() and jobs.queue_depth() == 1

    unreachable = make_jobs("postgresql://nobody@127.0.0.1:1/nothing")  # built all the same
    unreachable.task("noop", lambda: None)
    with pytest.raises(Exception, match="127.0.0.1"):
        unreachable.enqueue("noop")


# --- Metrics ---------------------------------------------------------------------------------------------


def test_outcomes_and_queue_depth_show_in_metrics(make_jobs, jobs_url):
    jobs = make_jobs(jobs_url)
    attempts = []

    def flaky():
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise ConnectionError("catalogue unreachable")

    jobs.task("fine", lambda: None)
    jobs.task("hopeless", lambda: 1 / 0, retries=0)
    jobs.task("flaky", flaky, retry_delay=0.2)

    def outcome(job, name):
        return metric(jobs, "glu_jobs_total", service="demo", job=job, outcome=name)

    assert outcome("fine", "complete") == 0.0  # every registered job's outcomes, from the start
    with consuming(jobs):
        for name in ("fine", "hopeless", "flaky"):
            jobs.enqueue(name)
        wait_for(lambda: outcome("flaky", "complete") == 1.0, "the flaky job's retry succeeded")
        wait_for(lambda: outcome("hopeless", "failed") == 1.0, "the hopeless job failed")

    assert len(attempts) == 2 and attempts[1] - attempts[0] >= 0.2
    assert outcome("flaky", "retrying") == 1.0
    assert outcome("fine", "complete") == 1.0 and outcome("fine", "failed") == 0.0
    assert (outcome("hopeless", "retrying"), outcome("hopeless", "complete")) == (0.0, 0.0)
    assert metric(jobs, "glu_jobs_queue_depth", service="demo") == 0.0

    jobs.enqueue("fine")
    jobs.enqueue("fine")
    jobs.schedule("fine", datetime.now(UTC) + timedelta(days=1))
    assert metric(jobs, "glu_jobs_queue_depth", service="demo") == 2.0 == jobs.queue_depth()
    assert metric(jobs, "glu_jobs_scheduled", service="demo") == 1.0
    # Counted in the queue's storage: another process's app (another gunicorn worker) serves the same numbers.
    assert metric(make_jobs(jobs_url), "glu_jobs_total", service="demo", job="fine", outcome="complete") == 1.0


def test_the_jobs_metrics_are_served_in_multiprocess_mode_too(make_jobs, tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # how gunicorn's workers serve /metrics
    jobs = make_jobs(JOBS_IMMEDIATE=True)
    jobs.task("fine", lambda: None)
    jobs.enqueue("fine")

    assert metric(jobs, "glu_jobs_total", service="demo", job="fine", outcome="complete") == 1.0
    assert metric(jobs, "glu_jobs_queue_depth", service="demo") == 0.0
    text = jobs.app.test_client().get("/metrics").get_data(as_text=True)
    assert text.count("# TYPE glu_jobs_total counter") == 1


# --- python -m shared.jobs ---------------------------------------------------------------------------------

TINY_APP = '''
"""A tiny service for `python -m shared.jobs tiny_jobs_app`."""
import os
import time
from pathlib import Path

from flask import Flask, current_app

from shared.jobs import install_jobs


def create_app():
    app = Flask("tiny_jobs_app", instance_path=os.environ["TINY_INSTANCE"])
    app.config["JOBS_URL"] = os.environ["TINY_JOBS_URL"]
    jobs = install_jobs(app, "tiny")

    def write(path, text, seconds=0):
        Path(path + ".started").write_text("")
        time.sleep(seconds)
        Path(path).write_text(f"{text} from {current_app.name}")

    jobs.task("write", write)
    return app
'''


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_python_m_shared_jobs_runs_the_jobs_and_finishes_the_running_one_when_stopped(
        jobs_url, stop, tmp_path, monkeypatch):
    if stop == signal.SIGINT and jobs_url.startswith("postgres"):
        pytest.skip("SIGINT is handled as SIGTERM is, whatever the queue: tested on SQLite")
    (tmp_path / "tiny_jobs_app.py").write_text(TINY_APP, encoding="utf-8")
    monkeypatch.setenv("TINY_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("TINY_JOBS_URL", jobs_url)
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    spec = importlib.util.spec_from_file_location("tiny_jobs_app", tmp_path / "tiny_jobs_app.py")
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    jobs = tiny.create_app().extensions["jobs"]
    stderr = tmp_path / "consumer.log"

    with stderr.open("wb") as log:
        consumer = subprocess.Popen([sys.executable, "-m", "shared.jobs", "tiny_jobs_app", "--workers", "1"],
                                    cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_for(lambda: "Huey consumer started" in stderr.read_text(), "the consumer started", timeout=20)
        quick, slow = tmp_path / "quick.txt", tmp_path / "slow.txt"
        enqueued = time.monotonic()
        jobs.enqueue("write", path=str(quick), text="hej")
        wait_for(quick.exists, "the job ran")
        latency = time.monotonic() - enqueued

        jobs.enqueue("write", path=str(slow), text="færdig", seconds=0.5)
        wait_for(Path(f"{slow}.started").exists, "the slow job started")
        consumer.send_signal(stop)
        returncode = consumer.wait(timeout=DEADLINE_SECONDS)
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
        jobs.huey.storage.close()

    assert quick.read_text() == "hej from tiny_jobs_app"
    assert latency < 5.0  # soon (how soon is measured in make bench, not here)
    assert returncode == 0
    assert slow.read_text() == "færdig from tiny_jobs_app", "the running job finished before the consumer stopped"
    lines = [json.loads(line) for line in stderr.read_text().splitlines() if line.strip()]  # JSON, every line
    messages = [line["message"] for line in lines]
    assert "Jobs consumer for tiny with 1 worker threads; jobs: write" in messages
    assert "Jobs consumer for tiny stopped" in messages
    assert jobs.queue_depth() == 0
