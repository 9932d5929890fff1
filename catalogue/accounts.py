"""The catalogue's side of shared.accounts: the schools' people.

A school admin manages the school's members and does all a course administrator does: publish,
edit and cancel the school's offerings. Both act with the API role `school` for their school.
"""

from catalogue.models import ACCOUNTS, Provider, db
from shared.accounts import Accounts, MemberRole
from shared.auth import Role

ROLES = {
    "school_admin": MemberRole("Skoleadministrator", Role.SCHOOL, rank=2, manages_members=True),
    "course_admin": MemberRole("Kursusadministrator", Role.SCHOOL, rank=1),
}

CATALOGUE_ACCOUNTS = Accounts(
    service="catalogue", db=db, models=ACCOUNTS, tenant_model=Provider, tenant_label="skole", roles=ROLES,
    scope_of=lambda membership: {"provider_id": membership.tenant_id},
    layout="catalogue/layout.html", home_endpoint="catalogue_pages.school")
