from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from catalogue import decisions, importing, offerings
from catalogue.models import db
from catalogue.notifications import WebhookSender
from catalogue.search import OfferingFilters, offerings_query
from shared import rate_limits
from shared.api import BEARER, OPTIONAL_BEARER
from shared.auth import Role, current_actor, requires
from shared.links import absolute_url
from shared.pagination import page_response, paginate
from shared.response_cache import cached_while_unchanged
from shared.schemas import (
    ImportQuerySchema,
    ImportReportSchema,
    OfferingCancelSchema,
    OfferingCopySchema,
    OfferingCreateSchema,
    OfferingDecisionSchema,
    OfferingPatchSchema,
    OfferingQuerySchema,
    OfferingSchema,
    SeatCountsBatchResultSchema,
    SeatCountsBatchSchema,
    SeatCountsSchema,
    page_of,
)
from shared.transaction import rollback


def webhooks() -> WebhookSender:
    return current_app.extensions["webhook_sender"]


blp = Blueprint("offerings", __name__, url_prefix="/offerings",
                description="Offerings of the modules at the schools: search, publish, edit, cancel.")


@blp.route("")
class Offerings(MethodView):
    @rate_limits.limit_anonymous(rate_limits.ANONYMOUS_SEARCH_PER_IP)
    @cached_while_unchanged
    @blp.arguments(OfferingQuerySchema, location="query", unknown=RAISE, error_status_code=400)
    @blp.response(200, page_of(OfferingSchema))
    @blp.alt_response(429, description="Too many searches from this IP without credentials (60 a minute)",
                      headers=rate_limits.RETRY_AFTER)
    @blp.doc(security=OPTIONAL_BEARER)
    def get(self, args):
        """Search offerings, soonest first"""
        page, per_page = args.pop("page"), args.pop("per_page")
        statement = offerings_query(OfferingFilters(**args), current_actor())
        return page_response(paginate(db.session, statement, page, per_page))

    @requires(Role.SCHOOL, Role.ADMIN)
    @blp.arguments(OfferingCreateSchema)
    @blp.response(201, OfferingSchema)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Publish an offering (or save it as a draft) for the token's school"""
        offering = offerings.create_offering(db.session, current_actor(), data, webhook=webhooks().enabled)
        return offering, {"Location": absolute_url(f"/offerings/{offering.id}")}


@blp.route("/import")
class OfferingImport(MethodView):
    @requires(Role.SCHOOL, Role.ADMIN)
    @blp.arguments(ImportQuerySchema, location="query", unknown=RAISE, error_status_code=400)
    @blp.response(201, ImportReportSchema)
    @blp.alt_response(200, schema=ImportReportSchema, description="The dry run's report")
    @blp.doc(security=BEARER, requestBody={"required": True, "content": {
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                        "format": "binary"}}}},
    }})
    def post(self, args):
        """Publish many offerings from a CSV file: all rows or none; ?dry_run=true only checks them"""
        upload = request.files.get("file")
        csv_bytes = upload.read() if upload else request.get_data()
        report = importing.import_offerings(db.session, current_actor(), csv_bytes, dry_run=args["dry_run"])
        if args["dry_run"]:
            rollback(db.session)
            return report, 200
        return report, 201


@blp.route("/<int:offering_id>")
class OfferingById(MethodView):
    @cached_while_unchanged
    @blp.response(200, OfferingSchema)
    @blp.doc(security=OPTIONAL_BEARER)
    def get(self, offering_id):
        """One offering with its sessions"""
        return offerings.get_offering(db.session, current_actor(), offering_id)

    @requires(Role.SCHOOL, Role.ADMIN)
    @blp.arguments(OfferingPatchSchema)
    @blp.response(200, OfferingSchema)
    @blp.doc(security=BEARER)
    def patch(self, changes, offering_id):
        """Change an offering of the token's school: sessions, capacity, deadline, …"""
        offering = offerings.update_offering(db.session, current_actor(), offering_id, changes,
                                             webhook=webhooks().enabled)
        return offering


@blp.route("/<int:offering_id>/cancel")
class OfferingCancellation(MethodView):
    @requires(Role.SCHOOL, Role.ADMIN)
    @blp.arguments(OfferingCancelSchema)
    @blp.response(200, OfferingSchema)
    @blp.doc(security=BEARER)
    def post(self, data, offering_id):
        """Cancel an offering; it stays visible as cancelled"""
        offering = offerings.cancel_offering(db.session, current_actor(), offering_id, data["reason"],
                                             webhook=webhooks().enabled)
        return offering


@blp.route("/<int:offering_id>/copy")
class OfferingCopy(MethodView):
    @requires(Role.SCHOOL, Role.ADMIN)
    @blp.arguments(OfferingCopySchema)
    @blp.response(201, OfferingSchema)
    @blp.doc(security=BEARER)
    def post(self, data, offering_id):
        """Copy an offering to new dates, as a new draft of the same school

        The sessions keep their Danish times of day and move together so that the first falls on
        `first_day`; the enrolment deadline moves by as many days. Module, place, capacity, price and
        the rest are kept; the reference is the one given, or none.
        """
        offering = offerings.copy_offering(db.session, current_actor(), offering_id, data["first_day"],
                                           data["reference"])
        return offering, {"Location": absolute_url(f"/offerings/{offering.id}")}


@blp.route("/<int:offering_id>/decision")
class OfferingDecision(MethodView):
    @requires(Role.SCHOOL, Role.ADMIN)
    @blp.arguments(OfferingDecisionSchema)
    @blp.response(200, OfferingSchema)
    @blp.doc(security=BEARER)
    def post(self, data, offering_id):
        """Decide go or no-go: the course is held, or cancelled with a reason for the participants

        Once per offering, for a published one. `held` is a change like any other (a new revision,
        announced to the enrolment service, whose participants are told the course is held);
        `cancelled` is the same as `POST /offerings/{id}/cancel` and needs a reason.
        """
        return decisions.decide(db.session, current_actor(), offering_id, data["decision"], data["reason"],
                                webhook=webhooks().enabled)


@blp.route("/seats")
class OfferingsSeats(MethodView):
    @requires(Role.SERVICE, Role.ADMIN)
    @blp.arguments(SeatCountsBatchSchema)
    @blp.response(200, SeatCountsBatchResultSchema, description="The counts the offerings now hold")
    @blp.doc(security=BEARER)
    def put(self, batch):
        """Record several offerings' seat counts at once (the enrolment service)

        As `PUT /offerings/{id}/seats` for each, in one transaction. An offering the catalogue does
        not have is listed under `unknown` and does not stop the others.
        """
        stored, unknown = offerings.record_many_seat_counts(db.session, batch["offerings"])
        return {"offerings": stored, "unknown": unknown}


@blp.route("/<int:offering_id>/seats")
class OfferingSeats(MethodView):
    @requires(Role.SERVICE, Role.ADMIN)
    @blp.arguments(SeatCountsSchema)
    @blp.response(200, SeatCountsSchema, description="The counts the offering now holds")
    @blp.doc(security=BEARER)
    def put(self, counts, offering_id):
        """Record an offering's seat counts (the enrolment service)

        Counts whose version is not above the stored one are ignored. The answer is the counts the
        offering now holds: those sent, or newer ones that arrived first. `GET /offerings/{id}` shows
        the offering with them.
        """
        stored = offerings.record_seat_counts(db.session, offering_id, counts)
        return stored
