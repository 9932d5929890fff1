"""The enrolment service's side of shared.accounts: the organisations' people.

HR enrols, approves, rejects, cancels and hands over places; an HR admin also manages the
organisation's members; an approver may only see the organisation's requests and approve or
reject them (API role `approver`).
"""

from enrolment.models import ACCOUNTS, Organisation, db
from shared.accounts import Accounts, MemberRole
from shared.auth import Role

ROLES = {
    "hr_admin": MemberRole("HR-administrator", Role.HR, rank=3, manages_members=True),
    "hr": MemberRole("HR", Role.HR, rank=2),
    "approver": MemberRole("Godkender", Role.APPROVER, rank=1),
}

ENROLMENT_ACCOUNTS = Accounts(
    service="enrolment", db=db, models=ACCOUNTS, tenant_model=Organisation, tenant_label="organisation", roles=ROLES,
    scope_of=lambda membership: {"organisation": membership.tenant.key},
    layout="enrolment/layout.html", home_endpoint="enrolment_pages.hr_overview")
