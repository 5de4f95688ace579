"""What a finished ladder leaves in the catalog: the rendition rows, the manifests' keys, the
poster and the loudness; and the cleanup after a final failure."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from catalog import access, services, states
from catalog.models import Rendition, utcnow
from transcode.ladder import LadderPlan
from transcode.manifests import IFRAME_PLAYLIST, MEDIA_PLAYLIST, Track
from transcode.probe import MediaInfo
from transcode.profiles import Profile
from workers.runner import Record, notify_after_commit


def cmaf_renditions(
    prefix: str,
    plan: LadderPlan,
    videos: Sequence[Track],
    audio: Track | None,
    profile: Profile,
) -> list[Rendition]:
    by_name = {rung.name: rung for rung in plan.rungs}
    rows = []
    for video in videos:
        rung = by_name[video.name]
        rows.append(
            Rendition(
                name=video.name,
                kind="video",
                width=video.init.width,
                height=video.init.height,
                video_kbps=rung.video_kbps,
                audio_kbps=plan.audio.kbps if plan.audio else None,
                codecs=",".join([video.init.codec] + ([audio.init.codec] if audio else [])),
                frame_rate=str(plan.frame_rate),
                bandwidth=video.peak_bandwidth + (audio.peak_bandwidth if audio else 0),
                average_bandwidth=video.average_bandwidth
                + (audio.average_bandwidth if audio else 0),
                playlist_key=f"{prefix}{video.name}/{MEDIA_PLAYLIST}",
                iframe_playlist_key=(
                    f"{prefix}{video.name}/{IFRAME_PLAYLIST}"
                    if profile.packaging.iframe_playlists
                    else None
                ),
                segment_count=len(video.segments),
                size_bytes=sum(segment.size for _, segment in video.segments),
            )
        )
    if audio is not None:
        rows.append(
            Rendition(
                name=audio.name,
                kind="audio",
                audio_kbps=plan.audio.kbps if plan.audio else None,
                codecs=audio.init.codec,
                bandwidth=audio.peak_bandwidth,
                average_bandwidth=audio.average_bandwidth,
                playlist_key=f"{prefix}{audio.name}/{MEDIA_PLAYLIST}",
                segment_count=len(audio.segments),
                size_bytes=sum(segment.size for _, segment in audio.segments),
            )
        )
    return rows


def record_ladder(
    asset_id: str,
    renditions: list[Rendition],
    master: str,
    dash: str | None,
    poster_key: str | None,
    profile: Profile,
    info: MediaInfo | None,
    loudness: dict[str, object] | None,
) -> Record:
    def record(session: Session) -> None:
        asset = services.get_asset(asset_id, session=session)
        services.replace_renditions(asset, renditions, session=session)
        asset.master_playlist_key = master
        asset.dash_manifest_key = dash
        asset.profile = profile.name
        if info is not None and info.video is not None:
            asset.interlaced = info.video.interlaced
        if poster_key and not asset.poster_key:
            asset.poster_key = poster_key
        if loudness is not None:
            asset.loudness = {k: v for k, v in loudness.items() if k != "filter"}
        first_time = states.publish_asset(asset)
        if first_time:
            payload = {
                "asset_id": asset.id,
                "event_id": asset.event_id,
                "feed_id": asset.feed_id,
                "filename": asset.filename,
                "duration_s": asset.duration_s,
            }
            notify_after_commit(
                session,
                access.notify_in_rights(
                    "asset.new", payload, session=session, now=utcnow(), asset_id=asset.id
                ),
            )

    return record


def codecs_by_playlist(master: str) -> dict[str, str]:
    """Map each variant URI of a master playlist to its CODECS attribute."""
    codecs: dict[str, str] = {}
    pending = ""
    for line in master.splitlines():
        if line.startswith("#EXT-X-STREAM-INF:"):
            marker = 'CODECS="'
            start = line.find(marker)
            pending = (
                line[start + len(marker) : line.index('"', start + len(marker))]
                if start >= 0
                else ""
            )
        elif line and not line.startswith("#"):
            codecs[line.strip()] = pending
    return codecs
