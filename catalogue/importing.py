"""A school publishes many offerings at once from a CSV file, row by row through the same rules as the API.

The file has a header row with the API's field names, separated by semicolons (as Danish Excel
saves it) or commas; UTF-8, with or without a byte order mark. Sessions go in one column as
`2027-02-01 08:30-15:30 | 2027-02-02 08:30-15:30`, in Danish local time. Every row is checked;
the caller writes the offerings only if every row passed and it is not a dry run.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy.orm import Session as DbSession

from catalogue.offerings import create_offering
from shared.auth import Actor
from shared.csv_files import decode_csv
from shared.errors import DomainError, FieldError, Forbidden, ValidationFailed, field_errors_from_messages
from shared.schemas import COPENHAGEN, OfferingCreateSchema

MAX_ROWS = 2000
COLUMNS = (
    "module", "provider_id", "location_id", "sessions", "capacity", "min_participants", "price_dkk",
    "enrolment_deadline", "language", "contact_email", "reference", "note", "status",
)
_INTEGER_COLUMNS = ("provider_id", "location_id", "capacity", "min_participants")
_SESSION = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+(\d{1,2}[:.]\d{2})\s*-\s*(\d{1,2}[:.]\d{2})$")


@dataclass
class ImportedRow:
    line: int
    errors: list[FieldError] = field(default_factory=list)
    offering_id: int | None = None

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[ImportedRow]

    @property
    def valid(self) -> bool:
        return all(row.valid for row in self.rows)

    @property
    def created(self) -> int:
        return 0 if self.dry_run or not self.valid else len(self.rows)

    def problems(self) -> list[FieldError]:
        return [
            FieldError(f"/rows/{row.line}{error.pointer}", f"Linje {row.line}: {error.message}")
            for row in self.rows for error in row.errors
        ]


def import_offerings(db: DbSession, actor: Actor, data: bytes, *, dry_run: bool) -> ImportReport:
    """Check every row and add the offerings to the session.

    A dry run reports every row, and the caller rolls back. A real run with any bad row raises
    ValidationFailed naming each row's problems, so the request's transaction writes nothing.
    """
    rows = _read_rows(data)
    schema = OfferingCreateSchema()
    report = ImportReport(dry_run=dry_run, rows=[])
    for line, raw in rows:
        row = ImportedRow(line=line)
        report.rows.append(row)
        try:
            offering = create_offering(db, actor, schema.load(_as_json(raw)), audit_action="offering.imported")
        except ValidationError as error:
            row.errors = field_errors_from_messages(error.messages)
        except Forbidden:
            raise  # a row for another school is a refusal of the whole file, not a row to correct
        except DomainError as error:
            row.errors = error.errors or [FieldError("", error.detail)]
        else:
            row.offering_id = None if dry_run else offering.id
    if not dry_run and not report.valid:
        raise ValidationFailed("Ingen udbud er gemt: ret fejlene og send filen igen.", report.problems())
    return report


def _read_rows(data: bytes) -> list[tuple[int, dict]]:
    text, delimiter = decode_csv(data, "(module;location_id;sessions;…)")
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in ("module", "location_id", "sessions") if name not in header]
    if unknown or missing:
        problems = [FieldError(f"/columns/{name}", "Ukendt kolonne.") for name in unknown]
        problems += [FieldError(f"/columns/{name}", "Kolonnen mangler.") for name in missing]
        raise ValidationFailed(f"Kolonnerne skal være blandt: {', '.join(COLUMNS)}.", problems)
    reader.fieldnames = header
    rows = []
    for raw in reader:
        if len(rows) == MAX_ROWS:
            raise ValidationFailed.field("", f"Filen har mere end {MAX_ROWS} rækker; del den op.")
        if None in raw or any((value or "").strip() for value in raw.values()):
            rows.append((reader.line_num, raw))
    if not rows:
        raise ValidationFailed.field("", "Filen har ingen udbud under kolonnenavnene.")
    return rows


def _as_json(raw: dict) -> dict:
    """The row as the JSON body the API would get: blanks left out, numbers and sessions parsed."""
    if None in raw:  # csv puts cells beyond the header under the key None
        raise ValidationError({"_schema": ["Rækken har flere felter end der er kolonner."]})
    body: dict = {}
    for name, value in raw.items():
        value = (value or "").strip()
        if not value:
            continue
        if name in _INTEGER_COLUMNS:
            body[name] = int(value) if value.isdigit() else value
        elif name == "price_dkk":
            body[name] = _price(value)
        elif name == "sessions":
            body[name] = _sessions(value)
        else:
            body[name] = value
    return body


def _price(value: str) -> int | str:
    """'3250', '3.250', '3.250,00' and '3250 kr.' are all 3250 kroner."""
    digits = value.lower().removesuffix(".").removesuffix("kr").strip().replace(".", "").replace(" ", "")
    digits = digits.removesuffix(",00")
    return int(digits) if digits.isdigit() else value


def _sessions(value: str) -> list[dict] | str:
    sessions = []
    for part in value.split("|"):
        match = _SESSION.match(part.strip())
        if not match:
            raise ValidationError({"sessions": [f"'{part.strip()[:40]}' skal skrives som 2027-02-01 08:30-15:30."]})
        day, start, end = match.groups()
        sessions.append({"starts_at": _local(day, start), "ends_at": _local(day, end)})
    return sessions


def _local(day: str, clock: str) -> str:
    try:
        naive = datetime.strptime(f"{day} {clock.replace('.', ':')}", "%Y-%m-%d %H:%M")
    except ValueError as error:
        raise ValidationError({"sessions": [f"{day} {clock} er ikke et gyldigt tidspunkt."]}) from error
    return naive.replace(tzinfo=COPENHAGEN).isoformat()
