"""The pieces of the HTTP API both services wire up the same way."""

from __future__ import annotations

import flask_smorest
from flask import Flask, Response, abort, request

from shared.api_docs import install_api_docs
from shared.errors import register_problem_handlers
from shared.schemas import ProblemSchema


class Api(flask_smorest.Api):
    """flask-smorest's Api, answering every error as RFC 9457 problem+json and documenting it so."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        register_problem_handlers(self._app)


def make_api(app: Flask) -> Api:
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    api = Api(app, spec_kwargs={"info": {"description": app.config.get("API_DESCRIPTION", "")}})
    api.spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT or API key",
        "description": "A token from issue-token (a JWT), or a school's or organisation's API key (glu_c_… or "
                       "glu_e_…, made on the page /noegler); both services accept either."})
    install_api_docs(app)
    app.before_request(_refuse_unknown_body_types)
    app.after_request(_conditional_get)
    return api


BODY_TYPES = ("application/json", "text/csv", "multipart/form-data", "application/x-www-form-urlencoded")


def _refuse_unknown_body_types() -> None:
    """A body we cannot read is a 415, rather than being taken for an empty one."""
    if request.content_length and request.mimetype not in BODY_TYPES and not request.mimetype.endswith("+json"):
        abort(415)


BEARER = [{"bearer": []}]


def _conditional_get(response: Response) -> Response:
    """Give successful GETs a strong ETag of their body and answer If-None-Match with 304.

    Responses differ by the Authorization header (a school sees its drafts), so caches must key on it.
    """
    if request.method in ("GET", "HEAD") and response.status_code == 200 and not response.direct_passthrough:
        response.add_etag()
        response.vary.add("Authorization")
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-cache"
        response.make_conditional(request)
    return response
