"""/docs: Swagger UI for the OpenAPI document, served by the service itself.

flask-smorest's page loads Swagger UI from a CDN and starts it with an inline script, so it is
blank without internet and breaks under a Content-Security-Policy without 'unsafe-inline'.
Here Swagger UI's own files come from the swagger-ui-py package (its `static` folder: Swagger UI 5,
which reads OpenAPI 3.1; swagger-ui-bundle's 4.15 does not), served at /docs/assets/…, and the page
starts it with shared/static/docs.js: no request leaves the service and no script is inline. The
package's Python side (its framework integrations) is never imported.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from flask import Blueprint, Flask, render_template, send_from_directory

SWAGGER_UI_FILES = Path(find_spec("swagger_ui").submodule_search_locations[0]) / "static"

blp = Blueprint("api_docs", __name__)
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")


@blp.route("/docs")
def docs():
    return render_template("shared/api_docs.html")


@blp.route("/docs/assets/<path:name>")
def asset(name: str):
    # Only the files the page uses: the package's directory holds source maps and an index page too.
    if name not in ASSETS:
        return "", 404
    return send_from_directory(SWAGGER_UI_FILES, name, max_age=86400)


def install_api_docs(app: Flask) -> None:
    app.register_blueprint(blp)
