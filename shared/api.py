"""The pieces of the HTTP API both services wire up the same way."""

from __future__ import annotations

import http

import flask_smorest
from apispec import BasePlugin
from flask import Flask, Response, abort, request
from werkzeug.routing import IntegerConverter

from shared.api_docs import install_api_docs
from shared.db import MAX_ID
from shared.errors import PROBLEM_CONTENT_TYPE, register_problem_handlers
from shared.schemas import ProblemSchema


class Api(flask_smorest.Api):
    """flask-smorest's Api, answering every error as RFC 9457 problem+json and documenting it so."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        register_problem_handlers(self._app)

    def _register_responses(self):
        """flask-smorest's response components (one per status, and DEFAULT_ERROR), with errors as problem+json."""
        super()._register_responses()
        for name, response in self.spec.components.responses_lazy.items():
            content = response.get("content", {})
            if self.DEFAULT_RESPONSE_CONTENT_TYPE in content and _is_error(name):
                content[PROBLEM_CONTENT_TYPE] = content.pop(self.DEFAULT_RESPONSE_CONTENT_TYPE)


def _is_error(status_or_name: str) -> bool:
    if status_or_name in ("default", "DEFAULT_ERROR"):
        return True
    if status_or_name.isdigit():
        return int(status_or_name) >= 400
    status = http.HTTPStatus.__members__.get(status_or_name)
    return status is not None and status >= 400


_WRITES = ("post", "put", "patch", "delete")


class ProblemResponses(BasePlugin):
    """Documents each operation's error answers as they really are: problem+json, for every status it can give.

    The statuses follow from what the shared machinery does before and around any view, so they are
    derived here once rather than repeated on every view: a token it requires (401, or 403 for another
    role; only the 401 of a wrong token where a token is optional), an id in the path (404), a body
    (400 when it is not JSON, 413 too large, 415 another type, 422 invalid), query parameters (400), a
    write racing another (409), and a database that cannot be reached (503). A view that gives
    something else (429 of a rate limit, 401 of a bad signature) documents it itself.
    """

    def operation_helper(self, path=None, operations=None, **kwargs):
        path_parameters = "{" in (path or "") or bool(kwargs.get("parameters"))
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if _is_error(str(status)) and isinstance(response, dict):
                    _as_problem(response)
            statuses = {503}
            security = operation.get("security") or []
            if security:
                statuses.add(401)
            if security and all(security):  # no empty requirement: a token is needed, and the right role
                statuses.add(403)
            if path_parameters:
                statuses.add(404)
            if "requestBody" in operation:
                statuses |= {400, 413, 415, 422}
            if any(parameter.get("in") == "query" for parameter in operation.get("parameters", [])
                   if isinstance(parameter, dict)):
                statuses.add(400)
            if method in _WRITES:
                statuses.add(409)
            for status in sorted(statuses):
                responses.setdefault(str(status), http.HTTPStatus(status).name)


def _as_problem(response: dict) -> None:
    """An error response documented by hand (an alt_response with a description) gets the problem schema."""
    content = response.setdefault("content", {})
    schema = content.pop("application/json", {}).get("schema", "Problem")
    content.setdefault(PROBLEM_CONTENT_TYPE, {"schema": schema})


class IdConverter(IntegerConverter):
    """`<int:…>` in every route, bounded by the largest id a row can have: a larger number is a 404 by routing
    (and documented as the path's maximum) rather than reaching PostgreSQL, whose integer it overflows."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def make_api(app: Flask) -> Api:
    # Before any blueprint is registered: a rule takes its converters when it is added.
    app.url_map.converters["int"] = IdConverter
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    api = Api(app, spec_kwargs={"info": {"description": app.config.get("API_DESCRIPTION", "")},
                                "extra_plugins": [ProblemResponses()]})
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
# A token is optional but read when given (a school sees its own drafts): a wrong one is still a 401.
OPTIONAL_BEARER = [{}, {"bearer": []}]


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
