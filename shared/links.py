"""Absolute links, from the configured public base URL or else the request's own host."""

from urllib.parse import urlencode

from flask import current_app, has_request_context, request


def absolute_url(path: str, query: dict | None = None) -> str:
    """`path` on the public base URL; outside a request and without one configured, the path alone."""
    base = current_app.config.get("PUBLIC_URL") or (request.host_url.rstrip("/") if has_request_context() else "")
    url = f"{base}{path}"
    if query:
        url += "?" + urlencode(query, doseq=True)
    return url
