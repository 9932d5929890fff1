from flask.views import MethodView
from flask_smorest import Blueprint

from catalogue import programmes
from catalogue.models import db
from shared.api import BEARER
from shared.auth import Role, requires
from shared.pagination import whole_list
from shared.schemas import (
    ModuleCreateSchema,
    ModulePatchSchema,
    ModuleSchema,
    ProgrammeCreateSchema,
    ProgrammePatchSchema,
    ProgrammeSchema,
    page_of,
)

blp = Blueprint("programmes", __name__, description="Programmes (GLU and others) and their modules.")


@blp.route("/programmes")
class Programmes(MethodView):
    @blp.response(200, page_of(ProgrammeSchema))
    def get(self):
        """All programmes"""
        return whole_list(programmes.list_programmes(db.session))

    @requires(Role.ADMIN)
    @blp.arguments(ProgrammeCreateSchema)
    @blp.response(201, ProgrammeSchema)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Add a programme"""
        programme = programmes.create_programme(db.session, data)
        return programme


@blp.route("/programmes/<int:programme_id>")
class ProgrammeById(MethodView):
    @blp.response(200, ProgrammeSchema)
    def get(self, programme_id):
        """One programme"""
        return programmes.get_programme(db.session, programme_id)

    @requires(Role.ADMIN)
    @blp.arguments(ProgrammePatchSchema)
    @blp.response(200, ProgrammeSchema)
    @blp.doc(security=BEARER)
    def patch(self, changes, programme_id):
        """Change a programme"""
        programme = programmes.update_programme(db.session, programme_id, changes)
        return programme


@blp.route("/modules")
class Modules(MethodView):
    @blp.response(200, page_of(ModuleSchema))
    def get(self):
        """All modules, in programme order"""
        return whole_list(programmes.list_modules(db.session))

    @requires(Role.ADMIN)
    @blp.arguments(ModuleCreateSchema)
    @blp.response(201, ModuleSchema)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Add a module to a programme"""
        module = programmes.create_module(db.session, data)
        return module


@blp.route("/modules/<int:module_id>")
class ModuleById(MethodView):
    @blp.response(200, ModuleSchema)
    def get(self, module_id):
        """One module"""
        return programmes.get_module(db.session, module_id)

    @requires(Role.ADMIN)
    @blp.arguments(ModulePatchSchema)
    @blp.response(200, ModuleSchema)
    @blp.doc(security=BEARER)
    def patch(self, changes, module_id):
        """Change a module"""
        module = programmes.update_module(db.session, module_id, changes)
        return module
