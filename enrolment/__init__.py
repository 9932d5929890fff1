"""The enrolment service: organisations, participants, enrolments, seats and waiting lists."""

from pathlib import Path

from flask import Flask
from flask_migrate import Migrate

from enrolment.accounts import ENROLMENT_ACCOUNTS
from enrolment.catalogue_client import CatalogueClient
from enrolment.jobs import register_jobs
from enrolment.models import ApiKey, AuditEntry, IdempotencyRecord, db
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
from shared.security_headers import install_security_headers
from shared.transaction import install_commit_point

DESCRIPTION = (
    "Tilmelding til GLU-udbud: kommunernes HR tilmelder medarbejdere, ledere anmoder om en plads, "
    "og skolerne ser deltagerlister. Pladser oversælges aldrig; ud over kapaciteten kommer man på venteliste."
)
MIGRATIONS = Path(__file__).parent / "migrations"
# Batch mode lets later migrations alter tables on SQLite, which cannot ALTER most things in place.
migrate = Migrate(render_as_batch=True)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config["API_DESCRIPTION"] = DESCRIPTION
    configure(app, "enrolment", config)
    # Without the catalogue the service is degraded, not down: lists, cancellations and exports go on.
    install_observability(app, "enrolment", readiness=[
        health.Check("database", health.database_probe(db)),
        health.Check("catalogue", lambda: app.extensions["catalogue_client"].is_reachable(), required=False)])
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
    install_accounts(app, ENROLMENT_ACCOUNTS)
    # The organisations' API keys, and the schools' ones asked at the catalogue.
    install_api_keys(app, api, ApiKey, other_url=app.config["CATALOGUE_URL"],
                     other_transport=app.config.get("CATALOGUE_TRANSPORT"))

    from enrolment.pages import blp as pages

    app.register_blueprint(pages)

    from enrolment.views import batches, enrolments, feeds, offerings, organisations, participants, requests, webhooks

    for module in (enrolments, batches, participants, requests, organisations, offerings, feeds, webhooks, health):
        api.register_blueprint(module.blp)
    from enrolment.views import moves  # a place's alternatives and moving it (GET …/alternatives, POST …/move)

    api.register_blueprint(moves.blp)
    # A course's life after enrolment: attendance, completion, the school's message to its participants.
    from enrolment.views import attendance

    api.register_blueprint(attendance.blp)
    # Reserved seats: HR holds unnamed seats, names people into them, releases the rest (enrolment.reservations).
    from enrolment.views import reservations

    api.register_blueprint(reservations.blp)
    # Interest lists across runs: told or enrolled when a hold has a free seat (enrolment.interests).
    from enrolment.views import interests

    api.register_blueprint(interests.blp)
    # The GLU path: each module's state per person, the suggestion of the next one (enrolment.paths).
    from enrolment.views import paths

    api.register_blueprint(paths.blp)
    # A person's rights: insight and export, erasure (enrolment.insight, enrolment.erasure).
    from enrolment.views import privacy

    api.register_blueprint(privacy.blp)
    install_idempotency(app, db, IdempotencyRecord, authenticate=current_actor)
    install_commit_point(app, db)
    app.extensions["catalogue_client"] = CatalogueClient(
        app.config["CATALOGUE_URL"], app.config["GLU_TOKEN_SECRET"], transport=app.config.get("CATALOGUE_TRANSPORT"))
    register_jobs(app, install_jobs(app, "enrolment"))

    from enrolment.cli import register_commands

    register_commands(app)
    return app
