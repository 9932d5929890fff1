"""The enrolment service's contract: organisations, participants, enrolments, batches and seat counts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.schemas.base import REGION_CODES, ContractSchema, Email, Flag, Id, LocalDateTime, Text
from shared.schemas.catalogue import OfferingSchema

ORGANISATION_KINDS = ("municipality", "region", "state", "company", "other")
ENROLMENT_STATUSES = ("confirmed", "waitlisted", "pending_approval", "cancelled", "rejected", "unconfirmed")
BATCH_MODES = ("all_or_nothing", "partial")
MAX_BATCH_ROWS = 500


class HrUserSchema(ContractSchema):
    name = fields.String()
    email = fields.String()


class HrUserInputSchema(Schema):
    name = Text(required=True, min_length=1, max_length=200)
    email = Email(required=True)


class OrganisationSchema(ContractSchema):
    id = fields.Integer()
    key = fields.String(metadata={"description": "Municipality code (e.g. 791) or another unique key"})
    name = fields.String()
    kind = fields.String(validate=validate.OneOf(ORGANISATION_KINDS))
    requires_approval = fields.Boolean(metadata={"description": "A leader's request waits for HR"})
    ean = fields.String(allow_none=True)
    order_reference = fields.String(allow_none=True)
    cost_centre = fields.String(allow_none=True)
    region_code = fields.String(allow_none=True, metadata={"description": "Region (1081–1085) where the GLU path "
                                                                          "suggests offerings"})
    completion_retention_years = fields.Integer(allow_none=True, metadata={
        "description": "Years a completion is kept after the course's last day; null: the service's default"})
    hr_users = fields.List(fields.Nested(HrUserSchema))


class OrganisationCreateSchema(Schema):
    key = Text(required=True, min_length=1, max_length=40, validate_also=validate.Regexp(r"^[A-Za-z0-9-]+$"))
    name = Text(required=True, min_length=1, max_length=200)
    kind = fields.String(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    requires_approval = Flag(load_default=True)
    ean = fields.String(allow_none=True, load_default=None,
                        validate=validate.Regexp(r"^[0-9]{13}$", error="Et EAN-nummer har 13 cifre."))
    order_reference = Text(allow_none=True, load_default=None, max_length=100)
    cost_centre = Text(allow_none=True, load_default=None, max_length=100)
    region_code = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(REGION_CODES))
    hr_users = fields.List(fields.Nested(HrUserInputSchema), load_default=list, validate=validate.Length(max=50))


class OrganisationPatchSchema(Schema):
    region_code = fields.String(allow_none=True, validate=validate.OneOf(REGION_CODES), metadata={
        "description": "Region (1081–1085) where the GLU path suggests offerings; null: anywhere"})
    completion_retention_years = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=50), metadata={
        "description": "Years the organisation keeps its leaders' completions after the course's last day, as "
                       "their GLU paths need them; null: the service's default (RETENTION_COMPLETION_YEARS)"})


class ParticipantSchema(ContractSchema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()


class ParticipantInputSchema(Schema):
    name = Text(required=True, min_length=1, max_length=200)
    email = Email(required=True)


class EnrolmentSchema(ContractSchema):
    id = fields.Integer()
    offering_id = fields.Integer()
    organisation = fields.String(attribute="organisation_key")
    participant = fields.Nested(ParticipantSchema)
    status = fields.String(validate=validate.OneOf(ENROLMENT_STATUSES))
    waitlist_position = fields.Integer(allow_none=True, metadata={"description": "1 is next in line"})
    source = fields.String(metadata={"description": "hr, batch or request (a leader's own request)"})
    calendar_url = fields.String(metadata={"description": "The participant's secret, read-only calendar feed"})
    calendar_webcal_url = fields.Function(
        lambda enrolment: webcal(enrolment.calendar_url), metadata={"description": "The same feed as webcal://"})
    my_courses_url = fields.String(metadata={"description": "The participant's secret 'Mine kurser' page"})
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    completion = fields.String(allow_none=True, metadata={
        "description": "What the school reported once the last day had begun: completed or not_completed; "
                       "null until then"})
    completed_on = fields.Date(allow_none=True, metadata={"description": "The course's last day, once reported"})
    completion_provider_name = fields.String(allow_none=True, metadata={"description": "The school that reported it"})


class LeaderRequestResultSchema(EnrolmentSchema):
    """What a leader's own request answers: the secret links go by e-mail to the address, never to
    whoever sent the form."""

    class Meta:
        exclude = ("participant", "calendar_url", "calendar_webcal_url", "my_courses_url")


def webcal(url: str) -> str:
    """The webcal:// form of a feed URL, which calendar apps open as a subscription."""
    return "webcal://" + url.split("://", 1)[1] if "://" in url else url


class EnrolmentCreateSchema(Schema):
    offering_id = Id(required=True)
    participant = fields.Nested(ParticipantInputSchema, required=True)
    organisation = Text(max_length=40, metadata={"description": "Defaults to the HR token's organisation"})


class LeaderRequestSchema(Schema):
    offering_id = Id(required=True)
    participant = fields.Nested(ParticipantInputSchema, required=True)
    organisation = Text(required=True, min_length=1, max_length=40,
                        metadata={"description": "The key of the leader's organisation, e.g. 791"})


class SubstituteSchema(Schema):
    participant = fields.Nested(ParticipantInputSchema, required=True)


class EnrolmentQuerySchema(Schema):
    offering_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    status = fields.String(validate=validate.OneOf(ENROLMENT_STATUSES))
    organisation = Text(max_length=40, metadata={"description": "Administrators only"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class BatchQuerySchema(Schema):
    dry_run = fields.Boolean(load_default=False, metadata={"description": "Report every row, write nothing"})
    mode = fields.String(load_default="all_or_nothing", validate=validate.OneOf(BATCH_MODES),
                         metadata={"description": "all_or_nothing: an invalid row stops the batch; "
                                                  "partial: the valid rows are enrolled"})
    offering_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                 metadata={"description": "For CSV bodies"})
    organisation = Text(max_length=40, metadata={"description": "For CSV bodies sent by an administrator"})


class BatchSchema(Schema):
    offering_id = Id(required=True)
    organisation = Text(max_length=40)
    participants = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=MAX_BATCH_ROWS),
                               metadata={"description": "Each {name, email}; invalid rows are reported per row"})


class BatchRowSchema(Schema):
    row = fields.Integer(metadata={"description": "1 for the first participant (the line after a CSV header)"})
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    outcome = fields.String(metadata={"description": "confirmed, waitlisted, duplicate or invalid"})
    reason = fields.String(allow_none=True)
    enrolment_id = fields.Integer(allow_none=True)
    waitlist_position = fields.Integer(allow_none=True)


class BatchReportSchema(Schema):
    dry_run = fields.Boolean()
    mode = fields.String()
    written = fields.Boolean(metadata={"description": "Whether anything was enrolled"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    rows = fields.List(fields.Nested(BatchRowSchema))


class SchoolParticipantSchema(Schema):
    """What a school sees of its own participants."""

    name = fields.String()
    organisation = fields.String(metadata={"description": "The organisation's name"})
    status = fields.String()
    waitlist_position = fields.Integer(allow_none=True)


class SeatCountsSchema(Schema):
    """What the enrolment service tells the catalogue about an offering's seats (read strictly there)."""

    taken = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=100_000))
    waitlisted = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=100_000))
    version = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=2**62),
                             metadata={"description": "Grows with every change; older counts are ignored"})


class OfferingSeatCountsSchema(SeatCountsSchema):
    offering_id = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))


class SeatCountsBatchSchema(Schema):
    """Several offerings' seat counts at once: what one delivery of the enrolment service's outbox found due."""

    offerings = fields.List(fields.Nested(OfferingSeatCountsSchema), required=True,
                            validate=validate.Length(min=1, max=500))


class SeatCountsBatchResultSchema(Schema):
    offerings = fields.List(fields.Nested(OfferingSeatCountsSchema),
                            metadata={"description": "The counts each known offering now holds"})
    unknown = fields.List(fields.Integer(), metadata={"description": "Offerings the catalogue does not have"})


# --- Alternatives and moves (a place moved to another offering of the same module) -----------------

class AlternativeSchema(OfferingSchema):
    """Another offering of the place's module that still takes enrolments, as the catalogue shows it."""

    distance_km = fields.Float(allow_none=True, metadata={
        "description": "As the crow flies from the place's own location; null if either has no coordinates"})


class MoveSchema(Schema):
    offering_id = Id(required=True, metadata={"description": "The offering to move the place to"})


# --- Attendance, completion and a school's message to its participants (enrolment.attendance) -------

COMPLETION_RESULTS = ("completed", "not_completed")
MAX_COMPLETION_NOTE = 500
MAX_MESSAGE_SUBJECT = 200
MAX_MESSAGE_TEXT = 5000


class AttendanceUpdateSchema(Schema):
    attended = fields.List(Id(), required=True, validate=validate.Length(max=MAX_BATCH_ROWS), metadata={
        "description": "The enrolment ids of everyone who attended this day; every other confirmed participant "
                       "is marked as not attended"})


class CompletionUpdateSchema(Schema):
    result = fields.String(required=True, validate=validate.OneOf(COMPLETION_RESULTS))
    note = Text(max_length=MAX_COMPLETION_NOTE, multiline=True, allow_none=True, load_default=None)


class OfferingMessageSchema(Schema):
    subject = Text(required=True, min_length=1, max_length=MAX_MESSAGE_SUBJECT)
    text = Text(required=True, min_length=1, max_length=MAX_MESSAGE_TEXT, multiline=True)


class OfferingMessageResultSchema(Schema):
    recipients = fields.Integer(metadata={"description": "How many confirmed participants it was sent to"})


class AttendanceSessionSchema(Schema):
    id = fields.Integer(metadata={"description": "The catalogue's id of the day"})
    starts_at = LocalDateTime()
    ends_at = LocalDateTime()
    begun = fields.Boolean(metadata={"description": "Attendance can be marked once the day has begun"})


class AttendanceMarkSchema(Schema):
    session_id = fields.Integer()
    attended = fields.Boolean()
    recorded_at = LocalDateTime()


class CompletionSchema(Schema):
    """A confirmed participant's attendance and completion, as the school recorded them."""

    enrolment_id = fields.Integer()
    name = fields.String()
    organisation = fields.String(metadata={"description": "The organisation's name"})
    marks = fields.List(fields.Nested(AttendanceMarkSchema))
    completion = fields.String(allow_none=True, validate=validate.OneOf(COMPLETION_RESULTS))
    completion_note = fields.String(allow_none=True)
    completion_recorded_at = LocalDateTime(allow_none=True)
    completed_on = fields.Date(allow_none=True, metadata={"description": "The course's last day"})
    completion_provider_name = fields.String(allow_none=True, metadata={"description": "The school, as it was"})


class AttendanceSheetSchema(Schema):
    offering_id = fields.Integer()
    sessions = fields.List(fields.Nested(AttendanceSessionSchema))
    completion_open = fields.Boolean(metadata={"description": "Whether the last day has begun"})
    participants = fields.List(fields.Nested(CompletionSchema), metadata={"description": "The confirmed ones"})


# --- Reserved seats (enrolment.reservations) --------------------------------------------------------

MAX_RESERVED_SEATS = 1000


class ReservationCreateSchema(Schema):
    seats = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_RESERVED_SEATS),
                           metadata={"description": "Unnamed seats to hold; refused (409) if fewer are free"})
    organisation = Text(max_length=40, metadata={"description": "Defaults to the HR token's organisation"})


class ReservationNameSchema(Schema):
    participant = fields.Nested(ParticipantInputSchema, required=True)


class ReservationReleaseSchema(Schema):
    seats = fields.Integer(strict=True, allow_none=True, load_default=None,
                           validate=validate.Range(min=1, max=MAX_RESERVED_SEATS),
                           metadata={"description": "How many unnamed seats to give back; all if left out"})


class ReservationQuerySchema(Schema):
    offering_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    organisation = Text(max_length=40, metadata={"description": "Administrators only"})


class ReservationSchema(ContractSchema):
    id = fields.Integer()
    offering_id = fields.Integer()
    organisation = fields.String(attribute="organisation_key")
    seats = fields.Integer(metadata={"description": "Reserved in all"})
    named = fields.Integer(metadata={"description": "Named into: confirmed enrolments"})
    released = fields.Integer(metadata={"description": "Given back, by HR or at the enrolment deadline"})
    unnamed = fields.Integer(metadata={"description": "Still held and not named; counted as taken"})
    created_at = LocalDateTime()
    created_by = fields.String()
    released_at = LocalDateTime(allow_none=True, metadata={"description": "When the last unnamed seat was released"})


# --- Interest lists across runs (enrolment.interests) -----------------------------------------------------

INTEREST_STATUSES = ("active", "ended")


class InterestCreateSchema(Schema):
    module = Text(required=True, min_length=1, max_length=20, metadata={"description": "Module code, e.g. GLU-3"})
    regions = fields.List(Text(min_length=1, max_length=40), required=True, validate=validate.Length(min=1, max=5),
                          metadata={"description": "Region codes (1081–1085) or names, e.g. midtjylland"})
    before = fields.Date(allow_none=True, load_default=None,
                         metadata={"description": "Only courses starting before this day; the interest ends then"})
    participant = fields.Nested(ParticipantInputSchema, required=True)
    auto_enrol = Flag(load_default=False, metadata={
        "description": "Enrol the person when a seat is free, by the organisation's rules (approval where it "
                       "requires approval)"})
    organisation = Text(max_length=40, metadata={"description": "Defaults to the HR token's organisation"})


class InterestQuerySchema(Schema):
    module = Text(max_length=20)
    status = fields.String(validate=validate.OneOf(INTEREST_STATUSES))
    organisation = Text(max_length=40, metadata={"description": "Administrators only"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class InterestSchema(ContractSchema):
    id = fields.Integer()
    module = fields.String(attribute="module_code")
    regions = fields.List(fields.String(), metadata={"description": "Region codes"})
    before = fields.Date(allow_none=True)
    participant = fields.Nested(ParticipantSchema)
    auto_enrol = fields.Boolean()
    registered_by = fields.String(metadata={"description": "hr or participant"})
    created_at = LocalDateTime()
    ended_at = LocalDateTime(allow_none=True)
    end_reason = fields.String(allow_none=True, metadata={"description": "fulfilled, withdrawn or expired"})
    enrolment_id = fields.Integer(allow_none=True, metadata={"description": "The place an automatic enrolment made"})


class DemandQuerySchema(Schema):
    module = Text(max_length=20)
    region = Text(max_length=40, metadata={"description": "Region code (1081–1085) or name"})


class DemandSchema(ContractSchema):
    module = fields.String()
    region_code = fields.String()
    region = fields.String()
    interested = fields.Integer(metadata={"description": "Active interests naming this module and region"})


class DemandListSchema(ContractSchema):
    items = fields.List(fields.Nested(DemandSchema))


# --- The GLU path (enrolment.paths) ---------------------------------------------------------------

PATH_STATES = ("completed", "enrolled", "waitlisted", "requested", "not_yet")


class PathStepSchema(ContractSchema):
    module = fields.String(metadata={"description": "Module code, e.g. GLU-3"})
    title = fields.String()
    state = fields.String(validate=validate.OneOf(PATH_STATES), metadata={
        "description": "The best of the person's places in the module: completed > enrolled > waitlisted > "
                       "requested > not_yet"})
    label = fields.String(metadata={"description": "The state in Danish"})
    offering_id = fields.Integer(allow_none=True)
    completed_on = fields.Date(allow_none=True)
    provider_name = fields.String(allow_none=True)
    starts_at = fields.String(allow_none=True)
    ends_at = fields.String(allow_none=True)
    waitlist_position = fields.Integer(allow_none=True)


class PathSchema(ContractSchema):
    participant_id = fields.Integer(attribute="participant.id")
    name = fields.String(attribute="participant.name")
    steps = fields.List(fields.Nested(PathStepSchema))
    suggestion = fields.String(attribute="suggestion.module", allow_none=True, metadata={
        "description": "The next module not yet completed, held or requested"})
    region_code = fields.String(allow_none=True, metadata={"description": "The region the offerings are in"})
    offerings = fields.List(fields.Nested(OfferingSchema), metadata={
        "description": "The suggested module's next offerings there that take enrolments, soonest first (at most 3)"})


class PathQuerySchema(Schema):
    region = fields.String(validate=validate.OneOf(REGION_CODES), metadata={
        "description": "Suggest offerings in this region instead of the organisation's"})


class PathOverviewRowSchema(ContractSchema):
    participant_id = fields.Integer(attribute="participant.id")
    name = fields.String(attribute="participant.name")
    email = fields.String(attribute="participant.email")
    steps = fields.List(fields.Nested(PathStepSchema))


class PathOverviewQuerySchema(Schema):
    module = Text(max_length=20)
    state = fields.String(validate=validate.OneOf(PATH_STATES))
    format = fields.String(validate=validate.OneOf(("json", "csv")), load_default="json")


# --- Insight and erasure (GDPR art. 15, 17 and 20: enrolment.insight, enrolment.erasure) -------------------

class ExportOrganisationSchema(ContractSchema):
    key = fields.String()
    name = fields.String()


class ExportPersonSchema(ContractSchema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    organisation = fields.Nested(ExportOrganisationSchema)
    created_at = LocalDateTime()
    erased_at = LocalDateTime(allow_none=True, metadata={"description": "Set once the person is erased: name "
                                                                          "and e-mail are a pseudonym from then"})


class ExportAuditEntrySchema(ContractSchema):
    id = fields.Integer()
    at = LocalDateTime()
    action = fields.String()
    action_text = fields.String(metadata={"description": "The action in Danish"})
    object_type = fields.String()
    object_id = fields.String()
    actor_name = fields.String()
    changes = fields.Dict(metadata={"description": "{field: [from, to]}"})


class ExportOfferingSchema(ContractSchema):
    module_code = fields.String()
    module_title = fields.String()
    provider_name = fields.String()
    starts_at = LocalDateTime()
    ends_at = LocalDateTime()
    status = fields.String()


class ExportAttendanceSchema(ContractSchema):
    session_id = fields.Integer()
    attended = fields.Boolean()
    recorded_at = LocalDateTime()


class ExportEnrolmentSchema(ContractSchema):
    id = fields.Integer()
    offering_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(ENROLMENT_STATUSES))
    status_text = fields.String()
    source = fields.String()
    waitlist_position = fields.Integer(allow_none=True)
    ended_by = fields.String(allow_none=True)
    moved_to_id = fields.Integer(allow_none=True)
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    offering = fields.Nested(ExportOfferingSchema, allow_none=True, metadata={
        "description": "The offering as this service last saw it"})
    attendance = fields.List(fields.Nested(ExportAttendanceSchema))
    completion = fields.String(allow_none=True)
    completion_note = fields.String(allow_none=True)
    completion_recorded_at = LocalDateTime(allow_none=True)
    completed_on = fields.Date(allow_none=True)
    completion_provider_name = fields.String(allow_none=True)
    history = fields.List(fields.Nested(ExportAuditEntrySchema), metadata={
        "description": "The place's audit entries, oldest first"})


class ExportInterestSchema(ContractSchema):
    id = fields.Integer()
    module_code = fields.String()
    regions = fields.List(fields.String())
    before = fields.Date(allow_none=True)
    auto_enrol = fields.Boolean()
    registered_by = fields.String()
    created_at = LocalDateTime()
    ended_at = LocalDateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)
    enrolment_id = fields.Integer(allow_none=True)


class ExportReservationSchema(ContractSchema):
    reservation_id = fields.Integer()
    enrolment_id = fields.Integer()
    named_at = LocalDateTime()


class ExportMailSchema(ContractSchema):
    id = fields.Integer()
    recipient = fields.String()
    subject = fields.String(allow_none=True)
    body = fields.String(allow_none=True, metadata={"description": "Null once erased"})
    created_at = LocalDateTime()
    sent_at = LocalDateTime(allow_none=True)
    status = fields.String(validate=validate.OneOf(("sent", "waiting", "given_up")))


class ParticipantExportSchema(ContractSchema):
    """Everything the enrolment service holds about one person (the catalogue holds nothing about them)."""

    person = fields.Nested(ExportPersonSchema)
    enrolments = fields.List(fields.Nested(ExportEnrolmentSchema))
    interests = fields.List(fields.Nested(ExportInterestSchema))
    reservations = fields.List(fields.Nested(ExportReservationSchema), metadata={
        "description": "The organisation's reserved seats the person was named into"})
    mails = fields.List(fields.Nested(ExportMailSchema), metadata={"description": "Mails sent, or to be sent, to them"})
    audit_entries = fields.List(fields.Nested(ExportAuditEntrySchema))


class ErasureSchema(ContractSchema):
    participant_id = fields.Integer()
    erased_at = LocalDateTime()
    already_erased = fields.Boolean(metadata={"description": "Erased before: nothing was done now"})
    cancelled = fields.Integer(attribute="cancelled_count", metadata={
        "description": "The person's places cancelled now (the waiting list moved up)"})
    cancelled_enrolments = fields.List(fields.Integer(), attribute="cancelled")
    promoted_enrolments = fields.List(fields.Integer(), attribute="promoted", metadata={
        "description": "Others' places confirmed from the waiting list into the freed seats"})
