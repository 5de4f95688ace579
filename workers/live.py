"""The live-segment job: a segment that just landed becomes its live renditions."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from catalog import keys, services
from catalog.models import RenditionSegment, utcnow
from infra.core.database import session_scope
from infra.core.metrics import LIVE_TIME_TO_PLAYABLE
from transcode.live import transcode_live_segment
from transcode.probe import probe
from workers.context import WorkerContext

log = logging.getLogger(__name__)


def run_live_segment(segment_id: str, ctx: WorkerContext) -> int:
    """Transcode segment ``segment_id`` to the live rungs; returns how many were added.

    Idempotent: rendition keys derive from the segment's key and rows are unique per
    (segment, rung), so a redelivered task adds nothing.
    """
    with session_scope(ctx.sessions) as session:
        segment = services.get_segment(segment_id, session=session)
        key, done = segment.key, {r.variant for r in segment.renditions}
        arrived = segment.created_at
    heights = tuple(ctx.settings.live.variants)
    if {f"{h}p" for h in heights} <= done:
        return 0
    with tempfile.TemporaryDirectory(prefix="vantage-live-") as scratch:
        source = Path(scratch) / ("segment" + Path(key).suffix)  # its container, by its name
        ctx.store.get_file(key, source)
        info = probe(source, verify=False)
        outputs = transcode_live_segment(
            ctx.ffmpeg, source, info, Path(scratch) / "out", heights, preset="veryfast"
        )
        rows = []
        for out in outputs:
            if out.rung.name in done:
                continue
            stored = ctx.store.put_file(out.path, keys.live_rendition_key(key, out.rung.name))
            rows.append(
                RenditionSegment(
                    segment_id=segment_id,
                    variant=out.rung.name,
                    key=stored.key,
                    width=out.rung.width,
                    height=out.rung.height,
                    bandwidth=out.rung.bandwidth,
                    size_bytes=stored.size_bytes,
                )
            )
    try:
        with session_scope(ctx.sessions) as session:
            session.add_all(rows)
    except IntegrityError:
        log.info("live segment %s already transcoded by another worker", segment_id)
        return 0
    if rows:
        LIVE_TIME_TO_PLAYABLE.observe((utcnow() - arrived).total_seconds())
    return len(rows)
