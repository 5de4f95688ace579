"""Watch folders and watched bucket prefixes."""

import shutil
from pathlib import PurePosixPath

import pytest

from catalog import services
from infra.core.database import session_scope
from ingest.watch import Watcher, feed_for, is_candidate

pytestmark = pytest.mark.integration


def test_feed_names_and_candidates():
    assert feed_for(PurePosixPath("cam3/clip.mp4")) == "cam3"
    assert feed_for(PurePosixPath("cam3_0001.mp4")) == "cam3"
    assert feed_for(PurePosixPath("highlights.mp4")) is None
    assert not is_candidate(PurePosixPath(".done/cam1/a.mp4"))
    assert not is_candidate(PurePosixPath("cam1/a.mp4.part"))
    assert is_candidate(PurePosixPath("cam1/a.MOV"))


def test_a_watch_folder_ingests_each_drop_once(
    embedded, sessions, store, camera_clip, bad_files, tmp_path
):
    with session_scope(sessions) as session:
        event_id = services.create_event("Watched folder", session=session).id
    drops = tmp_path / "drops"
    (drops / "cam2").mkdir(parents=True)
    shutil.copy(camera_clip, drops / "cam1_take1.mp4")
    shutil.copy(camera_clip, drops / "cam2" / "wide.mp4")
    shutil.copy(bad_files["not_media"], drops / "cam3_broken.mp4")
    watcher = Watcher(event_id, embedded, sessions, store)
    assert watcher.scan_folder(drops) == []  # first sight: maybe still copying
    outcomes = watcher.scan_folder(drops)
    assert sorted((o.feed, o.ok) for o in outcomes) == [
        ("cam1", True),
        ("cam2", True),
        ("cam3", False),
    ]
    assert watcher.scan_folder(drops) == []
    assert (drops / ".done" / "cam1_take1.mp4").exists()
    assert (drops / ".done" / "cam2" / "wide.mp4").exists()
    reason = (drops / ".failed" / "cam3_broken.mp4.reason.txt").read_text()
    assert "not readable media" in reason
    with session_scope(sessions) as session:
        names = [f.name for f in services.get_event(event_id, session=session, detail=True).feeds]
    assert names == ["cam1", "cam2"]


def test_a_watched_bucket_prefix_ingests_and_removes_drops(
    embedded, sessions, store, camera_clip, bad_files
):
    with session_scope(sessions) as session:
        event_id = services.create_event("Watched bucket", session=session).id
    store.put_file(camera_clip, "incoming/cam1/take.mp4")
    store.put_file(bad_files["not_media"], "incoming/cam2/notes.mp4")
    watcher = Watcher(event_id, embedded, sessions, store)
    assert watcher.scan_prefix("incoming/") == []
    outcomes = watcher.scan_prefix("incoming/")
    assert sorted((o.feed, o.ok) for o in outcomes) == [("cam1", True), ("cam2", False)]
    assert sorted(store.list_keys("incoming/")) == [
        "incoming/.failed/cam2/notes.mp4",
        "incoming/.failed/cam2/notes.mp4.reason.txt",
    ]
    assert watcher.scan_prefix("incoming/") == []
