"""Single sign-on through OpenID Connect: the relying party's half of the authorization code flow.

A school or organisation (typically a municipality on Microsoft Entra ID) registers us as a client
with its identity provider; its `OidcSettings` (issuer, client id and secret, and the e-mail domains
that are its own) are kept by the caller. A sign-in is two calls around a browser redirect:

1. `start(settings, redirect_uri)` gives the provider's authorization URL to send the browser to,
   and a `PendingSignIn` the caller keeps in the signed, server-side session until the callback.
2. `finish(settings, pending, callback)` takes the callback's query (from the browser, so from
   anyone) and gives the `OidcIdentity` the provider vouched for, or raises an `OidcError`.

What `finish` checks, and why:

- `state` equals the pending sign-in's, in constant time: the callback must belong to a sign-in this
  browser started, or an attacker could log a victim in as the attacker (login CSRF).
- `iss` in the callback, when the provider sends it (RFC 9207, and required when its discovery
  document says it does), is the issuer the sign-in was started with: with several providers
  configured, a response from one must not be taken for another's (mix-up attacks).
- An `error` from the provider (the user cancelled, or the provider refused) becomes an
  `OidcProviderError` the sign-in page can show; it is checked after `state`, since an error that no
  sign-in of ours asked for is not ours to report.
- The code is exchanged at the token endpoint, authenticated with the client secret
  (client_secret_basic, or _post where the provider allows only that), and with the PKCE
  code_verifier: a code stolen on its way back through the browser is useless without it.
- The ID token comes straight from the token endpoint, but is still verified as the OpenID spec
  asks: its signature with a key from the provider's JWKS (asymmetric algorithms only, so neither
  `none` nor a key guessed from public data can sign one); `iss` is the issuer; `aud` (and `azp`)
  is our client id, so a token the provider issued to another application is refused; `exp` and
  `iat` within a minute's clock skew; and `nonce` equals the pending sign-in's, which ties the token
  to this browser's sign-in rather than a replayed one.
- The e-mail address comes from the ID token, or from the userinfo endpoint when the ID token has
  none (Entra ID often leaves it out); userinfo's `sub` must be the ID token's, or it describes
  somebody else.
- The e-mail's domain must be one of the organisation's `email_domains`. This is what makes the
  address trustworthy: each organisation's own provider can assert any address it likes (Entra ID
  lets a tenant's administrators set `email` freely), so we believe it only for the domains that
  organisation owns. `email_verified` is passed on for the caller to weigh; most providers, Entra
  ID included, do not send it.

The discovery document and the JWKS are cached per issuer in the process for an hour, so a sign-in
costs the provider two requests (token, and userinfo if needed). A token signed with a key we do not
know yet fetches the JWKS once more, since that is how a provider's key rotation looks to us.

All HTTP has a 5 s timeout. The exceptions' `str()` is a Danish sentence for the person signing in;
`detail` (also added as a note to the traceback) says in English what went wrong, for the logs.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

SCOPE = "openid email profile"
TIMEOUT = httpx.Timeout(5.0)
CACHE_SECONDS = 3600
LEEWAY_SECONDS = 60
# Only asymmetric signatures: an HS256 ID token would be "signed" with our own client secret, which
# proves nothing about who made it, and `none` is no signature at all.
SIGNING_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                "ES256", "ES384", "ES512", "EdDSA", "Ed25519"})
DISCOVERY_PATH = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class OidcSettings:
    """One school's or organisation's client registration with its identity provider."""

    issuer: str
    client_id: str
    client_secret: str
    email_domains: tuple[str, ...]


@dataclass(frozen=True)
class PendingSignIn:
    """What the caller keeps in the session between `start` and `finish`; all of it is secret."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    issuer: str


@dataclass(frozen=True)
class OidcIdentity:
    """Who signed in. (`issuer`, `subject`) is the stable key; the e-mail address can change."""

    subject: str
    email: str
    email_verified: bool | None
    name: str | None
    issuer: str


class OidcError(Exception):
    """A sign-in that did not succeed. `str()` is for the person signing in, `detail` for the logs."""

    message = "Log-ind hos jeres identitetsudbyder mislykkedes. Prøv igen."

    def __init__(self, detail: str, message: str | None = None):
        if message is not None:
            self.message = message
        self.detail = detail
        super().__init__(self.message)
        self.add_note(f"OIDC detail: {detail}")


class OidcStateMismatch(OidcError):
    """The callback does not belong to the sign-in this browser started."""

    message = "Log-ind kunne ikke fuldføres, fordi det var udløbet eller startet i et andet vindue. Prøv igen."


class OidcProviderError(OidcError):
    """The provider refused, answered with an error, or could not be reached. `error` is its OAuth code."""

    def __init__(self, detail: str, message: str | None = None, *, error: str | None = None):
        self.error = error
        super().__init__(detail, message)


class OidcTokenInvalid(OidcError):
    """What came back does not verify as the provider's answer to this sign-in."""

    message = ("Svaret fra jeres identitetsudbyder kunne ikke godkendes. "
               "Prøv igen, og kontakt jeres it-afdeling, hvis det sker igen.")


class OidcDomainRefused(OidcError):
    """The provider vouched for an e-mail address outside the organisation's domains."""

    def __init__(self, detail: str, *, email: str):
        self.email = email
        super().__init__(detail, f"E-mailadressen {email} hører ikke til jeres skole eller organisation. "
                                 "Log ind med den konto, I har fået af jeres skole eller organisation.")


ACCESS_DENIED = "Log-ind blev afbrudt eller afvist hos jeres identitetsudbyder."
UNAVAILABLE = "Jeres identitetsudbyder svarer ikke lige nu. Prøv igen om lidt."
NO_EMAIL = "Jeres identitetsudbyder oplyste ikke jeres e-mailadresse. Kontakt jeres it-afdeling."


def start(settings: OidcSettings, redirect_uri: str, *, http: httpx.Client | None = None) -> tuple[str, PendingSignIn]:
    """The authorization URL to redirect the browser to, and what to keep in the session until the callback."""
    metadata = _discover(settings.issuer, http)
    pending = PendingSignIn(state=generate_token(43), nonce=generate_token(43), code_verifier=generate_token(64),
                            redirect_uri=redirect_uri, issuer=settings.issuer)
    url = prepare_grant_uri(
        metadata["authorization_endpoint"], client_id=settings.client_id, response_type="code",
        redirect_uri=redirect_uri, scope=SCOPE, state=pending.state, nonce=pending.nonce,
        code_challenge=create_s256_code_challenge(pending.code_verifier), code_challenge_method="S256")
    return url, pending


def finish(settings: OidcSettings, pending: PendingSignIn, callback: str | Mapping[str, str], *,
           http: httpx.Client | None = None, now: float | None = None) -> OidcIdentity:
    """Check the callback (its full URL, its query string, or its parsed query) and return who signed in."""
    params = _callback_params(callback)
    if pending.issuer != settings.issuer:
        raise OidcStateMismatch(f"sign-in started with issuer {pending.issuer!r}, finished with {settings.issuer!r}")
    if not hmac.compare_digest(params.get("state", "").encode(), pending.state.encode()):
        raise OidcStateMismatch("the callback's state is not the pending sign-in's")
    metadata = _discover(settings.issuer, http)
    issuer_in_callback = params.get("iss")
    if issuer_in_callback is None and metadata.get("authorization_response_iss_parameter_supported") is True:
        raise OidcTokenInvalid("the provider announces RFC 9207 but the callback has no iss")
    if issuer_in_callback is not None and issuer_in_callback != settings.issuer:
        raise OidcTokenInvalid(f"the callback's iss {issuer_in_callback!r} is not {settings.issuer!r}")
    if "error" in params:
        error = params["error"]
        raise OidcProviderError(f"the provider answered error={error!r}: {params.get('error_description', '')!r}",
                                ACCESS_DENIED if error == "access_denied" else None, error=error)
    if not params.get("code"):
        raise OidcProviderError("the callback has neither code nor error")

    tokens = _exchange_code(settings, pending, params["code"], metadata, http)
    claims = verify_id_token(settings, tokens["id_token"], pending.nonce, http=http, now=now,
                             access_token=tokens.get("access_token"))
    email, email_verified, name = claims.get("email"), claims.get("email_verified"), claims.get("name")
    if not email and tokens.get("access_token") and metadata.get("userinfo_endpoint"):
        userinfo = _userinfo(metadata["userinfo_endpoint"], tokens["access_token"], http)
        if userinfo.get("sub") != claims["sub"]:
            raise OidcTokenInvalid(f"userinfo is about sub {userinfo.get('sub')!r}, the ID token {claims['sub']!r}")
        email, email_verified = userinfo.get("email"), userinfo.get("email_verified")
        name = name or userinfo.get("name")
    if not isinstance(email, str) or not email.strip():
        raise OidcProviderError(f"neither the ID token nor userinfo has an email for sub {claims['sub']!r}", NO_EMAIL)
    return OidcIdentity(subject=claims["sub"], email=_email_of_organisation(settings, email),
                        email_verified=_boolean(email_verified), name=name if isinstance(name, str) else None,
                        issuer=settings.issuer)


def verify_id_token(settings: OidcSettings, id_token: str, nonce: str, *, http: httpx.Client | None = None,
                    now: float | None = None, access_token: str | None = None) -> dict[str, Any]:
    """The ID token's claims, once its signature, issuer, audience, times and nonce have been checked."""
    metadata = _discover(settings.issuer, http)
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [algorithm for algorithm in offered if algorithm in SIGNING_ALGORITHMS]
    if not algorithms:
        raise OidcTokenInvalid(f"the provider signs ID tokens only with {offered!r}, none of which we accept")
    # Providers put headers such as x5t beside kid; only the signature and the claims carry meaning here.
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    try:
        try:
            token = jwt.decode(id_token, _key_set(metadata, http), registry=registry)
        except InvalidKeyIdError:
            token = jwt.decode(id_token, _key_set(metadata, http, refetch=True), registry=registry)
        expected = {"iss": {"essential": True, "value": settings.issuer},
                    "aud": {"essential": True, "value": settings.client_id}, "sub": {"essential": True}}
        claims = CodeIDToken(token.claims, token.header, expected,
                             {"client_id": settings.client_id, "access_token": access_token})
        claims.validate(now=None if now is None else int(now), leeway=LEEWAY_SECONDS)
    except (JoseError, ValueError) as error:
        raise OidcTokenInvalid(f"ID token refused: {type(error).__name__}: {error}") from error
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"].encode(), nonce.encode()):
        raise OidcTokenInvalid("the ID token's nonce is not the pending sign-in's")
    return dict(claims)


def forget_cached_metadata() -> None:
    """Fetch discovery documents and JWKS afresh next time (after a provider's settings change, and in tests)."""
    with _cache_lock:
        _cache.clear()


_cache_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
_default_http: httpx.Client | None = None


def _http(http: httpx.Client | None) -> httpx.Client:
    # One client per process, made on first use (so after gunicorn forks), keeps connections to the provider open.
    global _default_http
    if http is not None:
        return http
    with _cache_lock:
        if _default_http is None:
            _default_http = httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        return _default_http


def _cached_json(kind: str, url: str, http: httpx.Client | None, *, refetch: bool = False) -> dict[str, Any]:
    key = (kind, url)
    with _cache_lock:
        cached = _cache.get(key)
    if cached and not refetch and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    document = _get_json(url, http)
    with _cache_lock:
        _cache[key] = (time.monotonic(), document)
    return document


def _get_json(url: str, http: httpx.Client | None, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    try:
        response = _http(http).get(url, headers={"Accept": "application/json", **(headers or {})}, timeout=TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise OidcProviderError(f"GET {url} failed: {type(error).__name__}: {error}", UNAVAILABLE) from error
    if not isinstance(document, dict):
        raise OidcProviderError(f"GET {url} gave JSON that is not an object", UNAVAILABLE)
    return document


def _discover(issuer: str, http: httpx.Client | None) -> dict[str, Any]:
    metadata = _cached_json("discovery", issuer.rstrip("/") + DISCOVERY_PATH, http)
    # OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for, or a provider
    # could pass itself off as another (and the ID tokens' iss would be checked against the wrong one).
    if metadata.get("issuer") != issuer:
        raise OidcProviderError(f"the discovery document of {issuer!r} names issuer {metadata.get('issuer')!r}")
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(endpoint), str):
            raise OidcProviderError(f"the discovery document of {issuer!r} has no {endpoint}")
    return metadata


def _key_set(metadata: dict[str, Any], http: httpx.Client | None, *, refetch: bool = False) -> KeySet:
    jwks = _cached_json("jwks", metadata["jwks_uri"], http, refetch=refetch)
    try:
        return KeySet.import_key_set(jwks)
    except (JoseError, KeyError, TypeError, ValueError) as error:
        raise OidcProviderError(f"the JWKS at {metadata['jwks_uri']} does not parse: {error}") from error


def _callback_params(callback: str | Mapping[str, str]) -> dict[str, str]:
    if isinstance(callback, str):
        query = urlsplit(callback).query if "://" in callback else callback.lstrip("?")
        values = parse_qs(query, keep_blank_values=True)
    elif hasattr(callback, "getlist"):  # werkzeug's request.args keeps repeated parameters
        values = {key: callback.getlist(key) for key in callback}
    else:
        values = {key: [value] for key, value in callback.items()}
    # RFC 6749 §3.1: parameters must not repeat; a repeated state or code is somebody trying which one we read.
    repeated = sorted(key for key, found in values.items() if len(found) > 1)
    if repeated:
        raise OidcProviderError(f"the callback repeats {', '.join(repeated)}")
    return {key: str(found[0]) for key, found in values.items()}


def _exchange_code(settings: OidcSettings, pending: PendingSignIn, code: str, metadata: dict[str, Any],
                   http: httpx.Client | None) -> dict[str, Any]:
    # Discovery's default when the provider does not say is client_secret_basic.
    methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    method = next((m for m in ("client_secret_basic", "client_secret_post") if m in methods), None)
    if method is None:
        raise OidcProviderError(f"the token endpoint takes only {methods!r}; we can send a client secret")
    body = prepare_token_request("authorization_code", code=code, redirect_uri=pending.redirect_uri,
                                 code_verifier=pending.code_verifier)
    url, headers, body = ClientAuth(settings.client_id, settings.client_secret, method).prepare(
        "POST", metadata["token_endpoint"],
        {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}, body)
    try:
        response = _http(http).post(url, content=body, headers=headers, timeout=TIMEOUT)
        tokens = response.json()
    except httpx.HTTPError as error:
        raise OidcProviderError(f"POST {url} failed: {type(error).__name__}: {error}", UNAVAILABLE) from error
    except ValueError:
        tokens = None
    if not isinstance(tokens, dict):
        raise OidcProviderError(f"the token endpoint answered HTTP {response.status_code} without a JSON object")
    if response.status_code != 200 or "error" in tokens:
        raise OidcProviderError(f"the token endpoint refused the code: HTTP {response.status_code} "
                                f"{tokens.get('error')!r}: {tokens.get('error_description', '')!r}",
                                error=tokens.get("error"))
    if not isinstance(tokens.get("id_token"), str):
        raise OidcTokenInvalid("the token endpoint's answer has no id_token (was the openid scope dropped?)")
    return tokens


def _userinfo(url: str, access_token: str, http: httpx.Client | None) -> dict[str, Any]:
    return _get_json(url, http, {"Authorization": f"Bearer {access_token}"})


def _email_of_organisation(settings: OidcSettings, email: str) -> str:
    email = email.strip()
    local, _, domain = email.rpartition("@")
    domains = {allowed.strip().lower() for allowed in settings.email_domains}
    if not local or "@" in local or domain.lower() not in domains:
        raise OidcDomainRefused(f"{email!r} is not in the domains {sorted(domains)!r} of client "
                                f"{settings.client_id!r} at {settings.issuer!r}", email=email)
    return f"{local}@{domain.lower()}"


def _boolean(value: Any) -> bool | None:
    # Some providers send email_verified as the string "true".
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None
