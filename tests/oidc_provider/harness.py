"""A real OpenID provider for the tests (provider.mjs: node's certified oidc-provider), and a person signing in there.

    with start_provider(tmp_path, clients=[Client(...)], accounts=[Account(...)]) as provider:
        url, pending = shared.oidc.start(settings_for(provider, client), redirect_uri)
        callback = sign_in(url, "anna")       # the callback URL, with code and state
        identity = shared.oidc.finish(settings, pending, callback)

Without node and npm the tests that need the provider are skipped and say so, unless GLU_REQUIRE_OIDC is
set (as CI does), where they fail instead of hiding it. `npm ci` runs once if node_modules is missing.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

HERE = Path(__file__).resolve().parent
READY_SECONDS = 20
NPM_CI_SECONDS = 300
HTTP_TIMEOUT = httpx.Timeout(5.0)


@dataclass(frozen=True)
class Client:
    """A relying party registered with the provider. A loopback redirect URI matches on any port."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]

    def config(self) -> dict:
        return {"client_id": self.client_id, "client_secret": self.client_secret,
                "redirect_uris": list(self.redirect_uris)}


@dataclass(frozen=True)
class Account:
    """A person who can sign in at the provider, with `sub` or `email` in the login form."""

    sub: str
    email: str | None
    name: str | None = None
    email_verified: bool | None = True
    # False: the ID token carries no e-mail, only the userinfo endpoint does (as Entra ID often does).
    email_in_id_token: bool = True

    def config(self) -> dict:
        return {"sub": self.sub, "email": self.email, "email_verified": self.email_verified, "name": self.name,
                "email_in_id_token": self.email_in_id_token}


@dataclass
class Provider:
    issuer: str
    clients: tuple[Client, ...]
    accounts: tuple[Account, ...]
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def client(self, client_id: str) -> Client:
        return next(client for client in self.clients if client.client_id == client_id)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _require(reason: str) -> None:
    if os.environ.get("GLU_REQUIRE_OIDC") == "1":
        pytest.fail(f"GLU_REQUIRE_OIDC=1 but {reason}", pytrace=False)
    pytest.skip(f"OpenID provider tests skipped: {reason}")


def ensure_installed() -> str:
    """The path of node, once provider.mjs's packages are installed; skips (or fails) the test without node/npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _require("node and npm are needed for tests/oidc_provider (apt-get install nodejs npm)")
    if not (HERE / "node_modules" / "oidc-provider" / "package.json").exists():
        try:
            subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)], cwd=HERE, check=True,
                           capture_output=True, text=True, timeout=NPM_CI_SECONDS)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            _require(f"`npm ci --prefix {HERE}` failed: {error}\n{getattr(error, 'stderr', '') or ''}")
    return node


@contextmanager
def start_provider(tmp_path: Path, clients: Sequence[Client], accounts: Sequence[Account], *,
                   port: int = 0) -> Iterator[Provider]:
    """Run provider.mjs on 127.0.0.1 until the block ends; it is ready (listening) when this yields."""
    node = ensure_installed()
    tmp_path.mkdir(parents=True, exist_ok=True)
    config_path = tmp_path / "oidc-provider.json"
    config_path.write_text(json.dumps({"port": port, "clients": [client.config() for client in clients],
                                       "accounts": [account.config() for account in accounts]}))
    log_path = tmp_path / "oidc-provider.log"
    with log_path.open("w") as log:
        # stdin stays an open pipe: provider.mjs exits when it closes, so a killed test run leaves no provider.
        process = subprocess.Popen([node, str(HERE / "provider.mjs"), "--exit-with-stdin", str(config_path)],
                                   cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process, lines), name="oidc-provider-stdout", daemon=True)
    reader.start()
    try:
        issuer = _wait_until_ready(process, lines, log_path)
        yield Provider(issuer=issuer, clients=tuple(clients), accounts=tuple(accounts), log_path=log_path,
                       process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        reader.join(timeout=5)
        process.stdout.close()
        process.stdin.close()


def _read_lines(process: subprocess.Popen, lines: queue.Queue[str | None]) -> None:
    # Keeps reading after READY too, so a chatty provider never blocks on a full pipe.
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


def _wait_until_ready(process: subprocess.Popen, lines: queue.Queue[str | None], log_path: Path) -> str:
    deadline = time.monotonic() + READY_SECONDS
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            process.wait(timeout=5)
            raise RuntimeError(f"provider.mjs exited ({process.returncode}) before it was ready:\n"
                               f"{log_path.read_text(errors='replace')}")
        if line.startswith("READY "):
            return line.split(maxsplit=1)[1].strip()
    process.kill()
    raise RuntimeError(f"provider.mjs was not ready within {READY_SECONDS} s:\n{log_path.read_text(errors='replace')}")


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attributes.get("action") or "", "fields": {}})
        elif tag in ("input", "button") and self.forms and attributes.get("name"):
            self.forms[-1]["fields"][attributes["name"]] = attributes.get("value") or ""


def sign_in(authorization_url: str, login: str, *, cancel: bool = False, max_steps: int = 20) -> str:
    """Follow the authorization URL as a fresh browser would, submit the login form as `login` (or press cancel),
    and return the URL the provider finally redirects to outside itself: the relying party's callback."""
    provider_origin = _origin(authorization_url)
    submitted = False
    with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False) as browser:
        response = browser.get(authorization_url)
        for _ in range(max_steps):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if _origin(location) != provider_origin:
                    return location
                response = browser.get(location)
                continue
            parser = _Forms()
            parser.feed(response.text)
            wanted = "/abort" if cancel else "/login"
            form = next((form for form in parser.forms if form["action"].endswith(wanted)), None)
            if form is None or (submitted and not cancel):
                raise AssertionError(f"the provider did not sign {login!r} in: HTTP {response.status_code} at "
                                     f"{response.url}\n{response.text[:2000]}")
            fields = dict(form["fields"])
            if not cancel:
                fields["login"] = login
            submitted = True
            response = browser.post(urljoin(str(response.url), form["action"]), data=fields)
    raise AssertionError(f"no redirect back to the relying party within {max_steps} steps")


def fetch_tokens(provider: Provider, client: Client, callback_url: str, *, redirect_uri: str,
                 code_verifier: str) -> dict:
    """Exchange the callback's code at the token endpoint directly, without shared.oidc (to get a raw ID token)."""
    with httpx.Client(timeout=HTTP_TIMEOUT) as http:
        metadata = http.get(provider.issuer + "/.well-known/openid-configuration").raise_for_status().json()
        code = httpx.URL(callback_url).params["code"]
        response = http.post(metadata["token_endpoint"], auth=(client.client_id, client.client_secret),
                             data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                   "code_verifier": code_verifier})
        return response.raise_for_status().json()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc
