"""Pure media code: ffmpeg argv builders, the one ffmpeg runner, probing, ladders, posters.

Paths and option dataclasses in, frozen dataclasses out. Nothing here touches the catalog, the
object store, the broker or the settings.
"""
