"""Vocational schools and AMU providers with their locations, maintained by an administrator."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from catalogue.models import Location, Provider
from catalogue.search import index_location, index_provider
from shared import audit
from shared.db import MAX_ID
from shared.errors import Conflict, FieldError, NotFound, ValidationFailed


def list_providers(db: DbSession) -> list[Provider]:
    return list(db.scalars(select(Provider).options(selectinload(Provider.locations)).order_by(Provider.name)))


def get_provider(db: DbSession, provider_id: int) -> Provider:
    provider = db.get(Provider, provider_id) if 0 < provider_id <= MAX_ID else None
    if provider is None:
        raise NotFound(f"Skolen {provider_id} findes ikke.")
    return provider


def create_provider(db: DbSession, data: dict) -> Provider:
    _require_free_name(db, data["name"])
    provider = Provider(name=data["name"], website=data["website"], email=data["email"])
    index_provider(provider)
    db.add(provider)
    _apply_locations(provider, data["locations"])
    db.flush()
    audit.record(db, "school.created", "provider", provider.id, tenant_id=provider.id,
                 changes=audit.changed({}, {name: data[name] for name in ("name", "website", "email")}))
    return provider


def update_provider(db: DbSession, provider_id: int, changes: dict) -> Provider:
    """Change a provider; `locations` items with an id change that location, others are added.

    Locations are never removed here: offerings and calendars point at them.
    """
    provider = get_provider(db, provider_id)
    if "name" in changes and changes["name"] != provider.name:
        _require_free_name(db, changes["name"])
    audit.record(db, "school.changed", "provider", provider.id, tenant_id=provider.id, changes=audit.changed(
        {name: getattr(provider, name) for name in changes if name != "locations"},
        {name: value for name, value in changes.items() if name != "locations"})
        | ({"locations": [None, "ændret"]} if "locations" in changes else {}))
    for name in ("name", "website", "email", "decision_policy", "decision_grace_days"):
        if name in changes:
            setattr(provider, name, changes[name])
    index_provider(provider)
    if "locations" in changes:
        _apply_locations(provider, changes["locations"])
    db.flush()
    return provider


def _apply_locations(provider: Provider, items: list[dict]) -> None:
    own = {location.id: location for location in provider.locations}
    unknown = [
        FieldError(f"/locations/{index}/id", f"Stedet {item['id']} hører ikke til denne skole.")
        for index, item in enumerate(items)
        if "id" in item and item["id"] not in own
    ]
    if unknown:
        raise ValidationFailed("Ukendt sted.", unknown)
    for item in items:
        fields = {name: value for name, value in item.items() if name != "id"}
        location = own.get(item.get("id"))
        if location is None:
            location = Location(**fields)
            provider.locations.append(location)
        else:
            for name, value in fields.items():
                setattr(location, name, value)
        index_location(location)


def _require_free_name(db: DbSession, name: str) -> None:
    if db.scalar(select(Provider.id).where(Provider.name == name)) is not None:
        raise Conflict(f"Skolen '{name}' findes allerede.")
