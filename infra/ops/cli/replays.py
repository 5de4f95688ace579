"""``vantage replay`` and ``vantage markers``: multi-angle replays from the command line."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from catalog import replays as replay_service
from catalog import services
from catalog.models import ReplayKind
from infra.core.database import session_scope
from infra.ops.cli.common import console, friendly, print_json, sessions, settings, store
from infra.ops.cli.progress import wait_for_jobs

markers_app = typer.Typer(no_args_is_help=True, help="Moments of an event worth replaying.")


@friendly
def replay(
    event: Annotated[str, typer.Argument(help="Event name.")],
    kind: Annotated[ReplayKind, typer.Option(help="angles, mosaic, sequence or sweep.")] = (
        ReplayKind.ANGLES
    ),
    start: Annotated[float | None, typer.Option(help="Event-clock start, seconds.")] = None,
    end: Annotated[float | None, typer.Option(help="Event-clock end, seconds.")] = None,
    marker: Annotated[str | None, typer.Option(help="A marker id instead of start/end.")] = None,
    before: Annotated[float, typer.Option(help="With --marker: seconds before it.")] = 5.0,
    after: Annotated[float, typer.Option(help="With --marker: seconds after it.")] = 5.0,
    feeds: Annotated[
        str | None, typer.Option(help="Feed names, comma-separated (default: all).")
    ] = None,
    options: Annotated[
        str | None, typer.Option(help="Kind options as JSON, e.g. '{\"duration_s\": 3}'.")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait, with a progress bar.")] = True,
) -> None:
    """Order a replay of a moment from every angle (or the ones named) and print its outputs."""
    config = settings()
    factory = sessions(config)
    with session_scope(factory) as session:
        found = services.get_event_by_name(event, session=session)
        feed_ids = None
        if feeds:
            feed_ids = [
                services.get_feed_by_name(found, name.strip(), session=session).id
                for name in feeds.split(",")
            ]
        order = replay_service.ReplayOrder(
            event_id=found.id,
            kind=kind,
            start_s=start,
            end_s=end,
            marker_id=marker,
            before_s=before,
            after_s=after,
            feed_ids=feed_ids,
            options=_options(options),
        )
        placed = replay_service.place_order(
            order, session=session, max_attempts=config.jobs.max_attempts, limits=config.replays
        )
        replay_id, job_id = placed.id, placed.job_id
    assert job_id is not None
    from infra.core.queue import JOB_TASKS, send_job

    send_job(config, JOB_TASKS["replay"], job_id)
    console.print(f"replay {replay_id} ordered (job {job_id})")
    if not wait:
        return
    ok = wait_for_jobs(factory, [job_id], timeout_s=1800)
    objects = store(config)
    with session_scope(factory) as session:
        made = replay_service.get_replay(replay_id, session=session)
        table = Table("output", "frames", "first frame", "last frame", "url")
        for item in made.outputs or []:
            table.add_row(
                item["name"],
                str(item["frames"]),
                str(item.get("first_frame", "")),
                str(item.get("last_frame", "")),
                objects.presigned_get(item["key"], filename=item["name"]),
            )
        console.print(table)
        if made.package_key:
            url = objects.presigned_get(made.package_key, filename=f"replay-{replay_id}.zip")
            console.print(f"package: {url}")
    if not ok:
        raise typer.Exit(1)


def _options(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--options is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise typer.BadParameter("--options must be a JSON object")
    return value


@markers_app.command("add")
@friendly
def markers_add(
    event: Annotated[str, typer.Argument(help="Event name.")],
    at: Annotated[float, typer.Option(help="Event-clock time, seconds.")],
    label: Annotated[str, typer.Option()],
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeat for more).")] = None,
    athlete: Annotated[list[str] | None, typer.Option(help="An athlete (repeat).")] = None,
) -> None:
    """Mark a moment of the event (the API also runs the event's auto-replay rules)."""
    with session_scope(sessions()) as session:
        found = services.get_event_by_name(event, session=session)
        marker = replay_service.add_marker(
            found.id, at, label, session=session, tags=tag or [], athletes=athlete or []
        )
        console.print(f"marker {marker.id} at {at:.3f} s: {label}")


@markers_app.command("list")
@friendly
def markers_list(
    event: Annotated[str, typer.Argument(help="Event name.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The event's markers in event-clock order."""
    with session_scope(sessions()) as session:
        found = services.get_event_by_name(event, session=session)
        rows: list[dict[str, Any]] = [
            {"id": m.id, "clock_s": m.clock_s, "label": m.label, "tags": list(m.tags)}
            for m in replay_service.list_markers(found.id, session=session)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("marker", "at", "label", "tags")
    for row in rows:
        table.add_row(row["id"][:8], f"{row['clock_s']:.3f}s", row["label"], ", ".join(row["tags"]))
    console.print(table)
