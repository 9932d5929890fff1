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
# Each organisation's first HR admin: invented people at admin@<slug>.example (listed in the README).
HR_ADMINS = {"791": "Camilla Juhl", "730": "Rasmus Brink", "707": "Pia Toft", "706": "Kasper Munk",
             "751": "Dorte Lyng", "1082": "Niels Overgaard", "demo-as": "Tina Aagaard"}
# Where the GLU path suggests offerings (Organisation.region_code): all the Midtjylland ones; the company none.
REGION_OF = {"791": "1082", "730": "1082", "707": "1082", "706": "1082", "751": "1082", "1082": "1082"}
SYSTEM_ADMIN = ("Sys Admin (demo)", "admin@glu-courses.example")


def seed_organisations(db: DbSession) -> str:
    from enrolment.accounts import ENROLMENT_ACCOUNTS
    from shared.accounts.members import add_membership, add_person

    add_person(db, ENROLMENT_ACCOUNTS, *SYSTEM_ADMIN, is_admin=True)
    created = 0
    for key, name, kind, requires_approval in ORGANISATIONS:
        slug = name.split()[0].lower()
        organisation = find_organisation(db, key)
        if organisation is None:
            organisation = create_organisation(db, {
                "key": key, "name": name, "kind": kind, "requires_approval": requires_approval,
                "ean": None, "order_reference": None, "cost_centre": None, "region_code": REGION_OF.get(key),
                "hr_users": [{"name": f"HR-konsulent, {name} (demo)", "email": f"hr@{slug}.example"}],
            })
            created += 1
        person = add_person(db, ENROLMENT_ACCOUNTS, HR_ADMINS[key], f"admin@{slug}.example")
        if not any(membership.tenant_id == organisation.id for membership in person.memberships):
            add_membership(db, ENROLMENT_ACCOUNTS, person, organisation.id, "hr_admin")
    return f"{len(ORGANISATIONS)} demo-organisationer ({created} nye)"
