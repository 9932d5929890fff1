"""Single sign-on (shared/oidc.py) against a real OpenID provider: node's oidc-provider, signed in to over HTTP."""

# ruff: noqa: F811 (the fixture imported below is the tests' argument)

from __future__ import annotations

import dataclasses
import socket
import time
from collections import Counter

import httpx
import pytest

from shared import oidc
from shared.oidc import OidcDomainRefused, OidcProviderError, OidcSettings, OidcStateMismatch, OidcTokenInvalid
from tests.oidc_provider.fixtures import (
    ANNA,
    BENT,
    CALLBACK_PATH,
    CARLA,
    CLIENT,
    OTHER_CLIENT,
    SCHOOL_DOMAIN,
    oidc_provider,  # noqa: F401 (a fixture)
)
from tests.oidc_provider.harness import fetch_tokens, sign_in, start_provider

# Any port: the provider matches loopback redirect URIs on any port, and nothing needs to listen here.
REDIRECT_URI = f"http://127.0.0.1:5999{CALLBACK_PATH}"


def settings_for(provider, client=CLIENT, domains=(SCHOOL_DOMAIN,)) -> OidcSettings:
    return OidcSettings(issuer=provider.issuer, client_id=client.client_id, client_secret=client.client_secret,
                        email_domains=domains)


def signed_in_callback(provider, account, settings=None):
    """Start a sign-in and log in at the provider as `account`: the pending sign-in and the callback URL."""
    url, pending = oidc.start(settings or settings_for(provider), REDIRECT_URI)
    return pending, sign_in(url, account.email or account.sub)


def with_param(url: str, name: str, value: str) -> str:
    return str(httpx.URL(url).copy_set_param(name, value))


def test_a_person_signs_in_and_the_provider_tells_who_they_are(oidc_provider):
    settings = settings_for(oidc_provider)
    pending, callback = signed_in_callback(oidc_provider, ANNA, settings)

    identity = oidc.finish(settings, pending, callback)

    assert identity == oidc.OidcIdentity(subject=ANNA.sub, email=ANNA.email, email_verified=True, name=ANNA.name,
                                         issuer=oidc_provider.issuer)


def test_the_authorization_url_asks_for_a_code_with_pkce_nonce_and_state(oidc_provider):
    url, pending = oidc.start(settings_for(oidc_provider), REDIRECT_URI)

    params = httpx.URL(url).params
    assert url.startswith(oidc_provider.issuer + "/")
    assert params["response_type"] == "code"
    assert params["scope"] == "openid email profile"
    assert params["client_id"] == CLIENT.client_id
    assert params["redirect_uri"] == REDIRECT_URI == pending.redirect_uri
    assert params["state"] == pending.state and params["nonce"] == pending.nonce
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"] and pending.code_verifier not in url
    assert len({pending.state, pending.nonce, pending.code_verifier}) == 3


def test_the_callback_may_be_given_as_its_parsed_query(oidc_provider):
    settings = settings_for(oidc_provider)
    pending, callback = signed_in_callback(oidc_provider, ANNA, settings)

    identity = oidc.finish(settings, pending, dict(httpx.URL(callback).params))

    assert identity.subject == ANNA.sub


def test_an_email_only_the_userinfo_endpoint_tells_is_read_from_there(oidc_provider):
    settings = settings_for(oidc_provider)
    pending, callback = signed_in_callback(oidc_provider, BENT, settings)

    identity = oidc.finish(settings, pending, callback)

    assert identity.subject == BENT.sub
    assert identity.email == f"Bent.Jensen@{SCHOOL_DOMAIN}"
    assert identity.email_verified is None
    assert identity.name == BENT.name


def test_a_tampered_state_is_refused_and_does_not_use_up_the_sign_in(oidc_provider):
    settings = settings_for(oidc_provider)
    pending, callback = signed_in_callback(oidc_provider, ANNA, settings)

    with pytest.raises(OidcStateMismatch) as refused:
        # Another last character, whatever the random state ends in (with "x" it failed 1 run in 64).
        tampered = pending.state[:-1] + ("x" if pending.state[-1] != "x" else "y")
        oidc.finish(settings, pending, with_param(callback, "state", tampered))

    assert "Prøv igen" in str(refused.value) and "state" in refused.value.detail
    assert oidc.finish(settings, pending, callback).subject == ANNA.sub


def test_a_callback_without_state_is_refused(oidc_provider):
    settings = settings_for(oidc_provider)
    pending, callback = signed_in_callback(oidc_provider, ANNA, settings)

    with pytest.raises(OidcStateMismatch):
        oidc.finish(settings, pending, {"code": httpx.URL(callback).params["code"]})


def test_a_replayed_code_is_refused_by_the_provider(oidc_provider):
    settings = settings_for(oidc_provider)
    pending, callback = signed_in_callback(oidc_provider, ANNA, settings)
    oidc.finish(settings, pending, callback)

    with pytest.raises(OidcProviderError) as refused:
        oidc.finish(settings, pending, callback)

    assert refused.value.error == "invalid_grant"
    assert str(refused.value) == "Log-ind hos jeres identitetsudbyder mislykkedes. Prøv igen."


def test_an_id_token_with_another_nonce_is_refused(oidc_provider):
    settings = settings_for(oidc_provider)
    pending, callback = signed_in_callback(oidc_provider, ANNA, settings)

    with pytest.raises(OidcTokenInvalid) as refused:
        oidc.finish(settings, dataclasses.replace(pending, nonce="another-nonce"), callback)

    assert "nonce" in refused.value.detail


def test_an_id_token_issued_to_another_client_is_refused(oidc_provider):
    other = settings_for(oidc_provider, OTHER_CLIENT)
    url, pending = oidc.start(other, REDIRECT_URI)
    tokens = fetch_tokens(oidc_provider, OTHER_CLIENT, sign_in(url, ANNA.email), redirect_uri=REDIRECT_URI,
                          code_verifier=pending.code_verifier)

    with pytest.raises(OidcTokenInvalid) as refused:
        oidc.verify_id_token(settings_for(oidc_provider), tokens["id_token"], pending.nonce)

    assert "aud" in refused.value.detail
    assert oidc.verify_id_token(other, tokens["id_token"], pending.nonce)["sub"] == ANNA.sub


def test_an_expired_id_token_is_refused(oidc_provider):
    settings = settings_for(oidc_provider)
    pending, callback = signed_in_callback(oidc_provider, ANNA, settings)

    with pytest.raises(OidcTokenInvalid) as refused:
        oidc.finish(settings, pending, callback, now=time.time() + 24 * 3600)

    assert "exp" in refused.value.detail


def test_a_callback_naming_another_issuer_is_refused(oidc_provider):
    settings = settings_for(oidc_provider)
    pending, callback = signed_in_callback(oidc_provider, ANNA, settings)

    with pytest.raises(OidcTokenInvalid):
        oidc.finish(settings, pending, with_param(callback, "iss", "https://login.example/other-tenant"))


def test_an_email_outside_the_organisations_domains_is_refused(oidc_provider):
    settings = settings_for(oidc_provider)
    pending, callback = signed_in_callback(oidc_provider, CARLA, settings)

    with pytest.raises(OidcDomainRefused) as refused:
        oidc.finish(settings, pending, callback)

    assert refused.value.email == CARLA.email
    assert str(refused.value).startswith(f"E-mailadressen {CARLA.email} hører ikke til jeres skole eller organisation")


def test_a_person_who_cancels_at_the_provider_is_told_so_in_danish(oidc_provider):
    settings = settings_for(oidc_provider)
    url, pending = oidc.start(settings, REDIRECT_URI)
    callback = sign_in(url, ANNA.email, cancel=True)
    assert httpx.URL(callback).params["error"] == "access_denied"

    with pytest.raises(OidcProviderError) as refused:
        oidc.finish(settings, pending, callback)

    assert refused.value.error == "access_denied"
    assert str(refused.value) == "Log-ind blev afbrudt eller afvist hos jeres identitetsudbyder."


def test_a_repeated_callback_parameter_is_refused(oidc_provider):
    settings = settings_for(oidc_provider)
    pending, callback = signed_in_callback(oidc_provider, ANNA, settings)

    with pytest.raises(OidcProviderError):
        oidc.finish(settings, pending, callback + "&code=another-code")


def test_discovery_and_keys_are_fetched_once_and_then_cached(oidc_provider):
    oidc.forget_cached_metadata()
    requests: Counter[str] = Counter()
    with httpx.Client(event_hooks={"request": [lambda request: requests.update([request.url.path])]}) as http:
        settings = settings_for(oidc_provider)
        for _ in range(2):
            url, pending = oidc.start(settings, REDIRECT_URI, http=http)
            oidc.finish(settings, pending, sign_in(url, ANNA.email), http=http)

    assert requests["/.well-known/openid-configuration"] == 1
    assert requests["/jwks"] == 1
    assert requests["/token"] == 2


def test_a_token_signed_with_a_new_key_fetches_the_keys_again(tmp_path):
    # The same issuer restarted with a fresh signing key (provider.mjs makes one per start) is a key rotation.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    requests: Counter[str] = Counter()
    with httpx.Client(event_hooks={"request": [lambda request: requests.update([request.url.path])]}) as http:
        for run in ("before", "after"):
            with start_provider(tmp_path / run, clients=[CLIENT], accounts=[ANNA], port=port) as provider:
                settings = settings_for(provider)
                url, pending = oidc.start(settings, REDIRECT_URI, http=http)
                assert oidc.finish(settings, pending, sign_in(url, ANNA.email), http=http).subject == ANNA.sub

    assert requests["/jwks"] == 2
    assert requests["/.well-known/openid-configuration"] == 1
