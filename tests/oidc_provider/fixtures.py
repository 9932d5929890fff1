"""The OpenID provider for a test session: `from tests.oidc_provider.fixtures import oidc_provider  # noqa: F401`.

`oidc_provider` is a running `harness.Provider` (its `.issuer` is http://127.0.0.1:PORT) with the clients and
accounts below; it starts once per session, in a second or so. Two clients, so a token issued to one can be
offered to the other. Their redirect URIs are loopback ones, which the provider matches on any port, so a
service started on a free port can use `http://127.0.0.1:PORT/oidc/callback`.
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from tests.oidc_provider.harness import Account, Client, start_provider

CALLBACK_PATH = "/oidc/callback"
SCHOOL_DOMAIN = "skole.kommune.example"

CLIENT = Client("glu-courses", "glu-courses-test-secret", (f"http://127.0.0.1{CALLBACK_PATH}",))
OTHER_CLIENT = Client("another-service", "another-service-test-secret", (f"http://127.0.0.1{CALLBACK_PATH}",))

ANNA = Account("anna-0001", f"anna.hansen@{SCHOOL_DOMAIN}", "Anna Hansen")
# Only the userinfo endpoint tells her e-mail, as Entra ID often does.
BENT = Account("bent-0002", f"Bent.Jensen@{SCHOOL_DOMAIN.upper()}", "Bent Jensen", email_verified=None,
               email_in_id_token=False)
# Her provider vouches for an address at another organisation's domain.
CARLA = Account("carla-0003", "carla@andet-firma.example", "Carla Berg")
ACCOUNTS = (ANNA, BENT, CARLA)


# Each test module that imports the fixture gets a session fixture of its own from pytest; they share one provider.
_shared = {"stack": None, "provider": None, "users": 0}


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    if _shared["provider"] is None:
        stack = ExitStack()
        _shared["provider"] = stack.enter_context(start_provider(
            tmp_path_factory.mktemp("oidc-provider"), clients=[CLIENT, OTHER_CLIENT], accounts=ACCOUNTS))
        _shared["stack"] = stack
    _shared["users"] += 1
    try:
        yield _shared["provider"]
    finally:
        _shared["users"] -= 1
        if not _shared["users"]:
            _shared["stack"].close()
            _shared.update(stack=None, provider=None)
