"""Gunicorn settings for both services in production: `gunicorn -c gunicorn.conf.py "catalogue:create_app()"`.

Everything that differs between machines comes from the environment (see the README's Deployment section):

    GUNICORN_BIND              addresses to listen on, separated by commas (wins over PORT)
    PORT                       listen on 0.0.0.0:$PORT; with neither set, 127.0.0.1:8000
    GUNICORN_WORKERS           worker processes; default 2 × cores + 1, at most 8
    GUNICORN_THREADS           threads per worker; default 1 (more than 1 uses the gthread worker)
    GUNICORN_TIMEOUT           seconds a silent worker may take before it is killed and restarted; default 30
    GUNICORN_GRACEFUL_TIMEOUT  seconds running requests get to finish on shutdown or restart; default 30

The access log goes to stdout, one JSON object per line. The path is logged without its query string,
which may hold personal data (search terms, e-mail addresses), and with the secret of a capability URL
(`/feeds/participants/<token>.ics`, `/mine-kurser/<token>`: any run of 32 or more URL-safe characters)
replaced by `<secret>`.

With PROMETHEUS_MULTIPROC_DIR set (shared/observability.py: metrics from several workers), the directory is
emptied of old workers' files when gunicorn starts, and each worker's files are marked dead when it exits.

Gunicorn reads ./gunicorn.conf.py by default, so this file also applies to a bare `gunicorn` started in the
repository's root; options given on the command line win over it.
"""

from __future__ import annotations

import glob
import json
import os
import re
from datetime import UTC, datetime, timedelta

from gunicorn import glogging

MAX_DEFAULT_WORKERS = 8


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"gunicorn.conf.py: {name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SystemExit(f"gunicorn.conf.py: {name}={value} is below {minimum}")
    return value


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may run on (cpusets), not the host's
    except AttributeError:
        return os.cpu_count() or 1


def _bind() -> list[str]:
    explicit = [address.strip() for address in os.environ.get("GUNICORN_BIND", "").split(",") if address.strip()]
    if explicit:
        return explicit
    port = os.environ.get("PORT", "").strip()
    return [f"0.0.0.0:{port}"] if port else ["127.0.0.1:8000"]


bind = _bind()
workers = _env_int("GUNICORN_WORKERS", min(2 * _cores() + 1, MAX_DEFAULT_WORKERS))
threads = _env_int("GUNICORN_THREADS", 1)
timeout = _env_int("GUNICORN_TIMEOUT", 30, minimum=0)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=0)

# Each worker imports the app itself: no database connections or threads shared across a fork.
preload_app = False
# gunicorn 25.1+ opens a control socket per user ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl); two
# services on one machine would collide on it. This is `--no-control-socket`; older gunicorns ignore it.
control_socket_disable = True
# Worker heartbeats on tmpfs: a container's overlay /tmp can stall them into false timeouts.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

errorlog = "-"
accesslog = "-"


# A capability URL's secret (secrets.token_urlsafe(32) is 43 characters); no other path segment is this long.
_SECRET_IN_PATH = re.compile(r"[A-Za-z0-9_-]{32,}")


class _JsonAtoms(dict):
    """Each atom as a JSON value (escaped string, number, or null when absent), so a line is always valid JSON."""

    NUMBERS = {"s", "B", "M", "D", "T", "duration_ms"}

    def __getitem__(self, key: str) -> str:
        value = self.get(key.lower() if key.startswith("{") else key)
        if value in (None, "", "-"):
            return "null"
        if key in self.NUMBERS:
            try:
                return json.dumps(float(value) if key == "duration_ms" else int(value))
            except (TypeError, ValueError):
                pass
        return json.dumps(str(value))


class JsonAccessLogger(glogging.Logger):
    atoms_wrapper_class = _JsonAtoms

    def now(self) -> str:
        return datetime.now(UTC).isoformat(timespec="milliseconds")

    def atoms(self, resp, req, environ, request_time: timedelta) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = _SECRET_IN_PATH.sub("<secret>", atoms.get("U") or "")
        atoms["duration_ms"] = round(request_time / timedelta(milliseconds=1), 1)
        # The id the app answered with (it checks the client's and makes one when that is missing or odd),
        # else the client's own X-Request-ID, cut short.
        atoms["request_id"] = atoms.get("{x-request-id}o") or (atoms.get("{x-request-id}i") or "")[:64]
        return atoms


logger_class = JsonAccessLogger
# Every placeholder is filled with a JSON literal by _JsonAtoms; %(U)s is the path without the query string.
access_log_format = (
    '{"time": %(t)s, "method": %(m)s, "path": %(U)s, "status": %(s)s, "duration_ms": %(duration_ms)s, '
    '"request_id": %(request_id)s, "remote_addr": %(h)s}'
)


def on_starting(server) -> None:
    """Before any worker runs: drop metric files left by an earlier run (prometheus_client's advice)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and os.path.isdir(directory):
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.remove(stale)


def child_exit(server, worker) -> None:
    """A worker has exited: its live gauges stop counting in /metrics."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    try:
        from prometheus_client import multiprocess
    except ImportError:
        return
    multiprocess.mark_process_dead(worker.pid)
