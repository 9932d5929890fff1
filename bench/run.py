"""The benchmark suite: `make bench` runs the steps below in turn, each well under 10 minutes.

    python -m bench.run generate   # national-scale data into fresh PostgreSQL databases (COPY)
    python -m bench.run scaling    # catalogue search at 1k, 10k and 100k offerings
    python -m bench.run endpoints  # detail, .ics, feeds and POST enrolment at 100k / 500k
    python -m bench.run report     # EXPLAIN ANALYZE, py-spy profiles, bench/RESULTS.md and the PNG chart
    python -m bench.run render     # (not in make bench) RESULTS.md again from bench/results.json, measuring nothing

Every point runs `wrk` against gunicorn (same settings for every app in a run) on 127.0.0.1 only,
for a bounded time, interleaved with a bare Flask endpoint (bench/bare.py): bare, target, bare, …
Environment: BENCH_DURATION (seconds per point, default 10), BENCH_ROUNDS (target runs per
figure, default 2), BENCH_WORKERS (gunicorn workers, default 2), BENCH_CONNECTIONS (default 4),
BENCH_PG (server URL, default postgresql://postgres@127.0.0.1:5432), BENCH_WORK (scratch directory).

Wherever the enrolment service runs, both services' job consumers (`python -m shared.jobs <service>`)
run beside them on PostgresHuey in the service's bench database (JOBS_URL), as deployed: the seat
counts a POST /enrolments commits reach the catalogue through the enrolment consumer. While the
POST load runs, a probe (LagProbe) measures that seat-count lag.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = Path(os.environ.get("BENCH_WORK", Path(tempfile.gettempdir()) / "glu-bench"))
BIN = Path(sys.executable).parent
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
# While working on one figure: BENCH_ONLY=post_enrolment runs only the endpoints named (comma-separated)
# and keeps the others' results from the previous run.
ONLY = {name for name in os.environ.get("BENCH_ONLY", "").split(",") if name}
WRK_THREADS = 1
PORTS = {"bare": 5190, "catalogue": 5191, "enrolment": 5192}
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
ENROLMENTS = 500_000
SEED = 20261123
COMMAND = "make bench"

# The seat-count lag probe: one POST every PROBE_INTERVAL s into its own offering, the catalogue's
# row read every PROBE_POLL s until it shows the enrolment, given up after PROBE_GIVE_UP s.
PROBE_INTERVAL, PROBE_POLL, PROBE_GIVE_UP = 0.1, 0.005, 10.0
IDLE_PROBE_SECONDS = 5
DRAIN_GIVE_UP = 120  # seconds for the outbox to empty after a POST run, before the next bare run


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def secret() -> str:
    path = WORK / "secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text()


def fixtures(size: str) -> dict:
    return json.loads((WORK / f"fixtures-{size}.json").read_text())


# --- step 1: data -----------------------------------------------------------------------------------

def step_generate() -> None:
    from bench import generate

    WORK.mkdir(parents=True, exist_ok=True)
    for size, count in SIZES.items():
        args = ["--offerings", str(count), "--seed", str(SEED), "--catalogue-db", f"glu_bench_catalogue_{size}",
                "--fixtures", str(WORK / f"fixtures-{size}.json")]
        if size == "100k":
            args += ["--enrolments", str(ENROLMENTS), "--enrolment-db", "glu_bench_enrolment_100k"]
        generate.main(args)


# --- servers ----------------------------------------------------------------------------------------

def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is missing: installing Debian's package")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=dict(os.environ,
                                                                                   DEBIAN_FRONTEND="noninteractive"))
    return shutil.which("wrk") or "wrk"


class Server:
    """One app under gunicorn: the same worker settings for every app in a run."""

    def __init__(self, name: str, app: str, env: dict):
        self.name, self.app, self.env, self.process = name, app, env, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{PORTS[self.name]}"

    def start(self) -> Server:
        log_file = open(WORK / f"gunicorn-{self.name}.log", "ab")  # noqa: SIM115 - kept for the process's life
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--no-control-socket", "--workers", str(WORKERS), "--threads", "1",
             "--worker-class", "sync", "--bind", f"127.0.0.1:{PORTS[self.name]}", "--log-level", "warning",
             "--timeout", "60", self.app],
            cwd=ROOT, env=dict(os.environ, **self.env), stdout=log_file, stderr=log_file)
        health = "/" if self.name == "bare" else "/healthz"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {WORK / f'gunicorn-{self.name}.log'}")
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url + health, timeout=2) as response:
                if response.status == 200:
                    return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Consumer:
    """A service's job consumer, `python -m shared.jobs <service>`, with its gunicorn's environment."""

    def __init__(self, service: str, env: dict):
        self.service, self.env, self.process = service, env, None
        self.name = f"jobs-{service}"
        self.log_path = WORK / f"{self.name}.log"

    def start(self) -> Consumer:
        self.log_path.touch()
        offset = self.log_path.stat().st_size
        log_file = open(self.log_path, "ab")  # noqa: SIM115 - kept for the process's life
        self.process = subprocess.Popen([sys.executable, "-m", "shared.jobs", self.service], cwd=ROOT,
                                        env=dict(os.environ, **self.env), stdout=log_file, stderr=log_file)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            # Logged once the app is built and the consumer is about to take jobs.
            if b"Jobs consumer for" in self.log_path.read_bytes()[offset:]:
                time.sleep(0.5)  # its workers open their LISTEN connections
                if self.process.poll() is None:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # graceful: running jobs finish (shared.jobs, up to 30 s)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def app_env(catalogue_db: str, enrolment_db: str | None = None, response_cache: bool = True) -> dict:
    env = {"GLU_TOKEN_SECRET": secret(), "CATALOGUE_DATABASE_URL": f"{PG}/{catalogue_db}",
           # Off: every search is rendered, which is what scales with the data; on: what a deployment does.
           "RESPONSE_CACHE_MB": "32" if response_cache else "0",
           "CATALOGUE_PUBLIC_URL": f"http://127.0.0.1:{PORTS['catalogue']}",
           "CATALOGUE_URL": f"http://127.0.0.1:{PORTS['catalogue']}",
           "ENROLMENT_PUBLIC_URL": f"http://127.0.0.1:{PORTS['enrolment']}"}
    if enrolment_db:
        env["ENROLMENT_DATABASE_URL"] = f"{PG}/{enrolment_db}"
    for unset in ("ENROLMENT_URL", "SMTP_HOST"):  # no webhooks, mail stays in the outbox table
        os.environ.pop(unset, None)
    return env


@contextlib.contextmanager
def servers(catalogue_db: str, enrolment_db: str | None = None, response_cache: bool = True):
    """gunicorn for bare, the catalogue and (with `enrolment_db`) the enrolment service and both job consumers.

    Each service's queue is PostgresHuey in its own bench database, for gunicorn (which enqueues)
    and its consumer alike. The consumers stop first, so a delivery under way still finds the catalogue.
    """
    started: list[Server | Consumer] = []
    try:
        env = app_env(catalogue_db, enrolment_db, response_cache)
        catalogue_env = dict(env, JOBS_URL=f"{PG}/{catalogue_db}")
        started.append(Server("bare", "bench.bare:create_app()", env).start())
        started.append(Server("catalogue", "catalogue:create_app()", catalogue_env).start())
        if enrolment_db:
            enrolment_env = dict(env, JOBS_URL=f"{PG}/{enrolment_db}")
            started.append(Server("enrolment", "enrolment:create_app()", enrolment_env).start())
            started.append(Consumer("catalogue", catalogue_env).start())
            started.append(Consumer("enrolment", enrolment_env).start())
        yield {server.name: server for server in started}
    finally:
        for server in reversed(started):
            server.stop()


# --- wrk --------------------------------------------------------------------------------------------

def write_lines(name: str, lines: list) -> Path:
    path = WORK / name
    path.write_text("\n".join(str(line) for line in lines) + "\n")
    return path


def wrk(url: str, script: str, args: list[str], duration: int = DURATION) -> dict:
    command = [ensure_wrk(), f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{duration}s", "--timeout", "10s",
               "-s", str(BENCH / "wrk" / script), url, "--", *args]
    output = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60).stdout
    line = next((line for line in output.splitlines() if line.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(value for key, value in result.items() if key.startswith("errors_"))
    return result


def interleaved(name: str, bare: Server, run_target, rounds: int = ROUNDS) -> dict:
    """bare, target, bare, target, …, bare: each target run is compared with the bare runs either side."""
    bare_paths = write_lines("paths-bare.txt", ["/"])
    run_bare = lambda: wrk(bare.url, "get.lua", [str(bare_paths)])  # noqa: E731
    log(f"{name}: warming up")
    run_target(duration=2)
    wrk(bare.url, "get.lua", [str(bare_paths)], duration=2)
    bares, targets = [run_bare()], []
    for i in range(rounds):
        targets.append(run_target(round_no=i))
        bares.append(run_bare())
        log(f"{name}: round {i + 1}/{rounds}: {targets[-1]['rps']:.0f} req/s "
            f"(bare {bares[-2]['rps']:.0f}/{bares[-1]['rps']:.0f}), p50 {targets[-1]['p50_us'] / 1000:.1f} ms, "
            f"p99 {targets[-1]['p99_us'] / 1000:.1f} ms, errors {targets[-1]['errors']}")
    ratios = [t["rps"] / ((bares[i]["rps"] + bares[i + 1]["rps"]) / 2) for i, t in enumerate(targets)]
    return {
        "name": name, "rounds": rounds, "duration_s": DURATION,
        "rps": statistics.median(t["rps"] for t in targets),
        "p50_ms": statistics.median(t["p50_us"] for t in targets) / 1000,
        "p99_ms": statistics.median(t["p99_us"] for t in targets) / 1000,
        "errors": sum(t["errors"] for t in targets), "requests": sum(t["requests"] for t in targets),
        "bare_rps": statistics.median(b["rps"] for b in bares),
        "bare_p50_ms": statistics.median(b["p50_us"] for b in bares) / 1000,
        "bare_p99_ms": statistics.median(b["p99_us"] for b in bares) / 1000,
        "ratio": statistics.median(ratios), "ratios": ratios, "runs": {"target": targets, "bare": bares},
    }


def get_target(url: str, paths: list[str]):
    path_file = write_lines(f"paths-{abs(hash(tuple(paths))) % 10**8}.txt", paths)
    return lambda duration=DURATION, round_no=0: wrk(url, "get.lua", [str(path_file)], duration)


def search_paths(today: str) -> list[str]:
    """The filtered search people make: free text, a region, from today on, 25 a page (each region in turn)."""
    return [f"/offerings?q=ledelse&region={region}&date_from={today}&per_page=25"
            for region in ("1081", "1082", "1083", "1084", "1085")]


def save(name: str, results) -> None:
    (WORK / f"results-{name}.json").write_text(json.dumps(results, indent=1))


# --- step 2: scaling ----------------------------------------------------------------------------------

def step_scaling() -> None:
    """Each size twice: rendered every time (the catalogue's response cache off) and as deployed (on)."""
    results = {"rendered": {}, "cached": {}}
    for size in SIZES:
        fx = fixtures(size)
        for mode in results:
            with servers(fx["catalogue_db"], response_cache=mode == "cached") as running:
                target = get_target(running["catalogue"].url, search_paths(fx["today"]))
                results[mode][size] = interleaved(f"search_{size}_{mode}", running["bare"], target)
                results[mode][size]["offerings"] = fx["offerings"]
    results["measured_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    save("scaling", results)


# --- step 3: the other endpoints ----------------------------------------------------------------------

def hr_token(organisation: str) -> str:
    from shared.auth import Role, issue_token

    return issue_token(secret(), Role.HR, organisation=organisation, days=1)


class LagProbe:
    """The seat-count lag: from a `POST /enrolments` 201 until the catalogue holds that enrolment's seat counts.

    A thread POSTs one enrolment every PROBE_INTERVAL s (HR of its own organisation, a new e-mail
    each) into the one offering no other load touches; generate.py gives it room for 100,000, so
    every probe is confirmed and moves the offering's seat version by one. When the 201 arrives
    the thread notes the moment, reads the version that commit left on the offering's seat row in
    the enrolment database (nobody else changes it, so it is exactly the version this enrolment
    implies: `taken` one more than before), and then reads the catalogue's row for the offering
    every PROBE_POLL s until its `seats_version` is that or newer (newer counts include this
    enrolment too). The lag is that moment minus the 201's. The next probe is sent PROBE_INTERVAL
    s after the previous one was, or at once if its lag took longer; after PROBE_GIVE_UP s a probe
    counts as a timeout. A probe whose 201 arrives once the load has stopped is not counted.

    The catalogue's database, not `GET /offerings/{id}`, is polled: a GET shows what that row holds
    (its response cache is keyed to the database snapshot, so it cannot serve an older count once the
    row is committed; `api_check` confirms it at the end), and a GET every 5 ms would take one of the
    catalogue's two workers from the seat-count PUTs whose lag is measured, and from the POST load.
    """

    def __init__(self, fx: dict, enrolment_url: str, tag: str):
        self.fx, self.enrolment_url, self.tag = fx, enrolment_url, tag
        self.offering_id = fx["probe_offering_id"]
        self.token = hr_token(fx["probe_organisation"])
        self.lags: list[float] = []
        self.posts: list[float] = []
        self.timeouts = 0
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lag-probe", daemon=True)

    def __enter__(self) -> LagProbe:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join(PROBE_GIVE_UP + 40)

    def _run(self) -> None:
        try:
            self._probe()
        except Exception as error:  # reported in the results, not raised in a thread nobody joins on
            self.errors.append(f"probe stopped: {error!r}")
            log(f"lag probe stopped: {error!r}")

    def _probe(self) -> None:
        import psycopg

        with psycopg.connect(f"{PG}/{self.fx['enrolment_db']}", autocommit=True) as enrolment_db, \
                psycopg.connect(f"{PG}/{self.fx['catalogue_db']}", autocommit=True) as catalogue_db:
            n, next_at = 0, time.monotonic()
            while not self.stopping.wait(max(next_at - time.monotonic(), 0)):
                next_at = time.monotonic() + PROBE_INTERVAL
                n += 1
                sent = time.monotonic()
                status, body = self._post(n)
                arrived = time.monotonic()
                if self.stopping.is_set():
                    break  # the load is over: this one would be measured on an idle machine
                if status != 201 or body.get("status") != "confirmed":
                    self.errors.append(f"{status}: {json.dumps(body)[:300]}")
                    continue
                self.posts.append(arrived - sent)
                version = enrolment_db.execute("SELECT seats_version FROM offering_seats WHERE offering_id = %s",
                                               (self.offering_id,)).fetchone()[0]
                seen = self._seen(catalogue_db, version, arrived + PROBE_GIVE_UP)
                if seen is None:
                    self.timeouts += 1
                else:
                    self.lags.append(seen - arrived)

    def _post(self, n: int) -> tuple[int, dict]:
        body = json.dumps({"offering_id": self.offering_id, "participant": {
            "name": "Bench Måler", "email": f"lag-{self.tag}-{n}@bench.example"}}).encode()
        request = urllib.request.Request(self.enrolment_url + "/enrolments", data=body, method="POST", headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, {"body": error.read().decode(errors="replace")}
        except OSError as error:
            return 0, {"error": repr(error)}

    def _seen(self, catalogue_db, version: int, give_up: float) -> float | None:
        while True:
            row = catalogue_db.execute("SELECT seats_version FROM offering WHERE id = %s",
                                       (self.offering_id,)).fetchone()
            now = time.monotonic()
            if row[0] >= version:
                return now
            if now >= give_up:
                return None
            time.sleep(PROBE_POLL)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    ranked = sorted(values)
    return ranked[max(math.ceil(share * len(ranked)) - 1, 0)] if ranked else None


def lag_summary(probes: list[LagProbe]) -> dict:
    """Lag percentiles over every probe; a timeout ranks as PROBE_GIVE_UP s (longer than any measured lag)."""
    lags = [lag for probe in probes for lag in probe.lags]
    timeouts = sum(probe.timeouts for probe in probes)
    ranked = lags + [PROBE_GIVE_UP] * timeouts
    posts = [post for probe in probes for post in probe.posts]
    errors = [error for probe in probes for error in probe.errors]
    ms = lambda value: round(value * 1000, 1) if value is not None else None  # noqa: E731
    return {
        "samples": len(lags), "timeouts": timeouts, "errors": len(errors), "error_examples": errors[:3],
        "p50_ms": ms(percentile(ranked, 0.5)), "p90_ms": ms(percentile(ranked, 0.9)),
        "p99_ms": ms(percentile(ranked, 0.99)), "max_ms": ms(max(lags, default=None)),
        "mean_ms": ms(statistics.fmean(lags)) if lags else None,
        "probe_post_p50_ms": ms(percentile(posts, 0.5)), "probe_post_p99_ms": ms(percentile(posts, 0.99)),
        "interval_s": PROBE_INTERVAL, "poll_s": PROBE_POLL, "give_up_s": PROBE_GIVE_UP,
        "read_from": "the catalogue database (offering.seats_version)",
    }


def api_check(fx: dict, catalogue_url: str) -> dict:
    """The probe offering as `GET /offerings/{id}` shows it, against both services' rows."""
    import psycopg

    with urllib.request.urlopen(f"{catalogue_url}/offerings/{fx['probe_offering_id']}", timeout=10) as response:
        shown = json.loads(response.read())
    with psycopg.connect(f"{PG}/{fx['catalogue_db']}") as conn:
        capacity, taken, version = conn.execute("SELECT capacity, seats_taken, seats_version FROM offering "
                                                "WHERE id = %s", (fx["probe_offering_id"],)).fetchone()
    with psycopg.connect(f"{PG}/{fx['enrolment_db']}") as conn:
        confirmed, enrolment_version = conn.execute("SELECT confirmed, seats_version FROM offering_seats "
                                                    "WHERE offering_id = %s", (fx["probe_offering_id"],)).fetchone()
    return {"offering_id": fx["probe_offering_id"], "api_seats_available": shown["seats_available"],
            "catalogue_taken": taken, "catalogue_version": version, "enrolment_confirmed": confirmed,
            "enrolment_version": enrolment_version,
            "agrees": shown["seats_available"] == capacity - taken and (taken, version) == (confirmed,
                                                                                            enrolment_version)}


def wait_for_outbox(fx: dict, give_up: float = DRAIN_GIVE_UP) -> dict:
    """Wait until the consumer has delivered every seat-count row due (so the next bare run is not shared with it)."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(f"{PG}/{fx['enrolment_db']}", autocommit=True) as conn:
        while True:
            waiting = conn.execute("SELECT count(*) FROM outbox WHERE kind = 'seat_counts' "
                                   "AND delivered_at IS NULL AND due_at IS NOT NULL").fetchone()[0]
            if waiting == 0 or time.monotonic() - started > give_up:
                return {"seconds": round(time.monotonic() - started, 2), "left": waiting}
            time.sleep(0.05)


def outbox_check(fx: dict, offering_ids: list[int]) -> dict:
    """What the consumers did: outbox rows by kind and fate, and whether both services now agree on every seat count."""
    import psycopg

    with psycopg.connect(f"{PG}/{fx['enrolment_db']}") as conn:
        rows = conn.execute(
            "SELECT kind, CASE WHEN delivered_at IS NOT NULL THEN 'delivered' WHEN due_at IS NULL THEN 'given up' "
            "ELSE 'waiting' END, count(*), count(*) FILTER (WHERE attempts > 1), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at - created_at)), "
            "max(extract(epoch FROM delivered_at - created_at)) FROM outbox GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
        seats = {row[0]: tuple(row[1:]) for row in conn.execute(
            "SELECT offering_id, confirmed, waitlisted, seats_version FROM offering_seats "
            "WHERE offering_id = ANY(%s)", (offering_ids,))}
    with psycopg.connect(f"{PG}/{fx['catalogue_db']}") as conn:
        shown = {row[0]: tuple(row[1:]) for row in conn.execute(
            "SELECT id, seats_taken, waitlist_length, seats_version FROM offering WHERE id = ANY(%s)",
            (offering_ids,))}
    differ = sorted(oid for oid, counts in seats.items() if shown.get(oid) != counts)
    return {
        "outbox": [{"kind": kind, "state": state, "rows": n, "retried": retried,
                    "delivered_after_p50_s": round(p50, 3) if p50 is not None else None,
                    "delivered_after_max_s": round(float(worst), 3) if worst is not None else None}
                   for kind, state, n, retried, p50, worst in rows],
        "offerings_compared": len(seats), "offerings_differing": len(differ), "differing_examples": differ[:5],
    }


EXECUTED = re.compile(r"^shared\.jobs\.(?P<job>[\w.-]+): \S+ (?:\d+ retries )?executed in (?P<seconds>[\d.]+)s")


def consumer_log(consumer: Consumer, offset: int) -> dict:
    """The consumer's log since `offset` (JSON lines): each job's runs and their durations, warnings and errors."""
    runs: dict[str, list[float]] = {}
    problems = []
    for line in consumer.log_path.read_bytes()[offset:].decode(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            problems.append(line[:300])
            continue
        if record.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            problems.append(str(record.get("message"))[:300])
        executed = EXECUTED.match(str(record.get("message", "")))
        if executed:
            runs.setdefault(executed["job"], []).append(float(executed["seconds"]))
    ms = lambda value: round(value * 1000, 1)  # noqa: E731
    return {"jobs": {job: {"runs": len(seconds), "p50_ms": ms(percentile(seconds, 0.5)),
                           "p99_ms": ms(percentile(seconds, 0.99)), "max_ms": ms(max(seconds)),
                           "busy_s": round(sum(seconds), 1)} for job, seconds in sorted(runs.items())},
            "warnings_or_errors": len(problems), "examples": problems[:3]}


def log_size(consumer: Consumer) -> int:
    return consumer.log_path.stat().st_size if consumer.log_path.exists() else 0


# --- PostgreSQL while a load runs ----------------------------------------------------------------------

def wal_snapshot() -> tuple:
    """pg_stat_wal: records, full-page images, bytes, flushes (for the whole server: others' work counts too)."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT wal_records, wal_fpi, wal_bytes, wal_sync FROM pg_stat_wal").fetchone()


def wal_per_request(before: tuple, after: tuple, requests: int) -> dict:
    per = lambda i: round(float(after[i] - before[i]) / max(requests, 1), 1)  # noqa: E731
    return {"records": per(0), "full_page_images": per(1), "bytes": per(2), "flushes": per(3)}


class ActivitySampler:
    """Every 20 ms, what each busy backend of the bench databases is doing (pg_stat_activity), counted."""

    def __init__(self):
        self.counts: dict[tuple, int] = {}
        self.rounds = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="activity-sampler", daemon=True)

    def __enter__(self) -> ActivitySampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join(10)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            while not self.stopping.wait(0.02):
                self.rounds += 1
                for database, state, wait, query in conn.execute(
                        "SELECT datname, state, coalesce(wait_event_type || ':' || wait_event, 'on CPU'), "
                        "split_part(left(query, 60), ' ', 1) FROM pg_stat_activity "
                        "WHERE datname LIKE 'glu_bench%' AND pid <> pg_backend_pid() AND state <> 'idle'"):
                    key = (database.removeprefix("glu_bench_"), state, wait if state == "active" else "in app",
                           query if state == "active" else "")
                    self.counts[key] = self.counts.get(key, 0) + 1

    def summary(self, top: int = 10) -> list[dict]:
        """The commonest states, as average backends in them (samples / rounds)."""
        ranked = sorted(self.counts.items(), key=lambda item: -item[1])[:top]
        return [{"database": db, "state": state, "wait": wait, "statement": statement,
                 "backends": round(n / max(self.rounds, 1), 2)} for (db, state, wait, statement), n in ranked]


# --- CPU by process, while a load runs -----------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime


def cpu_snapshot(running: dict) -> dict:
    """CPU seconds so far: each server's gunicorn (master and workers), each consumer, PostgreSQL, this process."""
    import resource

    taken: dict[str, float] = {}
    for name, server in running.items():
        pids = [server.process.pid] + (workers(server.process.pid) if isinstance(server, Server) else [])
        taken[name] = sum(_proc_ticks(pid) for pid in pids) / CLOCK_TICKS
    postgres = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    postgres += _proc_ticks(int(entry.name))
    taken["postgresql"] = postgres / CLOCK_TICKS
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    taken["bench (probe thread)"] = own.ru_utime + own.ru_stime
    taken["wrk"] = children.ru_utime + children.ru_stime  # the bench's finished children: wrk
    busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    taken["machine"] = (sum(map(int, busy)) - int(busy[3]) - int(busy[4])) / CLOCK_TICKS  # all but idle, iowait
    taken["wall"] = time.monotonic()
    return taken


def cpu_cores(before: dict, after: dict) -> dict:
    """Cores used by each process group between two snapshots (seconds of CPU per second)."""
    wall = after["wall"] - before["wall"]
    used = {name: round((after[name] - before[name]) / wall, 2) for name in after if name != "wall"}
    used["rest of the machine"] = round(used["machine"] - sum(v for k, v in used.items() if k != "machine"), 2)
    return used


def step_endpoints() -> None:
    fx = fixtures("100k")
    results = {}
    with servers(fx["catalogue_db"], fx["enrolment_db"]) as running:
        catalogue, enrolment, bare = running["catalogue"].url, running["enrolment"].url, running["bare"]
        detail = [f"/offerings/{i}" for i in fx["detail_offering_ids"]]
        gets = {"offering_detail": (catalogue, detail), "offering_ics": (catalogue, [p + ".ics" for p in detail]),
                "participant_feed": (enrolment, [f"/feeds/participants/{fx['participant_feed_token']}.ics"]),
                "organisation_feed": (enrolment, [f"/feeds/organisations/{fx['organisation_feed_token']}.ics"])}
        for name, (url, paths) in gets.items():
            if not ONLY or name in ONLY:
                results[name] = interleaved(name, bare, get_target(url, paths))
        if ONLY and "post_enrolment" not in ONLY:
            save_endpoints(results)
            return
        ids = write_lines("open-offerings.txt", fx["open_offering_ids"])
        token = hr_token(fx["hr_organisation"])
        run_tag = secrets.token_hex(3)
        consumers = {name: running[name] for name in ("jobs-enrolment", "jobs-catalogue")}
        log_offsets = {name: log_size(consumer) for name, consumer in consumers.items()}
        log("post_enrolment: seat-count lag with no load")
        with LagProbe(fx, enrolment, f"{run_tag}-idle") as idle_probe:
            time.sleep(IDLE_PROBE_SECONDS)
        probes: list[LagProbe] = []

        def post(duration=DURATION, round_no=0):
            tag = f"{run_tag}-{round_no if duration == DURATION else 'w'}"
            if duration != DURATION:  # the warm-up: no probe
                result = wrk(enrolment, "enrol.lua", [str(ids), token, tag], duration)
                result["outbox_drain"] = wait_for_outbox(fx)
                return result
            before, wal_before = cpu_snapshot(running), wal_snapshot()
            with LagProbe(fx, enrolment, tag) as probe, ActivitySampler() as activity:
                result = wrk(enrolment, "enrol.lua", [str(ids), token, tag], duration)
            result["cpu_cores"] = cpu_cores(before, cpu_snapshot(running))
            result["wal_per_post"] = wal_per_request(wal_before, wal_snapshot(),
                                                     result["requests"] + len(probe.posts))
            result["postgresql_activity"] = activity.summary()
            probes.append(probe)
            result["lag"] = lag_summary([probe])
            # The outbox empties before the next bare run, which would otherwise share the cores with it.
            result["outbox_drain"] = wait_for_outbox(fx)
            log(f"post_enrolment: round {round_no + 1}: lag p50 {result['lag']['p50_ms']} ms, p99 "
                f"{result['lag']['p99_ms']} ms, max {result['lag']['max_ms']} ms, {result['lag']['samples']} "
                f"samples, {result['lag']['timeouts']} timeouts; outbox drained in "
                f"{result['outbox_drain']['seconds']} s")
            return result

        started = datetime.now(UTC)
        results["post_enrolment"] = interleaved("post_enrolment", bare, post)
        post_result = results["post_enrolment"]
        post_result["measured_utc"] = [f"{started:%Y-%m-%d %H:%M:%S}", f"{datetime.now(UTC):%H:%M:%S}"]
        post_result["status_check"] = check_post(fx, run_tag)
        post_result["lag"] = lag_summary(probes)
        post_result["lag_idle"] = lag_summary([idle_probe])
        post_result["lag_api_check"] = api_check(fx, catalogue)
        post_result["cpu_cores"] = {name: statistics.median(run["cpu_cores"][name] for run in
                                                            post_result["runs"]["target"])
                                    for name in post_result["runs"]["target"][0]["cpu_cores"]}
        post_result["consumers"] = outbox_check(fx, [*fx["open_offering_ids"], fx["probe_offering_id"]])
        post_result["consumers"]["logs"] = {name: consumer_log(consumer, log_offsets[name])
                                            for name, consumer in consumers.items()}
    save_endpoints(results)


def save_endpoints(results: dict) -> None:
    previous = WORK / "results-endpoints.json"
    if ONLY and previous.exists():
        results = {**json.loads(previous.read_text()), **results}
    save("endpoints", results)


def check_post(fx: dict, run_tag: str) -> dict:
    """What the POSTs wrote: enrolments by status, and how many distinct offerings they went to."""
    import psycopg

    with psycopg.connect(f"{PG}/{fx['enrolment_db']}") as conn:
        rows = conn.execute(
            "SELECT e.status, count(*), count(DISTINCT e.offering_id) FROM enrolment e "
            "JOIN participant p ON p.id = e.participant_id WHERE p.email LIKE %s GROUP BY e.status",
            (f"p-{run_tag}-%",)).fetchall()
    return {status: {"enrolments": n, "offerings": offerings} for status, n, offerings in rows}


# --- step 4: explain, profiles, report ----------------------------------------------------------------

def explain_search(fx: dict) -> list[tuple[str, str]]:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement one search request runs, as the app sends them."""
    import psycopg
    from sqlalchemy import event

    os.environ.update(app_env(fx["catalogue_db"], response_cache=False))
    from catalogue import create_app
    from catalogue.models import db

    app = create_app()
    captured: list[tuple[str, object]] = []
    with app.app_context():
        def capture(conn, cursor, statement, parameters, context, executemany):
            captured.append((statement, parameters))
        event.listen(db.engine, "before_cursor_execute", capture)
        response = app.test_client().get(search_paths(fx["today"])[1])
        event.remove(db.engine, "before_cursor_execute", capture)
        assert response.status_code == 200, response.data
    plans = []
    with psycopg.connect(f"{PG}/{fx['catalogue_db']}") as conn:
        for statement, parameters in captured:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).fetchall()
            plans.append((statement, "\n".join(row[0] for row in rows)))
    return plans


def profile(name: str, servers_to_profile: list[Server], run_load, seconds: int = DURATION,
            separately: list[Server | Consumer] = ()) -> dict:
    """py-spy samples the workers while wrk runs; returns where the time goes, by library and by function.

    `servers_to_profile` are summarised together; each of `separately` on its own, under "separately":
    a server's workers as above, a job consumer on the CPU only (without --idle: its threads wait for
    jobs in the same calls a job waits for PostgreSQL in, so idle time could not be told apart).
    """
    py_spy = BIN / "py-spy"
    if not py_spy.exists():
        return {"error": "py-spy is not installed (pip install -e '.[bench]')"}
    outputs: dict[str, list[Path]] = {}
    processes = []
    for group, profiled in [(None, server) for server in servers_to_profile] + [(p.name, p) for p in separately]:
        # Each worker with --idle, so time spent waiting for PostgreSQL or the catalogue counts; a worker
        # waiting for its next request (gunicorn's accept loop) is dropped in summarise_profile.
        idle = ["--idle"] if isinstance(profiled, Server) else []
        pids = workers(profiled.process.pid) if isinstance(profiled, Server) else [profiled.process.pid]
        for pid in pids:
            out = WORK / f"profile-{name}-{profiled.name}-{pid}.txt"
            outputs.setdefault(group, []).append(out)
            processes.append(subprocess.Popen(
                [str(py_spy), "record", "--pid", str(pid), *idle, "--rate", "200",
                 "--duration", str(seconds), "--format", "raw", "--output", str(out), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1)
    run_load(duration=seconds - 1)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    existing = {group: [out for out in outs if out.exists()] for group, outs in outputs.items()}
    summary = summarise_profile(existing.pop(None, []))
    if existing:
        summary["separately"] = {group: summarise_profile(outs) for group, outs in existing.items()}
    return summary


def workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else [master]


IDLE_FRAMES = ("gunicorn/workers/sync.py", "gunicorn/arbiter.py")

CATEGORIES = (  # (label, substring of the frame's file) — first match wins, on the innermost frame
    ("psycopg (mostly waiting for PostgreSQL to answer)", "psycopg"),
    ("SQLAlchemy ORM/Core", "sqlalchemy"),
    ("marshmallow (serialisation)", "marshmallow"),
    ("icalendar", "icalendar"),
    ("JSON encoding", "json"),
    ("Flask/Werkzeug/flask-smorest", ("flask", "werkzeug", "webargs", "apispec")),
    ("httpx (waiting for the catalogue)", ("httpx", "httpcore", "h11", "socket", "ssl")),
    ("gunicorn", "gunicorn"),
    ("glu-courses code", ("catalogue/", "enrolment/", "shared/")),
)
PROJECT = ("catalogue/", "enrolment/", "shared/")


def _frame_file(frame: str) -> str:
    return frame[frame.rfind("(") + 1:].rstrip(")") if "(" in frame else frame


def summarise_profile(files: list[Path]) -> dict:
    by_category: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for file in files:
        for line in file.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [frame for frame in stack.split(";") if not frame.startswith("process ")
                      and not frame.startswith("thread ")]
            if not frames or any(needle in frames[-1] for needle in IDLE_FRAMES):
                continue  # a worker waiting for its next request
            total += count
            leaf = _frame_file(frames[-1])
            label = "other (stdlib, other libraries)"
            for name, needles in CATEGORIES:
                needles = (needles,) if isinstance(needles, str) else needles
                if any(needle in leaf for needle in needles):
                    label = name
                    break
            by_category[label] = by_category.get(label, 0) + count
            seen = set()
            for frame in frames:
                function = frame.split(" (")[0]
                file_name = _frame_file(frame).rsplit(":", 1)[0]
                if file_name.startswith(PROJECT) or any(f"/{part}" in file_name for part in PROJECT):
                    start = min(i for i in (file_name.find(part) for part in PROJECT) if i >= 0)
                    key = f"{function} ({file_name[start:]})"
                    if key not in seen:
                        seen.add(key)
                        inclusive[key] = inclusive.get(key, 0) + count
    share = lambda n: round(100 * n / total, 1) if total else 0.0  # noqa: E731
    return {
        "samples": total,
        "by_library": sorted(((name, share(n)) for name, n in by_category.items()), key=lambda x: -x[1]),
        "project_functions": sorted(((name, share(n)) for name, n in inclusive.items()), key=lambda x: -x[1])[:14],
    }


def step_report() -> None:
    fx = fixtures("100k")
    scaling_file = WORK / "results-scaling.json"
    if scaling_file.exists():
        scaling = json.loads(scaling_file.read_text())
    else:  # `scaling` was not run this time: keep the figures of the last run that did, and say so
        previous = json.loads((BENCH / "results.json").read_text())
        scaling = previous["scaling"]
        scaling.setdefault("measured_at", previous.get("machine", {}).get("date") or _date_in_results())
        scaling["kept_from_earlier_run"] = True
        log(f"no results-scaling.json: keeping the scaling figures in bench/results.json ({scaling['measured_at']})")
    endpoints = json.loads((WORK / "results-endpoints.json").read_text())
    log("EXPLAIN ANALYZE of the search at 100k")
    plans = explain_search(fx)
    profiles = {}
    with servers(fx["catalogue_db"], response_cache=False) as running:
        log("profiling search at 100k, rendered every time")
        catalogue = running["catalogue"]
        profiles["search_100k"] = profile("search", [catalogue], get_target(catalogue.url, search_paths(fx["today"])))
    with servers(fx["catalogue_db"], fx["enrolment_db"]) as running:
        catalogue, enrolment = running["catalogue"], running["enrolment"]
        log("profiling search at 100k, response cache on")
        profiles["search_100k_cached"] = profile("search_cached", [catalogue], get_target(
            catalogue.url, search_paths(fx["today"])))
        log("profiling the participant feed")
        profiles["participant_feed"] = profile("participant_feed", [enrolment], get_target(
            enrolment.url, [f"/feeds/participants/{fx['participant_feed_token']}.ics"]))
        log("profiling POST /enrolments")
        ids = write_lines("open-offerings.txt", fx["open_offering_ids"])
        token, tag = hr_token(fx["hr_organisation"]), "prof-" + secrets.token_hex(3)
        profiles["post_enrolment"] = profile(
            "post_enrolment", [enrolment], lambda duration=DURATION, round_no=0: wrk(
                enrolment.url, "enrol.lua", [str(ids), token, tag], duration),
            separately=[catalogue, running["jobs-enrolment"]])
    save("profiles", profiles)
    write_report(machine(), fx, scaling, endpoints, plans, profiles, settings())


def step_render() -> None:
    """bench/RESULTS.md again from bench/results.json (after editing analysis.md or report.py); measures nothing."""
    data = json.loads((BENCH / "results.json").read_text())
    fx = fixtures("100k")
    plans = [tuple(plan) for plan in data.get("explain") or []] or explain_search(fx)
    write_report(data["machine"], fx, data["scaling"], data["endpoints"], plans, data["profiles"], data["settings"])


def write_report(machine_info: dict, fx: dict, scaling: dict, endpoints: dict, plans: list, profiles: dict,
                 settings_used: dict) -> None:
    from bench import report

    search_chart(scaling)
    text = report.render(machine_info, fx, {size: fixtures(size) for size in SIZES}, scaling, endpoints, plans,
                         profiles, settings_used)
    (BENCH / "RESULTS.md").write_text(text)
    (BENCH / "results.json").write_text(json.dumps({
        "machine": machine_info, "scaling": scaling, "endpoints": endpoints, "profiles": profiles,
        "explain": plans, "settings": settings_used}, indent=1))
    log(f"wrote {BENCH / 'RESULTS.md'}, {BENCH / 'results.json'} and {BENCH / 'search-scaling.png'}")


def _date_in_results() -> str:
    """The date of the run that wrote bench/RESULTS.md (for results.json files older than their "machine" key)."""
    text = (BENCH / "RESULTS.md").read_text() if (BENCH / "RESULTS.md").exists() else ""
    return next((line.split("**Date:**", 1)[1].strip() for line in text.splitlines() if "**Date:**" in line),
                "an earlier run")


def search_chart(scaling: dict) -> None:
    from bench import png

    png.bar_chart(BENCH / "search-scaling.png", "Catalogue search (filtered, 25 a page): requests/s",
                  [(f"{size} rendered", scaling["rendered"][size]["rps"]) for size in SIZES]
                  + [(f"{size} cached", scaling["cached"][size]["rps"]) for size in SIZES],
                  [("bare", statistics.median(scaling["rendered"][size]["bare_rps"] for size in SIZES))])


def settings() -> dict:
    return {"duration_s": DURATION, "rounds": ROUNDS, "gunicorn_workers": WORKERS, "gunicorn_threads": 1,
            "wrk_threads": WRK_THREADS, "wrk_connections": CONNECTIONS, "seed": SEED}


def machine() -> dict:
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    import psycopg

    with psycopg.connect(f"{PG}/postgres") as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
    wrk_version = subprocess.run([ensure_wrk(), "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    from bench.report import _git

    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "code": _git(), "cores": os.cpu_count(),
            "cpu": cpu, "memory_gib": round(int(memory) / 1024 / 1024, 1), "python": platform.python_version(),
            "postgresql": pg_version, "wrk": wrk_version.strip(), "kernel": platform.release()}


STEPS = {"generate": step_generate, "scaling": step_scaling, "endpoints": step_endpoints, "report": step_report,
         "render": step_render}

if __name__ == "__main__":
    WORK.mkdir(parents=True, exist_ok=True)
    for step in sys.argv[1:] or [step for step in STEPS if step != "render"]:
        started = time.monotonic()
        log(f"step {step}")
        STEPS[step]()
        log(f"step {step} took {time.monotonic() - started:.0f}s")
