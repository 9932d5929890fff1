"""The GLU path: each module of the programme with the leader's state in it, and a suggestion of the next one.

The catalogue owns programmes and their order (GET /modules, in programme order), so the modules come from
it, not from the offerings this service happens to have seen: a module nobody has enrolled in yet is still
on the path. A person with several places in one module is shown the best of them — completed, then
enrolled (confirmed), then waitlisted, then requested (pending approval) — so a cancelled or not-completed
run does not hide a later one.

The suggestion is the first module in programme order the person has not completed, holds or requested,
with its next offerings that still take enrolments (published, deadline not passed) in a region — the
organisation's unless the leader chooses another. Municipalities carry no coordinates here, so they are
ordered soonest first within the region rather than by distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import joinedload

from enrolment.catalogue_client import CatalogueClient
from enrolment.models import Enrolment, Organisation, Participant
from shared.auth import Actor, Role
from shared.errors import NotFound

PROGRAMME = "GLU"
STATES = ("completed", "enrolled", "waitlisted", "requested", "not_yet")
STATE_LABELS = {"completed": "Gennemført", "enrolled": "Tilmeldt", "waitlisted": "Venteliste",
                "requested": "Anmodet", "not_yet": "Ikke taget endnu"}
# How a place counts on the path; a cancelled place, or a run not completed, counts as not taken.
_STATE_OF_STATUS = {"confirmed": "enrolled", "waitlisted": "waitlisted", "pending_approval": "requested"}
SUGGESTED_OFFERINGS = 3


@dataclass
class ModuleStep:
    module: str
    title: str
    state: str = "not_yet"
    enrolment: Enrolment | None = None

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def completed_on(self) -> date | None:
        return self.enrolment.completed_on if self.state == "completed" else None

    @property
    def provider_name(self) -> str | None:
        if self.enrolment is None:
            return None
        if self.state == "completed":
            return self.enrolment.completion_provider_name
        return (self.enrolment.seats.snapshot or {}).get("provider_name")

    @property
    def offering_id(self) -> int | None:
        return self.enrolment.offering_id if self.enrolment else None

    @property
    def starts_at(self):
        return (self.enrolment.seats.snapshot or {}).get("starts_at") if self.enrolment else None

    @property
    def ends_at(self):
        return (self.enrolment.seats.snapshot or {}).get("ends_at") if self.enrolment else None

    @property
    def waitlist_position(self) -> int | None:
        return self.enrolment.waitlist_position if self.state == "waitlisted" else None


@dataclass
class Path:
    participant: Participant
    steps: list[ModuleStep]
    suggestion: ModuleStep | None = None
    region_code: str | None = None
    offerings: list[dict] = field(default_factory=list)


def _state(enrolment: Enrolment) -> str:
    if enrolment.completion == "completed":
        return "completed"
    return _STATE_OF_STATUS.get(enrolment.status, "not_yet")


def steps_for(modules: list[dict], enrolments: list[Enrolment]) -> list[ModuleStep]:
    """The programme's modules in order, each with the best state among the person's places in it."""
    steps = {module["code"]: ModuleStep(module["code"], module["title"]) for module in modules}
    for enrolment in enrolments:
        step = steps.get((enrolment.seats.snapshot or {}).get("module"))
        state = _state(enrolment) if step else "not_yet"
        if step and STATES.index(state) < STATES.index(step.state):
            step.state, step.enrolment = state, enrolment
    return list(steps.values())


def participant_in_scope(db: DbSession, actor: Actor, participant_id: int) -> Participant:
    """HR sees its own organisation's participants, an administrator anyone's; another organisation's is a 404."""
    participant = db.get(Participant, participant_id)
    if participant is None or (actor.role is not Role.ADMIN and participant.organisation.key != actor.organisation):
        raise NotFound(f"Deltager {participant_id} findes ikke.")
    return participant


def _enrolments(db: DbSession, participant_ids: list[int]) -> list[Enrolment]:
    return list(db.scalars(select(Enrolment).options(joinedload(Enrolment.seats))
                           .where(Enrolment.participant_id.in_(participant_ids)).order_by(Enrolment.id)))


def participant_path(db: DbSession, catalogue: CatalogueClient, participant: Participant, today: date,
                     region_code: str | None = None) -> Path:
    """The person's path with the suggestion of the next module and its next offerings in the region
    (`region_code`, else the organisation's; no region: anywhere)."""
    steps = steps_for(catalogue.programme_modules(PROGRAMME), _enrolments(db, [participant.id]))
    region = region_code or participant.organisation.region_code
    path = Path(participant, steps, region_code=region)
    path.suggestion = next((step for step in steps if step.state == "not_yet"), None)
    if path.suggestion is not None:
        query = {"module": path.suggestion.module, "date_from": today}
        if region:
            query["region"] = region
        path.offerings = [offering for offering in catalogue.search_offerings(**query)
                          if offering.get("status") == "published" and offering["enrolment_deadline"] >= today
                          ][:SUGGESTED_OFFERINGS]
    return path


@dataclass
class OverviewRow:
    participant: Participant
    steps: list[ModuleStep]


def organisation_overview(db: DbSession, catalogue: CatalogueClient, actor: Actor, key: str, *,
                          module: str | None = None, state: str | None = None) -> list[OverviewRow]:
    """Every participant of the organisation with a state per module, by name; `module` and `state` keep the
    people whose state in that module (or, without a module, in any) is `state`."""
    organisation = db.scalar(select(Organisation).where(Organisation.key == key))
    if organisation is None or (actor.role is not Role.ADMIN and key != actor.organisation):
        raise NotFound(f"Organisationen '{key}' findes ikke.")
    modules = catalogue.programme_modules(PROGRAMME)
    participants = list(db.scalars(select(Participant).where(Participant.organisation_id == organisation.id)
                                   .order_by(Participant.name, Participant.id)))
    enrolments = _enrolments(db, [participant.id for participant in participants])
    rows = [OverviewRow(participant, steps_for(modules, [e for e in enrolments if e.participant_id == participant.id]))
            for participant in participants]
    if state:
        rows = [row for row in rows
                if any(step.state == state and (module is None or step.module == module) for step in row.steps)]
    return rows


def overview_csv(rows: list[OverviewRow]) -> bytes:
    from shared.csv_files import write_csv
    modules = [step.module for step in rows[0].steps] if rows else []
    return write_csv(("Navn", "E-mail", *modules), (
        (row.participant.name, row.participant.email, *(step_text(step) for step in row.steps)) for row in rows))


def step_text(step: ModuleStep) -> str:
    """The state as people read it: "Gennemført 2027-02-03 hos Mercantec", "Venteliste nr. 3", "Anmodet"."""
    if step.state == "completed":
        text = "Gennemført"
        if step.completed_on:
            text += f" {step.completed_on.isoformat()}"
        return text + (f" hos {step.provider_name}" if step.provider_name else "")
    if step.state == "waitlisted" and step.waitlist_position:
        return f"Venteliste nr. {step.waitlist_position}"
    return step.label
