from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, ValidationError

from enrolment import batches
from enrolment.models import db
from enrolment.views import catalogue
from shared.api import BEARER
from shared.auth import Role, current_actor, requires
from shared.clock import copenhagen_today
from shared.errors import FieldError, ValidationFailed, field_errors_from_messages
from shared.schemas import BatchQuerySchema, BatchReportSchema, BatchSchema
from shared.transaction import rollback

blp = Blueprint("batches", __name__, url_prefix="/enrolments",
                description="HR enrols many people at once, from JSON or a CSV file, with an outcome per row.")

CSV_TYPES = ("text/csv", "multipart/form-data")


@blp.route("/batch")
class Batch(MethodView):
    @requires(Role.HR, Role.ADMIN)
    @blp.arguments(BatchQuerySchema, location="query", unknown=RAISE, error_status_code=400)
    @blp.response(201, BatchReportSchema)
    @blp.alt_response(200, schema=BatchReportSchema, description="A dry run, or a batch that enrolled no one")
    @blp.doc(security=BEARER, requestBody={"required": True, "content": {
        "application/json": {"schema": BatchSchema},
        "text/csv": {"schema": {"type": "string", "description": "name;email header, UTF-8"}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                        "format": "binary"}}}},
    }})
    def post(self, args):
        """Enrol many into one offering; ?dry_run=true only reports, ?mode=partial enrols the valid rows"""
        offering_id, organisation, rows = _batch_body(args)
        report = batches.enrol_batch(db.session, current_actor(), catalogue(), offering_id, organisation, rows,
                                     dry_run=args["dry_run"], mode=args["mode"], today=copenhagen_today())
        if args["dry_run"]:
            rollback(db.session)
        return report, 201 if report.written else 200


def _batch_body(args: dict) -> tuple[int, str | None, list[dict]]:
    """(offering id, organisation key, rows) from a JSON body, or from a CSV body and the query."""
    if request.mimetype in CSV_TYPES:
        upload = request.files.get("file")
        if request.mimetype == "multipart/form-data" and upload is None:
            raise ValidationFailed.field("/file", "Vedhæft CSV-filen i feltet 'file'.")
        rows = batches.read_csv(upload.read() if upload else request.get_data())
        if "offering_id" not in args:
            message = "Angiv udbuddet med ?offering_id=, når deltagerne sendes som CSV."
            raise ValidationFailed(message, [FieldError("/offering_id", message, parameter="offering_id")])
        return args["offering_id"], args.get("organisation"), rows
    try:
        body = BatchSchema().load(request.get_json())
    except ValidationError as error:
        raise ValidationFailed("Forespørgslen er ugyldig.", field_errors_from_messages(error.messages)) from error
    return body["offering_id"], body.get("organisation", args.get("organisation")), body["participants"]
