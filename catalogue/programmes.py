"""Programmes and their modules, maintained by an administrator."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from catalogue.models import Module, ModuleTheme, Programme
from catalogue.search import index_module
from catalogue.themes import in_kodeks_order
from shared import audit
from shared.db import MAX_ID
from shared.errors import Conflict, NotFound, ValidationFailed


def list_programmes(db: DbSession) -> list[Programme]:
    return list(db.scalars(select(Programme).order_by(Programme.code)))


def get_programme(db: DbSession, programme_id: int) -> Programme:
    programme = db.get(Programme, programme_id) if 0 < programme_id <= MAX_ID else None
    if programme is None:
        raise NotFound(f"Uddannelsen {programme_id} findes ikke.")
    return programme


def create_programme(db: DbSession, data: dict) -> Programme:
    if db.scalar(select(Programme.id).where(Programme.code == data["code"])) is not None:
        raise Conflict(f"Uddannelsen '{data['code']}' findes allerede.")
    programme = Programme(**data)
    db.add(programme)
    db.flush()
    audit.record(db, "programme.created", "programme", programme.id, tenant_id=None, changes=audit.changed({}, data))
    return programme


def update_programme(db: DbSession, programme_id: int, changes: dict) -> Programme:
    programme = get_programme(db, programme_id)
    audit.record(db, "programme.changed", "programme", programme.id, tenant_id=None,
                 changes=audit.changed({name: getattr(programme, name) for name in changes}, changes))
    for name, value in changes.items():
        setattr(programme, name, value)
    for module in programme.modules:
        index_module(module)
    db.flush()
    return programme


def list_modules(db: DbSession, programme_code: str | None = None) -> list[Module]:
    statement = select(Module).join(Module.programme).order_by(Programme.code, Module.position, Module.code)
    if programme_code:
        statement = statement.where(Programme.code == programme_code.upper())
    return list(db.scalars(statement))


def get_module(db: DbSession, module_id: int) -> Module:
    module = db.get(Module, module_id) if 0 < module_id <= MAX_ID else None
    if module is None:
        raise NotFound(f"Modulet {module_id} findes ikke.")
    return module


def create_module(db: DbSession, data: dict) -> Module:
    data = dict(data)
    programme = db.scalar(select(Programme).where(Programme.code == data.pop("programme").upper()))
    if programme is None:
        raise ValidationFailed.field("/programme", "Uddannelsen findes ikke.")
    if db.scalar(select(Module.id).where(Module.code == data["code"])) is not None:
        raise Conflict(f"Modulet '{data['code']}' findes allerede.")
    module = Module(programme=programme, **data)
    index_module(module)
    db.add(module)
    db.flush()
    audit.record(db, "module.created", "module", module.id, tenant_id=None, changes=audit.changed({}, data))
    return module


def update_module(db: DbSession, module_id: int, changes: dict) -> Module:
    """Change a module; `themes` (Kodeks point codes, checked by the schema) replaces its points, which from
    then on are the administrator's, no longer the seed's example."""
    module = get_module(db, module_id)
    changes = dict(changes)
    themes = changes.pop("themes", None)
    before = {name: getattr(module, name) for name in changes}
    after = dict(changes)
    if themes is not None:
        before["themes"] = [theme["code"] for theme in module.themes]
        after["themes"] = in_kodeks_order(themes)
        set_themes(module, themes, example=False)
    audit.record(db, "module.changed", "module", module.id, tenant_id=None, changes=audit.changed(before, after))
    for name, value in changes.items():
        setattr(module, name, value)
    index_module(module)
    db.flush()
    return module


def set_themes(module: Module, codes, *, example: bool) -> None:
    """The module's Kodeks points become `codes` (known codes; the schema checked them)."""
    wanted = set(codes)
    module.theme_rows = [row for row in module.theme_rows if row.theme in wanted]
    kept = {row.theme for row in module.theme_rows}
    module.theme_rows += [ModuleTheme(theme=code) for code in in_kodeks_order(wanted - kept)]
    for row in module.theme_rows:
        row.example = example
