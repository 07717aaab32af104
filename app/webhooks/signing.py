"""How a delivery is signed, and how a receiver checks it.

Every POST carries::

    X-Loopdesk-Timestamp: 1796400000            (Unix seconds when this attempt was signed)
    X-Loopdesk-Signature: sha256=<hex digest>   (HMAC-SHA256 with the subscription's secret
                                                 over "<timestamp>.<raw body>")

A receiver recomputes the HMAC over the timestamp header, a dot and the raw request body
(the bytes, before any JSON parsing), compares it in constant time, and refuses a timestamp
older (or further in the future) than a few minutes, so a captured request cannot be played
again later. Each attempt (retries and replays too) is signed afresh with a new timestamp;
the body, and its ``id``, stay the same, so a receiver drops duplicates by ``id``.
``verify`` below is that check, usable as it is by a Python receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Loopdesk-Timestamp"
SIGNATURE_HEADER = "X-Loopdesk-Signature"
EVENT_HEADER = "X-Loopdesk-Event"
DELIVERY_HEADER = "X-Loopdesk-Delivery"
SCHEME = "sha256="
DEFAULT_TOLERANCE = 300  # seconds


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of ``"<timestamp>.<body>"`` keyed with ``secret``."""
    message = str(int(timestamp)).encode() + b"." + body
    return SCHEME + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time() if timestamp is None else timestamp)
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: signature(secret, stamp, body)}


def verify(
    secret: str,
    body: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """True when the headers sign ``body`` with ``secret`` and the timestamp is fresh."""
    if not timestamp_header or not signature_header:
        return False
    try:
        stamp = int(timestamp_header)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - stamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, stamp, body), signature_header.strip())
