from datetime import UTC, datetime

from api.playlists import SOURCE, master_playlist, media_playlist, variants_of
from catalog.models import RenditionSegment, Segment


def seg(sequence, start, *, variants=(), discontinuity=False):
    segment = Segment(
        id=f"s{sequence}",
        sequence=sequence,
        key=f"k{sequence}",
        clock_start_s=start,
        duration_s=2.0,
        size_bytes=250_000,
        sha256="",
        discontinuity=discontinuity,
        program_date_time=datetime(2026, 8, 9, 19, 30, int(start), tzinfo=UTC),
    )
    segment.renditions = [
        RenditionSegment(variant=v, key=f"k{sequence}.{v}", width=640, height=360,
                         bandwidth=900_000, size_bytes=1)
        for v in variants
    ]  # fmt: skip
    return segment


URI = "https://api/v1/segments/{segment}/{variant}.ts"


def test_live_window_has_no_endlist_and_carries_program_date_time():
    text = media_playlist([seg(7, 14.0), seg(8, 16.0)], SOURCE, URI, ended=False)
    assert "#EXT-X-MEDIA-SEQUENCE:7" in text
    assert "#EXT-X-ENDLIST" not in text
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-08-09T19:30:14.000Z" in text
    assert text.strip().endswith("https://api/v1/segments/s8/source.ts")


def test_finished_recording_is_vod_and_marks_the_gap():
    text = media_playlist(
        [seg(0, 0.0), seg(1, 2.0), seg(2, 9.0, discontinuity=True)], SOURCE, URI, ended=True
    )
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    lines = text.splitlines()
    assert lines[lines.index("#EXT-X-DISCONTINUITY") + 3] == "https://api/v1/segments/s2/source.ts"


def test_a_rung_missing_on_one_segment_is_skipped_with_a_discontinuity():
    segments = [seg(0, 0.0, variants=["360p"]), seg(1, 2.0), seg(2, 4.0, variants=["360p"])]
    text = media_playlist(segments, "360p", URI, ended=False)
    assert "s1" not in text
    assert text.count("#EXT-X-DISCONTINUITY") == 1


def test_master_lists_rungs_then_source():
    variants = variants_of([seg(0, 0.0, variants=["360p"])])
    assert [v.name for v in variants] == ["360p", SOURCE]
    text = master_playlist(variants, "live/{variant}.m3u8")
    assert "RESOLUTION=640x360" in text
    assert text.splitlines()[-1] == "live/source.m3u8"
