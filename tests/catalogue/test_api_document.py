"""The OpenAPI document and the docs page describe the running API."""


def test_openapi_document_lists_the_endpoints_and_the_problem_format(client):
    response = client.get("/openapi.json")

    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in ("/offerings", "/offerings/{offering_id}", "/offerings/{offering_id}/cancel", "/offerings/import",
                 "/modules", "/providers", "/programmes", "/healthz"):
        assert path in paths
    assert set(paths["/offerings"]) >= {"get", "post"}
    assert "patch" in paths["/offerings/{offering_id}"]
    parameters = {parameter["name"] for parameter in paths["/offerings"]["get"]["parameters"]}
    assert parameters >= {"q", "module", "programme", "provider", "region", "municipality", "date_from", "date_to",
                          "language", "page", "per_page"}
    assert "Problem" in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_docs_page_is_served(client):
    response = client.get("/docs")

    assert response.status_code == 200
    assert b"swagger" in response.data.lower()


def test_health_check_answers(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
