"""Signed webhooks between the services: the catalogue signs what it sends, the enrolment service verifies it.

A webhook carries two headers:

- `X-GLU-Timestamp`: when it was sent, in whole seconds since the epoch;
- `X-GLU-Signature`: `sha256=<hex>`, the HMAC-SHA256 of `"{timestamp}.{body}"` (the exact bytes sent).

The key is derived from GLU_TOKEN_SECRET (`signing_key`), which both services already share, so no
further secret has to be handed out; being derived, it cannot be used to forge a bearer token. The
timestamp is signed with the body and must be within `tolerance` seconds of the receiver's clock, so
a captured webhook cannot be replayed later. Signatures are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-GLU-Timestamp"
SIGNATURE_HEADER = "X-GLU-Signature"
SCHEME = "sha256="
TOLERANCE_SECONDS = 300


def signing_key(token_secret: str) -> bytes:
    """The webhook key: HMAC(GLU_TOKEN_SECRET, "webhook"), never the token secret itself."""
    return hmac.new(token_secret.encode(), b"webhook", hashlib.sha256).digest()


def sign(secret: bytes | str, timestamp: int | str, body: bytes) -> str:
    """`sha256=<hex>` over `"{timestamp}.{body}"`."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = str(timestamp).encode() + b"." + body
    return SCHEME + hmac.new(key, message, hashlib.sha256).hexdigest()


def verify(secret: bytes | str, timestamp: int | str | None, body: bytes, signature: str | None, now: float,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True if `signature` is ours over this timestamp and body, and the timestamp is within `tolerance` of `now`."""
    if not timestamp or not signature:
        return False
    text = str(timestamp)
    if not (text.isascii() and text.isdigit()) or abs(now - int(text)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, text, body).encode(), signature.strip().encode())


def signed_headers(secret: bytes | str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of a webhook with this body, sent at `timestamp`."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body),
            "Content-Type": "application/json"}
