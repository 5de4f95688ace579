"""The live puller's ffmpeg command and the segment list it writes.

One ffmpeg per feed reads the source and cuts it, by stream copy, into MPEG-TS segments on
keyframes near ``segment_s``. ffmpeg appends a line to a CSV list as each segment closes, so a
file named in the list is complete and one that is not is still being written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

LIST_NAME = "segments.csv"

_WHITELISTS = {
    "srt": "srt,udp",
    "rtmp": "rtmp,rtmps,tcp,tls",
    "rtsp": "rtsp,rtp,udp,tcp,tls",
    "hls": "http,https,httpproxy,tcp,tls,crypto,hls",
    "file": "file",
}


@dataclass(frozen=True)
class PullOptions:
    segment_s: float = 2.0
    mezzanine: bool = False
    """Re-encode (x264, keyframe every ``segment_s``) instead of copying: for sources whose GOP is
    too long to cut near ``segment_s``."""
    timeout_s: float = 5.0
    """Give up on a source that sends nothing for this long."""
    realtime: bool = True
    """Read file sources at their own pace, as a camera would send them."""
    http_proxy: str | None = None
    """The origin gate an HLS pull fetches everything through (``ingest.live.gate``)."""


@dataclass(frozen=True)
class ClosedSegment:
    filename: str
    start_s: float
    """Presentation time of the first frame, in the source's own timeline."""
    end_s: float

    @property
    def duration_s(self) -> float:
        return round(self.end_s - self.start_s, 6)


def protocol_of(url: str) -> str:
    """``srt``, ``rtmp``, ``rtsp``, ``hls`` or ``file``; raises ValueError for anything else."""
    scheme = urlparse(url).scheme.lower()
    if scheme in ("srt", "rtsp"):
        return scheme
    if scheme in ("rtmp", "rtmps"):
        return "rtmp"
    if scheme in ("http", "https"):
        return "hls"
    if scheme in ("", "file"):
        return "file"
    raise ValueError(
        f"unsupported source {url!r}: use srt://, rtmp://, rtsp://, http(s):// or a file"
    )


def puller_args(url: str, session_dir: Path, options: PullOptions) -> list[str]:
    """ffmpeg arguments that pull ``url`` into ``session_dir/NNNNNN.ts`` and list each closed
    segment in ``session_dir/segments.csv``. Each connection gets its own session folder, so a
    reconnect never overwrites the list of a session that is still being drained."""
    protocol = protocol_of(url)
    timeout_us = str(int(options.timeout_s * 1_000_000))
    # Every line carries its level (the puller reports the last error); an HLS pull logs at
    # info, where ffmpeg says where its input starts (the source clock needs it).
    level = "level+info" if protocol == "hls" else "level+warning"
    args = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", level]
    args += ["-protocol_whitelist", _WHITELISTS[protocol]]
    if protocol == "rtsp":
        args += ["-rtsp_transport", "tcp", "-timeout", timeout_us]
    elif protocol == "hls":
        # Start at the live edge: older segments would arrive in a burst and skew arrival time.
        args += ["-rw_timeout", timeout_us, "-live_start_index", "-1"]
        if options.http_proxy:
            args += ["-http_proxy", options.http_proxy]
    elif protocol == "rtmp":
        args += ["-rw_timeout", timeout_us]
    elif protocol == "file" and options.realtime:
        args += ["-re"]
    source = url
    if protocol == "srt" and "timeout=" not in url:
        source += ("&" if "?" in url else "?") + f"timeout={timeout_us}"
    args += ["-fflags", "+genpts", "-i", source, "-map", "0:v:0", "-map", "0:a:0?"]
    if options.mezzanine:
        args += [
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "16",
            "-force_key_frames", f"expr:gte(t,n_forced*{options.segment_s:g})",
            "-c:a", "aac", "-b:a", "192k",
        ]  # fmt: skip
    else:
        args += ["-c", "copy"]
    args += [
        "-f", "segment",
        "-segment_time", f"{options.segment_s:g}",
        "-segment_format", "mpegts",
        # Each file starts new continuity counters; flag it so players joining files don't
        # take the jump for corruption.
        "-segment_format_options", "mpegts_flags=+initial_discontinuity",
        "-segment_list", str(session_dir / LIST_NAME),
        "-segment_list_type", "csv",
        "-segment_list_flags", "+live",
        "-reset_timestamps", "0",
        str(session_dir / "%06d.ts"),
    ]  # fmt: skip
    return args


def parse_segment_list(text: str) -> list[ClosedSegment]:
    """The closed segments in a segment list CSV (``name,start,end`` per line)."""
    closed = []
    for line in text.splitlines():
        parts = line.strip().split(",")
        if len(parts) != 3:
            continue
        try:
            closed.append(ClosedSegment(parts[0], float(parts[1]), float(parts[2])))
        except ValueError:
            continue
    return closed


def needs_mezzanine(closed: list[ClosedSegment], segment_s: float) -> bool:
    """True when copied segments come out far longer than asked: the source's GOP is too long."""
    return len(closed) >= 2 and max(s.duration_s for s in closed[:3]) > 2.5 * segment_s


def segment_timing(path: Path) -> ClosedSegment | None:
    """Timing of a segment file that was never listed (its puller died while writing it);
    ``None`` when nothing in it decodes."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            first = last = None
            for packet in container.demux(stream):
                if packet.pts is None or packet.time_base is None:
                    continue
                at = float(packet.pts * packet.time_base)
                first = at if first is None else min(first, at)
                duration = float((packet.duration or 0) * packet.time_base)
                last = max(last or at, at + duration)
    except (av.FFmpegError, IndexError):
        return None
    if first is None or last is None or last <= first:
        return None
    return ClosedSegment(path.name, first, last)


def segment_format(path: Path) -> str | None:
    """What a segment carries, e.g. ``h264 1920x1080 25 +aac``; ``None`` if unreadable."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            video = container.streams.video[0].codec_context
            rate = container.streams.video[0].average_rate or container.streams.video[0].base_rate
            audio = (
                container.streams.audio[0].codec_context.name if container.streams.audio else None
            )
            text = f"{video.name} {video.width}x{video.height} {rate or '?'}"
            return text + (f" +{audio}" if audio else "")
    except (av.FFmpegError, IndexError):
        return None
