"""The one place that runs ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from transcode.errors import FFmpegError, FFmpegTimeout

ProgressCallback = Callable[[float], None]
"""Called with the fraction done, 0.0 to 1.0."""

_STDERR_TAIL_LINES = 12
HTTP_PROTOCOLS = "http,https,tcp,tls,crypto"
"""The protocols ffmpeg may use to read a presigned object-store URL: never ``file``, so media
read by URL cannot open local files (the CVE-2017-9993 class of playlist tricks)."""


def find_ffmpeg(configured: str | None = None) -> str:
    """The ffmpeg binary: the configured one, else ``ffmpeg`` on PATH, else imageio-ffmpeg's."""
    if configured:
        return configured
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def base_args(*, protocols: str = "file,pipe") -> list[str]:
    """Arguments every invocation starts with: quiet, no stdin, a protocol whitelist."""
    return [
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        protocols,
    ]


def parse_progress_line(line: str) -> tuple[str, str] | None:
    """Split one ``-progress`` line (``key=value``) into its parts."""
    key, sep, value = line.strip().partition("=")
    if not sep or not key:
        return None
    return key, value


def run_ffmpeg(
    ffmpeg: str,
    args: Sequence[str],
    *,
    duration_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    timeout_s: float | None = None,
    cwd: Path | None = None,
) -> None:
    """Run ffmpeg with ``args`` (an argv list, never a shell string).

    Progress is read from ``-progress pipe:1``; ``on_progress`` gets the fraction of ``duration_s``
    done. Raises :class:`FFmpegError` with the last lines ffmpeg printed when it fails, and
    :class:`FFmpegTimeout` when it runs past ``timeout_s``.
    """
    argv = [ffmpeg, *args]
    if on_progress is not None:
        argv[1:1] = ["-progress", "pipe:1", "-nostats"]
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if on_progress else subprocess.DEVNULL,
            stderr=stderr,
            cwd=cwd,
        )
        timed_out = threading.Event()

        def _kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout_s, _kill) if timeout_s else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            if on_progress is not None and proc.stdout is not None:
                _follow_progress(proc.stdout, duration_s, on_progress)
            returncode = proc.wait()
        finally:
            if timer:
                timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if timed_out.is_set():
            raise FFmpegTimeout(f"ffmpeg ran past its {timeout_s:.0f} s limit", returncode)
        if returncode != 0:
            stderr.seek(0)
            lines = stderr.read().decode("utf-8", "replace").strip().splitlines()
            tail = "; ".join(line.strip() for line in lines[-_STDERR_TAIL_LINES:]) or "no output"
            raise FFmpegError(f"ffmpeg exited with {returncode}: {tail}", returncode)
    if on_progress is not None:
        on_progress(1.0)


def _follow_progress(
    stream: object, duration_s: float | None, on_progress: ProgressCallback
) -> None:
    last_sent = 0.0
    for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
        parsed = parse_progress_line(raw.decode("ascii", "replace"))
        if parsed is None:
            continue
        key, value = parsed
        if key == "out_time_us" and duration_s and value.isdigit():
            now = time.monotonic()
            if now - last_sent >= 0.5:
                last_sent = now
                on_progress(min(int(value) / 1e6 / duration_s, 0.99))


def run_ffmpeg_log(ffmpeg: str, args: Sequence[str], *, timeout_s: float | None = None) -> str:
    """Run ffmpeg for what it logs (analysis filters report there); returns its stderr.

    Raises :class:`FFmpegError` when it fails or times out.
    """
    try:
        result = subprocess.run(
            [ffmpeg, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FFmpegTimeout(f"ffmpeg ran past its {timeout_s:.0f} s limit", -1) from exc
    log = result.stderr.decode("utf-8", "replace")
    if result.returncode != 0:
        tail = "; ".join(line.strip() for line in log.strip().splitlines()[-_STDERR_TAIL_LINES:])
        raise FFmpegError(f"ffmpeg exited with {result.returncode}: {tail}", result.returncode)
    return log


def run_ffmpeg_output(ffmpeg: str, args: Sequence[str], *, timeout_s: float | None = None) -> bytes:
    """Run ffmpeg for what it writes to its standard output (``-f s16le -``, say); returns it.

    Raises :class:`FFmpegError` when it fails and :class:`FFmpegTimeout` when it runs past
    ``timeout_s``; the error's detail holds the last lines ffmpeg printed.
    """
    try:
        result = subprocess.run(
            [ffmpeg, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FFmpegTimeout(f"ffmpeg ran past its {timeout_s:.0f} s limit", -1) from exc
    if result.returncode != 0:
        log = result.stderr.decode("utf-8", "replace").strip().splitlines()
        tail = "; ".join(line.strip() for line in log[-_STDERR_TAIL_LINES:]) or "no output"
        raise FFmpegError(f"ffmpeg exited with {result.returncode}: {tail}", result.returncode)
    return result.stdout


def pin_input(args: list[str], demuxer: str | None, protocols: str) -> list[str]:
    """``args`` reading their first input with ``demuxer`` (never guessed from the content) and
    only over ``protocols``."""
    pinned = list(args)
    pinned[pinned.index("-protocol_whitelist") + 1] = protocols
    if demuxer:
        at = pinned.index("-i")
        pinned[at:at] = ["-f", demuxer]
    return pinned
