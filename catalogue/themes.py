"""The points of "Kodeks for god ledelse i kommuner og regioner" a module works with.

The eleven points are a published text (KL, Danske Regioner and the leaders' organisations), so they
are a fixed list here, not a table an administrator could reword; what an administrator decides is
which of them a module works with (ModuleTheme rows, PATCH /modules/{id} {"themes": [...]}). A row of
its own per module and point, rather than a JSON list on the module, so "offerings of modules with
point 8" is an indexed EXISTS that reads the same on SQLite and PostgreSQL (catalogue.search).

The seed's mapping (catalogue.seed) is marked `example`: it is our reading of the modules' content,
not an official link between GLU and the Kodeks, and the pages say so until an administrator sets
the module's points.
"""

from __future__ import annotations

from shared.schemas.catalogue import KODEKS_THEMES

KODEKS_TITLE = "Kodeks for god ledelse i kommuner og regioner"
EXAMPLE_NOTE = "Eksempel — ikke en officiel kobling"

# The points themselves are part of the API contract (the values of "themes" and ?theme=).
THEMES = KODEKS_THEMES
THEME_CODES = tuple(THEMES)


def theme_number(code: str) -> int:
    return THEME_CODES.index(code) + 1


def in_kodeks_order(codes) -> list[str]:
    return sorted(set(codes), key=theme_number)
