"""Reserved seats: POST/GET /offerings/{id}/reservations, GET /reservations, naming into one and releasing."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from enrolment import reservations
from enrolment.models import db
from enrolment.views import catalogue
from shared.api import BEARER
from shared.auth import Role, current_actor, requires
from shared.clock import copenhagen_today, now
from shared.links import absolute_url
from shared.pagination import whole_list
from shared.schemas import (
    EnrolmentSchema,
    ReservationCreateSchema,
    ReservationNameSchema,
    ReservationQuerySchema,
    ReservationReleaseSchema,
    ReservationSchema,
    page_of,
)

blp = Blueprint("reservations", __name__, url_prefix="",
                description="HR reserves unnamed seats on an offering, names its people into them until the "
                            "enrolment deadline, and releases the rest; then the rest go to the waiting list.")

HR_OR_ADMIN = (Role.HR, Role.ADMIN)
READERS = (Role.HR, Role.APPROVER, Role.ADMIN)
RESERVATION_PAGE = page_of(ReservationSchema)  # one schema for both lists: one name in the OpenAPI document


@blp.route("/offerings/<int:offering_id>/reservations")
class OfferingReservations(MethodView):
    @requires(*READERS)
    @blp.response(200, RESERVATION_PAGE)
    @blp.doc(security=BEARER)
    def get(self, offering_id):
        """The organisation's reservations on the offering (an administrator's: everyone's)"""
        return whole_list(reservations.list_reservations(db.session, current_actor(), offering_id=offering_id))

    @requires(*HR_OR_ADMIN)
    @blp.arguments(ReservationCreateSchema)
    @blp.response(201, ReservationSchema)
    @blp.doc(security=BEARER)
    def post(self, data, offering_id):
        """Reserve unnamed seats: counted as taken at once; 409 (nothing reserved) if fewer are free"""
        reservation = reservations.reserve_seats(db.session, current_actor(), catalogue(), offering_id, data["seats"],
                                                 data.get("organisation"), copenhagen_today(now()))
        return reservation, {"Location": absolute_url(f"/reservations/{reservation.id}")}


@blp.route("/reservations")
class Reservations(MethodView):
    @requires(*READERS)
    @blp.arguments(ReservationQuerySchema, location="query", unknown=RAISE, error_status_code=400)
    @blp.response(200, RESERVATION_PAGE)
    @blp.doc(security=BEARER)
    def get(self, args):
        """The organisation's reservations, newest first (an administrator's: everyone's, or one organisation's)"""
        return whole_list(reservations.list_reservations(db.session, current_actor(), args.get("offering_id"),
                                                         args.get("organisation")))


@blp.route("/reservations/<int:reservation_id>")
class ReservationById(MethodView):
    @requires(*READERS)
    @blp.response(200, ReservationSchema)
    @blp.doc(security=BEARER)
    def get(self, reservation_id):
        """One reservation"""
        return reservations.get_reservation(db.session, current_actor(), reservation_id)


@blp.route("/reservations/<int:reservation_id>/names")
class Naming(MethodView):
    @requires(*HR_OR_ADMIN)
    @blp.arguments(ReservationNameSchema)
    @blp.response(201, EnrolmentSchema, description="The person's confirmed enrolment")
    @blp.doc(security=BEARER)
    def post(self, data, reservation_id):
        """Name a person into one unnamed seat: confirmed at once, until the enrolment deadline"""
        enrolment = reservations.name_into(db.session, current_actor(), reservation_id, data["participant"],
                                           copenhagen_today(now()))
        return enrolment, {"Location": absolute_url(f"/enrolments/{enrolment.id}")}


@blp.route("/reservations/<int:reservation_id>/release")
class Release(MethodView):
    @requires(*HR_OR_ADMIN)
    @blp.arguments(ReservationReleaseSchema)
    @blp.response(200, ReservationSchema)
    @blp.doc(security=BEARER)
    def post(self, data, reservation_id):
        """Give back unnamed seats (all, or some); the waiting list moves up at once"""
        return reservations.release_seats(db.session, current_actor(), reservation_id, data.get("seats"))
