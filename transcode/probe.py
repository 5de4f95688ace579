"""Probe media with PyAV (the FFmpeg libraries), so no ffprobe binary is needed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av

from infra.errors import MediaError


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
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            info = _describe(path, size, container)
            if verify and info.video is not None:
                rotation = _verify_decodes(container, info)
                info = replace(info, video=replace(info.video, rotation=rotation))
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
    )


def _verify_decodes(container: av.container.InputContainer, info: MediaInfo) -> int:
    """Decode the first and the last second of video; return the display rotation."""
    stream = container.streams.video[0]
    first = next(container.decode(stream), None)
    if first is None:
        raise MediaError(f"{info.path.name}: no decodable video frame")
    # PyAV reports the display matrix angle counter-clockwise; players rotate clockwise.
    rotation = (360 - int(getattr(first, "rotation", 0) or 0)) % 360
    if info.duration_s > 2 and stream.time_base:
        target = int((info.duration_s - 1) / stream.time_base)
        container.seek(target, stream=stream, backward=True)
        if next(container.decode(stream), None) is None:
            raise MediaError(f"{info.path.name}: video ends early (truncated file?)")
    return rotation


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
