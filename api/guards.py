"""Guards as dependencies: the row a route works on, already checked against its caller.

A route that takes ``asset: VisibleAsset`` gets the asset its path's ``asset_id`` names, if the
caller may see it (else a 404, as if it did not exist); ``MediaAsset`` also accepts a media token,
which opens only the asset it was issued for. ``allow_asset`` then enforces the caller's rights
on one use of it (streaming, a download), with the audit trail.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.auth import CallerDep, MediaCallerDep, check_bound, enforce
from api.deps import SessionDep
from catalog import access, services
from catalog.models import Asset, AssetStatus, Event
from catalog.rights import Media


def visible_asset(asset_id: str, caller: access.Caller, session: SessionDep) -> Asset:
    """The asset, if the caller may see it; else 404, as if it did not exist."""
    return services.get_asset(asset_id, session=session, visible=caller.assets())


def media_of(asset: Asset) -> Media:
    """What using an asset counts as: live while it records, archive once recorded."""
    return Media.LIVE if asset.status is AssetStatus.RECORDING else Media.ARCHIVE


def allow_asset(
    caller: access.Caller,
    asset: Asset,
    action: str,
    *,
    request: Request,
    session: SessionDep,
    media: Media | None = None,
    seconds: float | None = None,
    record: bool = True,
) -> None:
    """Enforce the caller's rights on one use of an asset (403/404 when refused). A request
    made with a media token is checked again but not audited: the token's issue was; with
    ``record`` false (stills shown beside search results) nothing is audited either."""
    event = session.get(Event, asset.event_id)
    assert event is not None
    use = access.Use(
        action=action,
        media=media or media_of(asset),
        subject_kind="asset",
        subject_id=asset.id,
        seconds=seconds,
        event_id=asset.event_id,
        asset_id=asset.id,
    )
    subject = caller.asset_subject(asset, event)
    enforce(
        caller,
        use,
        [subject],
        request=request,
        session=session,
        missing=f"no asset with id {asset.id}",
        # A stream is audited once, when its token is issued (a request made with the key);
        # its playlists and segments, fetched with the token, are decided again, not recorded.
        record=record and caller.principal.bound_asset is None,
    )


def _visible(asset_id: str, caller: CallerDep, session: SessionDep) -> Asset:
    return visible_asset(asset_id, caller, session)


def _media(asset_id: str, caller: MediaCallerDep, session: SessionDep) -> Asset:
    check_bound(caller, asset_id, f"media for asset {asset_id}")
    return visible_asset(asset_id, caller, session)


VisibleAsset = Annotated[Asset, Depends(_visible)]
"""The path's asset, for a caller with an API key who may see it."""
MediaAsset = Annotated[Asset, Depends(_media)]
"""The path's asset, for a caller with an API key (and the deliver scope) or its media token."""
