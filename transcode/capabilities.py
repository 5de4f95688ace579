"""What an ffmpeg build can do, against what Vantage's profiles and jobs need of it.

``vantage doctor`` lists ffmpeg's encoders, filters, muxers and protocols once and reports every
capability that is missing together with what breaks without it, so an operator learns it before
the first order fails rather than from a failed job.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from transcode.errors import FFmpegError


@dataclass(frozen=True)
class Capability:
    kind: str
    """``encoder``, ``filter``, ``muxer`` or ``protocol``: the ffmpeg list it appears in."""
    name: str
    needed_by: str
    """The profiles and jobs that fail without it, in the operator's words."""


CAPABILITIES: tuple[Capability, ...] = (
    Capability("encoder", "libx264", "the broadcast and legacy-ts profiles, proxies, replays"),
    Capability("encoder", "aac", "every profile's audio, proxies, replays"),
    Capability("encoder", "libx265", "the efficient profile (HEVC rungs)"),
    Capability("encoder", "libsvtav1", "the archive-av1 profile"),
    Capability("encoder", "mpeg2video", "mezzanine files (XDCAM HD422 in MXF)"),
    Capability("filter", "drawtext", "proxies (burnt-in timecode), replay mosaics (labels)"),
    Capability("filter", "bwdif", "interlaced sources (deinterlacing in ladders and proxies)"),
    Capability("filter", "xstack", "replay mosaics"),
    Capability("filter", "minterpolate", "replay sequences with slow motion"),
    Capability("filter", "libvmaf", "`vantage bench quality` (VMAF of every rung)"),
    Capability("filter", "ebur128", "loudness measurement and QC"),
    Capability("muxer", "mxf", "mezzanine files"),
    Capability("muxer", "hls", "live pulls and HLS packaging"),
    Capability("protocol", "srt", "SRT feeds"),
    Capability("protocol", "rtmp", "RTMP feeds"),
)

_LISTS = {
    "encoder": "-encoders",
    "filter": "-filters",
    "muxer": "-muxers",
    "protocol": "-protocols",
}


def parse_names(kind: str, listing: str) -> frozenset[str]:
    """The names in one of ffmpeg's ``-encoders``/``-filters``/``-muxers``/``-protocols`` lists."""
    names: set[str] = set()
    if kind == "protocol":
        # "Supported file protocols:", then "Input:" and "Output:" followed by one name a line.
        for line in listing.splitlines():
            word = line.strip()
            if word and not word.endswith(":") and " " not in word:
                names.add(word)
        return frozenset(names)
    started = False
    for line in listing.splitlines():
        if not started:
            # The legend ends with a line of dashes (encoders, muxers) or an empty-looking
            # "= Source or sink filter" line (filters); entries follow.
            started = line.strip().startswith("---") or line.strip().startswith("= ")
            continue
        parts = line.split()
        if len(parts) >= 2:
            names.add(parts[1])
    return frozenset(names)


@dataclass(frozen=True)
class Features:
    binary: str
    names: dict[str, frozenset[str]]

    def has(self, capability: Capability) -> bool:
        return capability.name in self.names.get(capability.kind, frozenset())

    def missing(self) -> tuple[Capability, ...]:
        return tuple(c for c in CAPABILITIES if not self.has(c))


def ffmpeg_features(ffmpeg: str, *, timeout_s: float = 20) -> Features:
    """Every encoder, filter, muxer and protocol ``ffmpeg`` was built with.

    Raises :class:`FFmpegError` when the binary cannot be run.
    """
    names: dict[str, frozenset[str]] = {}
    for kind, flag in _LISTS.items():
        try:
            listing = subprocess.run(
                [ffmpeg, "-hide_banner", "-nostdin", flag],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise FFmpegError(f"{ffmpeg} {flag}: {exc}", -1) from exc
        names[kind] = parse_names(kind, listing)
    return Features(ffmpeg, names)
