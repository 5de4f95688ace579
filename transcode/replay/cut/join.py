"""The join: every part's H.264 packets, re-timed one frame apart, muxed with the audio into one
faststart MP4, then checked frame by frame."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from transcode.errors import MediaError
from transcode.replay.cut.annexb import (
    length_size_of,
    parameter_sets,
    to_annexb,
    with_parameter_sets,
)
from transcode.replay.cut.index import Run, seek_target


@dataclass(frozen=True)
class _Part:
    """A run as packets to join: copied from its source, or read from its re-encoded file."""

    url: str
    frames: tuple[int, ...]
    """Presentation times, in order."""
    decode_pts: tuple[int, ...]
    """Presentation times in decode order."""
    nal_length_size: int | None
    parameter_sets: bytes
    seek_pts: int | None


def part_of(run: Run, encoded: Path | None) -> _Part:
    if encoded is None:
        source = run.source
        wanted = set(source.frames[run.first : run.last + 1])
        target = seek_target(source, source.frames[run.first])
        return _Part(
            url=source.url,
            frames=source.frames[run.first : run.last + 1],
            decode_pts=tuple(p.pts for p in source.packets if not p.discard and p.pts in wanted),
            nal_length_size=source.nal_length_size,
            parameter_sets=source.parameter_sets,
            seek_pts=None if target is None else math.floor(target / source.time_base),
        )
    with av.open(str(encoded)) as container:
        stream = container.streams.video[0]
        order = [p.pts for p in container.demux(stream) if p.pts is not None and p.size]
        extradata = bytes(stream.codec_context.extradata or b"")
    if len(order) != run.frames:
        raise MediaError(
            f"re-encoding {run.frames} frames of piece {run.source.number} "
            f"({run.source.piece.uri}) gave {len(order)}"
        )
    return _Part(
        url=str(encoded),
        frames=tuple(sorted(order)),
        decode_pts=tuple(order),
        nal_length_size=length_size_of(extradata),
        parameter_sets=parameter_sets(extradata),
        seek_pts=None,
    )


def reorder_depth(decode_pts: Sequence[int]) -> int:
    """How many frames a decode-order position runs ahead of its presentation position, at most."""
    rank = {pts: i for i, pts in enumerate(sorted(decode_pts))}
    return max((i - rank[pts] for i, pts in enumerate(decode_pts)), default=0)


def _packets(part: _Part) -> Iterator[tuple[bytes, int, bool]]:
    """The part's video packets in decode order: Annex B data, pts and keyframe flag."""
    wanted = set(part.frames)
    left = len(wanted)
    with av.open(part.url, metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        if part.seek_pts is not None:
            container.seek(part.seek_pts, stream=stream, backward=True, any_frame=False)
        for packet in container.demux(stream):
            if packet.pts is None or not packet.size or packet.is_discard:
                continue
            if packet.pts not in wanted:
                continue
            data = bytes(packet)
            if part.nal_length_size is not None:
                data = to_annexb(data, part.nal_length_size)
            if packet.is_keyframe:
                data = with_parameter_sets(data, part.parameter_sets)
            yield data, packet.pts, packet.is_keyframe
            wanted.discard(packet.pts)
            left -= 1
            if not left:
                return
    if left:
        raise MediaError(f"{part.url}: {left} frames of the cut were not found when copying")


def join_parts(parts: Sequence[_Part], audio: Path | None, out: Path, rate: Fraction) -> None:
    """Mux the parts' video, one after another, and the audio into the MP4 ``out``."""
    tick = Fraction(1, rate.numerator)
    step = rate.denominator  # ticks per frame
    depth = max(reorder_depth(part.decode_pts) for part in parts)
    with av.open(str(out), "w", format="mp4", container_options={"movflags": "+faststart"}) as mux:
        with av.open(parts[0].url, metadata_errors="ignore") as template:
            video = mux.add_stream_from_template(template.streams.video[0])
        if parts[0].parameter_sets:
            video.codec_context.extradata = parts[0].parameter_sets
        video.time_base = tick
        audio_packets: list[av.Packet[Any]] = []
        audio_container = None if audio is None else av.open(str(audio))
        try:
            if audio_container is not None:
                source = audio_container.streams.audio[0]
                audio_stream = mux.add_stream_from_template(source)
                for packet in audio_container.demux(source):
                    if packet.pts is not None and packet.size:
                        packet.stream = audio_stream
                        audio_packets.append(packet)
            _write(mux, video, parts, audio_packets, tick, step, depth)
        finally:
            if audio_container is not None:
                audio_container.close()


def _write(
    mux: av.container.OutputContainer,
    video: av.stream.Stream,
    parts: Sequence[_Part],
    audio_packets: Sequence[av.Packet[Any]],
    tick: Fraction,
    step: int,
    depth: int,
) -> None:
    """Mux every part's packets with new timestamps, the audio interleaved by time."""
    pending = list(reversed(audio_packets))
    offset = 0
    decoded = 0
    for part in parts:
        rank = {pts: i for i, pts in enumerate(part.frames)}
        for data, pts, key in _packets(part):
            packet = av.Packet(data)
            packet.stream = video
            packet.time_base = tick
            packet.pts = (offset + rank[pts]) * step
            packet.dts = (decoded - depth) * step
            packet.duration = step
            packet.is_keyframe = key
            due = float(packet.dts * tick)
            while pending and _seconds(pending[-1]) <= due:
                mux.mux(pending.pop())
            mux.mux(packet)
            decoded += 1
        offset += len(part.frames)
    while pending:
        mux.mux(pending.pop())


def _seconds(packet: av.Packet[Any]) -> float:
    stamp = packet.dts if packet.dts is not None else packet.pts
    return float(stamp * packet.time_base) if stamp is not None else 0.0


def check_clip(path: Path, frames: int, rate: Fraction) -> None:
    """Refuse a joined clip without exactly ``frames`` frames evenly spaced from 0."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stamps = sorted(p.pts for p in container.demux(stream) if p.pts is not None and p.size)
        time_base = Fraction(stream.time_base or 1)
    step = Fraction(1) / rate / time_base
    spacing = {b - a for a, b in itertools.pairwise(stamps)}
    even = all(abs(gap - step) <= 1 for gap in spacing)
    if len(stamps) != frames or not stamps or stamps[0] != 0 or not even:
        raise MediaError(
            f"the joined clip has {len(stamps)} frames at uneven times; expected {frames} "
            f"frames {float(1 / rate):.4f} s apart from 0"
        )
