"""Playlists and manifests read back by parsers that are not Vantage's own (``m3u8`` and
``mpegdash``), and checked against what RFC 8216 and ISO/IEC 23009-1 require of them."""

from __future__ import annotations

import math
import re

import m3u8
from mpegdash.parser import MPEGDASHParser

_MEDIA_ONLY_TAGS = (
    "#EXTINF", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE",
    "#EXT-X-DISCONTINUITY-SEQUENCE", "#EXT-X-ENDLIST", "#EXT-X-PLAYLIST-TYPE", "#EXT-X-MAP",
)  # fmt: skip
_HEADER_TAGS = (
    "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE", "#EXT-X-DISCONTINUITY-SEQUENCE",
    "#EXT-X-PLAYLIST-TYPE", "#EXT-X-I-FRAMES-ONLY", "#EXT-X-VERSION",
)  # fmt: skip


def _parse(text: str) -> m3u8.M3U8:
    lines = text.splitlines()
    assert lines and lines[0] == "#EXTM3U", "4.3.1.1: the first line is #EXTM3U"
    assert all(line == line.strip() for line in lines), "no stray whitespace on a line"
    for tag in ("#EXT-X-VERSION", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE"):
        assert sum(line.startswith(tag + ":") for line in lines) <= 1, f"{tag} at most once"
    return m3u8.M3U8(text, strict=True)  # strict: any line it cannot read is an error


def check_media_playlist(text: str) -> m3u8.M3U8:
    """A media playlist as RFC 8216 section 4.3 requires it; the parsed playlist."""
    playlist = _parse(text)
    assert not playlist.is_variant, "a media playlist lists segments, not variants"
    lines = text.splitlines()
    first_segment = next(
        (i for i, line in enumerate(lines) if line.startswith(("#EXTINF", "#EXT-X-BYTERANGE"))),
        len(lines),
    )
    for i, line in enumerate(lines):
        if line.startswith(_HEADER_TAGS):
            assert i < first_segment, f"4.4.3: {line} comes before the first segment"
    target = playlist.target_duration
    assert isinstance(target, int) and target > 0, "4.3.3.1: EXT-X-TARGETDURATION is required"
    version = playlist.version or 1
    for segment in playlist.segments:
        assert segment.uri, "every segment has a URI"
        assert segment.duration is not None and segment.duration > 0
        assert round(segment.duration) <= target, (
            f"4.3.3.1: a {segment.duration} s segment rounds to more than the target {target}"
        )
        if segment.duration != int(segment.duration):
            assert version >= 3, "7: decimal EXTINF durations need version 3"
        if segment.byterange:
            assert version >= 4, "7: EXT-X-BYTERANGE needs version 4"
    if "#EXT-X-MAP" in text:
        needed = 5 if playlist.is_i_frames_only else 6
        assert version >= needed, f"7: EXT-X-MAP needs version {needed} here"
    if playlist.is_i_frames_only:
        assert version >= 4, "7: EXT-X-I-FRAMES-ONLY needs version 4"
    if playlist.playlist_type == "vod":
        assert playlist.is_endlist, "4.3.3.5: a VOD playlist ends with EXT-X-ENDLIST"
    if playlist.is_endlist:
        assert lines[-1] == "#EXT-X-ENDLIST", "nothing follows EXT-X-ENDLIST"
    if "#EXT-X-DISCONTINUITY-SEQUENCE" in text:
        assert playlist.discontinuity_sequence is not None and playlist.discontinuity_sequence > 0
    return playlist


def check_master_playlist(text: str) -> m3u8.M3U8:
    """A master (multivariant) playlist as RFC 8216 section 4.3.4 requires it."""
    playlist = _parse(text)
    assert playlist.is_variant, "a master playlist lists variants"
    for tag in _MEDIA_ONLY_TAGS:
        assert not any(line.startswith(tag) for line in text.splitlines()), (
            f"6.3.4: a media playlist tag ({tag}) in a master playlist"
        )
    groups = {(media.type, media.group_id) for media in playlist.media}
    for media in playlist.media:
        assert media.type in {"AUDIO", "VIDEO", "SUBTITLES", "CLOSED-CAPTIONS"}
        assert media.group_id and media.name, "4.3.4.1: GROUP-ID and NAME are required"
    for variant in playlist.playlists:
        info = variant.stream_info
        assert variant.uri, "4.3.4.2: a URI follows every EXT-X-STREAM-INF"
        assert info.bandwidth and info.bandwidth > 0, "4.3.4.2: BANDWIDTH is required"
        if info.resolution:
            width, height = info.resolution
            assert width > 0 and height > 0
        if info.audio:
            assert ("AUDIO", info.audio) in groups, f"4.3.4.2.1: no audio group {info.audio}"
    for variant in playlist.iframe_playlists:
        assert variant.uri and variant.iframe_stream_info.bandwidth > 0
    return playlist


_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$")


def iso_seconds(duration: str) -> float:
    found = _DURATION.match(duration)
    assert found and duration not in {"P", "PT"}, f"not an xs:duration: {duration}"
    days, hours, minutes, seconds = (float(part or 0) for part in found.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def check_mpd(text: str) -> object:
    """A DASH MPD as ISO/IEC 23009-1 requires it (the parts Vantage writes); the parsed MPD."""
    mpd = MPEGDASHParser.parse(text)
    assert mpd.profiles, "5.3.1.2: @profiles is required"
    assert mpd.min_buffer_time, "5.3.1.2: @minBufferTime is required"
    iso_seconds(mpd.min_buffer_time)
    kind = mpd.type or "static"
    if kind == "static":
        assert mpd.media_presentation_duration, "a static MPD gives its duration"
        total = iso_seconds(mpd.media_presentation_duration)
        assert total > 0
    else:
        assert mpd.availability_start_time, "5.3.1.2: a dynamic MPD has availabilityStartTime"
    assert mpd.periods, "an MPD has a Period"
    for period in mpd.periods:
        assert period.adaptation_sets, "a Period has AdaptationSets"
        for adaptation in period.adaptation_sets:
            assert adaptation.representations, "an AdaptationSet has Representations"
            for representation in adaptation.representations:
                assert representation.id and " " not in representation.id, "5.3.5.2: @id"
                assert representation.bandwidth and representation.bandwidth > 0
                mime = representation.mime_type or adaptation.mime_type
                assert mime, "@mimeType on the Representation or its AdaptationSet"
                templates = representation.segment_templates or adaptation.segment_templates
                assert templates, "each Representation says where its segments are"
                template = templates[0]
                assert template.media and template.initialization
                timescale = template.timescale or 1
                timelines = template.segment_timelines or []
                assert timelines or template.duration, "a SegmentTimeline or @duration"
                if timelines and kind == "static":
                    ticks = 0
                    for entry in timelines[0].Ss:
                        ticks += entry.d * (1 + (entry.r or 0))
                    assert math.isclose(ticks / timescale, total, abs_tol=1.0), (
                        "the timeline adds up to the presentation's duration"
                    )
    return mpd
