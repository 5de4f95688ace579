"""Signed media tokens: what makes a playlist, and every URL in it, stop working when it expires.

A token is ``<key id>.<asset id>.<expiry>.<signature>``: the HMAC-SHA256 (truncated to 128 bits,
base64url) of the broadcaster, key, asset and expiry under the API's signing key. It is bound to
one asset; the key it was issued to must still be live, and the rights are checked again on
every use, so revoking a key or a grant stops a stream at its next request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

_SHAPE = re.compile(r"^([0-9a-f-]{36})\.([0-9a-f-]{36})\.(\d{1,12})\.([A-Za-z0-9_-]{22})$")


@dataclass(frozen=True)
class Claims:
    key_id: str
    asset_id: str
    expires: int


def _signature(secret: str, broadcaster_id: str, key_id: str, asset_id: str, expires: int) -> str:
    message = f"v1|{broadcaster_id}|{key_id}|{asset_id}|{expires}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue(
    secret: str, *, broadcaster_id: str | None, key_id: str, asset_id: str, expires: int
) -> str:
    signature = _signature(secret, broadcaster_id or "-", key_id, asset_id, expires)
    return f"{key_id}.{asset_id}.{expires}.{signature}"


def parse(token: str) -> Claims | None:
    """The claims a token makes, unverified; ``None`` when it is not a token at all."""
    match = _SHAPE.match(token)
    if match is None:
        return None
    return Claims(match[1], match[2], int(match[3]))


def verify(
    secret: str,
    token: str,
    claims: Claims,
    *,
    broadcaster_id: str | None,
    now: float,
    max_ttl_s: float | None = None,
) -> bool:
    """Whether the token was issued by us, to this key's broadcaster, and has not expired; with
    ``max_ttl_s``, a token claiming to last longer than that from now is refused too (a token
    minted with a leaked key for next year never works)."""
    if now >= claims.expires:
        return False
    if max_ttl_s is not None and claims.expires > now + max_ttl_s:
        return False
    expected = issue(
        secret,
        broadcaster_id=broadcaster_id,
        key_id=claims.key_id,
        asset_id=claims.asset_id,
        expires=claims.expires,
    )
    return hmac.compare_digest(expected, token)
