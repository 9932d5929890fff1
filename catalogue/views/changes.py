from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from catalogue import notifications
from catalogue.models import db
from shared.api import BEARER
from shared.auth import Role, requires
from shared.pagination import page_response, paginate
from shared.schemas import (
    ChangesQuerySchema,
    OfferingChangesSchema,
    WebhookDeliveryQuerySchema,
    WebhookDeliverySchema,
    page_of,
)

blp = Blueprint("changes", __name__, url_prefix="",
                description="Changes of offerings for the enrolment service: the change feed and the webhook log.")


@blp.route("/offerings/changes")
class OfferingChanges(MethodView):
    @requires(Role.SERVICE, Role.ADMIN)
    @blp.arguments(ChangesQuerySchema, location="query", unknown=RAISE, error_status_code=400)
    @blp.response(200, OfferingChangesSchema)
    @blp.doc(security=BEARER)
    def get(self, args):
        """The change feed: offerings changed after `since`, in the order of their changes

        Every create, edit and cancellation takes the next number (`change_seq`); seat counts do not.
        Keep `last_seq` and read on with `since=last_seq` while `more` is true: changes are numbered in
        the order they commit, so a number once passed is never met again.
        """
        return notifications.changes_since(db.session, args["since"], args["limit"])


@blp.route("/webhook-deliveries")
class WebhookDeliveries(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(WebhookDeliveryQuerySchema, location="query", unknown=RAISE, error_status_code=400)
    @blp.response(200, page_of(WebhookDeliverySchema))
    @blp.doc(security=BEARER)
    def get(self, args):
        """The webhook delivery log, newest first: attempts, next attempt, last status and error"""
        return page_response(paginate(db.session, notifications.deliveries_query(), args["page"], args["per_page"]))
