"""The enrolment service keeps the contract its OpenAPI document states, for generated valid and invalid requests."""

import schemathesis

from tests.contract.contract import call_and_check

schema = schemathesis.pytest.from_fixture("enrolment_schema")

# The role that owns each operation's request; the rest are the administrator's.
ROLES = {
    ("*", "/interests/demand"): "school",
    ("*", "/offerings/{offering_id}/attendance"): "school",
    ("*", "/offerings/{offering_id}/sessions"): "school",
    ("*", "/offerings/{offering_id}/participants"): "school",
    ("*", "/offerings/{offering_id}/messages"): "school",
    ("*", "/enrolments/{enrolment_id}/completion"): "school",
    ("*", "/offerings/{offering_id}/refresh"): "service",
    ("*", "/enrolments"): "hr",
    ("*", "/interests"): "hr",
    ("*", "/reservations"): "hr",
    ("*", "/offerings/{offering_id}/reservations"): "hr",
    ("*", "/organisation-calendar"): "hr",
    ("*", "/participants"): "hr",
    ("PATCH", "/organisations/{key}"): "hr",
    ("*", "/organisations/{key}/path"): "hr",
}


@schema.parametrize()
def test_enrolment_api_keeps_its_document(case, enrolment_seeded):
    call_and_check(case, enrolment_seeded, ROLES)
