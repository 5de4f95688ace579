"""Encoding profiles: what an event's ladders can be made with."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from api.auth import READ
from api.deps import SettingsDep
from transcode.profiles import available_profiles, load_profile

router = APIRouter(prefix="/v1/profiles", tags=["profiles"], dependencies=[READ])


@router.get("")
def list_profiles(settings: SettingsDep) -> list[dict[str, Any]]:
    """Every profile, built-in and the operator's, with rungs, codecs, audio and packaging."""
    return [asdict(profile) for profile in available_profiles(settings.media.profiles_dir)]


@router.get("/{name}")
def get_profile(name: str, settings: SettingsDep) -> dict[str, Any]:
    """One profile."""
    return asdict(load_profile(name, settings.media.profiles_dir))
