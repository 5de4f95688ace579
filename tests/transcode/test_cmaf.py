import contextlib
import io
import itertools
import re
import struct
from pathlib import Path

import av
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transcode.cmaf import (
    MAX_LOADED_BOX,
    SegmentInfo,
    TrackInit,
    decode_time_fields,
    read_init,
    read_segment,
)
from transcode.errors import MediaError
from transcode.ffmpeg import base_args, run_ffmpeg
from transcode.stitch import rebase_segment

CLIP_S = 7
FPS = 50
GOP = 100
VIDEO = ("360p", "180p")


def encode_ladder(ffmpeg: str, folder: Path) -> Path:
    """A 7 s, 50 fps CMAF ladder as the VOD job makes it: 360p, 180p and audio, 2 s segments.

    ffmpeg's own master.m3u8 is kept (it names the codecs); init files are renamed to init.mp4.
    """
    folder.mkdir(parents=True, exist_ok=True)
    args = [*base_args(), "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate={FPS}"]
    args += ["-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-t", str(CLIP_S)]
    args += ["-filter_complex", "[0:v]split=2[a][b];[a]scale=640:360[v0];[b]scale=320:180[v1]"]
    args += ["-map", "[v0]", "-map", "[v1]", "-map", "1:a"]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-g", str(GOP), "-keyint_min", str(GOP)]
    args += ["-sc_threshold", "0", "-force_key_frames", f"expr:gte(n,n_forced*{GOP})"]
    args += ["-c:a", "aac", "-b:a", "128k", "-ac", "2"]
    args += ["-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"]
    args += ["-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4"]
    args += ["-hls_segment_filename", "%v/seg_%05d.m4s"]
    args += ["-var_stream_map", "v:0,name:360p v:1,name:180p a:0,name:audio"]
    args += ["-master_pl_name", "master.m3u8", "%v/index.m3u8"]
    run_ffmpeg(ffmpeg, args, cwd=folder)
    for name in (*VIDEO, "audio"):
        (init,) = (folder / name).glob("init*.mp4")
        init.rename(folder / name / "init.mp4")
    return folder


def encode_video_init(ffmpeg: str, folder: Path, codec_args: list[str]) -> Path:
    """A one-segment, video-only CMAF rendition of 1 s of small frames; returns its folder.

    Not shorter: below about a second ffmpeg leaves the variant out of its master playlist.
    """
    folder.mkdir(parents=True)
    args = [*base_args(), "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-frames:v", "25"]
    args += ["-c:v", *codec_args, "-f", "hls", "-hls_playlist_type", "vod"]
    args += ["-hls_segment_type", "fmp4", "-hls_segment_filename", "v/seg_%05d.m4s"]
    args += ["-var_stream_map", "v:0,name:v", "-master_pl_name", "master.m3u8", "%v/index.m3u8"]
    run_ffmpeg(ffmpeg, args, cwd=folder)
    return folder


def master_codecs(folder: Path) -> dict[str, str]:
    """The CODECS attribute ffmpeg wrote for each variant, by its folder."""
    lines = (folder / "master.m3u8").read_text().splitlines()
    codecs = {}
    for line, uri in itertools.pairwise(lines):
        found = re.search(r'CODECS="([^"]+)"', line)
        if line.startswith("#EXT-X-STREAM-INF") and found:
            codecs[uri.split("/")[0]] = found.group(1)
    return codecs


def segment_paths(folder: Path) -> list[Path]:
    return sorted(folder.glob("seg_*.m4s"))


@pytest.fixture(scope="module")
def ladder(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return encode_ladder(ffmpeg, tmp_path_factory.mktemp("cmaf") / "ladder")


@pytest.fixture(scope="module")
def audio_init(ladder: Path) -> Path:
    return ladder / "audio" / "init.mp4"


# -- init segments -------------------------------------------------------------------------------


def test_h264_codec_string_is_the_one_ffmpeg_writes(ladder):
    written = master_codecs(ladder)
    for name in VIDEO:
        assert read_init(ladder / name / "init.mp4").codec == written[name]
    assert written["360p"].startswith("avc1.64")  # High profile, so the test compares something


def test_video_init_describes_the_picture(ladder):
    init = read_init(ladder / "180p" / "init.mp4")
    assert (init.kind, init.width, init.height) == ("video", 320, 180)
    assert init.timescale % FPS == 0
    assert init.channels is None and init.sample_rate is None


def test_aac_init(audio_init):
    init = read_init(audio_init)
    assert (init.kind, init.codec, init.channels, init.sample_rate) == (
        "audio",
        "mp4a.40.2",
        2,
        48000,
    )
    assert init.timescale == 48000
    assert init.width is None and init.height is None


@pytest.mark.parametrize(
    ("first_bytes", "codec"),
    [(b"\x29\x90", "mp4a.40.5"), (b"\xf9\x40", "mp4a.40.42"), (b"\x11\x90", "mp4a.40.2")],
)
def test_audio_object_type_comes_from_the_audio_specific_config(
    audio_init, tmp_path, first_bytes, codec
):
    # DecoderSpecificInfo: tag 5, a 4-byte length, then the AudioSpecificConfig. Rewriting its
    # first 5 bits (11 for an escaped object type) changes the object type: 5 is HE-AAC,
    # 31 + 6 bits of 10 is 42 (USAC).
    data = audio_init.read_bytes()
    marker = b"\x05\x80\x80\x80\x05\x11\x90"
    assert data.count(marker) == 1
    patched = tmp_path / "init.mp4"
    patched.write_bytes(data.replace(marker, marker[:5] + first_bytes))
    assert read_init(patched).codec == codec


def test_hevc_hvc1_codec_string_is_the_one_ffmpeg_writes(ffmpeg, tmp_path):
    args = ["libx265", "-tag:v", "hvc1", "-x265-params", "log-level=error:level-idc=31"]
    folder = encode_video_init(ffmpeg, tmp_path / "hevc", args)
    init = read_init(folder / "v" / "init.mp4")
    assert init.codec == "hvc1.1.6.L93.90"  # Main, Main compatible, level 3.1, progressive
    assert init.codec == master_codecs(folder)["v"]
    assert (init.width, init.height) == (320, 180)


def test_hevc_main10_hev1_codec_string(ffmpeg, tmp_path):
    # ffmpeg writes no CODECS for hev1, so the expected string is spelled out: profile 2 (Main 10)
    # with compatibility flag 2 set, which reads 4 once the 32 flag bits are reversed.
    args = ["libx265", "-tag:v", "hev1", "-pix_fmt", "yuv420p10le"]
    args += ["-x265-params", "log-level=error:level-idc=31"]
    folder = encode_video_init(ffmpeg, tmp_path / "hevc10", args)
    assert read_init(folder / "v" / "init.mp4").codec == "hev1.2.4.L93.90"


@pytest.mark.parametrize(("pix_fmt", "depth"), [("yuv420p", "08"), ("yuv420p10le", "10")])
def test_av1_codec_string_is_the_one_ffmpeg_writes(ffmpeg, tmp_path, pix_fmt, depth):
    args = ["libsvtav1", "-preset", "12", "-svtav1-params", "log-level=0", "-pix_fmt", pix_fmt]
    folder = encode_video_init(ffmpeg, tmp_path / "av1", args)
    init = read_init(folder / "v" / "init.mp4")
    assert re.fullmatch(rf"av01\.0\.\d\dM\.{depth}", init.codec)
    assert init.codec == master_codecs(folder)["v"]


@pytest.mark.parametrize(("encoder", "codec"), [("ac3", "ac-3"), ("libopus", "Opus")])
def test_codecs_named_by_their_sample_entry(ffmpeg, tmp_path, encoder, codec):
    args = [*base_args(), "-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "0.5"]
    args += ["-c:a", encoder, "-ac", "2", "-f", "hls", "-hls_segment_type", "fmp4"]
    args += ["-hls_segment_filename", "seg_%05d.m4s", "index.m3u8"]
    run_ffmpeg(ffmpeg, args, cwd=tmp_path)
    init = read_init(tmp_path / "init.mp4")
    assert (init.kind, init.codec, init.channels) == ("audio", codec, 2)


# -- media segments ------------------------------------------------------------------------------


def test_video_segments_tile_the_clip_exactly(ladder):
    for name in VIDEO:
        init = read_init(ladder / name / "init.mp4")
        segments = [read_segment(path, init) for path in segment_paths(ladder / name)]
        assert [s.samples for s in segments] == [GOP, GOP, GOP, CLIP_S * FPS - 3 * GOP]
        assert sum(s.duration for s in segments) == CLIP_S * init.timescale
        starts = [s.decode_time for s in segments]
        assert starts == [sum(s.duration for s in segments[:i]) for i in range(len(segments))]
        assert all(s.starts_with_keyframe for s in segments)


def test_audio_segments_tile_the_clip_plus_the_encoder_priming(ladder, audio_init):
    init = read_init(audio_init)
    segments = [read_segment(path, init) for path in segment_paths(ladder / "audio")]
    total = sum(s.duration for s in segments)
    # AAC starts with 1024 samples of encoder delay, which ffmpeg keeps in the fragments.
    assert CLIP_S * 48000 <= total <= CLIP_S * 48000 + 1024
    assert segments[-1].decode_time + segments[-1].duration == total
    assert all(s.starts_with_keyframe for s in segments)


def test_segment_reads_the_same_with_or_without_its_init(ladder):
    init = read_init(ladder / "360p" / "init.mp4")
    path = segment_paths(ladder / "360p")[1]
    info = read_segment(path)
    assert info == read_segment(path, init)
    assert info.size == path.stat().st_size


def test_keyframe_range_is_exactly_the_first_frame(ladder):
    init_bytes = (ladder / "360p" / "init.mp4").read_bytes()
    for path in segment_paths(ladder / "360p"):
        data = path.read_bytes()
        offset, length = read_segment(path).keyframe_bytes
        assert data[offset + 4 : offset + 8] == b"moof"
        cut = init_bytes + data[offset : offset + length]
        with av.open(io.BytesIO(cut)) as container:
            frames = list(container.decode(container.streams.video[0]))
        assert len(frames) == 1 and frames[0].key_frame
        # The range ends where the first packet ends in the whole segment: not a byte more.
        with av.open(io.BytesIO(init_bytes + data[offset:])) as container:
            packet = next(container.demux(container.streams.video[0]))
        assert packet.pos + packet.size == len(init_bytes) + length


# Fragments put together by hand, for the trun and tfhd variants ffmpeg does not write.

STYP = struct.pack(">I4s4sI4s", 20, b"styp", b"msdh", 0, b"msix")
SYNC, NON_SYNC = 0x02000000, 0x01010000


def box(kind: str, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind.encode()) + payload


def full_box(kind: str, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, bytes([version]) + flags.to_bytes(3, "big") + payload)


def fragment(
    *,
    sizes: list[int],
    trun_flags: int,
    columns: list[list[int]],
    tfhd_flags: int = 0x020000,
    tfhd_fields: bytes = b"",
    tfdt: bytes = full_box("tfdt", 0, 0, struct.pack(">I", 0)),
    first_sample_flags: int | None = None,
    data_offset: bool = True,
    trun_version: int = 0,
) -> bytes:
    """One moof + mdat. ``columns`` are the per-sample trun fields in box order; with
    ``trun_version`` 1 the last one is the signed composition offset."""
    layout = ">" + "I" * len(columns)
    if trun_version and columns:
        layout = layout[:-1] + "i"
    records = b"".join(struct.pack(layout, *row) for row in zip(*columns, strict=True))

    def moof(offset: int) -> bytes:
        fields = struct.pack(">I", len(sizes))
        if data_offset:
            fields += struct.pack(">i", offset)
        if first_sample_flags is not None:
            fields += struct.pack(">I", first_sample_flags)
        trun = full_box("trun", trun_version, trun_flags, fields + records)
        tfhd = full_box("tfhd", 0, tfhd_flags, struct.pack(">I", 1) + tfhd_fields)
        mfhd = full_box("mfhd", 0, 0, struct.pack(">I", 1))
        return box("moof", mfhd + box("traf", tfhd + tfdt + trun))

    # The data offset counts from the moof: its samples start right after the mdat header.
    payload = bytes(range(256)) * (sum(sizes) // 256 + 1)
    return moof(len(moof(0)) + 8) + box("mdat", payload[: sum(sizes)])


def hand_init(*, duration: int = 0, size: int = 0, flags: int = 0) -> TrackInit:
    return TrackInit(
        kind="video",
        codec="avc1.64001f",
        timescale=12800,
        width=320,
        height=180,
        channels=None,
        sample_rate=None,
        track_id=1,
        default_sample_duration=duration,
        default_sample_size=size,
        default_sample_flags=flags,
    )


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "seg_00000.m4s"
    path.write_bytes(data)
    return path


def test_per_sample_fields_and_a_64_bit_decode_time(tmp_path):
    sizes = [700, 50, 60]
    tfdt = full_box("tfdt", 1, 0, struct.pack(">Q", 2**33 + 5))
    moof_and_mdat = fragment(
        sizes=sizes,
        trun_flags=0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800,
        columns=[[512, 256, 256], sizes, [NON_SYNC, NON_SYNC, NON_SYNC], [512, -256, 0]],
        trun_version=1,
        tfdt=tfdt,
    )
    info = read_segment(write(tmp_path, STYP + moof_and_mdat))
    moof_size = moof_and_mdat.index(b"mdat") - 4
    assert info == SegmentInfo(
        decode_time=2**33 + 5,
        duration=1024,
        samples=3,
        size=len(STYP) + len(moof_and_mdat),
        keyframe_bytes=(len(STYP), moof_size + 8 + 700),
        starts_with_keyframe=False,
    )


def test_first_sample_flags_override_the_per_sample_ones(tmp_path):
    sizes = [300, 40]
    data = STYP + fragment(
        sizes=sizes,
        trun_flags=0x000001 | 0x000004 | 0x000200 | 0x000400,
        columns=[sizes, [NON_SYNC, NON_SYNC]],
        first_sample_flags=SYNC,
        tfhd_flags=0x020000 | 0x000008,
        tfhd_fields=struct.pack(">I", 256),
    )
    info = read_segment(write(tmp_path, data))
    assert (info.duration, info.starts_with_keyframe) == (512, True)


def test_missing_durations_and_flags_come_from_the_init_trex(tmp_path):
    sizes = [300, 40, 40]
    data = STYP + fragment(sizes=sizes, trun_flags=0x000001 | 0x000200, columns=[sizes])
    path = write(tmp_path, data)
    with pytest.raises(MediaError, match="init"):
        read_segment(path)
    info = read_segment(path, hand_init(duration=256, flags=SYNC))
    assert (info.duration, info.samples, info.starts_with_keyframe) == (768, 3, True)
    assert read_segment(path, hand_init(duration=256, flags=NON_SYNC)).starts_with_keyframe is False


def test_tfhd_defaults_and_an_absolute_base_offset(tmp_path):
    # No trun data offset: the samples start at the tfhd base-data-offset, counted from the file.
    def build(base: int) -> bytes:
        return STYP + fragment(
            sizes=[250, 250, 250, 250],
            trun_flags=0,
            columns=[],
            data_offset=False,
            tfhd_flags=0x01 | 0x08 | 0x10 | 0x20,
            tfhd_fields=struct.pack(">QIII", base, 100, 250, SYNC),
        )

    moof_size = build(0).index(b"mdat") - 4 - len(STYP)
    data = build(len(STYP) + moof_size + 8)
    info = read_segment(write(tmp_path, data))
    assert (info.duration, info.samples) == (400, 4)
    assert info.keyframe_bytes == (len(STYP), moof_size + 8 + 250)


def test_several_fragments_in_one_segment_add_up(tmp_path):
    def part(decode_time: int) -> bytes:
        sizes = [100, 20]
        return fragment(
            sizes=sizes,
            trun_flags=0x000001 | 0x000100 | 0x000200,
            columns=[[256, 256], sizes],
            tfhd_flags=0x020000 | 0x000020,
            tfhd_fields=struct.pack(">I", SYNC),
            tfdt=full_box("tfdt", 0, 0, struct.pack(">I", decode_time)),
        )

    info = read_segment(write(tmp_path, STYP + part(1000) + part(1512)))
    assert (info.decode_time, info.duration, info.samples) == (1000, 1024, 4)
    assert info.keyframe_bytes[0] == len(STYP)


# -- refusals ------------------------------------------------------------------------------------


@pytest.fixture
def broken(tmp_path: Path, ladder: Path) -> dict[str, Path]:
    init = (ladder / "360p" / "init.mp4").read_bytes()
    segment = segment_paths(ladder / "360p")[0].read_bytes()
    files = {
        "empty": b"",
        "text": b"this is a production note, not a segment\n" * 20,
        "noise": bytes((i * 7919 + 13) % 256 for i in range(4096)),
        "half_init": init[: len(init) // 2],
        "init_cut_in_moov": init[:200],
        "segment_cut_in_mdat": segment[: len(segment) * 2 // 3],
        "segment_cut_in_moof": segment[:300],
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / f"{name}.m4s"
        paths[name].write_bytes(data)
    paths["missing"] = tmp_path / "missing.m4s"
    paths["init"] = ladder / "360p" / "init.mp4"
    paths["segment"] = segment_paths(ladder / "360p")[0]
    return paths


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing", "cannot be read"),
        ("empty", "empty"),
        ("text", "not an ISO-BMFF"),
        ("noise", "not an ISO-BMFF"),
        ("half_init", "truncated"),
        ("init_cut_in_moov", "truncated"),
        ("segment", "no moov"),
    ],
)
def test_read_init_refuses(broken, name, message):
    with pytest.raises(MediaError, match=message):
        read_init(broken[name])


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing", "cannot be read"),
        ("empty", "empty"),
        ("text", "not an ISO-BMFF"),
        ("noise", "not an ISO-BMFF"),
        ("segment_cut_in_mdat", "truncated"),
        ("segment_cut_in_moof", "truncated"),
        ("init", "no moof"),
    ],
)
def test_read_segment_refuses(broken, name, message):
    with pytest.raises(MediaError, match=message):
        read_segment(broken[name])


def test_a_trun_longer_than_its_box_is_refused(tmp_path):
    sizes = [300, 40]
    data = bytearray(STYP + fragment(sizes=sizes, trun_flags=0x000201, columns=[sizes]))
    count_at = data.index(b"trun") + 8
    data[count_at : count_at + 4] = struct.pack(">I", 1_000_000)
    with pytest.raises(MediaError, match="trun"):
        read_segment(write(tmp_path, bytes(data)))


def test_a_plain_mp4_is_not_an_init_segment(ffmpeg, tmp_path):
    clip = tmp_path / "clip.mp4"
    args = [*base_args(), "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-frames:v", "3"]
    run_ffmpeg(ffmpeg, [*args, "-c:v", "libx264", str(clip)])
    with pytest.raises(MediaError, match="mvex"):
        read_init(clip)
    with pytest.raises(MediaError, match="moof"):
        read_segment(clip)


def test_a_muxed_init_with_two_tracks_is_refused(ffmpeg, tmp_path):
    clip = tmp_path / "muxed.mp4"
    args = [*base_args(), "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-f", "lavfi"]
    args += ["-i", "sine", "-t", "0.2", "-c:v", "libx264", "-c:a", "aac"]
    args += ["-movflags", "+frag_keyframe+empty_moov+default_base_moof", str(clip)]
    run_ffmpeg(ffmpeg, args)
    with pytest.raises(MediaError, match="2 tracks"):
        read_init(clip)


# -- damaged and hostile boxes -------------------------------------------------------------------


def _read_all_ways(path: Path, init: TrackInit | None) -> None:
    """Every entry point of the box reader on one file: a result or a MediaError, nothing else."""
    data = path.read_bytes()
    for read in (
        lambda: read_init(path),
        lambda: read_segment(path, init),
        lambda: read_segment(path),
        lambda: decode_time_fields(data),
        lambda: rebase_segment(data, 12_800),
    ):
        with contextlib.suppress(MediaError):
            read()


def test_every_truncation_of_an_init_and_a_segment_is_refused_clearly(ladder, tmp_path):
    init_path = ladder / "360p" / "init.mp4"
    init = read_init(init_path)
    segment = segment_paths(ladder / "360p")[0].read_bytes()
    damaged = tmp_path / "cut.mp4"
    head = segment[:4096]  # the moof and the start of the mdat: every cut in the boxes read
    for whole in (init_path.read_bytes(), head + segment[4096:]):
        cuts = range(len(whole)) if len(whole) <= 4096 else [*range(4096), len(whole) - 1]
        for cut in cuts:
            damaged.write_bytes(whole[:cut])
            _read_all_ways(damaged, init)
    damaged.write_bytes(segment[:1000])
    with pytest.raises(MediaError, match=r"truncated|cut short|too short"):
        read_segment(damaged, init)


@given(data=st.data())
@settings(max_examples=400, deadline=None, derandomize=True)
def test_garbage_and_flipped_bytes_are_refused_clearly(ladder, tmp_path_factory, data):
    init_path = ladder / "360p" / "init.mp4"
    segment = segment_paths(ladder / "360p")[0].read_bytes()
    source = data.draw(st.sampled_from([init_path.read_bytes(), segment[:3000]]))
    damaged = bytearray(source)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        damaged[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):  # a size field set to an extreme
        at = data.draw(st.integers(0, len(damaged) - 4))
        extreme = data.draw(st.sampled_from([0, 1, 7, 8, 0xFFFFFFFF, 0x7FFFFFFF]))
        damaged[at : at + 4] = extreme.to_bytes(4, "big")
    path = tmp_path_factory.getbasetemp() / "fuzzed.m4s"
    path.write_bytes(bytes(damaged))
    _read_all_ways(path, read_init(init_path))


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"\x00" * 64, "no box"),
        (struct.pack(">I4s", 1, b"moof") + struct.pack(">Q", 2**62), "needs"),
        (struct.pack(">I4s", 0xFFFFFFFF, b"moov"), "needs"),
        (box("moof", box("traf", full_box("tfdt", 1, 0, b"\x00\x01"))), "too short"),
        (box("moof", box("traf", box("free", b""))), "no fragment decode time"),
        (struct.pack(">I4s", 4, b"moof"), "impossible size"),
    ],
    ids=["zeros", "64-bit-size-past-the-end", "size-past-the-end", "short-tfdt", "no-tfdt",
         "size-below-its-header"],
)  # fmt: skip
def test_hostile_boxes_are_named(data, said):
    with pytest.raises(MediaError, match=said):
        rebase_segment(data, 1)


def test_a_huge_moov_is_refused_without_being_read(tmp_path):
    path = tmp_path / "huge.mp4"
    with path.open("wb") as handle:  # sparse: a moov claiming more than the reader loads
        handle.write(struct.pack(">I4s", MAX_LOADED_BOX + 16, b"moov"))
        handle.truncate(MAX_LOADED_BOX + 16)
    with pytest.raises(MediaError, match="bytes long"):
        read_init(path)
