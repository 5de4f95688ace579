"""The real API (uvicorn, one worker) under load from client threads: reads per CPU-second."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from random import Random
from typing import Any

import httpx
import psutil

import api
from infra.core.errors import ServiceUnavailable
from infra.core.settings import DatabaseSettings, Settings
from infra.ops.bench.api.queries import Viewer, pick_asset, summary_ms
from infra.ops.bench.api.seed import Seeded
from infra.ops.bench.api.world import Say
from infra.ops.bench.figures import ratio
from infra.ops.bench.workers import settings_env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def api_process(settings: Settings, log: Path, *, ready_s: float = 60.0) -> Iterator[Any]:
    """The real API (uvicorn, one worker process, no access log) with ``settings``, in its own
    process group; yields its ``psutil.Process`` once ``/health`` answers, stops it on exit."""
    root = Path(api.__file__).resolve().parents[1]  # the folder that holds the packages
    argv = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
    argv += ["--app-dir", str(root), "--host", "127.0.0.1", "--port", str(settings.api.port)]
    argv += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    with log.open("ab") as handle:
        proc = subprocess.Popen(
            argv,
            env=settings_env(settings, os.environ),
            cwd=settings.home,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + ready_s
        while True:
            try:
                if httpx.get(settings.api.public_url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"the benchmark's API did not start: {log.read_text()[-2000:]}"
                )
            time.sleep(0.1)
        yield psutil.Process(proc.pid)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 15)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
                proc.wait()


def _cpu_s(process: Any) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def hammer(
    url: str, requests: Sequence[tuple[str, str]], *, seconds: float, clients: int, server: Any
) -> dict[str, Any]:
    """``GET /v1/assets/{id}`` with each (key, id) of ``requests`` in turn from ``clients``
    threads for ``seconds``: requests a second, latency, statuses, and the server's CPU."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: list[Counter[int]] = [Counter() for _ in range(clients)]
    errors: list[str] = []
    start = threading.Barrier(clients + 1)
    stop = threading.Event()

    def client(slot: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            index = slot
            start.wait()
            while not stop.is_set():
                key, asset_id = requests[index % len(requests)]
                index += clients
                began = time.perf_counter()
                try:
                    answer = http.get(
                        f"/v1/assets/{asset_id}", headers={"Authorization": f"Bearer {key}"}
                    )
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
                    continue
                latencies[slot].append(time.perf_counter() - began)
                statuses[slot][answer.status_code] += 1

    threads = [
        threading.Thread(target=client, args=(slot,), daemon=True) for slot in range(clients)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    cpu_before, began = _cpu_s(server), time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(60)
    wall = time.perf_counter() - began
    cpu = _cpu_s(server) - cpu_before
    everything = [value for values in latencies for value in values]
    counts: Counter[int] = Counter()
    for found in statuses:
        counts.update(found)
    done = len(everything)
    return {
        "clients": clients,
        "seconds": round(wall, 3),
        "requests": done,
        "requests_per_s": round(done / wall, 1) if wall > 0 else None,
        "latency": summary_ms(everything) if everything else None,
        "status": {str(code): n for code, n in sorted(counts.items())},
        "errors": dict(Counter(errors)),
        "server_cpu_s": round(cpu, 3),
        "reads_per_cpu_s": ratio(done, cpu, 1),
    }


def http_throughput(
    settings: Settings,
    database_url: str,
    seeded: Seeded,
    people: Sequence[Viewer],
    *,
    seconds: float,
    clients: int,
    seed: int = 7,
    say: Say = lambda _line: None,
) -> dict[str, Any]:
    """Asset reads over HTTP by broadcasters (inside and outside their rights) and by an
    admin, against one API process on the seeded catalog."""
    rng = Random(seed + 2)
    port = _free_port()
    served = settings.model_copy(
        update={
            "database": DatabaseSettings(url=database_url),
            "api": settings.api.model_copy(
                update={
                    "host": "127.0.0.1",
                    "port": port,
                    "public_url": f"http://127.0.0.1:{port}",
                    "rate_per_minute": 1_000_000,
                }
            ),
        }
    )
    mixed = []
    for _ in range(4_000):
        person = rng.choice(list(people))
        mixed.append((person.holder.key, pick_asset(person, seeded, rng)))
    admin = [(seeded.admin_key, rng.choice(seeded.asset_ids)) for _ in range(4_000)]
    with tempfile.TemporaryDirectory(prefix="vantage-bench-api-") as home:
        served = served.model_copy(update={"home": Path(home)})
        say("starting the API")
        with api_process(served, Path(home) / "api.log") as server:
            url = served.api.public_url
            hammer(url, mixed[:200], seconds=min(1.0, seconds), clients=clients, server=server)
            say(f"reading assets over HTTP for {seconds:g} s as broadcasters")
            broadcasters = hammer(url, mixed, seconds=seconds, clients=clients, server=server)
            say(f"reading assets over HTTP for {seconds:g} s as an admin")
            staff = hammer(url, admin, seconds=seconds, clients=clients, server=server)
    return {
        "endpoint": "GET /v1/assets/{id}",
        "api_processes": 1,
        "broadcaster_keys": broadcasters,
        "admin_key": staff,
    }
