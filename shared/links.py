"""Absolute links, from the configured public base URL or else the request's own host."""

from urllib.parse import urlencode

from flask import current_app, request


def absolute_url(path: str, query: dict | None = None) -> str:
    base = current_app.config.get("PUBLIC_URL") or request.host_url.rstrip("/")
    url = f"{base}{path}"
    if query:
        url += "?" + urlencode(query, doseq=True)
    return url
