from flask.views import MethodView
from flask_smorest import Blueprint

from enrolment import organisations
from enrolment.models import db
from shared.api import BEARER
from shared.auth import Role, current_actor, requires
from shared.pagination import whole_list
from shared.schemas import OrganisationCreateSchema, OrganisationPatchSchema, OrganisationSchema, page_of

blp = Blueprint("organisations", __name__, url_prefix="/organisations",
                description="Municipalities, regions, agencies and companies that enrol their staff.")


@blp.route("")
class Organisations(MethodView):
    @requires(Role.ADMIN)
    @blp.response(200, page_of(OrganisationSchema))
    @blp.doc(security=BEARER)
    def get(self):
        """All organisations"""
        return whole_list(organisations.list_organisations(db.session))

    @requires(Role.ADMIN)
    @blp.arguments(OrganisationCreateSchema)
    @blp.response(201, OrganisationSchema)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Add an organisation with its HR users and invoice details"""
        organisation = organisations.create_organisation(db.session, data)
        return organisation


@blp.route("/<key>")
class OrganisationByKey(MethodView):
    @requires(Role.HR, Role.ADMIN)
    @blp.arguments(OrganisationPatchSchema)
    @blp.response(200, OrganisationSchema)
    @blp.doc(security=BEARER)
    def patch(self, changes, key):
        """Change the organisation's region or completion retention (HR: its own organisation)"""
        return organisations.update_organisation(db.session, current_actor(), key, changes)
