"""Secrets an installation makes for itself: ``vantage init`` writes a strong media-token signing
key into ``.env`` when none is configured, so no installation serves with the development key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from infra.core.settings import Settings, weak_signing_key

SIGNING_KEY_VARIABLE = "VANTAGE_API__SIGNING_KEY"


def ensure_signing_key(settings: Settings, env_file: Path) -> str | None:
    """Write a new signing key to ``env_file`` when the configured one is weak and nobody set
    one in the environment (an operator's own key is never replaced). Returns where it went."""
    if os.environ.get(SIGNING_KEY_VARIABLE) or not weak_signing_key(settings.api.signing_key):
        return None
    key = secrets.token_urlsafe(48)
    lines = env_file.read_text().splitlines() if env_file.exists() else []
    kept = [line for line in lines if not line.strip().startswith(f"{SIGNING_KEY_VARIABLE}=")]
    kept.append(f"{SIGNING_KEY_VARIABLE}={key}")
    env_file.write_text("\n".join(kept) + "\n")
    env_file.chmod(0o600)
    return str(env_file)
