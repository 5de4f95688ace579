"""Backup and restore on the real stack, through the operator's commands: back up, lose the
catalog, restore it into an empty database and the API serves the same events and their
playlists play; an object deleted behind the catalog's back is named by ``storage verify``,
and ``--repair`` removes orphans only."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urljoin

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from api.app import create_app
from catalog import services
from catalog.models import Job, utcnow
from infra.core.database import make_engine, session_scope
from infra.core.settings import DatabaseSettings
from ingest.files import FeedFile, ingest_files
from tests import staff
from tests.conftest import RUN_ID
from tests.workers.test_pipeline import vantage, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def event(embedded, sessions, store, worker, api_url, camera_clip):
    """One camera, laddered by the real worker."""
    with session_scope(sessions) as session:
        event_id = services.create_event(f"Backup heat {RUN_ID}", session=session).id
    [outcome] = ingest_files(
        event_id, [FeedFile("cam1", camera_clip)], settings=embedded, sessions=sessions, store=store
    )
    [job] = wait_for(sessions, [outcome.ladder_job_id])
    assert job.status.value == "succeeded", job.error
    # And whatever the ladder led to (proxy, sprites, QC): the catalog stands still after.
    with session_scope(sessions) as session:
        follow_ups = session.scalars(select(Job.id).where(Job.asset_id == outcome.asset_id)).all()
    wait_for(sessions, list(follow_ups))
    return event_id


@pytest.fixture
def empty_catalog(embedded, tmp_path):
    """Settings whose catalog is a new, empty database of the same kind."""
    url = make_url(embedded.database_url)
    if url.get_backend_name() == "sqlite":
        yield embedded.model_copy(
            update={"database": DatabaseSettings(url=f"sqlite:///{tmp_path / 'restored.db'}")}
        )
        return
    name = f"vantage_restore_{RUN_ID}"
    admin = make_engine(url.set(query={}).render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    restored = url.set(database=name).render_as_string(hide_password=False)
    try:
        yield embedded.model_copy(update={"database": DatabaseSettings(url=restored)})
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def first_uri(playlist: str, base: str) -> str:
    line = next(x for x in playlist.splitlines() if x and not x.startswith("#"))
    return urljoin(base, line)


def without_signatures(value):
    """An API answer with its signed URLs reduced to their paths (tokens differ per answer)."""
    if isinstance(value, dict):
        return {k: without_signatures(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_signatures(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return value.split("?", 1)[0]
    return value


def test_back_up_lose_the_catalog_restore_and_the_api_serves_the_same(
    embedded, event, api_url, admin_key, empty_catalog, tmp_path
):
    before = staff.get(f"{api_url}/v1/events/{event}").json()
    folder = tmp_path / "backup"
    made = vantage(embedded, "backup", "create", str(folder))
    assert made.returncode == 0, made.stderr
    summary = json.loads((folder / "backup.json").read_text())
    manifest = [json.loads(line) for line in (folder / "objects.jsonl").read_text().splitlines()]
    assert summary["objects"] == len(manifest) > 0
    [asset] = before["feeds"][0]["assets"]
    assert any(item["key"].endswith("/hls/master.m3u8") for item in manifest)
    # A backup never lands on another: the folder must be new.
    assert vantage(embedded, "backup", "create", str(folder)).returncode != 0

    restored = vantage(empty_catalog, "backup", "restore", str(folder))
    assert restored.returncode == 0, restored.stderr
    # Restoring over a catalog that holds anything is refused.
    again = vantage(empty_catalog, "backup", "restore", str(folder))
    assert again.returncode != 0 and "empty" in again.stderr

    app = create_app(empty_catalog)
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        after = client.get(f"/v1/events/{event}").json()
        assert without_signatures(after) == without_signatures(before)
        [restored_asset] = after["feeds"][0]["assets"]
        master = client.get(restored_asset["playlist_url"])
        assert master.status_code == 200
        variant = first_uri(master.text, restored_asset["playlist_url"])
        rung = client.get(variant)
        assert rung.status_code == 200
        segment = first_uri(rung.text, variant)
        fetched = client.get(segment, follow_redirects=False)
        if fetched.is_redirect:  # segments are served from the store, by a signed URL
            fetched = httpx.get(fetched.headers["location"], timeout=30)
        assert fetched.status_code == 200 and len(fetched.content) > 1000
    app.state.engine.dispose()
    assert asset["id"] == restored_asset["id"]


def test_storage_verify_names_a_lost_object_and_repairs_only_orphans(
    embedded, event, store, sessions
):
    clean = vantage(embedded, "storage", "verify", "--event", event, "--json")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert json.loads(clean.stdout)["checked"] >= 1

    with session_scope(sessions) as session:
        [asset] = services.get_event(event, session=session, detail=True).feeds[0].assets
        lost = asset.poster_key
        prefix = asset.original_key.rsplit("/original/", 1)[0].rsplit("/assets/", 1)[0]
    assert lost
    store.delete([lost])
    orphan = f"{prefix}/assets/00000000-dead-beef-0000-000000000000/hls/stray.ts"
    store.put_bytes(b"left behind by a crash", orphan)
    # An upload a killed process never finished: its parts take space until aborted.
    half = f"{prefix}/assets/00000000-dead-beef-0000-000000000000/original/half.mxf"
    started = store._client.create_multipart_upload(Bucket=store.bucket, Key=half)
    store._client.upload_part(
        Bucket=store.bucket, Key=half, UploadId=started["UploadId"], PartNumber=1, Body=b"x" * 1024
    )
    verify = ["storage", "verify", "--event", event, "--json", "--unfinished-hours", "0"]

    found = vantage(embedded, *verify)
    assert found.returncode == 1
    report = json.loads(found.stdout)
    assert report["missing"] == [lost] and report["orphans"] == [orphan]
    assert report["unfinished_uploads"] == [half]

    repaired = vantage(embedded, *verify, "--repair")
    report = json.loads(repaired.stdout)
    assert report["removed"] == 1 and not store.exists(orphan)
    assert report["aborted"] == 1
    assert store.unfinished_uploads(prefix, started_before=utcnow() + timedelta(hours=1)) == []
    assert repaired.returncode == 1  # the lost poster is still lost: reported, never forgotten
    assert report["missing"] == [lost]
