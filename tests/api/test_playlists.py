import uuid
from datetime import UTC, datetime

import pytest

from api.playlists import SOURCE, master_playlist, media_playlist, variants_of
from catalog import services
from catalog.models import RenditionSegment, Segment
from infra.core.database import session_scope
from tests.conformance import check_master_playlist, check_media_playlist


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


def test_every_live_playlist_reads_back_to_the_letter():
    segments = [seg(0, 0.0, variants=["360p"]), seg(1, 2.0), seg(2, 4.0, variants=["360p"])]
    check_master_playlist(master_playlist(variants_of(segments), "live/{variant}.m3u8"))
    for variant in (SOURCE, "360p"):
        for ended in (False, True):
            check_media_playlist(media_playlist(segments, variant, URI, ended=ended))


LACKS_RUNG = {0, 9, 10, 22}
FLAGGED = {5, 17, 23}


@pytest.mark.integration
@pytest.mark.parametrize("variant", [SOURCE, "360p"])
def test_a_sliding_window_counts_the_discontinuities_that_left_it(sessions, variant):
    # RFC 8216 6.2.2: a server that removes a discontinuity tag from a live playlist increments
    # EXT-X-DISCONTINUITY-SEQUENCE, or a player loses track of which timeline it is on.
    with session_scope(sessions) as session:
        event = services.create_event(f"Window {uuid.uuid4().hex[:8]}", session=session)
        feed = services.add_live_feed(event, "cam 1", "srt://127.0.0.1:9000", session=session)
        asset = services.live_asset(feed, session=session)
        for n in range(30):
            row = seg(n, 2.0 * n, variants=[] if n in LACKS_RUNG else ["360p"])
            row.id, row.key = str(uuid.uuid4()), f"{asset.id}/{n}"
            row.discontinuity = n in FLAGGED
            for rendition in row.renditions:
                rendition.key = f"{row.key}.360p"
            services.add_segment(asset, row, session=session)
        everything = services.recent_segments(asset.id, session=session)
        full = check_media_playlist(media_playlist(everything, variant, URI, ended=False))
        marked = {s.uri: s.discontinuity for s in full.segments}
        order = [s.uri for s in full.segments]
        assert sum(marked.values()) == (3 if variant == SOURCE else 4)  # 11 follows a gap
        rung = None if variant == SOURCE else variant
        for start in range(len(everything) - 6):
            window = everything[start : start + 6]
            history = services.window_history(asset.id, window[0].sequence, rung, session=session)
            text = media_playlist(window, variant, URI, ended=False, history=history)
            shown = check_media_playlist(text)
            if not shown.segments:
                continue
            # The window marks what the whole playlist marks, and counts what slid out.
            assert {s.uri: s.discontinuity for s in shown.segments} == {
                s.uri: marked[s.uri] for s in shown.segments
            }
            left = order[: order.index(shown.segments[0].uri)]
            assert (shown.discontinuity_sequence or 0) == sum(marked[uri] for uri in left)
