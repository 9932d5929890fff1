"""Interest lists across runs: HR registers, lists and withdraws its staff's interests; schools see the demand."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from enrolment import interests
from enrolment.interests import InterestFilters
from enrolment.models import db
from enrolment.views import catalogue
from shared.api import BEARER
from shared.auth import Role, current_actor, requires
from shared.clock import copenhagen_today, now
from shared.links import absolute_url
from shared.pagination import page_response, paginate
from shared.schemas import (
    DemandListSchema,
    DemandQuerySchema,
    InterestCreateSchema,
    InterestQuerySchema,
    InterestSchema,
    page_of,
)

blp = Blueprint("interests", __name__, url_prefix="/interests",
                description="Interest lists across runs: told (or enrolled) when a hold of the module has a free seat.")

HR_OR_ADMIN = (Role.HR, Role.ADMIN)


@blp.route("")
class Interests(MethodView):
    @requires(*HR_OR_ADMIN)
    @blp.arguments(InterestQuerySchema, location="query", unknown=RAISE, error_status_code=400)
    @blp.response(200, page_of(InterestSchema))
    @blp.doc(security=BEARER)
    def get(self, args):
        """The organisation's interests, first registered first (an administrator's: everyone's)"""
        page, per_page = args.pop("page"), args.pop("per_page")
        return page_response(paginate(
            db.session, interests.interests_query(current_actor(), InterestFilters(**args)), page, per_page))

    @requires(*HR_OR_ADMIN)
    @blp.arguments(InterestCreateSchema)
    @blp.response(201, InterestSchema)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Register interest in a module for one of the organisation's staff"""
        interest = interests.register_for_staff(db.session, current_actor(), catalogue(), data,
                                                copenhagen_today(now()))
        return interest, {"Location": absolute_url(f"/interests/{interest.id}")}


@blp.route("/<int:interest_id>")
class InterestById(MethodView):
    @requires(*HR_OR_ADMIN)
    @blp.response(200, InterestSchema)
    @blp.doc(security=BEARER)
    def get(self, interest_id):
        """One interest"""
        return interests.get_interest(db.session, current_actor(), interest_id)

    @requires(*HR_OR_ADMIN)
    @blp.response(200, InterestSchema)
    @blp.doc(security=BEARER)
    def delete(self, interest_id):
        """Withdraw an interest (it ends as withdrawn and is kept, for the record)"""
        return interests.withdraw_interest(db.session, current_actor(), interest_id)


@blp.route("/demand")
class Demand(MethodView):
    @requires(Role.SCHOOL, Role.ADMIN)
    @blp.arguments(DemandQuerySchema, location="query", unknown=RAISE, error_status_code=400)
    @blp.response(200, DemandListSchema)
    @blp.doc(security=BEARER)
    def get(self, args):
        """How many are interested in each module and region (counts only, no personal data)"""
        return {"items": interests.demand(db.session, current_actor(), args.get("module"), args.get("region"),
                                          copenhagen_today(now()))}
