"""``vantage keys``, ``vantage broadcasters`` and ``vantage rights``: who may call the API, and
what each broadcaster may see and receive."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from catalog import tenants
from catalog.models import ApiKey, RightsGrant, Role, utcnow
from infra.core.database import session_scope
from infra.ops.cli.common import console, friendly, print_json, sessions

keys_app = typer.Typer(no_args_is_help=True, help="API keys: create (shown once), list, revoke.")
broadcasters_app = typer.Typer(no_args_is_help=True, help="Rights-holding broadcasters.")
rights_app = typer.Typer(no_args_is_help=True, help="What each broadcaster may use.")


def _key_row(key: ApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "prefix": key.prefix,
        "name": key.name,
        "role": key.role.value,
        "broadcaster_id": key.broadcaster_id,
        "scopes": key.scopes,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "last_used_at": key.last_used_at,
    }


@keys_app.command("create")
@friendly
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    role: Annotated[Role, typer.Option(help="admin, operator, editor or broadcaster.")] = (
        Role.BROADCASTER
    ),
    broadcaster: Annotated[
        str | None, typer.Option(help="The broadcaster (name or id), for broadcaster keys.")
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(help="Limit the key: read, deliver, order, webhooks (repeatable)."),
    ] = None,
    expires_days: Annotated[
        float | None, typer.Option(help="Expire the key after this many days.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Make an API key and print it. It is shown this once; only its hash is kept."""
    with session_scope(sessions()) as session:
        broadcaster_id = (
            tenants.get_broadcaster(broadcaster, session=session).id if broadcaster else None
        )
        expires = utcnow() + timedelta(days=expires_days) if expires_days else None
        key, secret = tenants.create_key(
            name,
            role,
            session=session,
            broadcaster_id=broadcaster_id,
            scopes=scope,
            expires_at=expires,
        )
        row = _key_row(key)
    if as_json:
        print_json({**row, "key": secret})
        return
    console.print(f"{role.value} key [bold]{name}[/bold] ({row['id']})")
    console.print(secret, highlight=False, soft_wrap=True)
    console.print("[dim]Keep it now: it cannot be shown again.[/dim]")


@keys_app.command("list")
@friendly
def keys_list(
    broadcaster: Annotated[str | None, typer.Option(help="Only this broadcaster's.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Keys and their state (never their secrets)."""
    with session_scope(sessions()) as session:
        broadcaster_id = (
            tenants.get_broadcaster(broadcaster, session=session).id if broadcaster else None
        )
        rows = [
            _key_row(k) for k in tenants.list_keys(session=session, broadcaster_id=broadcaster_id)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "prefix", "name", "role", "scopes", "state", "last used")
    for row in rows:
        state = "revoked" if row["revoked_at"] else "live"
        table.add_row(
            str(row["id"])[:8],
            str(row["prefix"]),
            str(row["name"]),
            str(row["role"]),
            ",".join(row["scopes"]),  # type: ignore[arg-type]
            state,
            str(row["last_used_at"] or "never"),
        )
    console.print(table)


@keys_app.command("revoke")
@friendly
def keys_revoke(key: Annotated[str, typer.Argument(help="Key id or prefix.")]) -> None:
    """Revoke a key: it and every media token issued to it stop working at once."""
    with session_scope(sessions()) as session:
        revoked = tenants.revoke_key(key, session=session)
        console.print(f"revoked {revoked.name} ({revoked.id})")


@broadcasters_app.command("add")
@friendly
def broadcasters_add(
    name: str,
    territory: Annotated[
        list[str], typer.Option(help="ISO 3166-1 alpha-2; repeat; the first is home.")
    ],
) -> None:
    """Register a rights-holding broadcaster."""
    with session_scope(sessions()) as session:
        row = tenants.create_broadcaster(name, territory, session=session)
        console.print(f"broadcaster {row.name} ({row.id}) in {', '.join(row.territories)}")


@broadcasters_app.command("list")
@friendly
def broadcasters_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    with session_scope(sessions()) as session:
        rows = [
            {"id": b.id, "name": b.name, "territories": b.territories}
            for b in tenants.list_broadcasters(session=session)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "territories")
    for row in rows:
        table.add_row(str(row["id"]), str(row["name"]), ", ".join(row["territories"]))
    console.print(table)


def _grant_row(grant: RightsGrant) -> dict[str, object]:
    return {
        "id": grant.id,
        "scope": grant.scope,
        "scope_value": grant.scope_value,
        "territories": ("all but " if grant.territories_excluded else "")
        + (", ".join(grant.territories) or "none"),
        "media": grant.media,
        "window": f"{grant.valid_from or '-'} .. {grant.valid_until or '-'}",
        "embargo": f"{grant.embargo_minutes:g} min after {grant.embargo_after}"
        if grant.embargo_minutes
        else "none",
        "exclusive": grant.exclusive,
        "quotas": {
            k: v
            for k, v in {
                "max_clip_s": grant.max_clip_s,
                "max_event_s": grant.max_event_s,
                "max_day_s": grant.max_day_s,
                "min_gap_s": grant.min_gap_s,
            }.items()
            if v is not None
        },
    }


@rights_app.command("grant")
@friendly
def rights_grant(
    broadcaster: Annotated[str, typer.Argument(help="Broadcaster name or id.")],
    scope: Annotated[str, typer.Option(help="all, sport, event, feed or asset.")] = "all",
    value: Annotated[
        str | None, typer.Option(help="The sport's name, or the event's/feed's/asset's id.")
    ] = None,
    territory: Annotated[
        list[str] | None, typer.Option(help="Territories granted (repeat).")
    ] = None,
    exclude: Annotated[
        bool, typer.Option(help="The territories are the ones left out (worldwide but them).")
    ] = False,
    media: Annotated[
        list[str] | None, typer.Option(help="live, clips, archive (repeat; default: all).")
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Start, ISO 8601.")] = None,
    until: Annotated[str | None, typer.Option(help="End, ISO 8601.")] = None,
    embargo_minutes: Annotated[float, typer.Option(help="Embargo length.")] = 0.0,
    embargo_after: Annotated[
        str, typer.Option(help="event (its end), moment (the action) or broadcast (their own).")
    ] = "event",
    exclusive: Annotated[bool, typer.Option(help="No one else may hold the same rights.")] = False,
    max_clip_s: Annotated[float | None, typer.Option(help="Longest single use, seconds.")] = None,
    max_event_s: Annotated[float | None, typer.Option(help="Seconds per event.")] = None,
    max_day_s: Annotated[float | None, typer.Option(help="Seconds per UTC day.")] = None,
    min_gap_s: Annotated[float | None, typer.Option(help="Seconds between uses.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Grant a broadcaster rights."""
    from datetime import datetime

    from infra.core.errors import BadRequest

    def when(text: str | None) -> datetime | None:
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise BadRequest(f"{text!r} is not an ISO 8601 time") from exc
        return moment if moment.tzinfo else moment.astimezone()

    terms = tenants.GrantTerms(
        scope=scope,
        scope_value=value,
        territories=tuple(territory or ()),
        territories_excluded=exclude,
        media=tuple(media or ("live", "clips", "archive")),
        valid_from=when(from_),
        valid_until=when(until),
        embargo_minutes=embargo_minutes,
        embargo_after=embargo_after,
        exclusive=exclusive,
        max_clip_s=max_clip_s,
        max_event_s=max_event_s,
        max_day_s=max_day_s,
        min_gap_s=min_gap_s,
    )
    with session_scope(sessions()) as session:
        found = tenants.get_broadcaster(broadcaster, session=session)
        row = _grant_row(tenants.grant_rights(found.id, terms, session=session))
    if as_json:
        print_json(row)
        return
    console.print(f"granted {found.name}: {row}")


@rights_app.command("list")
@friendly
def rights_list(
    broadcaster: Annotated[str, typer.Argument(help="Broadcaster name or id.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A broadcaster's grants."""
    with session_scope(sessions()) as session:
        found = tenants.get_broadcaster(broadcaster, session=session)
        rows = [_grant_row(g) for g in tenants.list_grants(found.id, session=session)]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "scope", "territories", "media", "window", "embargo", "quotas")
    for row in rows:
        table.add_row(
            str(row["id"])[:8],
            f"{row['scope']} {row['scope_value'] or ''}".strip(),
            str(row["territories"]),
            ",".join(row["media"]),  # type: ignore[arg-type]
            str(row["window"]),
            str(row["embargo"]),
            str(row["quotas"] or "-"),
        )
    console.print(table)


@rights_app.command("revoke")
@friendly
def rights_revoke(grant: Annotated[str, typer.Argument(help="Grant id.")]) -> None:
    """Withdraw a grant; it stops at the broadcaster's next request."""
    with session_scope(sessions()) as session:
        tenants.revoke_grant(grant, session=session)
    console.print(f"revoked grant {grant}")


search_app = typer.Typer(no_args_is_help=True, help="The catalog's full-text search.")


@search_app.command("reindex")
@friendly
def search_reindex() -> None:
    """Rebuild every search document from the catalog (after a restore or an upgrade)."""
    from catalog import search

    with session_scope(sessions()) as session:
        count = search.reindex_all(session=session)
    console.print(f"indexed {count} documents")


@search_app.command("query")
@friendly
def search_query(
    words: Annotated[str, typer.Argument(help="Words; each matches as a prefix.")],
    kind: Annotated[
        list[str] | None, typer.Option(help="event, feed, asset, marker, replay")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Search the whole catalog, as staff."""
    from dataclasses import asdict

    from catalog import search

    with session_scope(sessions()) as session:
        page = search.search(
            search.SearchQuery(text=words, kinds=tuple(kind or ()), limit=limit), session=session
        )
    if as_json:
        print_json({"hits": [asdict(h) for h in page.hits], "facets": page.facets})
        return
    table = Table("kind", "title", "clock", "id")
    for hit in page.hits:
        clock = (
            f"{hit.clock_start_s:.1f}-{hit.clock_end_s:.1f}s"
            if hit.clock_start_s is not None and hit.clock_end_s is not None
            else ""
        )
        table.add_row(hit.kind, hit.title, clock, hit.ref_id)
    console.print(table)
    console.print(f"[dim]{page.facets['kind']}[/dim]")
