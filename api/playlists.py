"""HLS playlists rendered from segment rows: the catalog is the source of truth, so a playlist
is always a view of what is recorded (and, later, of what the caller may see)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from catalog.models import Segment
from catalog.services import WindowHistory

SOURCE = "source"


@dataclass(frozen=True)
class Variant:
    name: str
    bandwidth: int
    width: int | None = None
    height: int | None = None


def variants_of(segments: Sequence[Segment]) -> list[Variant]:
    """The source plus every rung some of these segments have, highest first."""
    rungs: dict[str, Variant] = {}
    for segment in segments:
        for rendition in segment.renditions:
            rungs.setdefault(
                rendition.variant,
                Variant(rendition.variant, rendition.bandwidth, rendition.width, rendition.height),
            )
    ordered = sorted(rungs.values(), key=lambda v: -(v.height or 0))
    source_bits = max(
        (s.size_bytes * 8 / s.duration_s for s in segments if s.duration_s > 0), default=0
    )
    return [*ordered, Variant(SOURCE, int(source_bits * 1.1) or 1)]


def master_playlist(variants: Sequence[Variant], uri: str) -> str:
    """A master playlist; ``uri`` is formatted with each variant's name."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for variant in variants:
        attributes = f"BANDWIDTH={variant.bandwidth}"
        if variant.width and variant.height:
            attributes += f",RESOLUTION={variant.width}x{variant.height}"
        lines += [f"#EXT-X-STREAM-INF:{attributes}", uri.format(variant=variant.name)]
    return "\n".join(lines) + "\n"


def media_playlist(
    segments: Sequence[Segment],
    variant: str,
    segment_uri: str,
    *,
    ended: bool,
    history: WindowHistory | None = None,
) -> str:
    """A media playlist of ``segments`` for ``variant``; ``segment_uri`` is formatted with the
    segment id and variant. Live (no ENDLIST) unless ``ended``. A segment that lacks the variant
    is left out and the next one is marked as a discontinuity. A sliding window passes the
    ``history`` of what slid out of it: the discontinuities counted there become the
    EXT-X-DISCONTINUITY-SEQUENCE, so a player keeps its timeline when a marked segment leaves
    the window."""
    history = history or WindowHistory(discontinuities=0, seen=False, previous_missing=False)
    chosen: list[tuple[Segment, bool]] = []
    skipped = history.previous_missing and history.seen
    for segment in segments:
        has = variant == SOURCE or any(r.variant == variant for r in segment.renditions)
        if not has:
            skipped = bool(chosen) or history.seen
            continue
        chosen.append((segment, segment.discontinuity or skipped))
        skipped = False
    target = max((math.ceil(s.duration_s) for s, _ in chosen), default=2)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{max(target, 1)}",
        f"#EXT-X-MEDIA-SEQUENCE:{chosen[0][0].sequence if chosen else 0}",
    ]
    if history.discontinuities:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{history.discontinuities}")
    if ended and not history.seen:
        lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
    for segment, discontinuity in chosen:
        if discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        if segment.program_date_time is not None:
            stamp = segment.program_date_time.isoformat(timespec="milliseconds")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp.replace('+00:00', 'Z')}")
        lines.append(f"#EXTINF:{segment.duration_s:.3f},")
        lines.append(segment_uri.format(segment=segment.id, variant=variant))
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')
_MPD_TEMPLATE = re.compile(r'\b(media|initialization|sourceURL)="([^"]*)"')


def _with_token(uri: str, token: str) -> str:
    if not uri or uri.startswith("data:"):
        return uri
    separator = "&" if "?" in uri else "?"
    return f"{uri}{separator}token={quote(token, safe='')}"


def sign_hls(playlist: str, token: str) -> str:
    """The playlist with ``token`` on every URI it holds (variant and media playlists,
    segments, init sections, I-frame playlists, alternate renditions), so a player that only
    has the playlist can fetch what it names, until the token expires."""
    lines = []
    for line in playlist.splitlines():
        if line.startswith("#"):
            line = _URI_ATTRIBUTE.sub(lambda m: f'URI="{_with_token(m[1], token)}"', line)
        elif line.strip():
            line = _with_token(line.strip(), token)
        lines.append(line)
    return "\n".join(lines) + "\n"


def sign_mpd(manifest: str, token: str) -> str:
    """The DASH manifest with ``token`` on its segment templates and segment URLs."""
    escaped = quote(token, safe="")
    return _MPD_TEMPLATE.sub(
        lambda m: f'{m[1]}="{m[2]}{"&amp;" if "?" in m[2] else "?"}token={escaped}"', manifest
    )
