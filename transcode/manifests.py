"""HLS playlists and a DASH MPD for a CMAF ladder, built as text from what the segments say.

Every rendition lives in its own folder next to the manifests (``720p/``, ``audio/``); HLS and
DASH point at the same init and media segments. Times come from the boxes (``tfdt`` and sample
durations), so the manifests match the media to the tick.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from transcode.cmaf import SegmentInfo, TrackInit
from transcode.errors import MediaError

HLS_VERSION = 7
AUDIO_GROUP = "audio"
MEDIA_PLAYLIST = "index.m3u8"
IFRAME_PLAYLIST = "iframes.m3u8"
_DASH_NAMESPACE = "urn:mpeg:dash:schema:mpd:2011"
_DASH_PROFILE = "urn:mpeg:dash:profile:isoff-live:2011"
_DASH_CHANNELS_SCHEME = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"
# The segment number is the last run of digits before the file extension (seg_00042.m4s).
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)(?P<suffix>\D*(?:\.[^./]*)?)$")


@dataclass(frozen=True)
class Track:
    """One rendition of the ladder: its folder, init segment and media segments in order."""

    name: str
    """Folder of the rendition next to the manifests, also its name: ``720p``, ``audio``."""
    init_uri: str
    """The init segment, relative to the folder."""
    init: TrackInit
    segments: Sequence[tuple[str, SegmentInfo]]
    """``(uri relative to the folder, segment)`` in playback order."""

    def __post_init__(self) -> None:
        if not self.segments:
            raise ValueError(f"rendition {self.name!r} has no segments")
        for uri in (self.name, self.init_uri, *(uri for uri, _ in self.segments)):
            if not uri or any(c in uri for c in '"\r\n'):
                raise ValueError(f"{uri!r} cannot be written in a playlist")

    @property
    def duration(self) -> Fraction:
        """Seconds of media in all segments."""
        return self.seconds(sum(segment.duration for _, segment in self.segments))

    @property
    def peak_bandwidth(self) -> int:
        """Bits per second of the densest segment. A last segment shorter than half the
        longest is left out: its few samples carry a whole fragment's headers, and would claim
        a peak no player ever sees."""
        longest = max(segment.duration for _, segment in self.segments)
        counted = [
            segment
            for i, (_, segment) in enumerate(self.segments)
            if i < len(self.segments) - 1 or segment.duration * 2 >= longest or i == 0
        ]
        return max(_rate(segment.size, self.seconds(segment.duration)) for segment in counted)

    @property
    def average_bandwidth(self) -> int:
        """Bits per second over the whole rendition."""
        return _rate(sum(segment.size for _, segment in self.segments), self.duration)

    @property
    def iframe_peak_bandwidth(self) -> int:
        """Bits per second an I-frame playlist needs at its densest entry."""
        return max(
            _rate(segment.keyframe_bytes[1], self.seconds(segment.duration))
            for _, segment in self.segments
        )

    @property
    def iframe_average_bandwidth(self) -> int:
        total = sum(segment.keyframe_bytes[1] for _, segment in self.segments)
        return _rate(total, self.duration)

    @property
    def target_duration(self) -> int:
        """Whole seconds no segment is longer than (HLS ``EXT-X-TARGETDURATION``)."""
        return math.ceil(max(self.seconds(segment.duration) for _, segment in self.segments))

    def seconds(self, ticks: int) -> Fraction:
        return Fraction(ticks, self.init.timescale)


def _rate(size: int, seconds: Fraction) -> int:
    if seconds <= 0:
        raise ValueError("a segment without duration has no bit rate")
    return math.ceil(size * 8 / seconds)


def _decimal(value: Fraction, places: int) -> str:
    """``value`` with exactly ``places`` decimals, rounded to nearest."""
    scaled = round(value * 10**places)
    whole, part = divmod(scaled, 10**places)
    return f"{whole}.{part:0{places}d}" if places else str(whole)


def _lines(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def _playlist_header(track: Track) -> list[str]:
    return [
        "#EXTM3U",
        f"#EXT-X-VERSION:{HLS_VERSION}",
        f"#EXT-X-TARGETDURATION:{track.target_duration}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]


# -- HLS ----------------------------------------------------------------------------------------


def hls_media_playlist(track: Track) -> str:
    """The VOD media playlist of one rendition, to be written inside its folder."""
    lines = _playlist_header(track)
    lines += ["#EXT-X-INDEPENDENT-SEGMENTS", f'#EXT-X-MAP:URI="{track.init_uri}"']
    for uri, segment in track.segments:
        lines += [f"#EXTINF:{_decimal(track.seconds(segment.duration), 6)},", uri]
    lines.append("#EXT-X-ENDLIST")
    return _lines(lines)


def hls_iframe_playlist(track: Track) -> str:
    """The I-frame playlist of one video rendition: the first frame of every segment, by range.

    Raises :class:`MediaError` when a segment does not start with a keyframe.
    """
    _expect_kind(track, "video")
    lines = _playlist_header(track)
    lines += ["#EXT-X-I-FRAMES-ONLY", f'#EXT-X-MAP:URI="{track.init_uri}"']
    for uri, segment in track.segments:
        if not segment.starts_with_keyframe:
            raise MediaError(f"{track.name}/{uri}: segment does not start with a keyframe")
        offset, length = segment.keyframe_bytes
        lines += [
            f"#EXTINF:{_decimal(track.seconds(segment.duration), 6)},",
            f"#EXT-X-BYTERANGE:{length}@{offset}",
            uri,
        ]
    lines.append("#EXT-X-ENDLIST")
    return _lines(lines)


def hls_master(
    videos: Sequence[Track],
    audio: Track | None,
    frame_rates: Mapping[str, Fraction],
    *,
    media_playlist: str = MEDIA_PLAYLIST,
    iframe_playlist: str = IFRAME_PLAYLIST,
) -> str:
    """The master playlist of a ladder, written next to the rendition folders.

    Video renditions are listed highest bandwidth first, each with the audio rendition as its
    ``AUDIO`` group and with an I-frame stream. ``frame_rates`` maps each video's name to its
    frame rate. Without videos the audio rendition is the only stream.
    """
    for video in videos:
        _expect_kind(video, "video")
    if audio is not None:
        _expect_kind(audio, "audio")
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if not videos:
        if audio is None:
            raise ValueError("a ladder needs at least one rendition")
        lines += [
            _attributes(
                "#EXT-X-STREAM-INF",
                BANDWIDTH=str(audio.peak_bandwidth),
                AVERAGE_BANDWIDTH=str(audio.average_bandwidth),
                CODECS=_quoted(audio.init.codec),
            ),
            f"{audio.name}/{media_playlist}",
        ]
        return _lines(lines)
    ranked = sorted(videos, key=lambda video: video.peak_bandwidth, reverse=True)
    if audio is not None:
        channels = audio.init.channels
        lines.append(
            _attributes(
                "#EXT-X-MEDIA",
                TYPE="AUDIO",
                GROUP_ID=_quoted(AUDIO_GROUP),
                NAME=_quoted(audio.name),
                DEFAULT="YES",
                AUTOSELECT="YES",
                **({"CHANNELS": _quoted(str(channels))} if channels else {}),
                URI=_quoted(f"{audio.name}/{media_playlist}"),
            )
        )
    for video in ranked:
        codecs = [video.init.codec] + ([audio.init.codec] if audio is not None else [])
        extra = {"AUDIO": _quoted(AUDIO_GROUP)} if audio is not None else {}
        lines += [
            _attributes(
                "#EXT-X-STREAM-INF",
                BANDWIDTH=str(video.peak_bandwidth + (audio.peak_bandwidth if audio else 0)),
                AVERAGE_BANDWIDTH=str(
                    video.average_bandwidth + (audio.average_bandwidth if audio else 0)
                ),
                CODECS=_quoted(",".join(codecs)),
                RESOLUTION=_resolution(video),
                FRAME_RATE=_decimal(_frame_rate(video, frame_rates), 3),
                **extra,
            ),
            f"{video.name}/{media_playlist}",
        ]
    for video in ranked:
        lines.append(
            _attributes(
                "#EXT-X-I-FRAME-STREAM-INF",
                BANDWIDTH=str(video.iframe_peak_bandwidth),
                AVERAGE_BANDWIDTH=str(video.iframe_average_bandwidth),
                CODECS=_quoted(video.init.codec),
                RESOLUTION=_resolution(video),
                URI=_quoted(f"{video.name}/{iframe_playlist}"),
            )
        )
    return _lines(lines)


def _attributes(tag: str, **values: str) -> str:
    """``TAG:NAME=value,...``; underscores in the keyword names become dashes."""
    pairs = ",".join(f"{name.replace('_', '-')}={value}" for name, value in values.items())
    return f"{tag}:{pairs}"


def _quoted(value: str) -> str:
    if any(c in value for c in '"\r\n'):
        raise ValueError(f"{value!r} cannot be written in a playlist")
    return f'"{value}"'


def _resolution(video: Track) -> str:
    return f"{video.init.width}x{video.init.height}"


def _expect_kind(track: Track, kind: str) -> None:
    if track.init.kind != kind:
        raise ValueError(f"rendition {track.name!r} is {track.init.kind}, not {kind}")


def _frame_rate(video: Track, frame_rates: Mapping[str, Fraction]) -> Fraction:
    if video.name not in frame_rates:
        raise ValueError(f"no frame rate given for rendition {video.name!r}")
    rate = frame_rates[video.name]
    if rate <= 0:
        raise ValueError(f"frame rate {rate} of rendition {video.name!r} is not positive")
    return rate


# -- DASH ---------------------------------------------------------------------------------------


def dash_mpd(
    videos: Sequence[Track], audio: Track | None, frame_rates: Mapping[str, Fraction]
) -> str:
    """A static DASH MPD (isoff-live profile) over the same segments as the HLS playlists.

    Each representation has a ``SegmentTemplate`` with ``$Number$`` addressing of the segment
    files and a ``SegmentTimeline`` from their decode times and durations. ``frame_rates`` maps
    each video's name to its frame rate. Raises ``ValueError`` when segment names are not
    numbered consecutively.
    """
    for video in videos:
        _expect_kind(video, "video")
    if audio is not None:
        _expect_kind(audio, "audio")
    tracks = [*videos, *([audio] if audio is not None else [])]
    if not tracks:
        raise ValueError("a ladder needs at least one rendition")
    longest = max(
        track.seconds(segment.duration) for track in tracks for _, segment in track.segments
    )
    mpd = ET.Element(
        "MPD",
        {
            "xmlns": _DASH_NAMESPACE,
            "type": "static",
            "profiles": _DASH_PROFILE,
            "mediaPresentationDuration": _iso_duration(max(track.duration for track in tracks)),
            "minBufferTime": _iso_duration(longest),
        },
    )
    period = ET.SubElement(mpd, "Period", {"id": "0", "start": "PT0S"})
    if videos:
        ranked = sorted(videos, key=lambda video: video.peak_bandwidth, reverse=True)
        adaptation = ET.SubElement(
            period,
            "AdaptationSet",
            {
                "id": "0",
                "contentType": "video",
                "mimeType": "video/mp4",
                "segmentAlignment": "true",
                **_sap(videos),
                "maxWidth": str(max(video.init.width or 0 for video in videos)),
                "maxHeight": str(max(video.init.height or 0 for video in videos)),
            },
        )
        for video in ranked:
            rate = _frame_rate(video, frame_rates)
            representation = ET.SubElement(
                adaptation,
                "Representation",
                {
                    "id": video.name,
                    "bandwidth": str(video.peak_bandwidth),
                    "codecs": video.init.codec,
                    "width": str(video.init.width),
                    "height": str(video.init.height),
                    "frameRate": str(rate.numerator)
                    if rate.denominator == 1
                    else f"{rate.numerator}/{rate.denominator}",
                },
            )
            _segment_template(representation, video)
    if audio is not None:
        adaptation = ET.SubElement(
            period,
            "AdaptationSet",
            {
                "id": "1",
                "contentType": "audio",
                "mimeType": "audio/mp4",
                "segmentAlignment": "true",
                **_sap([audio]),
            },
        )
        representation = ET.SubElement(
            adaptation,
            "Representation",
            {
                "id": audio.name,
                "bandwidth": str(audio.peak_bandwidth),
                "codecs": audio.init.codec,
                "audioSamplingRate": str(audio.init.sample_rate or audio.init.timescale),
            },
        )
        if audio.init.channels:
            ET.SubElement(
                representation,
                "AudioChannelConfiguration",
                {"schemeIdUri": _DASH_CHANNELS_SCHEME, "value": str(audio.init.channels)},
            )
        _segment_template(representation, audio)
    ET.indent(mpd)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(mpd, encoding="unicode") + "\n"


def _sap(tracks: Sequence[Track]) -> dict[str, str]:
    """``startWithSAP`` 1 when every segment starts with a keyframe (an IDR), else nothing."""
    if all(segment.starts_with_keyframe for track in tracks for _, segment in track.segments):
        return {"startWithSAP": "1"}
    return {}


def _segment_template(representation: ET.Element, track: Track) -> None:
    media, start_number = _number_template(track)
    attributes = {
        "timescale": str(track.init.timescale),
        "initialization": f"{_escape_template(track.name)}/{_escape_template(track.init_uri)}",
        "media": f"{_escape_template(track.name)}/{media}",
        "startNumber": str(start_number),
    }
    first = track.segments[0][1].decode_time
    if first:
        # The period starts at the first segment, wherever the track's clock began.
        attributes["presentationTimeOffset"] = str(first)
    template = ET.SubElement(representation, "SegmentTemplate", attributes)
    timeline = ET.SubElement(template, "SegmentTimeline")
    for start, duration, repeat in _timeline(track):
        entry = {"d": str(duration)}
        if start is not None:
            entry = {"t": str(start), **entry}
        if repeat:
            entry["r"] = str(repeat)
        ET.SubElement(timeline, "S", entry)


def _timeline(track: Track) -> list[tuple[int | None, int, int]]:
    """``(t or None when contiguous, d, r)`` runs of the segments' decode times and durations."""
    runs: list[tuple[int | None, int, int]] = []
    expected: int | None = None
    for _, segment in track.segments:
        contiguous = segment.decode_time == expected
        if runs and contiguous and runs[-1][1] == segment.duration:
            start, duration, repeat = runs[-1]
            runs[-1] = (start, duration, repeat + 1)
        else:
            runs.append((None if contiguous else segment.decode_time, segment.duration, 0))
        expected = segment.decode_time + segment.duration
    return runs


def _number_template(track: Track) -> tuple[str, int]:
    """The ``$Number$`` pattern of the segment names and the first number.

    ``seg_00000.m4s``, ``seg_00001.m4s``... gives ``seg_$Number%05d$.m4s`` and 0.
    """
    matches = [_NUMBERED.match(uri) for uri, _ in track.segments]
    parts = {(m["prefix"], m["suffix"]) for m in matches if m is not None}
    if None in matches or len(parts) != 1:
        raise ValueError(f"segment names of {track.name!r} do not share one numbered pattern")
    numbers = [m["number"] for m in matches if m is not None]
    first = int(numbers[0])
    if [int(number) for number in numbers] != list(range(first, first + len(numbers))):
        raise ValueError(f"segments of {track.name!r} are not numbered consecutively")
    width = len(numbers[0])
    if all(number == str(int(number)) for number in numbers):
        number = "$Number$"
    elif all(number == str(int(number)).zfill(width) for number in numbers):
        number = f"$Number%0{width}d$"
    else:
        raise ValueError(f"segment numbers of {track.name!r} are padded unevenly")
    prefix, suffix = parts.pop()
    return f"{_escape_template(prefix)}{number}{_escape_template(suffix)}", first


def _escape_template(text: str) -> str:
    return text.replace("$", "$$")


def _iso_duration(seconds: Fraction) -> str:
    """An ISO 8601 duration (``PT1H2M3.5S``) to the microsecond."""
    micro = round(seconds * 1_000_000)
    hours, micro = divmod(micro, 3_600_000_000)
    minutes, micro = divmod(micro, 60_000_000)
    whole, part = divmod(micro, 1_000_000)
    text = "PT"
    if hours:
        text += f"{hours}H"
    if hours or minutes:
        text += f"{minutes}M"
    text += str(whole)
    if part:
        text += f".{part:06d}".rstrip("0")
    return text + "S"
