"""The ladder job: an asset's original becomes an ABR ladder under its encoding profile.

Short files are encoded in one ffmpeg process on this worker (:mod:`.single`). Long ones are
split into GOP-aligned chunks encoded in parallel across workers and stitched without re-encoding
(:mod:`.chunked`). Either way the plan comes from :mod:`.plan`, the manifests are written from the
segments, uploaded after them (:mod:`workers.publish`), and recorded with the renditions in one
transaction (:mod:`.record`).
"""

from __future__ import annotations

from workers.ladder.single import run_ladder_job

__all__ = [
    "run_ladder_job",
]
