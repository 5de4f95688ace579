"""Backing up and restoring an installation: a consistent snapshot of the catalog and a manifest
of every object in the bucket.

A backup is a folder: ``catalog.sqlite`` (SQLite's online backup API, consistent while the API
and workers write) or ``catalog.pgdump`` (``pg_dump``'s custom format, one transaction), then
``objects.jsonl`` (each key with its size and ETag; the catalog holds the SHA-256s) and
``backup.json`` saying what was taken and when. Objects themselves stay in the bucket: S3 stores
replicate and version them (the manifest says what the catalog expects to find there, and
``vantage storage verify`` checks it).

Restore brings a catalog back into an *empty* database only, so it never merges into or
overwrites a live one.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from catalog.migrate import current_revision
from infra.core.database import make_engine
from infra.core.errors import BadRequest, Conflict
from infra.core.settings import Settings
from infra.core.storage import ObjectStore

SQLITE_FILE = "catalog.sqlite"
POSTGRES_FILE = "catalog.pgdump"
OBJECTS_FILE = "objects.jsonl"
SUMMARY_FILE = "backup.json"


@dataclass(frozen=True)
class BackupSummary:
    folder: Path
    dialect: str
    revision: str | None
    objects: int
    object_bytes: int
    created_at: str


def create_backup(settings: Settings, folder: Path, store: ObjectStore) -> BackupSummary:
    """Write a catalog snapshot and the bucket's manifest into ``folder`` (new or empty)."""
    if folder.exists() and any(folder.iterdir()):
        raise Conflict(f"{folder} is not empty; back up into a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    url = make_url(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    if url.get_backend_name() == "sqlite":
        _sqlite_copy(Path(url.database or ""), folder / SQLITE_FILE)
    else:
        argv = ["pg_dump", "--format=custom", "--no-owner", f"--file={folder / POSTGRES_FILE}"]
        schema = catalog_schema(settings.database_url)
        if schema:
            argv.append(f"--schema={schema}")
        _run([*argv, _libpq(settings.database_url)])
    count = total = 0
    with (folder / OBJECTS_FILE).open("w") as manifest:
        for item in store.list_objects(""):
            manifest.write(json.dumps(item, sort_keys=True) + "\n")
            count += 1
            total += int(item["size_bytes"])
    summary = BackupSummary(
        folder=folder,
        dialect=url.get_backend_name(),
        revision=revision,
        objects=count,
        object_bytes=total,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    (folder / SUMMARY_FILE).write_text(
        json.dumps(
            {
                "dialect": summary.dialect,
                "revision": summary.revision,
                "objects": summary.objects,
                "object_bytes": summary.object_bytes,
                "created_at": summary.created_at,
                "bucket": store.bucket,
            },
            indent=2,
        )
        + "\n"
    )
    return summary


def restore_backup(settings: Settings, folder: Path) -> BackupSummary:
    """Bring the catalog in ``folder`` back into the configured database, which must be empty."""
    try:
        meta = json.loads((folder / SUMMARY_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise BadRequest(f"{folder} holds no Vantage backup ({SUMMARY_FILE}: {exc})") from exc
    url = make_url(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise Conflict(
            f"the database already holds {len(tables)} tables; restore only into an empty one"
        )
    dialect = url.get_backend_name()
    if dialect != meta["dialect"]:
        raise BadRequest(f"this backup is of a {meta['dialect']} catalog, not {dialect}")
    if dialect == "sqlite":
        _sqlite_copy(folder / SQLITE_FILE, Path(url.database or ""))
    else:
        target = f"--dbname={_libpq(settings.database_url)}"
        _run(["pg_restore", "--no-owner", "--exit-on-error", target, str(folder / POSTGRES_FILE)])
    return BackupSummary(
        folder=folder,
        dialect=dialect,
        revision=meta.get("revision"),
        objects=int(meta.get("objects", 0)),
        object_bytes=int(meta.get("object_bytes", 0)),
        created_at=str(meta.get("created_at")),
    )


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API (pages copied under a read transaction)."""
    if not source.exists():
        raise BadRequest(f"no SQLite catalog at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


def catalog_schema(url: str) -> str | None:
    """The schema a PostgreSQL catalog lives in when its URL chooses one
    (``?options=-csearch_path=name``), so a backup takes that schema only."""
    options = make_url(url).query.get("options")
    text = options if isinstance(options, str) else " ".join(options or ())
    for part in text.split():
        if part.startswith("-csearch_path="):
            return part.split("=", 1)[1].split(",")[0] or None
    return None


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as libpq (pg_dump, pg_restore) reads it, its options left out (they
    are server settings for a session, which the tools do not need)."""
    plain = make_url(url).set(drivername="postgresql").difference_update_query(["options"])
    return plain.render_as_string(hide_password=False)


def _run(argv: list[str]) -> None:
    tool = shutil.which(argv[0])
    if tool is None:
        raise BadRequest(f"{argv[0]} is not installed (PostgreSQL's client tools)")
    done = subprocess.run([tool, *argv[1:]], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BadRequest(f"{argv[0]} failed: {done.stderr.strip()[-500:]}")
