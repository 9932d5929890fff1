"""HR's settings page (/hr/indstillinger): the organisation's region and how long its completions are kept."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from enrolment.models import AuditEntry, Organisation, db
from tests.enrolment.test_pages import post_form, sign_in


@pytest.fixture
def viborg(make_organisation):
    return make_organisation("791", "Viborg Kommune")


def stored(app, key: str) -> tuple:
    with app.app_context():
        organisation = db.session.scalar(select(Organisation).where(Organisation.key == key))
        values = organisation.region_code, organisation.completion_retention_years
        db.session.remove()
    return values


def page_text(response) -> str:
    return response.get_data(as_text=True)


def test_hr_sets_the_region_and_the_completion_retention_and_it_is_audited(app, client, viborg):
    sign_in(client, "hr", organisation=viborg)
    assert "Indstillinger" in page_text(client.get("/hr"))  # in HR's navigation
    shown = client.get("/hr/indstillinger")
    assert shown.status_code == 200 and "Tomt: 10 år" in page_text(shown)

    saved = post_form(client, "/hr/indstillinger", {"region": "1082", "opbevaring": "12"}, follow_redirects=True)

    assert "Indstillingerne er gemt." in page_text(saved)
    assert stored(app, "791") == ("1082", 12)
    assert 'value="12"' in page_text(saved) and '<option value="1082" selected>' in page_text(saved)
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "organisation.changed")).one()
        assert entry.changes == {"region_code": [None, "1082"], "completion_retention_years": [None, 12]}
    back = post_form(client, "/hr/indstillinger", {"region": "", "opbevaring": ""}, follow_redirects=True)
    assert back.status_code == 200 and stored(app, "791") == (None, None)


@pytest.mark.parametrize(("typed", "message"), [("tolv", "Skal være et heltal."), ("51", "Skal være mellem 0 og 50."),
                                                ("-1", "Skal være mellem 0 og 50.")])
def test_a_retention_that_is_not_0_to_50_years_is_refused_beside_the_field_and_kept(app, client, viborg, typed,
                                                                                    message):
    sign_in(client, "hr", organisation=viborg)

    refused = post_form(client, "/hr/indstillinger", {"region": "1081", "opbevaring": typed})

    assert refused.status_code == 422
    assert f'id="opbevaring-error"><span class="visually-hidden">Fejl: </span>{message}' in page_text(refused)
    assert f'value="{typed}"' in page_text(refused) and '<option value="1081" selected>' in page_text(refused)
    assert stored(app, "791") == (None, None)


def test_an_approver_and_the_signed_out_cannot_change_the_settings(app, client, viborg):
    assert client.get("/hr/indstillinger").status_code == 302  # to the sign-in page
    assert post_form(client, "/hr/indstillinger", {"region": "1082"}).status_code == 302
    sign_in(client, "approver", organisation=viborg)

    assert client.get("/hr/indstillinger").status_code == 403
    refused = post_form(client, "/hr/indstillinger", {"region": "1082", "opbevaring": "3"})

    assert refused.status_code == 403 and "Din rolle giver ikke adgang" in page_text(refused)
    assert stored(app, "791") == (None, None)
