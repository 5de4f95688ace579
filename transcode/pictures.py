"""Single pictures decoded from a clip: what a camera showed at one instant."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

from transcode.errors import MediaError

Picture = NDArray[np.uint8]
"""A decoded picture, height x width x 3, BGR (OpenCV's order)."""


def picture_at(path: Path, seconds: float, *, default_rate: float = 25.0) -> Picture:
    """The picture ``seconds`` after the first frame of the clip at ``path``: frame number
    ``round(seconds * frame rate)``, counted in decode order from the first picture.

    Raises :class:`MediaError` when the clip cannot be read or ends before that frame.
    """
    if seconds < 0:
        raise MediaError(f"{path.name}: no picture at {seconds:.3f} s, before its start")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path.name}: no video stream")
            stream = container.streams.video[0]
            rate = float(stream.average_rate or default_rate)
            wanted = round(seconds * rate)
            for index, frame in enumerate(container.decode(stream)):
                if index >= wanted:
                    return np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
    except av.FFmpegError as exc:
        raise MediaError(f"{path.name}: not readable media ({exc})") from exc
    raise MediaError(f"{path.name}: no picture at {seconds:.3f} s")
