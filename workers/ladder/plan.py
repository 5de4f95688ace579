"""What a ladder job will make: the profile, the measured loudness and its filter, the plan, and
whether the file is long enough to be split into chunks."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from catalog import keys
from infra.core.settings import Settings
from transcode.errors import MediaError
from transcode.ffmpeg import HTTP_PROTOCOLS
from transcode.ladder import LadderPlan, plan_from_profile
from transcode.loudness import LoudnessTarget, measure_loudness, normalise_filter
from transcode.probe import MediaInfo, demuxer_for
from transcode.profiles import Profile, load_profile
from workers.context import WorkerContext
from workers.runner import JobRun


def resolve_profile(settings: Settings, name: str | None) -> Profile:
    return load_profile(name or settings.media.profile, settings.media.profiles_dir)


def ladder_prefix(run: JobRun) -> str:
    return keys.hls_prefix(run.event_id, run.feed_id, run.asset_id)


def plan_ladder(
    info: MediaInfo, profile: Profile, loudness: dict[str, object] | None
) -> LadderPlan:
    chain = loudness.get("filter") if loudness else None
    return plan_from_profile(
        info, profile, loudness_filter=chain if isinstance(chain, str) else None
    )


def measured_loudness(
    ctx: WorkerContext, source: Path | str, info: MediaInfo, profile: Profile
) -> dict[str, object] | None:
    """The first loudness pass when the profile asks for normalisation: what was measured, the
    target, and the second pass's filter; a silent track is left as it is, and says so."""
    if profile.audio.loudness_lufs is None or info.audio is None:
        return None
    target = LoudnessTarget(profile.audio.loudness_lufs, profile.audio.true_peak_dbtp)
    try:
        measured = measure_loudness(
            ctx.ffmpeg,
            source,
            target,
            timeout_s=ctx.settings.media.transcode_timeout_s,
            protocols=HTTP_PROTOCOLS,
            demuxer=demuxer_for(info.path.name),
        )
    except MediaError as exc:
        return {"target_lufs": target.integrated_lufs, "skipped": exc.detail}
    return {
        "target_lufs": target.integrated_lufs,
        "target_true_peak_dbtp": target.true_peak_dbtp,
        "measured": asdict(measured),
        "filter": normalise_filter(measured, target),
    }


def wants_chunks(
    settings: Settings, plan: LadderPlan, info: MediaInfo, options: dict[str, object]
) -> bool:
    """Split-and-stitch for CMAF ladders of long files, unless the job asks otherwise."""
    forced = options.get("chunked")
    if isinstance(forced, bool):
        return forced and plan.segments == "cmaf" and bool(plan.rungs)
    return (
        plan.segments == "cmaf"
        and bool(plan.rungs)
        and info.duration_s >= max(settings.media.chunk_min_s, 2 * settings.media.chunk_seconds)
    )
