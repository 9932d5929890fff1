"""Finding offerings: filters, and free text in Danish that behaves the same on SQLite and PostgreSQL.

Free text is matched against words normalised in Python (Unicode case folding, so Æ/æ, Ø/ø and
Å/å meet; punctuation dropped), stored per module, provider and location as " word word …".
A query word matches the beginning of a stored word through `LIKE '% word%'`, or, from four
letters on, any part of one (`LIKE '%word%'`: "ledelse" finds "førstelinjeledelse"). Both
databases evaluate that byte for byte on the already-normalised text, so neither SQLite's
ASCII-only lower() nor PostgreSQL's collation can make their results differ.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload, selectinload

from catalogue.models import Location, Module, ModuleTheme, Offering, Programme, Provider
from shared.auth import Actor, Role
from shared.errors import Forbidden
from shared.geography import region_code
from shared.schemas import COPENHAGEN

_WORD = re.compile(r"\w+")
COMPOUND_PART = 4


def normalise_words(*texts: str | None) -> list[str]:
    words: list[str] = []
    for text in texts:
        if text:
            folded = unicodedata.normalize("NFC", text).casefold()
            words.extend(_WORD.findall(folded))
    return words


def search_text(*texts: str | None) -> str:
    """The stored form: every word with a space before it, so ' word' marks a word's beginning."""
    return "".join(f" {word}" for word in normalise_words(*texts)) + " "


def index_module(module: Module) -> None:
    module.search_text = search_text(
        module.code, module.title, module.description, " ".join(module.content or []), module.target_group,
        module.amu_number,
    )


def index_provider(provider: Provider) -> None:
    provider.search_text = search_text(provider.name)


def index_location(location: Location) -> None:
    location.search_text = search_text(location.name, location.address, location.postcode, location.city,
                                       location.municipality, location.region)


@dataclass(frozen=True)
class OfferingFilters:
    q: str | None = None
    module: str | None = None
    programme: str | None = None
    provider: int | None = None
    region: str | None = None
    municipality: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    language: str | None = None
    status: str | None = None
    has_seats: bool | None = None
    theme: str | None = None


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=COPENHAGEN)


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def offerings_query(filters: OfferingFilters, actor: Actor) -> Select:
    """The offerings matching `filters`, soonest first, as `actor` may see them.

    Anyone sees published and cancelled offerings; drafts only by their own school or an admin.

    Every filter is a condition on the offering row itself (`module_id IN (SELECT …)`), never a join:
    modules, schools and places are small tables, so their conditions are resolved once each, and
    the planner can walk an index of `offering` in order and stop after one page, or count the
    matches from an index alone (ix_offering_search), instead of joining every match first.
    """
    statement = (
        select(Offering)
        .options(
            joinedload(Offering.module).joinedload(Module.programme),
            joinedload(Offering.provider),
            joinedload(Offering.location),
            selectinload(Offering.sessions),
        )
        .order_by(Offering.starts_at, Offering.id)
    )
    status = filters.status or "published"
    statement = statement.where(Offering.status == status)
    if status == "draft":
        if actor.role is Role.SCHOOL:
            statement = statement.where(Offering.provider_id == actor.provider_id)
        elif actor.role not in (Role.ADMIN, Role.SERVICE):
            raise Forbidden("Kladder kan kun ses af skolen selv.")
    if filters.module:
        statement = statement.where(
            Offering.module_id.in_(select(Module.id).where(Module.code == filters.module.upper())))
    if filters.programme:
        statement = statement.where(Offering.module_id.in_(
            select(Module.id).join(Module.programme).where(Programme.code == filters.programme.upper())))
    if filters.provider:
        statement = statement.where(Offering.provider_id == filters.provider)
    if filters.region:
        code = region_code(filters.region) or "unknown"
        statement = statement.where(Offering.location_id.in_(select(Location.id).where(Location.region_code == code)))
    if filters.municipality:
        statement = statement.where(Offering.location_id.in_(select(Location.id).where(
            _municipality_condition(filters.municipality.strip()))))
    if filters.date_from:
        statement = statement.where(Offering.starts_at >= _start_of_day(filters.date_from))
    if filters.date_to:
        statement = statement.where(Offering.starts_at < _start_of_day(filters.date_to + timedelta(days=1)))
    if filters.language:
        statement = statement.where(Offering.language == filters.language)
    # A comparison of two columns of the row: no index helps, the other filters narrow the rows first.
    if filters.has_seats is True:
        statement = statement.where(Offering.capacity > Offering.seats_taken)
    elif filters.has_seats is False:
        statement = statement.where(Offering.capacity <= Offering.seats_taken)
    if filters.theme:
        statement = statement.where(Offering.module_id.in_(
            select(ModuleTheme.module_id).where(ModuleTheme.theme == filters.theme)))
    for word in normalise_words(filters.q):
        pattern = _word_pattern(word)
        statement = statement.where(or_(
            Offering.module_id.in_(select(Module.id).where(Module.search_text.like(pattern, escape="\\"))),
            Offering.provider_id.in_(select(Provider.id).where(Provider.search_text.like(pattern, escape="\\"))),
            Offering.location_id.in_(select(Location.id).where(Location.search_text.like(pattern, escape="\\"))),
        ))
    return statement


def _word_pattern(word: str) -> str:
    """Danish writes compounds as one word ("førstelinjeledelse"), so a word of COMPOUND_PART letters or
    more is found inside words too; a shorter one only at a word's beginning, or "it" would match most."""
    escaped = _escape_like(word)
    return f"%{escaped}%" if len(word) >= COMPOUND_PART else f"% {escaped}%"


def _municipality_condition(wanted: str):
    if wanted.isdigit():
        return Location.municipality_code == wanted.zfill(3)
    name = search_text(wanted.removesuffix(" Kommune").removesuffix(" kommune"))
    return Location.search_text.contains(name, autoescape=True)
