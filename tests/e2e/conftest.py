"""Both services running on real ports, seeded, and headless Chromium driving them through Playwright.

The browser is Debian's chromium at /usr/bin/chromium (never `playwright install`). Without it the
tests here are skipped and say so — unless GLU_REQUIRE_BROWSER is set, as CI does, where a missing
browser fails the run instead of hiding it.
"""

from __future__ import annotations

import os
import shutil
import threading

import flask_migrate
import pytest
from werkzeug.serving import make_server

import catalogue
import enrolment
from catalogue.models import db as catalogue_db
from catalogue.seed import seed_catalogue
from enrolment.models import db as enrolment_db
from enrolment.seed import seed_organisations
from shared.clock import copenhagen_today
from tests.accounts import Clock
from tests.conftest import TOKEN_SECRET
from tests.smtp import free_port, running_smtp_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def pytest_collection_modifyitems(config, items):
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return
    if os.environ.get("GLU_REQUIRE_BROWSER"):
        raise pytest.UsageError(f"GLU_REQUIRE_BROWSER is set but there is no Chromium at {CHROMIUM}.")
    skip = pytest.mark.skip(reason=f"Browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium).")
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(skip)


class System(tuple):
    """(catalogue_url, enrolment_url), with the two apps and the clock they share, for what a test does
    behind the pages: run a scheduled job in an app's context, or move time without sleeping."""

    def __new__(cls, catalogue_url: str, enrolment_url: str, catalogue_app, enrolment_app, clock: Clock):
        system = super().__new__(cls, (catalogue_url, enrolment_url))
        system.catalogue_app, system.enrolment_app, system.clock = catalogue_app, enrolment_app, clock
        return system


class RunningService:
    """A Flask app served by werkzeug on a local port, on a thread of the test process."""

    def __init__(self, app, port: int):
        self.app = app
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)


def migrated(factory, db, config: dict, seed):
    app = factory(config)
    with app.app_context():
        flask_migrate.upgrade()
        seed(db.session)
        db.session.commit()
    return app


@pytest.fixture(scope="module")
def mail_server():
    """The SMTP server both services send to: its handler keeps every message (tests.smtp)."""
    with running_smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory, mail_server):
    """Both services, seeded with the GLU catalogue and the demo organisations: a System.

    Their jobs run at once after each commit (mails to `mail_server`, seat counts to the catalogue);
    scheduled ones run when a test calls them. Both read the time from `system.clock`.
    """
    folder = tmp_path_factory.mktemp("system")
    clock = Clock()
    catalogue_url, enrolment_url = (f"http://127.0.0.1:{free_port()}" for _ in range(2))
    common = {"GLU_TOKEN_SECRET": TOKEN_SECRET, "CATALOGUE_URL": catalogue_url, "ENROLMENT_URL": enrolment_url,
              "ENROLMENT_PUBLIC_URL": enrolment_url, "JOBS_IMMEDIATE": True, "SMTP_HOST": "127.0.0.1",
              "SMTP_PORT": mail_server[1], "SMTP_STARTTLS": False, "CLOCK": clock}
    catalogue_app = migrated(catalogue.create_app, catalogue_db, {
        **common, "DATABASE_URL": f"sqlite:///{folder / 'catalogue.sqlite3'}", "PUBLIC_URL": catalogue_url},
        lambda session: seed_catalogue(session, copenhagen_today()))
    enrolment_app = migrated(enrolment.create_app, enrolment_db, {
        **common, "DATABASE_URL": f"sqlite:///{folder / 'enrolment.sqlite3'}", "PUBLIC_URL": enrolment_url},
        seed_organisations)
    servers = [RunningService(catalogue_app, int(catalogue_url.rsplit(":", 1)[1])),
               RunningService(enrolment_app, int(enrolment_url.rsplit(":", 1)[1]))]
    yield System(catalogue_url, enrolment_url, catalogue_app, enrolment_app, clock)
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="da-DK")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in_by_link(page, base_url: str, email: str, mail_server) -> None:
    """Sign in on the pages at `base_url` as a person does: ask for a link, open it from the mail, press Log ind."""
    handler, _ = mail_server
    already = len(handler.envelopes)
    page.goto(f"{base_url}/log-ind")
    page.get_by_label("E-mailadresse").fill(email)
    page.get_by_role("button", name="Send mig et link").click()
    page.get_by_role("heading", name="Tjek din e-mail").wait_for()
    mail = handler.messages()[already:][-1]
    assert mail["To"] == email
    link = next(line for line in mail.get_body().get_content().splitlines() if "/log-ind/" in line)
    page.goto(link.strip())
    page.get_by_role("button", name="Log ind").click()
