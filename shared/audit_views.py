"""Reading the audit log: `GET /audit` (paginated, or CSV with `format=csv`) and the page `/log`, on each service.

A school reads the entries of its own data, HR its organisation's, an administrator every entry
(shared.audit.entries_query). Approvers and anonymous callers read nothing.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, render_template, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from shared.api import BEARER
from shared.audit import ACTIONS, AuditFilters, entries_query
from shared.auth import Role, current_actor, requires
from shared.csv_files import write_csv
from shared.errors import Forbidden
from shared.pages import page_actor, redirect_to_sign_in
from shared.pagination import page_response, paginate
from shared.schemas import page_of

READERS = (Role.SCHOOL, Role.HR, Role.ADMIN)
CSV_COLUMNS = ("Tidspunkt (UTC)", "Handling", "Hvem", "Rolle", "Type", "Id", "Ændringer", "Forespørgsel")
CSV_LIMIT = 100_000

blp = Blueprint("audit", __name__, url_prefix="/audit",
                description="Who did what: every change and sign-in, newest first.")
# Named …_pages so that errors on these routes render as HTML pages (shared.pages.is_page_request).
pages = Blueprint("audit_pages", __name__)


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_type = fields.String(metadata={"description": "person, key, token, participant, system or anonymous"})
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String()
    actor_role = fields.String(allow_none=True)
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    tenant_id = fields.Integer(allow_none=True, metadata={"description": "The school's or organisation's id"})
    changes = fields.Dict(metadata={"description": "{field: [from, to]}"})
    request_id = fields.String(allow_none=True)


class AuditQuerySchema(Schema):
    action = fields.String(validate=validate.OneOf(ACTIONS))
    object_type = fields.String(validate=validate.Length(max=30))
    object_id = fields.String(validate=validate.Length(max=40))
    since = fields.Date()
    until = fields.Date()
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


@blp.route("")
class AuditLog(MethodView):
    @requires(*READERS)
    @blp.arguments(AuditQuerySchema, location="query", unknown=RAISE, error_status_code=400)
    @blp.response(200, page_of(AuditEntrySchema))
    # The CSV form is the same 200, so it is documented beside the page rather than as another status.
    @blp.alt_response(200, schema={"type": "string"}, content_type="text/csv", description="OK")
    @blp.doc(security=BEARER)
    def get(self, args):
        """The audit entries the caller may read, newest first

        With `format=csv`, all matching entries (up to 100,000) as a CSV file for Danish Excel
        (text/csv; UTF-8 with a byte order mark, semicolons) instead of a page.
        """
        statement = _statement(args)
        if args["format"] == "csv":
            return _csv(current_app.extensions["audit_model"], statement)
        return page_response(paginate(_db().session, statement, args["page"], args["per_page"]))


@pages.route("/log")
def log_page():
    actor = page_actor()
    if actor.is_anonymous:
        return redirect_to_sign_in()
    if actor.role not in READERS:
        raise Forbidden("Din rolle giver ikke adgang til loggen.")
    try:
        args = AuditQuerySchema().load({key: value for key, value in request.args.items() if value})
    except Exception:  # a hand-edited URL: show everything rather than an error page
        args = AuditQuerySchema().load({})
    result = paginate(_db().session, _statement(args, actor), args["page"], 50)
    layout = current_app.extensions["accounts"].layout
    return render_template("shared/audit.html", layout=layout, result=result, actions=ACTIONS,
                           filters={key: request.args.get(key, "") for key in ("action", "object_id", "since",
                                                                                 "until")})


def _statement(args: dict, actor=None):
    from shared.accounts import accounts
    from shared.accounts.members import tenant_id_of

    actor = actor or current_actor()
    filters = AuditFilters(action=args.get("action"), object_type=args.get("object_type"),
                           object_id=args.get("object_id"), since=args.get("since"), until=args.get("until"))
    everything = actor.role is Role.ADMIN
    tenant_id = None if everything else tenant_id_of(_db().session, accounts(), actor)
    if not everything and tenant_id is None:
        raise Forbidden("Din rolle giver ikke adgang til loggen her.")
    return entries_query(current_app.extensions["audit_model"], tenant_id, filters, everything=everything)


def _csv(model, statement) -> Response:
    rows = _db().session.scalars(statement.limit(CSV_LIMIT))
    body = write_csv(CSV_COLUMNS, ((entry.at.isoformat(timespec="seconds"), ACTIONS.get(entry.action, entry.action),
                                    entry.actor_name, entry.actor_role, entry.object_type, entry.object_id,
                                    "; ".join(f"{key}: {old} → {new}" for key, (old, new) in entry.changes.items()),
                                    entry.request_id) for entry in rows))
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="log.csv"'})


def _db():
    return current_app.extensions["accounts"].db


def register(app: Flask, api) -> None:
    api.register_blueprint(blp)
    app.register_blueprint(pages)
