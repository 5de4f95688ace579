"""``vantage simulate``: virtual cameras around one synthetic match, served live on loopback.

Each camera renders the shared scene (:mod:`transcode.scene`) from its own position, with its
name, timecode and frame code in the picture and the match's clicks in its sound
(:func:`transcode.scene.match_sound`). A camera's ``delay_s`` is a known latency: at any
instant it shows the match as it was ``delay_s`` earlier, which is what content-based offset
measurement must find.
"""

from __future__ import annotations

import functools
import http.server
import logging
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from transcode.scene import VirtualCamera, camera_ring, match_sound, render

log = logging.getLogger(__name__)

PROTOCOLS = ("hls", "srt", "rtmp")


@dataclass(frozen=True)
class SimulatedCamera:
    camera: VirtualCamera
    delay_s: float
    url: str
    """Where a puller reads it."""
    network_delay_s: float = 0.0
    """How long its segments take to reach a puller after the encoder wrote them (HLS): what
    a congested contribution link or a starved machine does to arrival, never to the time the
    encoder stamped."""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        # A camera's playlist is dated by the simulator, which knows when each frame was
        # "captured"; ffmpeg would date it by when its muxer started, to the second.
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        sim: Simulator | None = getattr(self.server, "sim", None)
        if sim is None or len(parts) != 2 or parts[1] != "index.m3u8":
            super().do_GET()
            return
        try:
            path = sim.folder / parts[0] / "index.m3u8"
            sender = sim._sender(parts[0])
            written, text = path.stat().st_mtime, path.read_text()
        except (OSError, StopIteration):
            self.send_error(404)
            return
        if written < sender.started_at:  # the last words of the camera's previous ffmpeg
            self.send_error(404)
            return
        dated = sender.dated(text)
        if not any(line and not line.startswith("#") for line in dated.splitlines()):
            self.send_error(404)  # nothing has reached a receiver yet: not on air
            return
        body = dated.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.apple.mpegurl")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    sim: Simulator | None = None

    def handle_error(self, request: object, client_address: object) -> None:
        # A player or puller hanging up mid-segment is normal for a live origin.
        return


class _Sender(threading.Thread):
    """Renders one camera in real time and feeds it to an ffmpeg that serves it."""

    def __init__(self, sim: Simulator, cam: SimulatedCamera, port: int) -> None:
        super().__init__(name=f"sim-{cam.camera.name}", daemon=True)
        self.sim, self.cam, self.port = sim, cam, port
        self.paused = threading.Event()
        self.size: tuple[int, int] | None = None
        """Overrides the simulator's picture size (a camera switched to another format)."""
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        """When the running ffmpeg started: a playlist written before is a previous one's."""
        self.first_frame: int | None = None
        """The match frame the running ffmpeg started with: its HLS segment ``n`` starts
        ``n`` GOPs (two seconds) later."""

    def dated(self, playlist: str) -> str:
        """The HLS playlist with the capture time of each segment's first frame, to the
        millisecond (the ground truth a puller's placement is measured against)."""
        first, sim = self.first_frame, self.sim
        gop = round(sim.rate * 2)
        lines = [ln for ln in playlist.splitlines() if not ln.startswith("#EXT-X-PROGRAM-DATE")]
        if self.cam.network_delay_s > 0:
            lines = self._delivered(lines)
        out: list[str] = []
        for index, line in enumerate(lines):
            if line.startswith("#EXTINF") and first is not None:
                uri = next((u for u in lines[index + 1 :] if u and not u.startswith("#")), "")
                number = uri.rsplit("_", 1)[-1].split(".", 1)[0]
                if number.isdigit():
                    wall = sim.wall_of(first + int(number) * gop, self.cam.delay_s)
                    stamp = datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")
                    out.append("#EXT-X-PROGRAM-DATE-TIME:" + stamp.replace("+00:00", "Z"))
            out.append(line)
        return "\n".join(out) + "\n"

    def _delivered(self, lines: list[str]) -> list[str]:
        """The playlist as a receiver ``network_delay_s`` away sees it: segments written
        less than that long ago have not reached it yet."""
        folder = self.sim.folder / self.cam.camera.name
        cutoff = time.time() - self.cam.network_delay_s
        kept: list[str] = []
        pending: list[str] = []
        for line in lines:
            if line.startswith("#EXT-X-ENDLIST"):
                continue
            if line and not line.startswith("#"):
                try:
                    arrived = (folder / line).stat().st_mtime <= cutoff
                except OSError:
                    arrived = False
                if not arrived:
                    break
                kept += [*pending, line]
                pending = []
            elif line.startswith(("#EXTINF", "#EXT-X-DISCONTINUITY")) and not line.startswith(
                "#EXT-X-DISCONTINUITY-SEQUENCE"
            ):
                pending.append(line)
            else:
                kept.append(line)
        return kept

    def _output(self) -> list[str]:
        name = self.cam.camera.name
        if self.sim.protocol == "hls":
            folder = self.sim.folder / name
            folder.mkdir(parents=True, exist_ok=True)
            return [
                "-f", "hls", "-hls_time", "2", "-hls_list_size", "8",
                "-hls_flags", "delete_segments+independent_segments+temp_file",
                "-hls_segment_filename", str(folder / "seg_%06d.ts"), str(folder / "index.m3u8"),
            ]  # fmt: skip
        if self.sim.protocol == "srt":
            return ["-f", "mpegts", f"srt://127.0.0.1:{self.port}?mode=listener&latency=120000"]
        return ["-f", "flv", "-listen", "1", f"rtmp://127.0.0.1:{self.port}/live/{name}"]

    def _start(self, first_frame: int) -> subprocess.Popen[bytes]:
        sim = self.sim
        width, height = self.size or sim.size
        world_t0 = float(Fraction(first_frame) / sim.rate)
        click = match_sound(world_t0)
        gop = str(round(sim.rate * 2))
        argv = [
            sim.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
            "-r", str(sim.rate), "-i", "pipe:0",
            "-f", "lavfi", "-i", click,
            "-map", "0:v", "-map", "1:a",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-pix_fmt", "yuv420p", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
            "-b:v", f"{sim.bitrate_kbps}k", "-maxrate", f"{sim.bitrate_kbps}k",
            "-bufsize", f"{sim.bitrate_kbps * 2}k",
            "-c:a", "aac", "-b:a", "96k",
            *self._output(),
        ]  # fmt: skip
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)

    def run(self) -> None:
        sim, cam = self.sim, self.cam
        period = 1 / float(sim.rate)
        while not sim.stopping.is_set():
            if self.paused.is_set():
                time.sleep(0.1)
                continue
            frame = sim.frame_at(time.time(), cam.delay_s)
            self.first_frame, self.started_at = None, time.time()
            self.proc = proc = self._start(frame)
            self.first_frame = frame
            assert proc.stdin is not None
            try:
                while not sim.stopping.is_set() and not self.paused.is_set():
                    picture = render(cam.camera, frame, self.size or sim.size, sim.rate)
                    proc.stdin.write(picture.tobytes())
                    frame += 1
                    wait = sim.wall_of(frame, cam.delay_s) - time.time()
                    if wait > 0:
                        time.sleep(min(wait, period))
            except (BrokenPipeError, OSError):
                log.info("%s: receiver went away; serving again", cam.camera.name)
            finally:
                _close(proc)
            if not sim.stopping.is_set():
                time.sleep(0.3)


def _close(proc: subprocess.Popen[bytes]) -> None:
    try:
        if proc.stdin:
            proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Simulator:
    """N virtual cameras served on loopback over HLS (HTTP), SRT (listener) or RTMP (listen)."""

    def __init__(
        self,
        ffmpeg: str,
        *,
        cameras: int = 4,
        protocol: str = "hls",
        folder: Path,
        base_port: int = 9700,
        size: tuple[int, int] = (960, 540),
        rate: Fraction = Fraction(25),
        delays: list[float] | None = None,
        bitrate_kbps: int = 2500,
        network_delays: list[float] | None = None,
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}")
        self.ffmpeg, self.protocol, self.folder = ffmpeg, protocol, folder
        self.size, self.rate, self.bitrate_kbps = size, rate, bitrate_kbps
        self.epoch = time.time()
        self.stopping = threading.Event()
        delays = delays if delays is not None else [0.12 * i for i in range(cameras)]
        self.cameras: list[SimulatedCamera] = []
        self._senders: list[_Sender] = []
        self._http: _Server | None = None
        self.base_port = base_port
        network = network_delays if network_delays is not None else [0.0] * cameras
        for virtual, delay, late in zip(camera_ring(cameras), delays, network, strict=True):
            port = base_port + 1 + virtual.index
            url = self._url(virtual.name, port)
            self.cameras.append(SimulatedCamera(virtual, delay, url, late))
            self._senders.append(_Sender(self, self.cameras[-1], port))

    def _url(self, name: str, port: int) -> str:
        if self.protocol == "hls":
            return f"http://127.0.0.1:{self.base_port}/{name}/index.m3u8"
        if self.protocol == "srt":
            return f"srt://127.0.0.1:{port}?mode=caller&latency=120000"
        return f"rtmp://127.0.0.1:{port}/live/{name}"

    def frame_at(self, wall: float, delay_s: float) -> int:
        """The match frame a camera with ``delay_s`` shows at wall time ``wall``."""
        return max(0, int((wall - self.epoch - delay_s) * float(self.rate)))

    def wall_of(self, frame: int, delay_s: float) -> float:
        return self.epoch + delay_s + frame / float(self.rate)

    def start(self) -> None:
        if self.protocol == "hls":
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder.mkdir(parents=True)
            handler = functools.partial(_QuietHandler, directory=str(self.folder))
            self._http = _Server(("127.0.0.1", self.base_port), handler)
            self._http.sim = self
            threading.Thread(target=self._http.serve_forever, daemon=True).start()
        for sender in self._senders:
            sender.start()

    def pause(self, name: str) -> None:
        """Cut a camera off (its signal drops) until :meth:`resume`."""
        sender = self._sender(name)
        sender.paused.set()
        if self.protocol == "hls":
            shutil.rmtree(self.folder / name, ignore_errors=True)

    def resume(self, name: str, *, size: tuple[int, int] | None = None) -> None:
        """Put a camera back on air, optionally sending another picture size."""
        sender = self._sender(name)
        if size is not None:
            sender.size = size
        sender.paused.clear()

    def _sender(self, name: str) -> _Sender:
        return next(s for s in self._senders if s.cam.camera.name == name)

    def stop(self) -> None:
        self.stopping.set()
        for sender in self._senders:
            sender.join(10)
        if self._http:
            self._http.shutdown()
            self._http.server_close()
