from flask.views import MethodView
from flask_smorest import Blueprint

from enrolment import changes
from enrolment.models import db
from enrolment.views import catalogue
from shared.api import BEARER
from shared.auth import Role, requires
from shared.schemas import SeatCountsSchema

blp = Blueprint("offerings", __name__, url_prefix="/offerings",
                description="What the enrolment service knows of the catalogue's offerings.")


@blp.route("/<int:offering_id>/refresh")
class Refresh(MethodView):
    @requires(Role.SERVICE, Role.ADMIN)
    @blp.response(200, SeatCountsSchema)
    @blp.doc(security=BEARER)
    def post(self, offering_id):
        """Read the offering from the catalogue again; a raised capacity promotes from the waiting list"""
        counts = changes.refresh_offering(db.session, catalogue(), offering_id)
        return counts
