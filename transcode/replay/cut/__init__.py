"""Frame-accurate angle cuts: one camera's recording, one time range of the event clock, one clip.

A recording is an ordered list of :class:`Piece` objects: one for a file recording (its original
MP4 or MOV), many for a live recording (2 s MPEG-TS segments, each starting on a keyframe, back to
back or with gaps). A frame's event-clock time is its piece's ``clock_start_s`` plus its
presentation time after the piece's first video frame.

**Which frames.** :class:`CutRequest` ``(start_s, end_s)`` takes the frames whose event-clock time
lies in ``[start_s - half a frame, end_s - half a frame)``: the first frame is the first one at or
after ``start_s - half a frame``, the last is the last one before ``end_s - half a frame``. So a
request on frame times gives exactly ``(end_s - start_s) * frame rate`` frames, and a time a little
off a frame still picks the nearest one.

**Smart cut.** Only the pieces overlapping the range are read, and only their packets are looked at
(PyAV, no decode) to find the keyframes. Whole GOPs inside the range are stream-copied; the head
(from the first wanted frame to the next keyframe) and the tail (from the last keyframe in the range
to the last wanted frame) are re-encoded with libx264 at the source's profile, level, size, pixel
format, colour tags and frame rate, and at the bitrate the source spends on those very frames (plus
one keyframe, which a re-encoded part must start with). The head and tail run side by side, with
the audio. A range that holds no whole GOP is re-encoded whole. A source that is not H.264 (HEVC,
say) or is interlaced is re-encoded whole, as H.264: only H.264 parts can be joined to H.264
parts, and field coding is not mixed with frame coding.

**The join.** Every part is read as H.264 Annex B with its parameter sets in band (the re-encoded
parts come from ffmpeg as MPEG-TS; copied MP4 packets are rewritten from length-prefixed to start
codes, and each copied keyframe gets its piece's SPS and PPS when it has none), then muxed by PyAV
into one MP4 with ``+faststart``. Each part's frames are given new timestamps in presentation
order, one frame apart from 0; decode timestamps are one frame apart too, shifted by the largest
reordering depth of any part, so they rise strictly across the joins even where the parts' B-frame
layouts differ. Nothing is decoded or re-encoded in the join. The clip is then checked: the
expected number of frames, evenly spaced from 0.

**Audio.** When the pieces have audio, the audio under the chosen frames is re-encoded as AAC by
one ffmpeg run and muxed in: each stretch is trimmed by the file's own timestamps, padded with
silence where a piece has none. Live pieces that continue one stream are read as one input, since
the audio under a segment's last frames is stored in the next segment.

**Gaps.** Frames are what the pieces hold: a range across a gap between pieces gives a clip with
the gap closed up, and :attr:`AngleCut.missing_frames` says how many frame slots the gap held.

**Frame numbers.** :attr:`AngleCut.first_source_frame` and ``last_source_frame`` are frame slots on
the recording's clock, counted from the start of piece 0: ``round((time - pieces[0].clock_start_s)
* frame_rate)``. For back-to-back pieces that is the frame's index in the whole recording; across a
gap it counts the frames the gap would have held. No piece before the range is read to know it.

One subject per module: :mod:`.frames` (which frames a request takes), :mod:`.index` (a
piece's packets and keyframes, without decoding), :mod:`.annexb` (H.264 bitstream rewriting),
:mod:`.encode` (x264 and AAC arguments for the re-encoded parts), :mod:`.render` (the parts,
run side by side), :mod:`.join` (the MP4 the parts become) and :mod:`.angle` (the entry points).
"""

from __future__ import annotations

from transcode.replay.cut.angle import cut_angle, naive_cut
from transcode.replay.cut.annexb import parameter_sets, to_annexb, with_parameter_sets
from transcode.replay.cut.encode import PRESET, AudioChunk, VideoSpec, audio_args, encode_args
from transcode.replay.cut.frames import (
    AngleCut,
    CutRequest,
    Piece,
    choose_frames,
    frame_window,
    snap_frame_rate,
)
from transcode.replay.cut.join import reorder_depth

__all__ = [
    "PRESET",
    "AngleCut",
    "AudioChunk",
    "CutRequest",
    "Piece",
    "VideoSpec",
    "audio_args",
    "choose_frames",
    "cut_angle",
    "encode_args",
    "frame_window",
    "naive_cut",
    "parameter_sets",
    "reorder_depth",
    "snap_frame_rate",
    "to_annexb",
    "with_parameter_sets",
]
