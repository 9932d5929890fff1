"""One generated request against one service: credentials of the role that owns the operation, now and
then a seeded id in the path, and every check the contract asks for."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from schemathesis import Case
from schemathesis.core.parameters import ParameterLocation


@dataclass
class Seeded:
    """What the generated requests may aim at: ids that exist and a token per role."""

    ids: dict[str, list] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    addresses: itertools.count = field(default_factory=lambda: itertools.count(1))

    def remote_addr(self) -> str:
        """Another client address per request, so the anonymous rate limits never stand in for an answer."""
        n = next(self.addresses)
        return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def role_for(case: Case, roles: dict[str, str]) -> str:
    """The role whose token the request carries: the first rule whose path prefix matches, else admin."""
    path = case.operation.path
    for (method, prefix), role in roles.items():
        if (method in ("*", case.method.upper())) and path.startswith(prefix):
            return role
    return "admin"


def aim_at_seeded_rows(case: Case, seeded: Seeded) -> None:
    """Swap a generated (valid) path id for a seeded one, for every other value Hypothesis draws.

    A path made invalid on purpose (negative data) is left as it was: it must be refused."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH):
        return
    for name, value in list((case.path_parameters or {}).items()):
        known = seeded.ids.get(name)
        if not known or not isinstance(value, int | str) or isinstance(value, bool):
            continue
        if isinstance(value, int) and value % 2 == 0:
            case.path_parameters[name] = known[value // 2 % len(known)]
        elif isinstance(value, str) and len(value) % 2 == 0 and isinstance(known[0], str):
            case.path_parameters[name] = known[len(value) // 2 % len(known)]


def call_and_check(case: Case, seeded: Seeded, roles: dict[str, str]) -> None:
    aim_at_seeded_rows(case, seeded)
    headers = {}
    if case.operation.definition.raw.get("security"):
        headers["Authorization"] = f"Bearer {seeded.tokens[role_for(case, roles)]}"
    case.call_and_validate(headers=headers, environ_overrides={"REMOTE_ADDR": seeded.remote_addr()})
