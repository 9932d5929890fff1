"""The deployment files without Docker: docker-compose.yml, the Dockerfile and gunicorn.conf.py.

`.ci/check-compose` validates docker-compose.yml with docker-compose itself; here the file is read
line by line (PyYAML is not a dependency), relying on its layout: services two spaces in, their keys
four, `environment:` entries six. A layout this reading misses fails `our_services`, never passes empty.
"""

from __future__ import annotations

import json
import os
import re
import runpy
from datetime import timedelta
from pathlib import Path

import pytest
from gunicorn.config import Config

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# The same rule as .ci/check-compose: os.environ.get("X"), os.environ["X"], os.getenv("X"), or a helper
# with "env" in its name given the name first; f"{prefix}_…" in shared/config.py is per service.
READ = re.compile(r"""(?:\b\w*env\w*(?:\.\w+)*\s*\(|\benviron\s*\[)\s*(f?)["']([A-Za-z0-9_{}]+)["']""")
GUNICORN_ENV = ("PORT", "GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_TIMEOUT",
                "GUNICORN_GRACEFUL_TIMEOUT", "PROMETHEUS_MULTIPROC_DIR")


def variables_read() -> set[str]:
    read = set()
    for source in (ROOT / "shared" / "config.py", ROOT / "gunicorn.conf.py"):
        for is_f_string, name in READ.findall(source.read_text(encoding="utf-8")):
            if is_f_string and "{" in name:
                read.update(re.sub(r"\{[^}]*\}", prefix, name) for prefix in ("CATALOGUE", "ENROLMENT"))
            else:
                read.add(name)
    return read


def compose_services() -> dict[str, dict]:
    """{service: {"build": bool, "command": list or None, "environment": {name: value as written}}}.

    `command` is read only when written as a JSON list on its own line (`command: ["python", …]`).
    """
    services: dict[str, dict] = {}
    section = key = None
    service: dict = {}
    for line in COMPOSE.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 0:
            section = text.rstrip(":")
        elif section != "services":
            continue
        elif indent == 2:
            service = services.setdefault(text.rstrip(":"), {"build": False, "command": None, "environment": {}})
        elif indent == 4:
            key, _, value = text.partition(":")
            service["build"] = service["build"] or key == "build"
            if key == "command" and value.strip().startswith("["):
                service["command"] = json.loads(value)
        elif indent == 6 and key == "environment":
            name, _, value = text[2:].partition("=") if text.startswith("- ") else text.partition(":")
            service["environment"][name.strip()] = value.strip()
    return services


def our_services() -> dict[str, dict]:
    """The services built from this repository (PostgreSQL is not)."""
    services = {name: service for name, service in compose_services().items() if service["build"]}
    assert {"catalogue", "enrolment", "migrate"} <= set(services)
    return services


def test_every_variable_the_compose_file_sets_for_the_services_is_read_by_the_code():
    read = variables_read()

    unread = {f"{name}: {variable}" for name, service in our_services().items()
              for variable in service["environment"] if variable not in read}

    assert unread == set(), "set in docker-compose.yml, read nowhere in shared/config.py or gunicorn.conf.py"


def test_each_service_has_a_job_consumer_reading_the_queue_it_enqueues_to():
    services = our_services()
    assert "jobs" not in services, "the shell loop of cron commands is replaced by the consumers"
    for web in ("catalogue", "enrolment"):
        environment = services[web]["environment"]
        consumers = {name: service for name, service in services.items()
                     if (service["command"] or [])[:4] == ["python", "-m", "shared.jobs", web]}

        assert set(consumers) == {f"{web}-jobs"}
        assert environment["JOBS_URL"].startswith("postgresql://"), "in the service's database, as huey's tables"
        for consumer in consumers.values():
            for variable in ("JOBS_URL", f"{web.upper()}_DATABASE_URL", "GLU_TOKEN_SECRET"):
                assert consumer["environment"][variable] == environment[variable], variable


def test_the_token_secret_comes_only_from_the_environment():
    for name, service in our_services().items():
        assert service["environment"]["GLU_TOKEN_SECRET"].startswith("${GLU_TOKEN_SECRET:?"), name


def test_the_image_serves_with_gunicorn_conf_py_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    last = {}  # each instruction's last occurrence
    for line in dockerfile.splitlines():
        word, _, rest = line.partition(" ")
        if word.isupper():
            last[word] = rest

    assert json.loads(last["CMD"])[:3] == ["gunicorn", "-c", "gunicorn.conf.py"]
    assert last["USER"].split(":")[0] not in ("root", "0")
    assert "FROM python:3.11-slim" in dockerfile
    assert "[dev]" not in dockerfile
    for line in COMPOSE.read_text(encoding="utf-8").splitlines():
        if "gunicorn" in line and "create_app()" in line:
            assert '"-c", "gunicorn.conf.py"' in line, line


def load_gunicorn_conf(monkeypatch, **env) -> dict:
    for name in GUNICORN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def gunicorn_config(settings: dict) -> Config:
    """The settings through gunicorn's own validators, as `gunicorn -c gunicorn.conf.py` would load them."""
    cfg = Config()
    for name, value in settings.items():
        if name in cfg.settings:
            cfg.set(name, value)
    return cfg


def test_gunicorn_conf_takes_its_numbers_from_the_environment(monkeypatch):
    settings = load_gunicorn_conf(monkeypatch, PORT="5001", GUNICORN_WORKERS="3", GUNICORN_THREADS="4")
    cfg = gunicorn_config(settings)

    assert (cfg.bind, cfg.workers, cfg.threads) == (["0.0.0.0:5001"], 3, 4)
    assert (cfg.timeout, cfg.graceful_timeout) == (30, 30)
    assert cfg.preload_app is False
    assert cfg.control_socket_disable is True  # gunicorn ignores names it does not know: this one it knows
    assert cfg.accesslog == "-"
    names = {"bind", "workers", "threads", "timeout", "graceful_timeout", "preload_app", "control_socket_disable",
             "accesslog", "access_log_format", "logger_class", "on_starting", "child_exit"}
    assert names <= set(settings) and names <= set(cfg.settings)


def test_gunicorn_conf_defaults(monkeypatch):
    cfg = gunicorn_config(load_gunicorn_conf(monkeypatch))

    assert cfg.bind == ["127.0.0.1:8000"]
    assert cfg.workers == min(2 * len(os.sched_getaffinity(0)) + 1, 8)
    assert cfg.threads == 1


def test_gunicorn_bind_wins_over_port_and_bad_numbers_stop_gunicorn(monkeypatch):
    settings = load_gunicorn_conf(monkeypatch, PORT="5001", GUNICORN_BIND="127.0.0.1:9000, unix:/run/glu.sock")
    assert settings["bind"] == ["127.0.0.1:9000", "unix:/run/glu.sock"]

    with pytest.raises(SystemExit, match="GUNICORN_WORKERS"):
        load_gunicorn_conf(monkeypatch, GUNICORN_WORKERS="many")


class FakeResponse:
    def __init__(self, status: str, headers: list[tuple[str, str]]):
        self.status, self.headers, self.sent = status, headers, 1234


def test_an_access_log_line_is_one_json_object_without_query_string_or_secrets(monkeypatch, tmp_path):
    cfg = gunicorn_config(load_gunicorn_conf(monkeypatch))
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    logger = cfg.logger_class(cfg)
    secret = "Zq3" * 15  # like secrets.token_urlsafe(32)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/feeds/participants/{secret}.ics?q=anne%40x.dk",
               "PATH_INFO": f'/feeds/participants/{secret}.ics/"quoted"', "QUERY_STRING": "q=anne%40x.dk",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.7"}
    try:
        logger.access(FakeResponse("200 OK", [("X-Request-ID", "from-the-app")]), [("X-REQUEST-ID", 'client "id"')],
                      environ, timedelta(milliseconds=12.5))
        logger.access(FakeResponse("404 NOT FOUND", []), [], dict(environ, PATH_INFO="/x"), timedelta(seconds=2))
    finally:
        for handler in logger.access_log.handlers + logger.error_log.handlers:
            handler.close()

    lines = (tmp_path / "access.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    entry, other = map(json.loads, lines)
    assert set(entry) == {"time", "method", "path", "status", "duration_ms", "request_id", "remote_addr"}
    assert entry["path"] == '/feeds/participants/<secret>.ics/"quoted"'
    assert "anne" not in lines[0] and secret not in lines[0]
    assert (entry["method"], entry["status"], entry["duration_ms"]) == ("GET", 200, 12.5)
    assert (entry["request_id"], entry["remote_addr"]) == ("from-the-app", "10.0.0.7")
    assert entry["time"].endswith("+00:00")
    assert (other["status"], other["duration_ms"], other["request_id"]) == (404, 2000.0, None)
