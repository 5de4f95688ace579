"""``vantage backup`` and ``vantage storage``: a catalog snapshot with the bucket's manifest,
its restore into an empty database, and the check that bucket and catalog agree."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from infra.ops.cli.common import console, err_console, friendly, print_json, sessions, settings
from infra.ops.cli.common import store as object_store

backup_app = typer.Typer(no_args_is_help=True, help="Back up and restore the catalog.")
storage_app = typer.Typer(no_args_is_help=True, help="The object store against the catalog.")


@backup_app.command("create")
@friendly
def backup_create(
    path: Annotated[Path, typer.Argument(help="A new (or empty) folder for the backup.")],
) -> None:
    """Snapshot the catalog consistently and list every object with its checksum."""
    from infra.ops.backup import create_backup

    summary = create_backup(settings(), path, object_store())
    console.print(
        f"backed up the {summary.dialect} catalog (revision {summary.revision}) and a manifest "
        f"of {summary.objects} objects ({summary.object_bytes / 1e6:.1f} MB) into {path}"
    )


@backup_app.command("restore")
@friendly
def backup_restore(
    path: Annotated[Path, typer.Argument(help="A folder written by `vantage backup create`.")],
) -> None:
    """Bring a backed-up catalog into the configured, empty database."""
    from infra.ops.backup import restore_backup

    summary = restore_backup(settings(), path)
    console.print(
        f"restored the catalog of {summary.created_at} (revision {summary.revision}); "
        "run `vantage storage verify` to check the bucket against it"
    )


@storage_app.command("verify")
@friendly
def storage_verify(
    repair: Annotated[
        bool, typer.Option(help="Remove orphans (never anything the catalog names).")
    ] = False,
    sample: Annotated[
        int, typer.Option(min=0, help="How many recorded checksums to re-read.")
    ] = 20,
    event: Annotated[str | None, typer.Option(help="Only this event's objects.")] = None,
    unfinished_hours: Annotated[
        float, typer.Option(min=0, help="Multipart uploads older than this are stale.")
    ] = 24.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Missing objects, orphans and a checksum sample; exit 1 when bucket and catalog disagree."""
    from infra.core.database import session_scope
    from infra.ops.verify import verify_storage

    with session_scope(sessions()) as session:
        found = verify_storage(
            session, object_store(), sample=sample, repair=repair, event_id=event,
            unfinished_after=timedelta(hours=unfinished_hours),
        )  # fmt: skip
    if as_json:
        print_json({
            "ok": found.ok, "objects": found.objects, "referenced": found.referenced,
            "missing": found.missing, "orphans": found.orphans, "corrupt": found.corrupt,
            "checked": found.checked, "removed": found.removed,
            "unfinished_uploads": found.unfinished, "aborted": found.aborted,
        })  # fmt: skip
    else:
        console.print(
            f"{found.objects} objects, {found.referenced} named by the catalog, "
            f"{found.checked} checksums re-read"
        )
        for title, keys in (("missing", found.missing), ("orphan", found.orphans),
                            ("corrupt", found.corrupt)):  # fmt: skip
            for key in keys:
                err_console.print(f"{title}: {key}")
        for key in found.unfinished:
            err_console.print(f"unfinished upload: {key}")
        if found.removed or found.aborted:
            console.print(f"removed {found.removed} orphans, aborted {found.aborted} uploads")
    # Repaired orphans are gone; what is missing or corrupt is still wrong.
    leftovers = (found.orphans or found.unfinished) and not repair
    if found.missing or found.corrupt or leftovers:
        raise typer.Exit(1)
