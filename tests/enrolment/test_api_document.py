"""The enrolment service documents itself and answers health checks."""

from tests.contract.document import error_responses


def test_openapi_document_lists_the_enrolment_endpoints(client):
    paths = client.get("/openapi.json").get_json()["paths"]

    for path in ("/enrolments", "/enrolments/{enrolment_id}", "/enrolments/{enrolment_id}/cancel",
                 "/enrolments/{enrolment_id}/approve", "/enrolments/{enrolment_id}/reject",
                 "/enrolments/{enrolment_id}/substitute", "/enrolments/batch", "/requests", "/organisations",
                 "/offerings/{offering_id}/participants", "/healthz"):
        assert path in paths, path


def test_every_documented_error_is_problem_json_with_the_problem_schema(client):
    document = client.get("/openapi.json").get_json()

    errors = list(error_responses(document))

    assert errors
    for operation, status, response in errors:
        assert list(response.get("content", {})) == ["application/problem+json"], (operation, status)
        assert response["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_each_operation_documents_the_refusals_it_can_give(client):
    paths = client.get("/openapi.json").get_json()["paths"]

    cancel = paths["/enrolments/{enrolment_id}/cancel"]["post"]["responses"]
    request = paths["/requests"]["post"]["responses"]
    feed = paths["/feeds/participants/{token}.ics"]["get"]["responses"]

    assert set(cancel) >= {"200", "401", "403", "404", "409", "503", "default"}
    assert set(request) >= {"201", "400", "413", "415", "422", "429", "503"} and "401" not in request
    assert set(feed) >= {"200", "404", "503"}


def test_docs_and_health(client):
    assert client.get("/docs").status_code == 200
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_admin_creates_and_lists_organisations(client, auth):
    body = {"key": "791", "name": "Viborg Kommune", "kind": "municipality", "requires_approval": True,
            "ean": "5798000000001", "order_reference": "GLU-2027", "cost_centre": "HR-12",
            "hr_users": [{"name": "HR Viborg", "email": "hr@viborg.example"}]}

    created = client.post("/organisations", json=body, headers=auth("admin"))
    again = client.post("/organisations", json=body, headers=auth("admin"))
    as_hr = client.post("/organisations", json={**body, "key": "730"}, headers=auth("hr", organisation="791"))
    bad_ean = client.post("/organisations", json={**body, "key": "730", "ean": "12"}, headers=auth("admin"))

    assert created.status_code == 201
    assert created.get_json()["hr_users"] == [{"name": "HR Viborg", "email": "hr@viborg.example"}]
    assert again.status_code == 409
    assert as_hr.status_code == 403
    assert bad_ean.status_code == 422 and bad_ean.get_json()["errors"][0]["pointer"] == "/ean"
    assert [o["key"] for o in client.get("/organisations", headers=auth("admin")).get_json()["items"]] == ["791"]


def test_seed_command_creates_the_demo_organisations_once(app):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["seed"])
    second = runner.invoke(args=["seed"])

    assert "(7 nye)" in first.output
    assert "(0 nye)" in second.output
