"""Webhooks from the catalogue: a school changed an offering, so read the change feed now."""

from __future__ import annotations

import functools
import time

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from enrolment import change_feed
from enrolment.models import db
from enrolment.views import catalogue
from shared import webhooks
from shared.errors import DomainError
from shared.schemas import ChangesAppliedSchema, WebhookNoticeSchema

blp = Blueprint("webhooks", __name__, url_prefix="/webhooks",
                description="Signed notices from the catalogue, answered by reading its change feed.")


class InvalidSignature(DomainError):
    status = 401
    title = "Manglende eller ugyldig signatur"

    def __init__(self, detail: str):
        super().__init__(detail, headers={"WWW-Authenticate": 'GLU-Signature realm="glu-courses"'})


def signed_by_catalogue(view):
    """View decorator: the signature is the authentication, checked over the raw body before it is read."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = webhooks.signing_key(current_app.config["GLU_TOKEN_SECRET"])
        if not webhooks.verify(key, request.headers.get(webhooks.TIMESTAMP_HEADER), request.get_data(),
                               request.headers.get(webhooks.SIGNATURE_HEADER), time.time()):
            raise InvalidSignature(f"Webhooks skal være signeret med {webhooks.SIGNATURE_HEADER} over "
                                   f"{webhooks.TIMESTAMP_HEADER} og indholdet, sendt inden for "
                                   f"{webhooks.TOLERANCE_SECONDS} sekunder.")
        return view(*args, **kwargs)

    return wrapper


@blp.route("/catalogue")
class CatalogueWebhook(MethodView):
    @signed_by_catalogue
    @blp.arguments(WebhookNoticeSchema)
    @blp.response(200, ChangesAppliedSchema)
    @blp.alt_response(401, description="The signature is missing, wrong or older than five minutes")
    @blp.doc(security=[], parameters=[
        {"in": "header", "name": webhooks.TIMESTAMP_HEADER, "required": True, "schema": {"type": "string"},
         "description": "Unix seconds when sent; at most five minutes off"},
        {"in": "header", "name": webhooks.SIGNATURE_HEADER, "required": True, "schema": {"type": "string"},
         "description": "sha256=<hex HMAC-SHA256 of '{timestamp}.{body}'>"},
    ])
    def post(self, notice):
        """A school changed an offering: read the catalogue's change feed from the cursor and apply it

        No bearer token: the signature is the authentication (401 if missing, wrong or stale). 503 if the
        catalogue cannot be read now; the catalogue retries, and the cursor has not moved past anything unapplied.
        """
        result = change_feed.catch_up(db.session, catalogue(), up_to=notice["change_seq"])
        return {"applied": result.applied, "cursor": result.cursor}
