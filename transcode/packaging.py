"""Package a CMAF ladder: read what the encoder wrote, then write the HLS media, I-frame and
master playlists and the DASH manifest, all pointing at the same segments.

Tracks travel between workers (a chunked encode's parts report to its stitch) as plain dicts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from transcode.cmaf import SegmentInfo, TrackInit, read_init, read_segment
from transcode.ladder import TrackOutput
from transcode.manifests import (
    IFRAME_PLAYLIST,
    MEDIA_PLAYLIST,
    Track,
    dash_mpd,
    hls_iframe_playlist,
    hls_master,
    hls_media_playlist,
)

MASTER = "master.m3u8"
DASH_MANIFEST = "manifest.mpd"


@dataclass(frozen=True)
class Manifests:
    """Manifest texts by path relative to the ladder's root, in upload order: media playlists
    first, then the master and the MPD, so no manifest names a file not yet there."""

    files: dict[str, str]
    master: str
    dash: str | None


def describe_track(output: TrackOutput) -> Track:
    """A :class:`Track` from an encoded folder on disk."""
    init = read_init(output.init)
    return Track(
        name=output.name,
        init_uri=output.init.name,
        init=init,
        segments=[(path.name, read_segment(path, init)) for path in output.segments],
    )


def write_manifests(
    videos: Sequence[Track],
    audio: Track | None,
    frame_rate: Fraction,
    *,
    dash: bool = True,
    iframe_playlists: bool = True,
) -> Manifests:
    """Every manifest of the ladder, as text."""
    files: dict[str, str] = {}
    for video in videos:
        files[f"{video.name}/{MEDIA_PLAYLIST}"] = hls_media_playlist(video)
        if iframe_playlists:
            files[f"{video.name}/{IFRAME_PLAYLIST}"] = hls_iframe_playlist(video)
    if audio is not None:
        files[f"{audio.name}/{MEDIA_PLAYLIST}"] = hls_media_playlist(audio)
    rates = {video.name: frame_rate for video in videos}
    master = hls_master(videos, audio, rates)
    if not iframe_playlists:
        master = "".join(
            line for line in master.splitlines(keepends=True) if "I-FRAME-STREAM-INF" not in line
        )
    files[MASTER] = master
    mpd = None
    if dash:
        mpd = dash_mpd(videos, audio, rates)
        files[DASH_MANIFEST] = mpd
    return Manifests(files=files, master=MASTER, dash=DASH_MANIFEST if dash else None)


def track_to_dict(track: Track) -> dict[str, Any]:
    return {
        "name": track.name,
        "init_uri": track.init_uri,
        "init": dataclasses.asdict(track.init),
        "segments": [[uri, dataclasses.asdict(segment)] for uri, segment in track.segments],
    }


def track_from_dict(data: dict[str, Any]) -> Track:
    def segment(raw: dict[str, Any]) -> SegmentInfo:
        return SegmentInfo(**{**raw, "keyframe_bytes": tuple(raw["keyframe_bytes"])})

    return Track(
        name=data["name"],
        init_uri=data["init_uri"],
        init=TrackInit(**data["init"]),
        segments=[(uri, segment(raw)) for uri, raw in data["segments"]],
    )


def join_tracks(parts: Sequence[Track]) -> Track:
    """One track from the same rendition's chunks, in order. Raises ``ValueError`` when the
    chunks were encoded differently or leave a hole or an overlap in the timeline."""
    first = parts[0]
    segments: list[tuple[str, SegmentInfo]] = []
    for part in parts:
        if part.init.codec != first.init.codec or (part.init.width, part.init.height) != (
            first.init.width,
            first.init.height,
        ):
            raise ValueError(f"chunks of {first.name} were encoded differently")
        if segments:
            _, last = segments[-1]
            if part.segments[0][1].decode_time != last.decode_time + last.duration:
                raise ValueError(f"chunks of {first.name} do not join up in time")
        segments.extend(part.segments)
    return Track(first.name, first.init_uri, first.init, segments)
