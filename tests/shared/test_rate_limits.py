"""Rate limits (shared.rate_limits): a leader's seat request, anonymous search, using sign-in links, and
the counters shared through Redis by two app instances.

Asking for sign-in links and for one's own links are tested beside their pages
(tests/catalogue/test_sign_in.py, tests/enrolment/test_my_links.py).
"""

from __future__ import annotations

import logging
import os
import re
import uuid

import pytest
from sqlalchemy import func, select

from catalogue import create_app as create_catalogue
from enrolment.models import db
from shared import rate_limits
from shared.errors import PROBLEM_CONTENT_TYPE
from tests.accounts import add_member, sign_in_directly
from tests.catalogue.fixtures import *  # noqa: F403 (fixtures are found by name)
from tests.conftest import TOKEN_SECRET
from tests.enrolment.conftest import (  # noqa: F401 (fixtures are found by name)
    app,
    catalogue_link,
    client,
    enrolment_database,
    make_organisation,
)

# ruff: noqa: F811 (the fixtures imported above are the tests' arguments)

REDIS_URL = "redis://127.0.0.1:6379/0"
SEARCHES = 60  # rate_limits.ANONYMOUS_SEARCH_PER_IP
SEAT_REQUESTS_PER_ADDRESS = 5
SEAT_REQUESTS_PER_IP = 30
SIGN_INS_PER_IP = 60


def count_of(limit: rate_limits.Limit) -> int:
    return int(limit.rate.split("/")[0])


def test_the_numbers_here_are_the_limits_numbers():
    assert count_of(rate_limits.ANONYMOUS_SEARCH_PER_IP) == SEARCHES
    assert count_of(rate_limits.SEAT_REQUESTS_PER_ADDRESS) == SEAT_REQUESTS_PER_ADDRESS
    assert count_of(rate_limits.SEAT_REQUESTS_PER_IP) == SEAT_REQUESTS_PER_IP
    assert count_of(rate_limits.SIGN_IN_PER_IP) == SIGN_INS_PER_IP
    assert len({limit.name for limit in rate_limits.ALL_LIMITS}) == len(rate_limits.ALL_LIMITS)


def rows_in(flask_app, database) -> dict[str, int]:
    """How many rows every table of a service's database holds: compare before and after a refusal."""
    with flask_app.app_context():
        return {table.name: database.session.scalar(select(func.count()).select_from(table))
                for table in database.metadata.sorted_tables}


def csrf_of(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def assert_problem_429(response) -> None:
    assert response.status_code == 429
    assert response.content_type == PROBLEM_CONTENT_TYPE
    assert response.get_json()["status"] == 429
    assert int(response.headers["Retry-After"]) > 0


def assert_page_429(response) -> None:
    assert response.status_code == 429
    assert response.content_type.startswith("text/html")
    assert "Vent lidt" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0


# --- A leader's seat request ------------------------------------------------------------------------


@pytest.fixture
def offering(make_school, make_offering, make_organisation):
    make_organisation("791", requires_approval=True)
    return make_offering(make_school("Mercantec"), module="GLU-2", capacity=20, min_participants=1)


def seat_request(offering: dict, email: str) -> dict:
    return {"offering_id": offering["id"], "organisation": "791",
            "participant": {"name": "Lene Leder", "email": email}}


def test_one_address_asking_again_and_again_is_refused_and_nothing_is_written(app, client, offering):
    answers = [client.post("/requests", json=seat_request(offering, "lene@kommune.example"))
               for _ in range(SEAT_REQUESTS_PER_ADDRESS)]
    before = rows_in(app, db)

    refused = client.post("/requests", json=seat_request(offering, "Lene@Kommune.example"))

    assert {answer.status_code for answer in answers} == {201}
    assert_problem_429(refused)
    assert rows_in(app, db) == before


def test_many_addresses_from_one_ip_are_refused_on_the_api_and_the_page(app, client, offering):
    for number in range(SEAT_REQUESTS_PER_IP):
        answer = client.post("/requests", json=seat_request(offering, f"leder{number}@kommune.example"))
        assert answer.status_code == 201
    before = rows_in(app, db)

    api = client.post("/requests", json=seat_request(offering, "ny@kommune.example"))
    form = client.get(f"/anmod/{offering['id']}")
    page = client.post(f"/anmod/{offering['id']}", content_type="multipart/form-data", data={
        "csrf_token": csrf_of(form), "navn": "Ny Leder", "email": "ny@kommune.example", "organisation": "791"})

    assert_problem_429(api)
    assert_page_429(page)
    assert rows_in(app, db) == before


def test_the_request_page_counts_per_address_too(app, client, offering):
    form = client.get(f"/anmod/{offering['id']}")
    fields = {"csrf_token": csrf_of(form), "navn": "Lene Leder", "email": "lene@kommune.example",
              "organisation": "791"}
    answers = [client.post(f"/anmod/{offering['id']}", content_type="multipart/form-data", data=fields)
               for _ in range(SEAT_REQUESTS_PER_ADDRESS + 1)]

    assert [answer.status_code for answer in answers] == [200] * SEAT_REQUESTS_PER_ADDRESS + [429]
    assert_page_429(answers[-1])


# --- Anonymous search -------------------------------------------------------------------------------


def test_anonymous_search_is_limited_per_ip_across_the_api_and_the_page(catalogue_client, glu):
    answers = [catalogue_client.get("/offerings?module=GLU-1") for _ in range(SEARCHES // 2)]
    answers += [catalogue_client.get("/soeg?module=GLU-1") for _ in range(SEARCHES // 2)]

    api, page = catalogue_client.get("/offerings"), catalogue_client.get("/soeg")

    assert {answer.status_code for answer in answers} == {200}
    assert_problem_429(api)
    assert_page_429(page)
    # Another IP is counted on its own.
    assert catalogue_client.get("/offerings", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200


def test_callers_with_credentials_are_not_counted(catalogue_app, catalogue_client, auth, make_school, glu):
    school = make_school("Mercantec")
    add_member(catalogue_app, "mette@mercantec.example", school["id"], "school_admin", "Mette Lund")
    signed_in = catalogue_app.test_client()
    sign_in_directly(catalogue_app, signed_in, "mette@mercantec.example")
    for _ in range(SEARCHES):
        catalogue_client.get("/offerings")

    assert catalogue_client.get("/offerings").status_code == 429
    assert catalogue_client.get("/offerings", headers=auth("school", provider_id=school["id"])).status_code == 200
    assert signed_in.get("/soeg").status_code == 200
    # An invalid token is refused as such, not counted as a stranger's search.
    assert catalogue_client.get("/offerings", headers={"Authorization": "Bearer nonsense"}).status_code == 401


# --- Using sign-in links and the identity provider's answer -----------------------------------------


def test_trying_link_after_link_from_one_ip_is_refused(catalogue_app, catalogue_client):
    answers = [catalogue_client.get(f"/log-ind/no-such-link-{number}") for number in range(SIGN_INS_PER_IP)]
    before = rows_in(catalogue_app, catalogue_app.extensions["sqlalchemy"])

    link, callback = catalogue_client.get("/log-ind/one-more"), catalogue_client.get("/oidc/callback?code=x")

    assert {answer.status_code for answer in answers} == {400}
    assert_page_429(link)
    assert_page_429(callback)
    assert rows_in(catalogue_app, catalogue_app.extensions["sqlalchemy"]) == before


# --- Counters in Redis ------------------------------------------------------------------------------


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        if os.environ.get("GLU_REQUIRE_REDIS") == "1":
            pytest.fail(f"GLU_REQUIRE_REDIS=1 but Redis at {REDIS_URL} is unreachable: {error}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable (set GLU_REQUIRE_REDIS=1 to fail instead)")
    return REDIS_URL


@pytest.fixture
def catalogue_instance(catalogue_database, catalogue_app):
    """catalogue_instance(storage) -> another catalogue app on the same database, as a second worker is."""
    made = []

    def make(storage: str):
        made.append(create_catalogue({"DATABASE_URL": catalogue_database, "GLU_TOKEN_SECRET": TOKEN_SECRET,
                                      "TESTING": True, "RATE_LIMIT_STORAGE_URL": storage}))
        return made[-1]

    yield make
    for instance in made:  # no connection may outlive the test: the database is dropped at the end
        with instance.app_context():
            instance.extensions["sqlalchemy"].engine.dispose()


def unique_ip() -> str:
    """An address no other run has counted in the shared Redis (which keeps counters across runs)."""
    number = uuid.uuid4().int
    return f"10.{number % 250}.{number // 250 % 250}.{number // 62500 % 250 + 1}"


def test_two_instances_share_one_count_through_redis(catalogue_instance, redis_url):
    first = catalogue_instance(redis_url).test_client()
    second = catalogue_instance(redis_url).test_client()
    stranger = {"REMOTE_ADDR": unique_ip()}

    answers = [(first if number % 2 else second).get("/offerings", environ_base=stranger)
               for number in range(SEARCHES)]

    assert {answer.status_code for answer in answers} == {200}
    assert_problem_429(first.get("/offerings", environ_base=stranger))
    assert_problem_429(second.get("/offerings", environ_base=stranger))


def test_the_services_count_apart_in_one_redis(catalogue_instance, redis_url, app):
    """The catalogue's and the enrolment service's sign-in pages share one Redis, not one count."""
    catalogue = catalogue_instance(redis_url)
    app.config["RATE_LIMIT_STORAGE_URL"] = redis_url
    rate_limits.install_rate_limits(app)
    stranger = {"REMOTE_ADDR": unique_ip()}
    for number in range(SIGN_INS_PER_IP):
        catalogue.test_client().get(f"/log-ind/no-such-link-{number}", environ_base=stranger)

    assert catalogue.test_client().get("/log-ind/x", environ_base=stranger).status_code == 429
    assert app.test_client().get("/log-ind/x", environ_base=stranger).status_code == 400


def test_with_redis_down_requests_go_on_and_a_warning_is_logged(catalogue_instance, caplog):
    # Nothing listens on port 1: every count fails at once, as when Redis restarts.
    instance = catalogue_instance("redis://127.0.0.1:1/0").test_client()

    with caplog.at_level(logging.WARNING, logger="shared.rate_limits"):
        answers = [instance.get("/offerings") for _ in range(SEARCHES + 1)]

    assert {answer.status_code for answer in answers} == {200}
    warnings = [record for record in caplog.records if record.name == "shared.rate_limits"]
    assert warnings and "search:ip" in warnings[0].getMessage()


# --- Behind a reverse proxy -------------------------------------------------------------------------


def test_behind_a_trusted_proxy_each_client_is_counted_by_the_address_the_proxy_saw(catalogue_app, glu):
    catalogue_app.config["RATE_LIMIT_TRUSTED_PROXIES"] = 1
    proxy = catalogue_app.test_client()
    # The proxy appends the peer it saw; what the client wrote itself comes before it.
    first = {"X-Forwarded-For": "198.51.100.7"}
    for _ in range(SEARCHES):
        proxy.get("/offerings", headers=first)

    spoofing = proxy.get("/offerings", headers={"X-Forwarded-For": "203.0.113.99, 198.51.100.7"})
    another = proxy.get("/offerings", headers={"X-Forwarded-For": "198.51.100.8"})

    assert_problem_429(spoofing)
    assert another.status_code == 200


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(catalogue_client, glu):
    for number in range(SEARCHES):
        catalogue_client.get("/offerings", headers={"X-Forwarded-For": f"198.51.100.{number}"})

    assert_problem_429(catalogue_client.get("/offerings", headers={"X-Forwarded-For": "198.51.100.200"}))


def test_the_limited_operations_document_their_429_with_retry_after(client, catalogue_client):
    searched = catalogue_client.get("/openapi.json").get_json()["paths"]["/offerings"]["get"]["responses"]
    requested = client.get("/openapi.json").get_json()["paths"]["/requests"]["post"]["responses"]

    for documented in (searched["429"], requested["429"]):
        assert "Retry-After" in documented["headers"]
