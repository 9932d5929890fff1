"""The OpenAPI document and the docs page describe the running API."""

import re

from tests.contract.document import error_responses


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


def test_docs_page_is_served_from_the_service_itself_without_inline_scripts(client):
    response = client.get("/docs")

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "swagger-ui" in html
    assert "https://" not in html and "http://" not in html  # nothing from a CDN
    assert html.count("<script") == html.count("<script src=")  # a strict CSP may forbid inline scripts
    for asset in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert client.get(asset).status_code == 200, asset
    assert client.get("/docs/assets/index.html").status_code == 404


def test_health_check_answers(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_every_documented_error_is_problem_json_with_the_problem_schema(client):
    document = client.get("/openapi.json").get_json()

    errors = list(error_responses(document))

    assert errors
    for operation, status, response in errors:
        assert list(response.get("content", {})) == ["application/problem+json"], (operation, status)
        assert response["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "application/json" not in str([r.get("content", {}).keys() for _, _, r in errors])


def test_each_operation_documents_the_refusals_it_can_give(client):
    paths = client.get("/openapi.json").get_json()["paths"]

    patch = paths["/offerings/{offering_id}"]["patch"]["responses"]
    search = paths["/offerings"]["get"]["responses"]
    one = paths["/offerings/{offering_id}"]["get"]["responses"]

    assert set(patch) >= {"200", "400", "401", "403", "404", "409", "413", "415", "422", "503", "default"}
    # Anyone may search and read; a token is optional there, but a wrong one is refused.
    assert set(search) >= {"200", "400", "401", "429", "503"} and "403" not in search
    assert set(one) >= {"200", "401", "404", "503"} and "403" not in one


def test_an_id_too_large_for_the_database_is_a_404_documented_as_the_path_maximum(client):
    paths = client.get("/openapi.json").get_json()["paths"]

    response = client.get("/offerings/87178291199")

    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert paths["/offerings/{offering_id}"]["parameters"][0]["schema"]["maximum"] == 2**31 - 1
