"""``vantage doctor``: check every part and say how to fix what fails."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from catalog.migrate import current_revision, head_revision
from infra.core.database import make_engine
from infra.core.errors import VantageError
from infra.core.queue import broker_ping
from infra.core.settings import Settings
from infra.core.storage import ObjectStore
from transcode.capabilities import CAPABILITIES, ffmpeg_features
from transcode.errors import FFmpegError
from transcode.ffmpeg import find_ffmpeg


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def check_ffmpeg(settings: Settings) -> Check:
    try:
        binary = find_ffmpeg(settings.media.ffmpeg)
        encoders = subprocess.run(
            [binary, "-hide_banner", "-encoders"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("ffmpeg", False, str(exc), "pip install imageio-ffmpeg, or put ffmpeg on PATH")
    missing = [name for name in ("libx264", "aac") if f" {name} " not in encoders]
    if missing:
        return Check(
            "ffmpeg",
            False,
            f"{binary} lacks {', '.join(missing)}",
            "use a build with libx264 and aac (the imageio-ffmpeg wheel has both)",
        )
    return Check("ffmpeg", True, f"{binary} (libx264, aac)")


def check_ffmpeg_features(settings: Settings) -> Check:
    """Every encoder, filter, muxer and protocol a profile or job uses, and what breaks
    without each one that is missing."""
    try:
        features = ffmpeg_features(find_ffmpeg(settings.media.ffmpeg))
    except FFmpegError as exc:
        return Check("ffmpeg features", False, exc.detail, "put a working ffmpeg on PATH")
    missing = features.missing()
    if missing:
        detail = "; ".join(f"no {c.name} {c.kind}: breaks {c.needed_by}" for c in missing)
        fix = "use an ffmpeg build with these (the imageio-ffmpeg wheel >= 0.8 has them all)"
        return Check("ffmpeg features", False, detail, fix)
    return Check("ffmpeg features", True, f"all {len(CAPABILITIES)} that profiles and jobs use")


def check_storage(settings: Settings) -> Check:
    store = ObjectStore(settings.storage)
    try:
        store.check()
    except VantageError as exc:
        fix = "run `vantage up` (embedded) or check VANTAGE_STORAGE__*; then `vantage init`"
        return Check("storage", False, exc.detail, fix)
    return Check(
        "storage", True, f"bucket {settings.storage.bucket} at {settings.storage.endpoint_url}"
    )


def check_broker(settings: Settings) -> Check:
    try:
        broker_ping(settings)
    except Exception as exc:  # noqa: BLE001 - the doctor reports whatever went wrong
        return Check(
            "broker",
            False,
            f"{type(exc).__name__}: {exc}",
            "run `vantage up` (embedded Redis) or check VANTAGE_BROKER__URL",
        )
    return Check("broker", True, settings.broker.url.split("@")[-1])


def check_database(settings: Settings) -> Check:
    try:
        engine = make_engine(settings.database_url)
        current = current_revision(engine)
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - the doctor reports whatever went wrong
        return Check(
            "database", False, f"{type(exc).__name__}: {exc}", "check VANTAGE_DATABASE__URL"
        )
    head = head_revision()
    if current != head:
        return Check(
            "migrations", False, f"at {current}, code expects {head}", "run `vantage init`"
        )
    return Check("migrations", True, f"at {head} on {engine.dialect.name}")


def check_keys(settings: Settings) -> Check:
    """Every API call needs a key; an admin key makes the others over the API."""
    from sqlalchemy import func, select

    from catalog.models import ApiKey, Role

    try:
        engine = make_engine(settings.database_url)
        with engine.connect() as connection:
            admins = connection.scalar(
                select(func.count())
                .select_from(ApiKey)
                .where(ApiKey.role == Role.ADMIN, ApiKey.revoked_at.is_(None))
            )
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - the doctor reports whatever went wrong
        return Check("api keys", False, f"{type(exc).__name__}: {exc}", "run `vantage init`")
    if not admins:
        # Not a failure: the CLI works without keys, and it is how the first one is made.
        detail = "no live admin key yet: `vantage keys create --name ops --role admin`"
        return Check("api keys", True, detail)
    return Check("api keys", True, f"{admins} live admin key(s)")


def run_checks(settings: Settings) -> list[Check]:
    checks = [
        check_ffmpeg(settings),
        check_ffmpeg_features(settings),
        check_storage(settings),
        check_broker(settings),
        check_database(settings),
    ]
    if checks[-1].ok:
        checks.append(check_keys(settings))
    return checks
