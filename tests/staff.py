"""An HTTP client holding an admin API key, for tests that act as the host's staff.

The ``api_url`` fixture gives it the key; the cross-tenant tests make their own clients.
"""

from __future__ import annotations

import httpx

client = httpx.Client(timeout=30)


def authorize(key: str) -> None:
    client.headers["Authorization"] = f"Bearer {key}"


get = client.get
post = client.post
put = client.put
delete = client.delete
stream = client.stream
