"""Demo organisations for `flask --app enrolment seed`: real municipalities and regions, made-up HR people."""

from __future__ import annotations

from sqlalchemy.orm import Session as DbSession

from enrolment.organisations import create_organisation, find_organisation

# Keys are the official municipality and region codes; the HR users are invented demo people
# with addresses under the reserved .example domain.
ORGANISATIONS = (
    ("791", "Viborg Kommune", "municipality", True),
    ("730", "Randers Kommune", "municipality", False),
    ("707", "Norddjurs Kommune", "municipality", True),
    ("706", "Syddjurs Kommune", "municipality", False),
    ("751", "Aarhus Kommune", "municipality", True),
    ("1082", "Region Midtjylland", "region", True),
    ("demo-as", "Demo Byg A/S (eksempelvirksomhed)", "company", False),
)


def seed_organisations(db: DbSession) -> str:
    created = 0
    for key, name, kind, requires_approval in ORGANISATIONS:
        if find_organisation(db, key) is not None:
            continue
        slug = name.split()[0].lower()
        create_organisation(db, {
            "key": key, "name": name, "kind": kind, "requires_approval": requires_approval,
            "ean": None, "order_reference": None, "cost_centre": None,
            "hr_users": [{"name": f"HR-konsulent, {name} (demo)", "email": f"hr@{slug}.example"}],
        })
        created += 1
    return f"{len(ORGANISATIONS)} demo-organisationer ({created} nye)"
