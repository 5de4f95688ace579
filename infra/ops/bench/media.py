"""The media a benchmark renders and reads back: synthetic sources, renditions fetched from the
store and joined, and their frame times."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av

from infra.core.storage import ObjectStore
from infra.ops.bench.figures import media_playlist_uris
from transcode.errors import MediaError
from transcode.synthetic import SyntheticCamera, render_camera

FULL_HD = (1920, 1080)


def bench_clip(ffmpeg: str, folder: Path, seconds: float, size: tuple[int, int]) -> Path:
    """A 50 fps source with audio of ``size``, rendered once per folder (1080p is the ladder
    benchmark's own source)."""
    if size == FULL_HD:
        return bench_source(ffmpeg, folder, seconds)
    width, height = size
    out = folder / f"bench-{width}x{height}p50-{seconds:g}s.mp4"
    if not out.exists():
        camera = SyntheticCamera(
            name="bench",
            index=0,
            duration_s=seconds,
            width=width,
            height=height,
            frame_rate=Fraction(50),
            preset="veryfast",
            bitrate_kbps=max(1000, 12000 * width * height // (1920 * 1080)),
        )
        render_camera(ffmpeg, camera, out)
    return out


def join_segments(parts: Sequence[bytes], out: Path) -> Path:
    """An init segment followed by its media segments: one fragmented MP4 file."""
    with out.open("wb") as handle:
        for part in parts:
            handle.write(part)
    return out


def frame_times(path: Path) -> list[Fraction]:
    """Presentation time (s) of every decoded video frame, in the order the decoder gives them."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if stream.time_base is None:
            raise MediaError(f"{path.name}: its video stream has no time base")
        base = Fraction(stream.time_base)
        times = []
        for frame in container.decode(stream):
            if frame.pts is None:
                raise MediaError(f"{path.name}: a decoded frame has no timestamp")
            times.append(frame.pts * base)
        return times


def fetch_rendition(store: ObjectStore, playlist_key: str, out: Path) -> Path:
    """Download a rendition (its media playlist's init and segments) as one MP4 file."""
    folder = playlist_key.rsplit("/", 1)[0] + "/"
    init, segments = media_playlist_uris(store.get_bytes(playlist_key).decode())
    return join_segments([store.get_bytes(folder + uri) for uri in (init, *segments)], out)


def bench_source(ffmpeg: str, folder: Path, seconds: float = 10.0) -> Path:
    """A 1080p50 source with audio, rendered once per folder."""
    out = folder / f"bench-1080p50-{seconds:g}s.mp4"
    if not out.exists():
        camera = SyntheticCamera(
            name="bench",
            index=0,
            duration_s=seconds,
            width=1920,
            height=1080,
            frame_rate=Fraction(50),
            preset="veryfast",
            bitrate_kbps=12000,
        )
        render_camera(ffmpeg, camera, out)
    return out
