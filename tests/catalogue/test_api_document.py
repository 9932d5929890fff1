"""The OpenAPI document and the docs page describe the running API."""

import re


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
