from flask.views import MethodView
from flask_smorest import Blueprint

from catalogue import decisions, providers
from catalogue.models import db
from shared.api import BEARER
from shared.auth import Role, current_actor, requires
from shared.pagination import whole_list
from shared.schemas import DecisionPolicySchema, ProviderCreateSchema, ProviderPatchSchema, ProviderSchema, page_of

blp = Blueprint("providers", __name__, url_prefix="/providers",
                description="Vocational schools and AMU providers with their locations.")


@blp.route("")
class Providers(MethodView):
    @blp.response(200, page_of(ProviderSchema))
    def get(self):
        """All providers with their locations"""
        return whole_list(providers.list_providers(db.session))

    @requires(Role.ADMIN)
    @blp.arguments(ProviderCreateSchema)
    @blp.response(201, ProviderSchema)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Add a provider with its locations"""
        provider = providers.create_provider(db.session, data)
        return provider


@blp.route("/<int:provider_id>")
class ProviderById(MethodView):
    @blp.response(200, ProviderSchema)
    def get(self, provider_id):
        """One provider"""
        return providers.get_provider(db.session, provider_id)

    @requires(Role.ADMIN)
    @blp.arguments(ProviderPatchSchema)
    @blp.response(200, ProviderSchema)
    @blp.doc(security=BEARER)
    def patch(self, changes, provider_id):
        """Change a provider, or change and add its locations"""
        provider = providers.update_provider(db.session, provider_id, changes)
        return provider


@blp.route("/<int:provider_id>/decision-policy")
class ProviderDecisionPolicy(MethodView):
    @requires(Role.SCHOOL, Role.ADMIN)
    @blp.arguments(DecisionPolicySchema)
    @blp.response(200, ProviderSchema)
    @blp.doc(security=BEARER)
    def patch(self, changes, provider_id):
        """Set the school's go-or-no-go policy: what happens to an offering nobody decides on in time

        The school's admin (not a course administrator) or an administrator. Within
        `decision_grace_days` after an offering's decision date the school decides itself; after that,
        an offering with too few participants is cancelled (`cancel`) or held anyway (`hold`).
        """
        return decisions.set_decision_policy(db.session, current_actor(), provider_id, changes)
