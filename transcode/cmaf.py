"""Read CMAF (fragmented MP4) init and media segments: codec strings, timing and byte ranges.

A small ISO-BMFF box reader built on ``struct``, the only one in Vantage (split-and-stitch
moves decode times through it too). It reads only the boxes it needs (``moov`` and ``moof``), so
a media segment's sample data is never loaded, and never more than :data:`MAX_LOADED_BOX` bytes
of a box: a hostile file claiming a gigabyte ``moov`` is refused, not read. Every read is checked
against its box's end, so garbage and truncated boxes are a :class:`MediaError`, never a hang.

Over 600 lines on purpose: one subject, the boxes CMAF needs, each with its small reader;
the codec strings and timings are read with the same box walker.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from transcode.errors import MediaError

# Sample entries whose RFC 6381 codec string is the four-character code itself.
_PLAIN_CODECS = frozenset({"ac-3", "ec-3", "Opus", "fLaC"})
_AVC_ENTRIES = frozenset({"avc1", "avc3"})
_HEVC_ENTRIES = frozenset({"hvc1", "hev1"})
_ENCRYPTED_ENTRIES = frozenset({"encv", "enca"})

# Fixed fields before the child boxes of a visual and of an audio sample entry.
_VISUAL_ENTRY_FIELDS = 78
_AUDIO_ENTRY_FIELDS = 28
# QuickTime sound sample description versions 1 and 2 add fields after the ISO ones.
_AUDIO_ENTRY_EXTRA = {0: 0, 1: 16, 2: 36}

_SAMPLE_IS_NON_SYNC = 0x00010000

MAX_LOADED_BOX = 64 << 20
"""The largest ``moov`` or ``moof`` read into memory (a real one is kilobytes)."""

_TFHD_BASE_DATA_OFFSET = 0x000001
_TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002
_TFHD_DEFAULT_DURATION = 0x000008
_TFHD_DEFAULT_SIZE = 0x000010
_TFHD_DEFAULT_FLAGS = 0x000020
_TFHD_DEFAULT_BASE_IS_MOOF = 0x020000

_TRUN_DATA_OFFSET = 0x000001
_TRUN_FIRST_SAMPLE_FLAGS = 0x000004
_TRUN_DURATION = 0x000100
_TRUN_SIZE = 0x000200
_TRUN_FLAGS = 0x000400
_TRUN_COMPOSITION_OFFSET = 0x000800


@dataclass(frozen=True)
class TrackInit:
    """What a rendition's init segment says about its one track."""

    kind: Literal["video", "audio"]
    codec: str
    """RFC 6381 codec string, as HLS ``CODECS`` and DASH ``@codecs`` want it."""
    timescale: int
    """Ticks per second of every time in the track's segments (``mdhd``)."""
    width: int | None
    height: int | None
    channels: int | None
    sample_rate: int | None
    track_id: int
    default_sample_duration: int
    """From ``trex``: used when a segment's ``tfhd`` and ``trun`` give no durations."""
    default_sample_size: int
    default_sample_flags: int


@dataclass(frozen=True)
class SegmentInfo:
    """Timing and layout of one media segment, times in the track's timescale."""

    decode_time: int
    """``tfdt`` baseMediaDecodeTime of the first fragment."""
    duration: int
    samples: int
    size: int
    """Bytes in the file."""
    keyframe_bytes: tuple[int, int]
    """``(offset, length)``: from the start of the ``moof`` through the first sample's data."""
    starts_with_keyframe: bool
    """Whether the first sample is a sync sample (an IDR for video; every audio sample is one)."""


class _Malformed(Exception):
    """A box that cannot be read; turned into MediaError with the file's name."""


@dataclass(frozen=True)
class _Box:
    kind: str
    start: int
    """Offset of the box header in the buffer (in the file, for top-level boxes)."""
    body: int
    end: int


class _Cursor:
    """Big-endian reads from one box's body that refuse to run past its end."""

    def __init__(self, data: bytes, box: _Box, skip: int = 0) -> None:
        self.data = data
        self.kind = box.kind
        self.pos = box.body + skip
        self.end = box.end

    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > self.end:
            raise _Malformed(f"{self.kind} box is too short")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def uint(self, width: int) -> int:
        return int.from_bytes(self.take(width), "big")

    def int32(self) -> int:
        return int.from_bytes(self.take(4), "big", signed=True)

    def full_header(self) -> tuple[int, int]:
        """Version and flags of a full box."""
        version = self.uint(1)
        return version, self.uint(3)

    @property
    def left(self) -> int:
        return self.end - self.pos


def _box_header(header: bytes, start: int, limit: int) -> _Box:
    """Parse a box header read at ``start``; ``limit`` is where the parent ends."""
    if len(header) < 8:
        raise _Malformed(f"{len(header)} stray bytes at byte {start}")
    size, raw_kind = struct.unpack_from(">I4s", header)
    if not all(0x20 <= c < 0x7F for c in raw_kind):
        raise _Malformed(f"no box at byte {start}")
    kind = raw_kind.decode("ascii")
    length = 8
    if size == 1:
        if len(header) < 16:
            raise _Malformed(f"{kind} box at byte {start} is cut short")
        size = struct.unpack_from(">Q", header, 8)[0]
        length = 16
    elif size == 0:
        size = limit - start
    if kind == "uuid":
        length += 16
    if size < length:
        raise _Malformed(f"{kind} box at byte {start} has an impossible size {size}")
    if start + size > limit:
        raise _Malformed(
            f"{kind} box at byte {start} needs {size} bytes, only {limit - start} are there"
            " (truncated?)"
        )
    return _Box(kind, start, start + length, start + size)


def _children(data: bytes, start: int, end: int) -> list[_Box]:
    boxes = []
    pos = start
    while pos < end:
        box = _box_header(data[pos : min(pos + 32, end)], pos, end)
        boxes.append(box)
        pos = box.end
    return boxes


def _boxes_of(data: bytes, parent: _Box, skip: int = 0) -> list[_Box]:
    return _children(data, parent.body + skip, parent.end)


def _one(boxes: list[_Box], kind: str, where: str) -> _Box:
    found = [box for box in boxes if box.kind == kind]
    if not found:
        raise _Malformed(f"no {kind} box in {where}")
    return found[0]


def _top_level(handle: BinaryIO, size: int) -> list[_Box]:
    """The file's top-level boxes, read by header only (sample data is skipped)."""
    boxes = []
    pos = 0
    while pos < size:
        handle.seek(pos)
        try:
            box = _box_header(handle.read(32), pos, size)
        except _Malformed as exc:
            if pos == 0:
                raise _Malformed(f"not an ISO-BMFF (MP4) file: {exc}") from exc
            raise
        boxes.append(box)
        pos = box.end
    return boxes


def _load(handle: BinaryIO, box: _Box) -> tuple[bytes, _Box]:
    """A top-level box's bytes, with the box re-based so its header is at offset 0."""
    if box.end - box.start > MAX_LOADED_BOX:
        raise _Malformed(f"{box.kind} box at byte {box.start} is {box.end - box.start} bytes long")
    handle.seek(box.start)
    data = handle.read(box.end - box.start)
    if len(data) != box.end - box.start:
        raise _Malformed(f"{box.kind} box at byte {box.start} is cut short")
    return data, _Box(box.kind, 0, box.body - box.start, box.end - box.start)


def _open_boxes(path: Path) -> tuple[BinaryIO, int, list[_Box]]:
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except OSError as exc:
        raise MediaError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    if size == 0:
        handle.close()
        raise MediaError(f"{path.name}: file is empty")
    try:
        return handle, size, _top_level(handle, size)
    except _Malformed as exc:
        handle.close()
        raise MediaError(f"{path.name}: {exc}") from exc


# -- init segments ------------------------------------------------------------------------------


def read_init(path: Path) -> TrackInit:
    """Describe the one track of the CMAF init segment at ``path``.

    Reads the ``moov``: the handler (video or audio), the ``mdhd`` timescale, the sample entry and
    its config box (``avcC``, ``hvcC``, ``av1C`` or ``esds``) for the codec string, and the
    ``trex`` defaults. Raises :class:`MediaError` for anything that is not a readable init segment
    with exactly one video or audio track.
    """
    handle, _, top = _open_boxes(path)
    with handle:
        try:
            moov = next((box for box in top if box.kind == "moov"), None)
            if moov is None:
                raise _Malformed("no moov box: not an init segment")
            data, moov = _load(handle, moov)
            return _parse_moov(data, moov)
        except _Malformed as exc:
            raise MediaError(f"{path.name}: {exc}") from exc


def _parse_moov(data: bytes, moov: _Box) -> TrackInit:
    children = _boxes_of(data, moov)
    traks = [box for box in children if box.kind == "trak"]
    if len(traks) != 1:
        raise _Malformed(f"{len(traks)} tracks; a CMAF init segment carries exactly one")
    mvex = next((box for box in children if box.kind == "mvex"), None)
    if mvex is None:
        raise _Malformed("no mvex box: not a fragmented MP4 init segment")
    trak = _boxes_of(data, traks[0])
    track_id = _track_id(data, _one(trak, "tkhd", "trak"))
    mdia = _boxes_of(data, _one(trak, "mdia", "trak"))
    timescale = _timescale(data, _one(mdia, "mdhd", "mdia"))
    handler = _Cursor(data, _one(mdia, "hdlr", "mdia"), skip=8).take(4)
    stbl = _one(_boxes_of(data, _one(mdia, "minf", "mdia")), "stbl", "minf")
    stsd = _one(_boxes_of(data, stbl), "stsd", "stbl")
    entries = _boxes_of(data, stsd, skip=8)
    if not entries:
        raise _Malformed("stsd box has no sample entry")
    entry = entries[0]
    trex = [_trex(data, box) for box in _boxes_of(data, mvex) if box.kind == "trex"]
    defaults = next((values for values in trex if values[0] == track_id), None)
    if defaults is None:
        raise _Malformed(f"no trex box for track {track_id}")
    _, default_duration, default_size, default_flags = defaults
    if handler == b"vide":
        width, height, codec = _visual_entry(data, entry)
        return TrackInit(
            kind="video",
            codec=codec,
            timescale=timescale,
            width=width,
            height=height,
            channels=None,
            sample_rate=None,
            track_id=track_id,
            default_sample_duration=default_duration,
            default_sample_size=default_size,
            default_sample_flags=default_flags,
        )
    if handler == b"soun":
        channels, sample_rate, codec = _audio_entry(data, entry)
        return TrackInit(
            kind="audio",
            codec=codec,
            timescale=timescale,
            width=None,
            height=None,
            channels=channels,
            sample_rate=sample_rate or timescale,
            track_id=track_id,
            default_sample_duration=default_duration,
            default_sample_size=default_size,
            default_sample_flags=default_flags,
        )
    raise _Malformed(f"track handler {handler.decode('latin-1')!r} is neither video nor audio")


def _track_id(data: bytes, tkhd: _Box) -> int:
    cursor = _Cursor(data, tkhd)
    version, _ = cursor.full_header()
    cursor.take(16 if version == 1 else 8)
    return cursor.uint(4)


def _timescale(data: bytes, mdhd: _Box) -> int:
    cursor = _Cursor(data, mdhd)
    version, _ = cursor.full_header()
    cursor.take(16 if version == 1 else 8)
    timescale = cursor.uint(4)
    if timescale == 0:
        raise _Malformed("mdhd timescale is zero")
    return timescale


def _trex(data: bytes, trex: _Box) -> tuple[int, int, int, int]:
    cursor = _Cursor(data, trex)
    cursor.full_header()
    track_id = cursor.uint(4)
    cursor.uint(4)  # default sample description index
    return track_id, cursor.uint(4), cursor.uint(4), cursor.uint(4)


def _entry_format(data: bytes, entry: _Box, fields: int) -> str:
    """The codec four-character code, looking through encryption to the original format."""
    if entry.kind not in _ENCRYPTED_ENTRIES:
        return entry.kind
    sinf = _one(_children(data, entry.body + fields, entry.end), "sinf", entry.kind)
    frma = _one(_boxes_of(data, sinf), "frma", "sinf")
    return _Cursor(data, frma).take(4).decode("latin-1")


def _visual_entry(data: bytes, entry: _Box) -> tuple[int, int, str]:
    cursor = _Cursor(data, entry, skip=24)
    width, height = cursor.uint(2), cursor.uint(2)
    fourcc = _entry_format(data, entry, _VISUAL_ENTRY_FIELDS)
    if entry.end - entry.body < _VISUAL_ENTRY_FIELDS:
        raise _Malformed(f"{entry.kind} sample entry is too short")
    configs = {
        box.kind: box for box in _children(data, entry.body + _VISUAL_ENTRY_FIELDS, entry.end)
    }
    if fourcc in _AVC_ENTRIES:
        return width, height, _avc_codec(data, fourcc, configs)
    if fourcc in _HEVC_ENTRIES:
        return width, height, _hevc_codec(data, fourcc, configs)
    if fourcc == "av01":
        return width, height, _av1_codec(data, configs)
    raise _Malformed(f"unsupported video sample entry {fourcc!r}")


def _config(configs: dict[str, _Box], kind: str, fourcc: str) -> _Box:
    if kind not in configs:
        raise _Malformed(f"{fourcc} sample entry has no {kind} box")
    return configs[kind]


def _avc_codec(data: bytes, fourcc: str, configs: dict[str, _Box]) -> str:
    cursor = _Cursor(data, _config(configs, "avcC", fourcc))
    if cursor.uint(1) != 1:
        raise _Malformed("avcC configuration version is not 1")
    profile, compatibility, level = cursor.take(3)
    return f"{fourcc}.{profile:02x}{compatibility:02x}{level:02x}"


def _hevc_codec(data: bytes, fourcc: str, configs: dict[str, _Box]) -> str:
    cursor = _Cursor(data, _config(configs, "hvcC", fourcc))
    if cursor.uint(1) != 1:
        raise _Malformed("hvcC configuration version is not 1")
    first = cursor.uint(1)
    profile_space, tier, profile_idc = first >> 6, (first >> 5) & 1, first & 0x1F
    compatibility = cursor.uint(4)
    constraints = cursor.take(6).rstrip(b"\x00")
    level = cursor.uint(1)
    # ISO/IEC 14496-15 annex E: the compatibility flags are written with their bits reversed.
    reversed_flags = int(f"{compatibility:032b}"[::-1], 2)
    parts = [
        fourcc,
        ("", "A", "B", "C")[profile_space] + str(profile_idc),
        f"{reversed_flags:X}",
        ("L", "H")[tier] + str(level),
        *(f"{byte:02X}" for byte in constraints),
    ]
    return ".".join(parts)


def _av1_codec(data: bytes, configs: dict[str, _Box]) -> str:
    cursor = _Cursor(data, _config(configs, "av1C", "av01"))
    marker_version = cursor.uint(1)
    if marker_version != 0x81:
        raise _Malformed("av1C marker or version is wrong")
    second, third = cursor.uint(1), cursor.uint(1)
    profile, level = second >> 5, second & 0x1F
    tier = "H" if third & 0x80 else "M"
    high_bitdepth, twelve_bit = bool(third & 0x40), bool(third & 0x20)
    bitdepth = (12 if twelve_bit else 10) if high_bitdepth else 8
    return f"av01.{profile}.{level:02d}{tier}.{bitdepth:02d}"


def _audio_entry(data: bytes, entry: _Box) -> tuple[int, int, str]:
    cursor = _Cursor(data, entry, skip=8)
    version = cursor.uint(2)
    cursor.take(6)
    channels = cursor.uint(2)
    cursor.take(6)
    sample_rate = cursor.uint(4) >> 16
    if version not in _AUDIO_ENTRY_EXTRA:
        raise _Malformed(f"audio sample entry version {version} is unknown")
    fields = _AUDIO_ENTRY_FIELDS + _AUDIO_ENTRY_EXTRA[version]
    if entry.end - entry.body < fields:
        raise _Malformed(f"{entry.kind} sample entry is too short")
    fourcc = _entry_format(data, entry, fields)
    if fourcc in _PLAIN_CODECS:
        return channels, sample_rate, fourcc
    if fourcc != "mp4a":
        raise _Malformed(f"unsupported audio sample entry {fourcc!r}")
    configs = {box.kind: box for box in _children(data, entry.body + fields, entry.end)}
    return channels, sample_rate, _mp4a_codec(data, _config(configs, "esds", fourcc))


def _descriptor(cursor: _Cursor) -> tuple[int, int]:
    """Tag and end position of the MPEG-4 descriptor at the cursor."""
    tag = cursor.uint(1)
    length = 0
    for _ in range(4):
        byte = cursor.uint(1)
        length = (length << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    end = cursor.pos + length
    if end > cursor.end:
        raise _Malformed(f"descriptor 0x{tag:02x} in esds runs past the box")
    return tag, end


def _find_descriptor(cursor: _Cursor, wanted: int, end: int) -> int | None:
    """Move the cursor into the first ``wanted`` descriptor before ``end``; its end or None."""
    while cursor.pos < end:
        tag, tag_end = _descriptor(cursor)
        if tag == wanted:
            return tag_end
        cursor.pos = tag_end
    return None


def _mp4a_codec(data: bytes, esds: _Box) -> str:
    cursor = _Cursor(data, esds)
    cursor.full_header()
    es_end = _find_descriptor(cursor, 0x03, cursor.end)
    if es_end is None:
        raise _Malformed("esds box has no ES descriptor")
    cursor.uint(2)  # ES_ID
    es_flags = cursor.uint(1)
    if es_flags & 0x80:
        cursor.uint(2)  # dependsOn_ES_ID
    if es_flags & 0x40:
        cursor.take(cursor.uint(1))  # URL
    if es_flags & 0x20:
        cursor.uint(2)  # OCR_ES_Id
    config_end = _find_descriptor(cursor, 0x04, es_end)
    if config_end is None:
        raise _Malformed("esds box has no decoder config descriptor")
    object_type = cursor.uint(1)
    cursor.take(12)  # stream type, buffer size, max and average bit rate
    if object_type != 0x40:
        return f"mp4a.{object_type:02x}"
    audio_object_type = 2
    info_end = _find_descriptor(cursor, 0x05, config_end)
    if info_end is not None and info_end - cursor.pos >= 1:
        # AudioSpecificConfig: 5 bits of audio object type, 31 escapes to 32 + the next 6 bits.
        head = int.from_bytes(cursor.take(min(2, info_end - cursor.pos)).ljust(2, b"\x00"), "big")
        audio_object_type = head >> 11
        if audio_object_type == 31:
            audio_object_type = 32 + ((head >> 5) & 0x3F)
    return f"mp4a.40.{audio_object_type}"


# -- media segments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fragment:
    """One track's part of one moof. Durations and positions are None where the boxes are silent."""

    track_id: int
    decode_time: int | None
    duration: int | None
    samples: int
    first_sample: tuple[int, int] | None
    """Offset in the file and size of the first sample's data."""
    first_sample_flags: int | None
    data_end: int | None


@dataclass(frozen=True)
class _Defaults:
    base: int | None
    duration: int | None
    size: int | None
    flags: int | None


@dataclass(frozen=True)
class _Run:
    duration: int | None
    size: int | None
    first_size: int | None
    first_flags: int | None


def read_segment(path: Path, init: TrackInit | None = None) -> SegmentInfo:
    """Describe the CMAF media segment at ``path``.

    Sums the sample durations of every ``moof`` in the file (from ``trun``, else the ``tfhd``
    defaults, else the ``trex`` defaults of ``init``) and finds the bytes an I-frame playlist
    points at: the first ``moof`` through the end of its first sample. With ``init`` the fragments
    of its track are read; without it the segment must carry a single track. Raises
    :class:`MediaError` for garbage, truncated or incomplete segments.
    """
    handle, size, top = _open_boxes(path)
    with handle:
        try:
            moofs = [box for box in top if box.kind == "moof"]
            if not moofs:
                raise _Malformed("no moof box: not a media segment")
            fragments = []
            for moof in moofs:
                data, local = _load(handle, moof)
                fragments.append(_parse_moof(data, local, moof.start, init))
            return _summarize(fragments, moofs, top, size)
        except _Malformed as exc:
            raise MediaError(f"{path.name}: {exc}") from exc


def decode_time_fields(data: bytes) -> list[tuple[int, int]]:
    """Where the decode time of every fragment of the media segment ``data`` is written: the
    offset of each ``tfdt`` value and its width in bytes (4 or 8). Raises :class:`MediaError`
    for garbage or truncated boxes, or a segment without a decode time."""
    fields = []
    try:
        for moof in (box for box in _children(data, 0, len(data)) if box.kind == "moof"):
            for traf in (box for box in _boxes_of(data, moof) if box.kind == "traf"):
                for tfdt in (box for box in _boxes_of(data, traf) if box.kind == "tfdt"):
                    cursor = _Cursor(data, tfdt)
                    version, _ = cursor.full_header()
                    width = 8 if version == 1 else 4
                    fields.append((cursor.pos, width))
                    cursor.take(width)  # refuses a tfdt too short for its value
    except _Malformed as exc:
        raise MediaError(f"not a readable CMAF media segment: {exc}") from exc
    if not fields:
        raise MediaError("not a CMAF media segment: no fragment decode time (tfdt) found")
    return fields


def _summarize(
    fragments: list[_Fragment], moofs: list[_Box], top: list[_Box], size: int
) -> SegmentInfo:
    durations = [fragment.duration for fragment in fragments]
    if None in durations:
        raise _Malformed("sample durations are not in the segment; pass its init segment")
    duration = sum(value or 0 for value in durations)
    decode_time = fragments[0].decode_time
    if decode_time is None:
        raise _Malformed("no tfdt box: the segment's decode time is unknown")
    index, first = next(
        ((i, fragment) for i, fragment in enumerate(fragments) if fragment.samples), (0, None)
    )
    if first is None or duration <= 0:
        raise _Malformed("segment holds no samples")
    if first.first_sample is None:
        raise _Malformed("the first sample's size or position is unknown; pass the init segment")
    start, length = first.first_sample
    mdats = [box for box in top if box.kind == "mdat"]
    if not any(mdat.body <= start and start + length <= mdat.end for mdat in mdats):
        raise _Malformed("the first sample's data is not inside an mdat box")
    moof_start = moofs[index].start
    flags = first.first_sample_flags
    return SegmentInfo(
        decode_time=decode_time,
        duration=duration,
        samples=sum(fragment.samples for fragment in fragments),
        size=size,
        keyframe_bytes=(moof_start, start + length - moof_start),
        starts_with_keyframe=flags is not None and not flags & _SAMPLE_IS_NON_SYNC,
    )


def _parse_moof(data: bytes, moof: _Box, moof_start: int, init: TrackInit | None) -> _Fragment:
    """The fragment of ``init``'s track (or of the only track) in one moof."""
    trafs = [box for box in _boxes_of(data, moof) if box.kind == "traf"]
    if not trafs:
        raise _Malformed("moof box has no traf box")
    # Without a base offset of its own, a traf's data starts at the moof (the first traf) or
    # where the previous traf's data ended (ISO/IEC 14496-12, 8.8.7).
    implicit_base: int | None = moof_start
    fragments = []
    for traf in trafs:
        fragment = _parse_traf(data, traf, moof_start, implicit_base, init)
        fragments.append(fragment)
        implicit_base = fragment.data_end
    if init is not None:
        wanted = [fragment for fragment in fragments if fragment.track_id == init.track_id]
        if not wanted:
            raise _Malformed(f"moof box has no traf for track {init.track_id}")
        return wanted[0]
    if len({fragment.track_id for fragment in fragments}) != 1:
        raise _Malformed("segment carries several tracks; pass the init segment to pick one")
    return fragments[0]


def _parse_traf(
    data: bytes, traf: _Box, moof_start: int, implicit_base: int | None, init: TrackInit | None
) -> _Fragment:
    children = _boxes_of(data, traf)
    track_id, defaults = _tfhd(data, _one(children, "tfhd", "traf"), moof_start)
    if init is not None and track_id == init.track_id:
        defaults = _Defaults(
            base=defaults.base,
            duration=_either(defaults.duration, init.default_sample_duration),
            size=_either(defaults.size, init.default_sample_size),
            flags=_either(defaults.flags, init.default_sample_flags),
        )
    base = _either(defaults.base, implicit_base)
    tfdt = next((box for box in children if box.kind == "tfdt"), None)
    decode_time = None
    if tfdt is not None:
        cursor = _Cursor(data, tfdt)
        version, _ = cursor.full_header()
        decode_time = cursor.uint(8 if version == 1 else 4)
    duration: int | None = 0
    samples = 0
    first_sample: tuple[int, int] | None = None
    first_flags: int | None = None
    position = base
    for trun in (box for box in children if box.kind == "trun"):
        cursor = _Cursor(data, trun)
        _, flags = cursor.full_header()
        count = cursor.uint(4)
        if flags & _TRUN_DATA_OFFSET:
            offset = cursor.int32()
            position = None if base is None else base + offset
        first_sample_flags = cursor.uint(4) if flags & _TRUN_FIRST_SAMPLE_FLAGS else None
        run = _trun(cursor, flags, count, defaults)
        if count and not samples:
            first_flags = _either(first_sample_flags, run.first_flags)
            if position is not None and run.first_size is not None:
                first_sample = (position, run.first_size)
        samples += count
        duration = None if duration is None or run.duration is None else duration + run.duration
        position = None if position is None or run.size is None else position + run.size
    return _Fragment(
        track_id=track_id,
        decode_time=decode_time,
        duration=duration,
        samples=samples,
        first_sample=first_sample,
        first_sample_flags=first_flags,
        data_end=position,
    )


def _either(value: int | None, fallback: int | None) -> int | None:
    return fallback if value is None else value


def _tfhd(data: bytes, box: _Box, moof_start: int) -> tuple[int, _Defaults]:
    cursor = _Cursor(data, box)
    _, flags = cursor.full_header()
    track_id = cursor.uint(4)
    base: int | None = None
    if flags & _TFHD_BASE_DATA_OFFSET:
        base = cursor.uint(8)
    elif flags & _TFHD_DEFAULT_BASE_IS_MOOF:
        base = moof_start
    if flags & _TFHD_SAMPLE_DESCRIPTION_INDEX:
        cursor.uint(4)
    return track_id, _Defaults(
        base=base,
        duration=cursor.uint(4) if flags & _TFHD_DEFAULT_DURATION else None,
        size=cursor.uint(4) if flags & _TFHD_DEFAULT_SIZE else None,
        flags=cursor.uint(4) if flags & _TFHD_DEFAULT_FLAGS else None,
    )


def _trun(cursor: _Cursor, flags: int, count: int, defaults: _Defaults) -> _Run:
    """Totals of one ``trun``'s samples, filling what it leaves out from ``defaults``."""
    fields = [
        bit
        for bit in (_TRUN_DURATION, _TRUN_SIZE, _TRUN_FLAGS, _TRUN_COMPOSITION_OFFSET)
        if flags & bit
    ]
    width = 4 * len(fields)
    if count * width > cursor.left:
        raise _Malformed(f"trun box lists {count} samples but is too short for them")
    if not count:
        return _Run(duration=0, size=0, first_size=None, first_flags=None)
    columns: dict[int, list[int]] = {bit: [] for bit in fields}
    if fields:
        records = struct.Struct(">" + "I" * len(fields)).iter_unpack(cursor.take(count * width))
        for record in records:
            for bit, value in zip(fields, record, strict=True):
                columns[bit].append(value)

    def total(bit: int, default: int | None) -> tuple[int | None, int | None]:
        if bit in columns:
            return sum(columns[bit]), columns[bit][0]
        return (None, None) if default is None else (default * count, default)

    duration, _ = total(_TRUN_DURATION, defaults.duration)
    size, first_size = total(_TRUN_SIZE, defaults.size)
    first_flags = columns[_TRUN_FLAGS][0] if _TRUN_FLAGS in columns else defaults.flags
    return _Run(duration=duration, size=size, first_size=first_size, first_flags=first_flags)
