"""Where things live in the bucket. Keys are deterministic, so re-running work overwrites, never
duplicates."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file name reduced to characters that are safe in keys and URLs."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "media"
    return cleaned[:120]


def asset_prefix(event_id: str, feed_id: str, asset_id: str) -> str:
    return f"events/{event_id}/feeds/{feed_id}/assets/{asset_id}/"


def original_key(event_id: str, feed_id: str, asset_id: str, filename: str) -> str:
    return asset_prefix(event_id, feed_id, asset_id) + "original/" + safe_name(filename)


def hls_prefix(event_id: str, feed_id: str, asset_id: str) -> str:
    return asset_prefix(event_id, feed_id, asset_id) + "hls/"


def poster_key(event_id: str, feed_id: str, asset_id: str) -> str:
    return asset_prefix(event_id, feed_id, asset_id) + "poster.jpg"


def live_segment_key(event_id: str, feed_id: str, asset_id: str, session: str, name: str) -> str:
    """A live segment, named by the puller session and its file, so re-uploading after a crash
    lands on the same key."""
    return asset_prefix(event_id, feed_id, asset_id) + f"live/{session}/{safe_name(name)}"


def live_rendition_key(segment_key: str, variant: str) -> str:
    stem = segment_key.rsplit(".", 1)[0]
    return f"{stem}.{variant}.ts"


def proxy_key(event_id: str, feed_id: str, asset_id: str) -> str:
    return asset_prefix(event_id, feed_id, asset_id) + "proxy.mp4"


def thumbnails_prefix(event_id: str, feed_id: str, asset_id: str) -> str:
    return asset_prefix(event_id, feed_id, asset_id) + "thumbnails/"


def mezzanine_key(event_id: str, feed_id: str, asset_id: str, name: str) -> str:
    return asset_prefix(event_id, feed_id, asset_id) + f"mezzanine/{safe_name(name)}.mxf"


def replay_prefix(event_id: str, replay_id: str) -> str:
    return f"events/{event_id}/replays/{replay_id}/"
