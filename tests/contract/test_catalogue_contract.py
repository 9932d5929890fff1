"""The catalogue keeps the contract its OpenAPI document states, for generated valid and invalid requests."""

import schemathesis

from tests.contract.contract import call_and_check

schema = schemathesis.pytest.from_fixture("catalogue_schema")

# The role that owns each operation's request; the rest are the administrator's.
ROLES = {
    ("*", "/offerings/changes"): "service",
    ("PUT", "/offerings/seats"): "service",
    ("PUT", "/offerings/{offering_id}/seats"): "service",
    ("*", "/oauth/introspect"): "service",
    ("*", "/offerings"): "school",
}


@schema.parametrize()
def test_catalogue_api_keeps_its_document(case, catalogue_seeded):
    call_and_check(case, catalogue_seeded, ROLES)
