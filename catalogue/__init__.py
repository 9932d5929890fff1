"""The catalogue service: programmes, modules, schools and their offerings."""

from pathlib import Path

from flask import Flask
from flask_migrate import Migrate

from catalogue.accounts import CATALOGUE_ACCOUNTS
from catalogue.enrolment_client import EnrolmentClient
from catalogue.jobs import register_jobs
from catalogue.models import ApiKey, AuditEntry, IdempotencyRecord, db
from catalogue.notifications import WebhookSender
from shared import health
from shared.accounts import install_accounts
from shared.accounts.introspection import install_api_keys
from shared.api import make_api
from shared.audit import install_audit
from shared.auth import current_actor
from shared.config import configure
from shared.idempotency import install_idempotency
from shared.jobs import install_jobs
from shared.mailbox import install_mailbox
from shared.observability import install_observability
from shared.pages import install_pages
from shared.privacy_notice import install_privacy_notice
from shared.rate_limits import install_rate_limits
from shared.response_cache import install_response_cache
from shared.security_headers import install_security_headers
from shared.transaction import install_commit_point

DESCRIPTION = (
    "Katalog over udbud af GLU – Den Grundlæggende Lederuddannelse (modul 1–5) og tillægsmodulet "
    "på landets erhvervsskoler og AMU-udbydere. Søgning er åben for alle; skoler, HR og "
    "administratorer bruger en adgangsnøgle (Authorization: Bearer …)."
)

# Batch mode lets later migrations alter tables on SQLite, which cannot ALTER most things in place.
migrate = Migrate(render_as_batch=True)
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config["API_DESCRIPTION"] = DESCRIPTION
    configure(app, "catalogue", config)
    install_observability(app, "catalogue", readiness=[health.Check("database", health.database_probe(db))])
    # Right after observability's hook, so it runs after every other one (shared.security_headers).
    install_security_headers(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    api = make_api(app)
    install_audit(app, api, AuditEntry)
    install_pages(app)
    install_privacy_notice(app)
    install_rate_limits(app)
    install_mailbox(app)
    install_accounts(app, CATALOGUE_ACCOUNTS)
    # The schools' API keys, and the organisations' ones asked at the enrolment service (when it is configured).
    install_api_keys(app, api, ApiKey, other_url=app.config["ENROLMENT_URL"],
                     other_transport=app.config.get("ENROLMENT_TRANSPORT"))
    install_idempotency(app, db, IdempotencyRecord, authenticate=current_actor)
    install_commit_point(app, db)
    install_response_cache(app, db)
    # Signed webhooks to the enrolment service after a school's change (catalogue.notifications).
    app.extensions["webhook_sender"] = WebhookSender(
        app.config["ENROLMENT_URL"], app.config["GLU_TOKEN_SECRET"], transport=app.config.get("ENROLMENT_TRANSPORT"))
    register_jobs(app, install_jobs(app, "catalogue"))
    # The school's desk reads and records its participants at the enrolment service (catalogue.participant_pages).
    app.extensions["enrolment_client"] = EnrolmentClient(
        app.config["ENROLMENT_URL"], app.config["GLU_TOKEN_SECRET"], transport=app.config.get("ENROLMENT_TRANSPORT"))

    from catalogue.views import calendars, changes, offerings, programmes, providers

    for module in (changes, offerings, calendars, programmes, providers, health):
        api.register_blueprint(module.blp)

    from catalogue import desk_pages, pages

    app.register_blueprint(pages.blp)
    app.register_blueprint(desk_pages.blp)

    from catalogue import participant_pages

    app.register_blueprint(participant_pages.blp)

    # Go or no-go: the held button and the school's policy; its status line in every catalogue template.
    from catalogue import decision_pages

    app.register_blueprint(decision_pages.blp)

    # The interest lists' demand in the school's regions, asked of the enrolment service (catalogue.demand_pages).
    from catalogue import demand_pages

    app.register_blueprint(demand_pages.blp)

    from catalogue.cli import register_commands

    register_commands(app)
    return app
