"""Replays made from angle clips: a labelled mosaic of every angle, and a cut sequence across
angles with an optional slow-motion range.

Angle clips are cut from synchronized cameras for one time range of the event clock, so they
share their start instant, duration and frame rate; frame ``n`` of every clip shows the same
moment. Each function here builds one ffmpeg filter graph and runs it in one process.

:mod:`.mosaic` and :mod:`.sequence` each build one kind of replay; :mod:`.common` holds what
they (and the sweep) share: fitting a picture into a box, frame counts, audio under a clip and
the encoding arguments.
"""

from __future__ import annotations

from transcode.replay.compose.common import (
    AUDIO_RATE,
    MAX_ANGLES,
    Angle,
    ComposedClip,
    Fit,
    Interpolation,
    ReplayEncoding,
    clip_audio,
    encode_args,
    fit_filters,
    fit_inside,
    frame_count,
    frames_at,
    samples_for,
)
from transcode.replay.compose.mosaic import Grid, MosaicPlan, grid_for, mosaic, mosaic_args
from transcode.replay.compose.sequence import (
    MAX_SLOW_FACTOR,
    SequenceCut,
    SequencePiece,
    SlowMotion,
    plan_sequence,
    sequence,
    sequence_args,
)

__all__ = [
    "AUDIO_RATE",
    "MAX_ANGLES",
    "MAX_SLOW_FACTOR",
    "Angle",
    "ComposedClip",
    "Fit",
    "Grid",
    "Interpolation",
    "MosaicPlan",
    "ReplayEncoding",
    "SequenceCut",
    "SequencePiece",
    "SlowMotion",
    "clip_audio",
    "encode_args",
    "fit_filters",
    "fit_inside",
    "frame_count",
    "frames_at",
    "grid_for",
    "mosaic",
    "mosaic_args",
    "plan_sequence",
    "samples_for",
    "sequence",
    "sequence_args",
]
