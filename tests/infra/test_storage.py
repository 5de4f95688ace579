"""A real S3 round trip against SeaweedFS (or whatever VANTAGE_TEST_* points at)."""

import hashlib
import os

import httpx
import pytest

from infra.core.errors import ChecksumMismatch, NotFound
from infra.core.settings import MIB
from infra.core.storage import UNFINISHED_UPLOADS_RULE

pytestmark = pytest.mark.integration


def test_multipart_round_trip_keeps_the_checksum(store, tmp_path):
    source = tmp_path / "big.ts"
    source.write_bytes(os.urandom(17 * MIB + 123))  # two parts at 16 MiB
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    stored = store.put_file(source, "tests/round-trip/big.ts")
    assert stored.sha256 == expected
    head = store.head("tests/round-trip/big.ts")
    assert (head.size_bytes, head.sha256, head.content_type) == (
        17 * MIB + 123,
        expected,
        "video/mp2t",
    )
    back = store.get_file("tests/round-trip/big.ts", tmp_path / "back.ts")
    assert back.sha256 == expected
    assert (tmp_path / "back.ts").read_bytes() == source.read_bytes()


def test_list_presign_and_delete(store):
    for name in ("a.m3u8", "b.jpg"):
        store.put_bytes(
            b"#EXTM3U\n" if name.endswith("m3u8") else b"\xff\xd8jpg", f"tests/list/{name}"
        )
    assert list(store.list_keys("tests/list/")) == ["tests/list/a.m3u8", "tests/list/b.jpg"]
    url = store.presigned_get("tests/list/a.m3u8", expires_s=60)
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.content == b"#EXTM3U\n"
    assert answer.headers["content-type"] == "application/vnd.apple.mpegurl"
    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert httpx.get(tampered).status_code == 403
    assert store.delete_prefix("tests/list/") == 2
    with pytest.raises(NotFound):
        store.head("tests/list/a.m3u8")


def test_a_changed_object_is_caught_on_download(store, tmp_path):
    store.put_bytes(b"original bytes", "tests/tamper/x.mp4")
    # Someone overwrites the bytes but keeps the recorded checksum.
    recorded = store.head("tests/tamper/x.mp4").sha256
    store._client.put_object(
        Bucket=store.bucket,
        Key="tests/tamper/x.mp4",
        Body=b"other bytes",
        Metadata={"sha256": recorded},
    )
    with pytest.raises(ChecksumMismatch):
        store.get_file("tests/tamper/x.mp4", tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_unfinished_uploads_expire_by_a_rule_kept_beside_the_operators(store):
    client = store._client
    operators = {
        "ID": "operator-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
        "Expiration": {"Days": 7},
    }  # fmt: skip
    client.put_bucket_lifecycle_configuration(
        Bucket=store.bucket, LifecycleConfiguration={"Rules": [operators]}
    )
    try:
        assert store.expire_unfinished_uploads(2) is True
        assert store.expire_unfinished_uploads(3) is True  # replaced, never doubled
        rules = client.get_bucket_lifecycle_configuration(Bucket=store.bucket)["Rules"]
        by_id = {rule["ID"]: rule for rule in rules}
        assert sorted(by_id) == ["operator-tmp", UNFINISHED_UPLOADS_RULE]
        assert by_id["operator-tmp"]["Expiration"] == {"Days": 7}
        ours = by_id[UNFINISHED_UPLOADS_RULE]
        assert ours["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 3}
    finally:
        client.delete_bucket_lifecycle(Bucket=store.bucket)
        assert store.expire_unfinished_uploads(2) is True  # as `vantage init` leaves it
