"""Whatever goes wrong, a client gets RFC 9457 problem+json, never an HTML page."""

from flask import Flask

from shared.api import make_api
from shared.errors import field_errors_from_messages


def make_app() -> Flask:
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.1.0")
    make_api(app)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    return app


def test_unexpected_error_is_a_problem_without_internals():
    response = make_app().test_client().get("/boom")

    assert response.status_code == 500
    assert response.content_type == "application/problem+json"
    assert response.get_json()["status"] == 500
    assert b"secret internals" not in response.data


def test_method_not_allowed_names_the_allowed_methods():
    response = make_app().test_client().post("/boom")

    assert response.status_code == 405
    assert response.content_type == "application/problem+json"
    assert "GET" in response.headers["Allow"]


def test_nested_messages_become_json_pointers():
    messages = {"sessions": {1: {"ends_at": ["Bad."]}}, "a/b": ["Slash."], "_schema": ["Whole."]}

    pointers = [(error.pointer, error.message) for error in field_errors_from_messages(messages)]

    assert pointers == [("/sessions/1/ends_at", "Bad."), ("/a~1b", "Slash."), ("", "Whole.")]


def test_body_of_an_unknown_type_is_a_415():
    response = make_app().test_client().post("/boom", data="capacity=3", content_type="text/plain")

    assert response.status_code == 415
    assert response.content_type == "application/problem+json"
