"""Probe media with PyAV (the FFmpeg libraries), so no ffprobe binary is needed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av

from transcode.errors import MediaError

# AVFieldOrder: 2-5 are the interlaced orders (PyAV gives the number; older versions a name).
_INTERLACED_ORDERS = {2, 3, 4, 5, "tt", "bb", "tb", "bt"}


@dataclass(frozen=True)
class VideoStream:
    codec: str
    width: int
    height: int
    frame_rate: Fraction
    pix_fmt: str | None
    rotation: int
    """Clockwise display rotation in degrees (0, 90, 180, 270)."""
    frames: int | None
    interlaced: bool = False
    """Fields rather than frames (1080i): the ladder deinterlaces such sources."""
    start_s: float = 0.0
    """When the first video frame is due, on the container's timeline."""

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as shown, after the display rotation."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True)
class AudioStream:
    codec: str
    channels: int
    sample_rate: int


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    container: str
    size_bytes: int
    duration_s: float
    video: VideoStream | None
    audio: AudioStream | None
    timecode: str | None
    """SMPTE start timecode (``HH:MM:SS:FF``, ``;`` for drop-frame) when the file carries one."""
    creation_time: datetime | None
    start_s: float = 0.0
    """Where the container's timeline starts (the earliest stream; AAC priming makes it
    slightly negative in many MP4 files)."""


def probe(path: Path, *, verify: bool = True) -> MediaInfo:
    """Describe the media file at ``path``.

    With ``verify`` the first and the last second of video are decoded, so a truncated or corrupt
    file is refused here rather than halfway through a transcode. Raises :class:`MediaError`.
    """
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{path}: file is empty")
    return _probe(str(path), path, size, verify=verify)


def probe_url(url: str, *, name: str, size_bytes: int, verify: bool = True) -> MediaInfo:
    """Describe media behind an http(s) URL (a presigned object-store URL), reading only the
    byte ranges the probe needs. ``name`` stands for the file in results and messages."""
    return _probe(url, Path(name), size_bytes, verify=verify, protocols=URL_PROTOCOLS)


CONTAINERS = {
    ".mp4": "mov", ".mov": "mov", ".m4v": "mov", ".m4a": "mov",
    ".mxf": "mxf",
    ".ts": "mpegts", ".m2ts": "mpegts", ".mts": "mpegts",
    ".mkv": "matroska", ".webm": "matroska",
}  # fmt: skip
"""The containers Vantage reads, by file extension, and the demuxer each is read with: the
format is pinned, never guessed from the content, so a playlist or a concat script dressed as a
video is refused instead of followed wherever it points."""

URL_PROTOCOLS = "http,https,tcp,tls,crypto"
"""What reading media by URL may use: never ``file`` (a hostile file must not open local ones)."""


def demuxer_for(name: str) -> str | None:
    """The demuxer a file of this name is read with, or ``None`` when Vantage does not read it."""
    return CONTAINERS.get(Path(name).suffix.lower())


def _probe(
    target: str, path: Path, size: int, *, verify: bool, protocols: str = "file"
) -> MediaInfo:
    demuxer = demuxer_for(path.name)
    if demuxer is None:
        kinds = ", ".join(sorted(CONTAINERS))
        raise MediaError(f"{path.name}: not a container Vantage reads ({kinds})")
    try:
        with av.open(
            target,
            format=demuxer,
            options={"protocol_whitelist": protocols},
            metadata_errors="ignore",
        ) as container:
            info = _describe(path, size, container)
            if verify and info.video is not None:
                rotation, interlaced = _verify_decodes(container, info)
                video = replace(
                    info.video, rotation=rotation, interlaced=info.video.interlaced or interlaced
                )
                info = replace(info, video=video)
    except av.FFmpegError as exc:
        raise MediaError(f"{path.name}: not readable media ({_reason(exc)})") from exc
    return info


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "strerror", None) or exc).lower()


def _describe(path: Path, size: int, container: av.container.InputContainer) -> MediaInfo:
    video = None
    timecode = None
    if container.streams.video:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        rate = stream.average_rate or stream.base_rate or stream.guessed_rate
        video = VideoStream(
            codec=ctx.name,
            width=ctx.width,
            height=ctx.height,
            frame_rate=Fraction(rate) if rate else Fraction(25),
            pix_fmt=ctx.pix_fmt,
            rotation=0,
            frames=stream.frames or None,
            interlaced=getattr(ctx, "field_order", None) in _INTERLACED_ORDERS,
            start_s=float(stream.start_time * stream.time_base)
            if stream.start_time is not None and stream.time_base
            else 0.0,
        )
        timecode = stream.metadata.get("timecode")
    for any_stream in container.streams:
        timecode = timecode or any_stream.metadata.get("timecode")
    timecode = timecode or container.metadata.get("timecode")
    audio = None
    if container.streams.audio:
        actx = container.streams.audio[0].codec_context
        audio = AudioStream(
            codec=actx.name, channels=actx.channels, sample_rate=actx.sample_rate or 0
        )
    duration = container.duration / 1_000_000 if container.duration else 0.0
    return MediaInfo(
        path=path,
        container=container.format.name,
        size_bytes=size,
        duration_s=duration,
        video=video,
        audio=audio,
        timecode=timecode,
        creation_time=_parse_time(container.metadata.get("creation_time")),
        start_s=container.start_time / 1_000_000 if container.start_time is not None else 0.0,
    )


def _verify_decodes(container: av.container.InputContainer, info: MediaInfo) -> tuple[int, bool]:
    """Decode the first and the last second of video; return the display rotation and whether
    the first frame is interlaced."""
    stream = container.streams.video[0]
    first = next(container.decode(stream), None)
    if first is None:
        raise MediaError(f"{info.path.name}: no decodable video frame")
    # PyAV reports the display matrix angle counter-clockwise; players rotate clockwise.
    rotation = (360 - int(getattr(first, "rotation", 0) or 0)) % 360
    interlaced = bool(getattr(first, "interlaced_frame", False))
    if info.duration_s > 2 and stream.time_base:
        target = int((info.duration_s - 1) / stream.time_base)
        container.seek(target, stream=stream, backward=True)
        if next(container.decode(stream), None) is None:
            raise MediaError(f"{info.path.name}: video ends early (truncated file?)")
    return rotation, interlaced


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
