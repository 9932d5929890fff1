"""The benchmark suite: `make bench` runs the steps below in turn, each well under 10 minutes.

    python -m bench.run generate   # national-scale data into fresh PostgreSQL databases (COPY)
    python -m bench.run scaling    # catalogue search at 1k, 10k and 100k offerings
    python -m bench.run endpoints  # detail, .ics, feeds and POST enrolment at 100k / 500k
    python -m bench.run report     # EXPLAIN ANALYZE, py-spy profiles, bench/RESULTS.md and the PNG chart

Every point runs `wrk` against gunicorn (same settings for every app in a run) on 127.0.0.1 only,
for a bounded time, interleaved with a bare Flask endpoint (bench/bare.py): bare, target, bare, …
Environment: BENCH_DURATION (seconds per point, default 10), BENCH_ROUNDS (target runs per
figure, default 2), BENCH_WORKERS (gunicorn workers, default 2), BENCH_CONNECTIONS (default 4),
BENCH_PG (server URL, default postgresql://postgres@127.0.0.1:5432), BENCH_WORK (scratch directory).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
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
WRK_THREADS = 1
PORTS = {"bare": 5190, "catalogue": 5191, "enrolment": 5192}
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
ENROLMENTS = 500_000
SEED = 20261123
COMMAND = "make bench"

TARGETS = {  # name -> (target throughput as a share of bare, what it measures)
    "search_100k": 0.5, "participant_feed": 0.5, "post_enrolment": 0.25,
}


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
        raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
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
    started = []
    try:
        env = app_env(catalogue_db, enrolment_db, response_cache)
        started.append(Server("bare", "bench.bare:create_app()", env).start())
        started.append(Server("catalogue", "catalogue:create_app()", env).start())
        if enrolment_db:
            started.append(Server("enrolment", "enrolment:create_app()", env).start())
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
    save("scaling", results)


# --- step 3: the other endpoints ----------------------------------------------------------------------

def hr_token(organisation: str) -> str:
    from shared.auth import Role, issue_token

    return issue_token(secret(), Role.HR, organisation=organisation, days=1)


def step_endpoints() -> None:
    fx = fixtures("100k")
    results = {}
    with servers(fx["catalogue_db"], fx["enrolment_db"]) as running:
        catalogue, enrolment, bare = running["catalogue"].url, running["enrolment"].url, running["bare"]
        detail = [f"/offerings/{i}" for i in fx["detail_offering_ids"]]
        results["offering_detail"] = interleaved("offering_detail", bare, get_target(catalogue, detail))
        results["offering_ics"] = interleaved("offering_ics", bare, get_target(catalogue, [p + ".ics" for p in detail]))
        results["participant_feed"] = interleaved("participant_feed", bare, get_target(
            enrolment, [f"/feeds/participants/{fx['participant_feed_token']}.ics"]))
        results["organisation_feed"] = interleaved("organisation_feed", bare, get_target(
            enrolment, [f"/feeds/organisations/{fx['organisation_feed_token']}.ics"]))
        ids = write_lines("open-offerings.txt", fx["open_offering_ids"])
        token = hr_token(fx["hr_organisation"])
        run_tag = secrets.token_hex(3)

        def post(duration=DURATION, round_no=0):
            tag = f"{run_tag}-{round_no if duration == DURATION else 'w'}"
            return wrk(enrolment, "enrol.lua", [str(ids), token, tag], duration)

        results["post_enrolment"] = interleaved("post_enrolment", bare, post)
        results["post_enrolment"]["status_check"] = check_post(fx, run_tag)
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


def profile(name: str, servers_to_profile: list[Server], run_load, seconds: int = DURATION) -> dict:
    """py-spy samples the workers while wrk runs; returns where the time goes, by library and by function."""
    py_spy = BIN / "py-spy"
    if not py_spy.exists():
        return {"error": "py-spy is not installed (pip install -e '.[bench]')"}
    outputs, processes = [], []
    for server in servers_to_profile:
        # Each worker with --idle, so time spent waiting for PostgreSQL or the catalogue counts; a worker
        # waiting for its next request (gunicorn's accept loop) is dropped in summarise_profile.
        for worker in workers(server.process.pid):
            out = WORK / f"profile-{name}-{server.name}-{worker}.txt"
            outputs.append(out)
            processes.append(subprocess.Popen(
                [str(py_spy), "record", "--pid", str(worker), "--idle", "--rate", "200",
                 "--duration", str(seconds), "--format", "raw", "--output", str(out), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1)
    run_load(duration=seconds - 1)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    return summarise_profile([out for out in outputs if out.exists()])


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
    scaling = json.loads((WORK / "results-scaling.json").read_text())
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
        profiles["post_enrolment"] = profile("post_enrolment", [enrolment, catalogue], lambda duration=DURATION,
                                             round_no=0: wrk(enrolment.url, "enrol.lua", [str(ids), token, tag],
                                                             duration))
    save("profiles", profiles)
    from bench import report

    search_chart(scaling)
    text = report.render(machine(), fx, {size: fixtures(size) for size in SIZES}, scaling, endpoints, plans,
                         profiles, settings())
    (BENCH / "RESULTS.md").write_text(text)
    (BENCH / "results.json").write_text(json.dumps({"scaling": scaling, "endpoints": endpoints,
                                                    "profiles": profiles, "settings": settings()}, indent=1))
    log(f"wrote {BENCH / 'RESULTS.md'} and {BENCH / 'search-scaling.png'}")


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
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cores": os.cpu_count(), "cpu": cpu,
            "memory_gib": round(int(memory) / 1024 / 1024, 1), "python": platform.python_version(),
            "postgresql": pg_version, "wrk": wrk_version.strip(), "kernel": platform.release()}


STEPS = {"generate": step_generate, "scaling": step_scaling, "endpoints": step_endpoints, "report": step_report}

if __name__ == "__main__":
    WORK.mkdir(parents=True, exist_ok=True)
    for step in sys.argv[1:] or list(STEPS):
        started = time.monotonic()
        log(f"step {step}")
        STEPS[step]()
        log(f"step {step} took {time.monotonic() - started:.0f}s")
