"""Encoding profiles as data: the built-ins load, bad files are refused with the field named."""

import pytest

from transcode.profiles import ProfileError, available_profiles, load_profile, parse_profile


def test_built_in_profiles_load():
    names = [p.name for p in available_profiles()]
    assert {"broadcast", "efficient", "archive-av1", "legacy-ts"} <= set(names)
    broadcast = load_profile("broadcast")
    assert [r.lines for r in broadcast.video.rungs] == [1080, 720, 480, 360]
    assert broadcast.packaging.segments == "cmaf" and broadcast.packaging.dash


def test_an_operators_folder_replaces_a_built_in_by_name(tmp_path):
    (tmp_path / "broadcast.yaml").write_text(
        "name: broadcast\nvideo:\n  codec: h264\n  rungs: [{lines: 720, kbps: 2500}]\n"
    )
    (tmp_path / "mobile.json").write_text(
        '{"name": "mobile", "video": {"codec": "h264", "rungs": [{"lines": 360, "kbps": 600}]}}'
    )
    assert [r.lines for r in load_profile("broadcast", tmp_path).video.rungs] == [720]
    assert load_profile("mobile", tmp_path).audio.kbps == 128  # defaults fill the rest


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"video": {"codec": "h264", "rungs": [{"lines": 720, "kbps": 900}]}}, "name"),
        ({"name": "x", "video": {"codec": "vp8", "rungs": []}}, "codec"),
        ({"name": "x", "video": {"codec": "h264", "rungs": []}}, "empty"),
        ({"name": "x", "video": {"codec": "h264", "rungs": [{"lines": 720}]}}, "kbps"),
        ({"name": "x", "video": {"codec": "h264", "rungs": [{"lines": 720, "kbps": 900}] * 2}},
         "same number of lines"),
        ({"name": "x", "video": {"codec": "h264", "rungs": [{"lines": 720, "kbps": 900}]},
          "packaging": {"segments": "webm"}}, "segments"),
        ({"name": "x", "video": {"codec": "h264", "rungs": [{"lines": 720, "kbps": 900}]},
          "audio": {"loudness_lufs": 3}}, "loudness_lufs"),
        ("not a mapping", "mapping"),
    ],
)  # fmt: skip
def test_bad_profiles_are_refused_with_the_field_named(data, message):
    with pytest.raises(ProfileError, match=message):
        parse_profile(data)


def test_an_unknown_profile_names_the_known_ones():
    with pytest.raises(ProfileError, match=r"known: .*broadcast"):
        load_profile("nope")
