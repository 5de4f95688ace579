import pytest

from infra.core.errors import StorageError
from infra.core.settings import MIB
from infra.core.storage import content_type_for, part_size_for


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("a/master.m3u8", "application/vnd.apple.mpegurl"),
        ("a/720p/seg_00001.ts", "video/mp2t"),
        ("a/seg.m4s", "video/iso.segment"),
        ("a/original/cam.mp4", "video/mp4"),
        ("a/manifest.mpd", "application/dash+xml"),
        ("a/thumbs.vtt", "text/vtt"),
        ("a/poster.jpg", "image/jpeg"),
        ("a/blob.unknownext", "application/octet-stream"),
    ],
)
def test_content_types(key, expected):
    assert content_type_for(key) == expected


def test_part_size_stays_in_range():
    assert part_size_for(10 * MIB, 16) == 16 * MIB
    assert part_size_for(100 * 1024 * MIB, 16) == 16 * MIB
    assert 16 * MIB < part_size_for(300 * 1024 * MIB, 16) <= 64 * MIB
    with pytest.raises(StorageError):
        part_size_for(700 * 1024 * MIB, 16)
