"""Encoding profiles as data: rungs, codecs, bitrates, GOP, audio and packaging, per event.

Profiles are YAML (or JSON) files. The built-in ones sit next to this module; operators add
their own in a folder named by ``VANTAGE_MEDIA__PROFILES_DIR``, where a file of the same name
replaces the built-in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from transcode.errors import ProfileError

BUILT_IN = Path(__file__).parent
VIDEO_CODECS = ("h264", "hevc", "av1")
SEGMENT_FORMATS = ("cmaf", "ts")


@dataclass(frozen=True)
class RungSpec:
    """One wanted rung: ``lines`` is the short side (1080 for 1920x1080 and for 1080x1920)."""

    lines: int
    kbps: int
    codec: str


@dataclass(frozen=True)
class VideoSpec:
    codec: str
    preset: str
    gop_seconds: float
    high_frame_rate_factor: float
    rungs: tuple[RungSpec, ...]


@dataclass(frozen=True)
class AudioSpec:
    codec: str
    kbps: int
    channels: int
    loudness_lufs: float | None
    """Integrated loudness to normalise to (EBU R128 -23, ATSC A/85 -24); ``None`` leaves it."""
    true_peak_dbtp: float


@dataclass(frozen=True)
class PackagingSpec:
    segments: str
    """``cmaf`` (fragmented MP4 for HLS and DASH) or ``ts`` (MPEG-TS HLS for legacy players)."""
    dash: bool
    iframe_playlists: bool


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    video: VideoSpec
    audio: AudioSpec
    packaging: PackagingSpec


def profile_dirs(extra: Path | None) -> list[Path]:
    """Where profiles are looked up, the operator's folder first."""
    return [extra, BUILT_IN] if extra else [BUILT_IN]


def available_profiles(extra: Path | None = None) -> list[Profile]:
    """Every profile that can be named, the operator's replacing built-in ones of the same name."""
    found: dict[str, Profile] = {}
    for folder in reversed(profile_dirs(extra)):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in (".yaml", ".yml", ".json"):
                profile = read_profile(path)
                found[profile.name] = profile
    return [found[name] for name in sorted(found)]


def load_profile(name: str, extra: Path | None = None) -> Profile:
    """The profile called ``name``. Raises :class:`ProfileError` when there is none."""
    for profile in available_profiles(extra):
        if profile.name == name:
            return profile
    known = ", ".join(p.name for p in available_profiles(extra))
    raise ProfileError(f"no encoding profile named {name!r} (known: {known})")


def read_profile(path: Path) -> Profile:
    """Read and validate one profile file."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"profile {path.name}: cannot be read ({exc})") from exc
    return parse_profile(data, source=path.name)


def parse_profile(data: Any, *, source: str = "profile") -> Profile:
    """Validate a profile given as plain data (the parsed YAML or JSON)."""
    fields = _Reader(data, source)
    video = fields.section("video")
    audio = fields.section("audio")
    packaging = fields.section("packaging")
    default_codec = video.choice("codec", VIDEO_CODECS)
    rungs = []
    for i, raw in enumerate(video.list("rungs")):
        rung = _Reader(raw, f"{source}: video.rungs[{i}]")
        rungs.append(
            RungSpec(
                lines=rung.integer("lines", low=144, high=4320),
                kbps=rung.integer("kbps", low=50, high=200_000),
                codec=rung.choice("codec", VIDEO_CODECS, default=default_codec),
            )
        )
    if not rungs:
        raise ProfileError(f"{source}: video.rungs is empty")
    if len({r.lines for r in rungs}) != len(rungs):
        raise ProfileError(f"{source}: two rungs have the same number of lines")
    loudness = audio.get("loudness_lufs")
    return Profile(
        name=fields.text("name"),
        description=fields.text("description", default=""),
        video=VideoSpec(
            codec=default_codec,
            preset=str(video.get("preset", "veryfast")),
            gop_seconds=video.number("gop_seconds", low=0.2, high=10.0, default=2.0),
            high_frame_rate_factor=video.number(
                "high_frame_rate_factor", low=1.0, high=3.0, default=1.5
            ),
            rungs=tuple(sorted(rungs, key=lambda r: r.lines, reverse=True)),
        ),
        audio=AudioSpec(
            codec=audio.choice("codec", ("aac",), default="aac"),
            kbps=audio.integer("kbps", low=32, high=512, default=128),
            channels=audio.integer("channels", low=1, high=2, default=2),
            loudness_lufs=(
                None if loudness is None else audio.number("loudness_lufs", low=-40, high=-5)
            ),
            true_peak_dbtp=audio.number("true_peak_dbtp", low=-9.0, high=0.0, default=-1.0),
        ),
        packaging=PackagingSpec(
            segments=packaging.choice("segments", SEGMENT_FORMATS, default="cmaf"),
            dash=bool(packaging.get("dash", True)),
            iframe_playlists=bool(packaging.get("iframe_playlists", True)),
        ),
    )


class _Reader:
    """Typed access to one mapping of a profile, with errors that name the field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ProfileError(f"{where}: expected a mapping, got {type(data).__name__}")
        self.data, self.where = data, where

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def section(self, key: str) -> _Reader:
        return _Reader(self.data.get(key, {}), f"{self.where}: {key}")

    def list(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if not isinstance(value, list):
            raise ProfileError(f"{self.where}.{key}: expected a list")
        return value

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise ProfileError(f"{self.where}.{key}: expected text")
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value not in allowed:
            raise ProfileError(f"{self.where}.{key}: {value!r} is not one of {', '.join(allowed)}")
        return str(value)

    def number(self, key: str, *, low: float, high: float, default: float | None = None) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProfileError(f"{self.where}.{key}: expected a number")
        if not low <= value <= high:
            raise ProfileError(f"{self.where}.{key}: {value} is outside {low}..{high}")
        return float(value)

    def integer(self, key: str, *, low: int, high: int, default: int | None = None) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProfileError(f"{self.where}.{key}: expected a whole number")
        if not low <= value <= high:
            raise ProfileError(f"{self.where}.{key}: {value} is outside {low}..{high}")
        return value
