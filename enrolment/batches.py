"""HR enrols many people into one offering at once, from JSON or a CSV file, with an outcome per row.

Every row ends as one of:

- confirmed / waitlisted: enrolled (or, in a dry run, would be), in file order, through the same
  seat rules as a single enrolment (seats.place_in_line under the offering's lock);
- duplicate: the e-mail address (compared without regard to case) is already in the file above,
  or the organisation's person with that address already holds an active enrolment in the
  offering. A duplicate is not an error: it is simply not enrolled again, so duplicates alone
  never stop an all_or_nothing batch;
- invalid: the row does not pass ParticipantInputSchema; `reason` says why, in Danish.

Modes: all_or_nothing (the default) writes nothing if any row is invalid and raises
ValidationFailed naming every invalid row (`/participants/{index}/email`, …); partial enrols the
valid rows and reports the rest. A dry run reports the same outcomes — who would be confirmed and
who waitlisted — and never raises for invalid rows; the caller rolls back. In a dry run of an
all_or_nothing batch with invalid rows, the valid rows show where they would land once the
invalid ones are removed.

CSV files have the header `name;email` (or `navn;e-mail`, `navn;email`), separated by semicolons
(as Danish Excel saves them) or commas, in UTF-8 with or without a byte order mark.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from enrolment import outbox
from enrolment.catalogue_client import CatalogueClient
from enrolment.enrolments import add_enrolment, audit_change, lock_open_offering
from enrolment.models import ACTIVE_STATUSES, Enrolment, Participant
from enrolment.organisations import organisation_in_scope, participant_for
from shared.auth import Actor
from shared.csv_files import decode_csv
from shared.errors import FieldError, ValidationFailed, field_errors_from_messages
from shared.observability import count_enrolment
from shared.schemas import BATCH_MODES, MAX_BATCH_ROWS, ParticipantInputSchema

OUTCOMES = ("confirmed", "waitlisted", "duplicate", "invalid")
SOURCE = "batch"
# Header names a CSV file may use, folded to lower case, and the field each one fills.
CSV_COLUMNS = {"name": "name", "navn": "name", "email": "email", "e-mail": "email", "mail": "email"}


@dataclass
class BatchRow:
    row: int
    name: str | None
    email: str | None
    outcome: str | None = None  # decided once the whole file has been checked
    reason: str | None = None
    enrolment_id: int | None = None
    waitlist_position: int | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class BatchReport:
    dry_run: bool
    mode: str
    rows: list[BatchRow]

    @property
    def written(self) -> bool:
        return not self.dry_run and any(row.outcome in ("confirmed", "waitlisted") for row in self.rows)

    @property
    def counts(self) -> dict[str, int]:
        return {outcome: sum(row.outcome == outcome for row in self.rows) for outcome in OUTCOMES}


def enrol_batch(db: DbSession, actor: Actor, catalogue: CatalogueClient, offering_id: int,
                organisation_key: str | None, rows: list[dict], *, dry_run: bool, mode: str,
                today: date) -> BatchReport:
    """Enrol `rows` ({name, email} each) into the offering for the caller's organisation; never commits.

    The offering's seats are locked once for the whole batch (the offering is read from the
    catalogue only if this service does not know it yet). Duplicates (within the file or already
    enrolled) are reported, not enrolled, and do not stop an all_or_nothing batch; an invalid row
    does (ValidationFailed, 422), unless this is a dry run.
    """
    if mode not in BATCH_MODES:
        raise ValidationFailed.field("/mode", f"Skal være en af: {', '.join(BATCH_MODES)}.")
    if len(rows) > MAX_BATCH_ROWS:
        raise ValidationFailed.field("/participants", f"Højst {MAX_BATCH_ROWS} deltagere ad gangen; del listen op.")
    organisation = organisation_in_scope(db, actor, organisation_key)
    offering_seats = lock_open_offering(db, catalogue, offering_id, today)

    report = BatchReport(dry_run=dry_run, mode=mode, rows=[])
    loaded = []
    for index, raw in enumerate(rows):
        row, participant = _check(index, raw)
        report.rows.append(row)
        loaded.append(participant)
    invalid = [row for row in report.rows if row.outcome == "invalid"]
    if invalid and mode == "all_or_nothing" and not dry_run:
        raise ValidationFailed(
            f"Ingen er tilmeldt: {len(invalid)} række(r) er ugyldige. Ret dem, eller send med mode=partial.",
            [error for row in invalid for error in row.errors])

    enrolled = _active_enrolments_by_email(db, offering_seats.offering_id, organisation.id)
    seen: dict[str, int] = {}
    placed: list[tuple[BatchRow, Enrolment]] = []
    for row, participant in zip(report.rows, loaded, strict=True):
        if participant is None:
            continue
        email_key = participant["email"].strip().casefold()
        if email_key in seen:
            row.outcome, row.reason = "duplicate", f"Står allerede i listen (række {seen[email_key]})."
        elif email_key in enrolled:
            row.outcome, row.reason = "duplicate", f"Er allerede tilmeldt udbuddet (tilmelding {enrolled[email_key]})."
        else:
            person = participant_for(db, organisation, participant["name"], participant["email"])
            enrolment = add_enrolment(db, offering_seats, organisation, person, source=SOURCE)
            audit_change(db, "enrolment.enrolled", enrolment, None)  # a dry run rolls it back with the rest
            row.outcome = enrolment.status
            placed.append((row, enrolment))
        if row.outcome == "duplicate":
            count_enrolment("duplicate", db)  # once the batch commits; a dry run counts nothing
        seen.setdefault(email_key, row.row)

    if placed:
        outbox.report_seats(db, offering_seats)
    # Positions are decided under the lock, so they still hold when the caller commits.
    for row, enrolment in placed:
        row.waitlist_position = enrolment.waitlist_position
        row.enrolment_id = None if dry_run else enrolment.id
    return report


def _check(index: int, raw: object) -> tuple[BatchRow, dict | None]:
    """The row's report line and its loaded participant, or None (outcome invalid) if it does not pass."""
    given = raw if isinstance(raw, dict) else {}
    row = BatchRow(row=index + 1, name=_text_or_none(given.get("name")), email=_text_or_none(given.get("email")))
    try:
        if not isinstance(raw, dict):
            raise ValidationError({"_schema": ["Rækken skal have et navn og en e-mailadresse."]})
        return row, ParticipantInputSchema().load(raw)
    except ValidationError as error:
        problems = [(problem.pointer, _FIELD_LABELS.get(problem.pointer, problem.pointer.lstrip("/")), problem.message)
                    for problem in field_errors_from_messages(error.messages)]
        reasons = [f"{label}: {message}" if label else message for _, label, message in problems]
        row.outcome, row.reason = "invalid", "; ".join(reasons)
        row.errors = [FieldError(f"/participants/{index}{pointer}", f"Række {row.row}: {reason}")
                      for (pointer, _, _), reason in zip(problems, reasons, strict=True)]
        return row, None


_FIELD_LABELS = {"/name": "navn", "/email": "e-mail"}


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _active_enrolments_by_email(db: DbSession, offering_id: int, organisation_id: int) -> dict[str, int]:
    """The enrolment id of each of the organisation's people (by e-mail key) holding a place in the offering."""
    return dict(db.execute(
        select(Participant.email_key, Enrolment.id).join(Enrolment.participant)
        .where(Enrolment.offering_id == offering_id, Participant.organisation_id == organisation_id,
               Enrolment.status.in_(ACTIVE_STATUSES))
    ).all())


def read_csv(data: bytes) -> list[dict]:
    """The rows of a CSV file as {name, email} dicts, blank lines left out; a file that cannot be read is a 422."""
    text, delimiter = decode_csv(data, "name;email")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader)]
    columns = [CSV_COLUMNS.get(name) for name in header]
    missing = [name for name in ("name", "email") if name not in columns]
    unknown = [name for name, column in zip(header, columns, strict=True) if column is None]
    if missing or unknown or len(set(columns)) != len(columns):
        problems = [FieldError(f"/columns/{name}", "Ukendt kolonne.") for name in unknown]
        problems += [FieldError(f"/columns/{name}", "Kolonnen mangler.") for name in missing]
        raise ValidationFailed("Første linje skal være kolonnenavnene name;email (eller navn;e-mail).",
                               problems or [FieldError("/columns", "En kolonne står to gange.")])
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) == MAX_BATCH_ROWS:
            raise ValidationFailed.field("", f"Filen har mere end {MAX_BATCH_ROWS} deltagere; del den op.")
        cells = [cell.strip() for cell in cells]
        row = dict(zip(columns, cells, strict=False))
        if any(cells[len(columns):]):
            row["ekstra kolonner"] = delimiter.join(cells[len(columns):])  # refused by the schema: unknown field
        rows.append(row)
    if not rows:
        raise ValidationFailed.field("", "Filen har ingen deltagere under kolonnenavnene.")
    return rows
