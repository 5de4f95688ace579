"""H.264 bitstream rewriting: length-prefixed MP4 packets to Annex B start codes, and the
parameter sets a copied keyframe needs in band."""

from __future__ import annotations

from transcode.errors import MediaError

_NAL_SPS, _NAL_PPS, _NAL_AUD = 7, 8, 9


_START_CODE = b"\x00\x00\x00\x01"


def length_size_of(extradata: bytes) -> int | None:
    """NAL length size of an ``avcC`` record; ``None`` for Annex B extradata (or none)."""
    if len(extradata) >= 7 and extradata[0] == 1:
        return (extradata[4] & 3) + 1
    return None


def parameter_sets(extradata: bytes) -> bytes:
    """The SPS and PPS of H.264 extradata (``avcC`` or Annex B), as Annex B."""
    if length_size_of(extradata) is None:
        return b"".join(
            _START_CODE + unit
            for unit in _annexb_units(extradata)
            if unit and unit[0] & 0x1F in (_NAL_SPS, _NAL_PPS)
        )
    units: list[bytes] = []
    pos = 5
    for mask in (0x1F, 0xFF):  # the SPS list, then the PPS list
        if pos >= len(extradata):
            break
        count = extradata[pos] & mask
        pos += 1
        for _ in range(count):
            size = int.from_bytes(extradata[pos : pos + 2], "big")
            units.append(extradata[pos + 2 : pos + 2 + size])
            pos += 2 + size
    return b"".join(_START_CODE + unit for unit in units)


def _annexb_units(data: bytes) -> list[bytes]:
    """The NAL units of Annex B ``data``, without start codes."""
    starts = []
    pos = data.find(b"\x00\x00\x01")
    while pos >= 0:
        starts.append(pos + 3)
        pos = data.find(b"\x00\x00\x01", pos + 3)
    units = []
    for i, start in enumerate(starts):
        end = starts[i + 1] - 3 if i + 1 < len(starts) else len(data)
        units.append(data[start:end].rstrip(b"\x00") if i + 1 < len(starts) else data[start:end])
    return units


def to_annexb(data: bytes, nal_length_size: int) -> bytes:
    """Length-prefixed (MP4) H.264 ``data`` with start codes instead of lengths."""
    out = bytearray()
    pos = 0
    while pos + nal_length_size <= len(data):
        size = int.from_bytes(data[pos : pos + nal_length_size], "big")
        pos += nal_length_size
        if size <= 0 or pos + size > len(data):
            raise MediaError("damaged H.264 packet: a NAL unit runs past its packet")
        out += _START_CODE + data[pos : pos + size]
        pos += size
    return bytes(out)


def with_parameter_sets(data: bytes, sets: bytes) -> bytes:
    """Annex B keyframe ``data`` with ``sets`` (SPS and PPS) in front, after any access unit
    delimiter, unless it carries an SPS already."""
    units = _annexb_units(data)
    if not sets or any(unit and unit[0] & 0x1F == _NAL_SPS for unit in units):
        return data
    if units and units[0] and units[0][0] & 0x1F == _NAL_AUD:
        return _START_CODE + units[0] + sets + b"".join(_START_CODE + u for u in units[1:])
    return sets + data
