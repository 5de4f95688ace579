"""Real parts for the tests: SeaweedFS and Redis on free ports (or the machine's PostgreSQL and
Redis when VANTAGE_TEST_DATABASE_URL / VANTAGE_TEST_BROKER_URL are set), a real Celery worker, a
real API process, and media generated with ffmpeg lavfi."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from catalog.migrate import upgrade
from infra.core.database import make_engine, make_session_factory
from infra.core.queue import make_celery, worker_queues
from infra.core.settings import (
    APISettings,
    BrokerSettings,
    DatabaseSettings,
    MediaSettings,
    MetricsSettings,
    Settings,
    StackSettings,
    StorageSettings,
)
from infra.core.storage import ObjectStore
from infra.ops import stack
from infra.ops.bench.ui import CHROMIUM, FLAGS
from transcode.ffmpeg import base_args, find_ffmpeg, run_ffmpeg
from transcode.synthetic import SyntheticCamera, render_camera

RUN_ID = secrets.token_hex(4)


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


_taken: set[int] = set()


def free_port() -> int:
    """A free port whose +10000 is free too (SeaweedFS puts its gRPC ports there)."""
    import random

    while True:
        port = random.randrange(20000, 45000)
        if port not in _taken and _bindable(port) and _bindable(port + 10000):
            _taken.add(port)
            return port


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return find_ffmpeg()


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def camera_clip(ffmpeg: str, media_dir: Path) -> Path:
    """A 4 s 640x360 25 fps clip with audio, timecode and creation time."""
    from datetime import UTC, datetime

    camera = SyntheticCamera(
        name="cam1",
        index=0,
        duration_s=4,
        width=640,
        height=360,
        creation_time=datetime(2026, 8, 9, 19, 30, tzinfo=UTC),
    )
    return render_camera(ffmpeg, camera, media_dir / "cam1.mp4")


@pytest.fixture(scope="session")
def second_clip(ffmpeg: str, media_dir: Path) -> Path:
    """A second camera, 40 frames (1.6 s) later by its timecode, without audio, portrait."""
    camera = SyntheticCamera(
        name="cam2",
        index=1,
        duration_s=3,
        width=360,
        height=640,
        frame_rate=Fraction(25),
        timecode="10:00:01:15",
        audio=False,
    )
    return render_camera(ffmpeg, camera, media_dir / "cam2.mp4")


@pytest.fixture(scope="session")
def bad_files(ffmpeg: str, media_dir: Path, camera_clip: Path) -> dict[str, Path]:
    """Inputs that must be refused: truncated, not media, audio only, missing."""
    data = camera_clip.read_bytes()
    truncated = media_dir / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    not_media = media_dir / "notes.mp4"
    not_media.write_text("this is a production note, not a video\n" * 50)
    audio_only = media_dir / "audio.m4a"
    run_ffmpeg(
        ffmpeg,
        [*base_args(), "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac", str(audio_only)],
    )
    return {
        "truncated": truncated,
        "not_media": not_media,
        "audio_only": audio_only,
        "missing": media_dir / "does-not-exist.mp4",
    }


# -- the stack -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings for a private stack: free ports, a fresh bucket, a fresh database (schema)."""
    home = tmp_path_factory.mktemp("vantage-home")
    database_url = os.environ.get("VANTAGE_TEST_DATABASE_URL")
    schema = f"vantage_test_{RUN_ID}"
    if database_url:
        engine = make_engine(database_url)
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        separator = "&" if "?" in database_url else "?"
        database_url = f"{database_url}{separator}options=-csearch_path%3D{schema}"
    broker_url = os.environ.get("VANTAGE_TEST_BROKER_URL")
    redis_port = free_port()
    s3_port = free_port()
    config = Settings(
        _env_file=None,
        home=home,
        storage=StorageSettings(
            endpoint_url=f"http://127.0.0.1:{s3_port}", bucket=f"vantage-test-{RUN_ID}"
        ),
        # A namespace of its own, so parallel runs (and xdist workers) can share one broker.
        broker=BrokerSettings(
            url=broker_url or f"redis://127.0.0.1:{redis_port}/0", namespace=f"test-{RUN_ID}"
        ),
        database=DatabaseSettings(url=database_url),
        # Short chunks, so a chunked ladder of a few seconds still spreads across workers.
        media=MediaSettings(chunk_seconds=2.0),
        api=APISettings(port=free_port(), public_url="http://127.0.0.1:0"),
        stack=StackSettings(
            s3_port=s3_port,
            redis_port=redis_port,
            master_port=free_port(),
            volume_port=free_port(),
            filer_port=free_port(),
        ),
    )
    config = config.model_copy(
        update={
            "api": APISettings(
                port=config.api.port, public_url=f"http://127.0.0.1:{config.api.port}"
            )
        }
    )
    yield config
    if database_url and os.environ.get("VANTAGE_TEST_DATABASE_URL"):
        engine = make_engine(os.environ["VANTAGE_TEST_DATABASE_URL"])
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def settings_env(config: Settings) -> dict[str, str]:
    """The environment that gives a child process the same settings."""
    env = dict(os.environ)
    env.update(
        {
            "VANTAGE_HOME": str(config.home),
            "VANTAGE_STORAGE__ENDPOINT_URL": config.storage.endpoint_url or "",
            "VANTAGE_STORAGE__BUCKET": config.storage.bucket,
            "VANTAGE_BROKER__URL": config.broker.url,
            "VANTAGE_BROKER__NAMESPACE": config.broker.namespace,
            "VANTAGE_DATABASE__URL": config.database_url,
            "VANTAGE_API__PORT": str(config.api.port),
            "VANTAGE_API__PUBLIC_URL": config.api.public_url,
            "VANTAGE_STACK__S3_PORT": str(config.stack.s3_port),
            "VANTAGE_STACK__REDIS_PORT": str(config.stack.redis_port),
            "VANTAGE_STACK__MASTER_PORT": str(config.stack.master_port),
            "VANTAGE_STACK__VOLUME_PORT": str(config.stack.volume_port),
            "VANTAGE_STACK__FILER_PORT": str(config.stack.filer_port),
            "VANTAGE_MEDIA__INGEST_ROOT": str(config.home.parent),
            "VANTAGE_MEDIA__CHUNK_SECONDS": str(config.media.chunk_seconds),
            "VANTAGE_JOBS__STALE_AFTER_S": str(config.jobs.stale_after_s),
            # Whatever a local .env says (vantage init writes one), the test's own key signs.
            "VANTAGE_API__SIGNING_KEY": config.api.signing_key,
            "VANTAGE_API__WEBHOOK_PRIVATE_HOSTS": str(config.api.webhook_private_hosts).lower(),
        }
    )
    if config.metrics.worker_port:
        env["VANTAGE_METRICS__WORKER_PORT"] = str(config.metrics.worker_port)
    return env


@pytest.fixture(scope="session")
def embedded(settings: Settings) -> Iterator[Settings]:
    """SeaweedFS (and Redis unless an external broker is given) for the whole run."""
    parts = stack.embedded_parts(settings)
    try:
        for part in parts:
            stack.start(settings, part)
        assert settings.storage.endpoint_url
        stack.wait_for_storage(settings.storage.endpoint_url)
        store = ObjectStore(settings.storage)
        deadline = time.monotonic() + 60
        while True:
            try:
                store.ensure_bucket()
                store.allow_cross_origin_reads(settings.api.media_origins)  # as `vantage init`
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        engine = make_engine(settings.database_url)
        upgrade(engine)
        engine.dispose()
        yield settings
    finally:
        # Throwaway data: no graceful shutdown to wait for (SeaweedFS's takes 10 s and more).
        for part in reversed(parts):
            stack.stop(settings, part, grace_s=1)


@pytest.fixture(scope="session")
def store(embedded: Settings) -> ObjectStore:
    return ObjectStore(embedded.storage)


@pytest.fixture(scope="session")
def sessions(embedded: Settings) -> sessionmaker[Session]:
    return make_session_factory(make_engine(embedded.database_url))


def spawn(argv: list[str], config: Settings, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        argv,
        env=settings_env(config),
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def end(proc: subprocess.Popen[bytes], grace_s: float = 5) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def side_broker(config: Settings, name: str, **update: object) -> Settings:
    """The same catalog, store and broker, with queues of their own (a namespace) that only the
    test's own workers consume."""
    broker = config.broker.model_copy(update={"namespace": f"{config.broker.namespace}-{name}"})
    return config.model_copy(update={"broker": broker, **update})


def purge(config: Settings) -> None:
    """Drop whatever is left in ``config``'s queues."""
    app = make_celery(config, "vantage-test-purge")
    try:
        app.control.purge()
    finally:
        app.close()


@pytest.fixture(scope="session")
def worker_metrics_url() -> str:
    """Where the session's worker serves its ``/metrics``."""
    return f"http://127.0.0.1:{free_port()}/metrics"


@pytest.fixture(scope="session")
def worker(embedded: Settings, worker_metrics_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker consuming from the real broker, with its metrics port."""
    argv = [sys.executable, "-m", "celery", "-A", "workers.app", "worker"]
    argv += ["-Q", worker_queues(embedded, "live,vod,replay,analysis"), "-c", "2"]
    argv += ["-n", f"test-{RUN_ID}@%h"]
    argv += ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    port = worker_metrics_url.rsplit(":", 1)[1].split("/")[0]
    # The tests' webhook receivers listen on loopback: this worker may deliver there.
    api = embedded.api.model_copy(update={"webhook_private_hosts": True})
    config = embedded.model_copy(
        update={"metrics": MetricsSettings(worker_port=int(port)), "api": api}
    )
    proc = spawn(argv, config, embedded.home / "worker.log")
    yield proc
    end(proc)


@pytest.fixture(scope="session")
def admin_key(sessions: sessionmaker[Session]) -> str:
    """An admin API key, made the way ``vantage keys create`` makes one."""
    from catalog import tenants
    from catalog.models import Role
    from infra.core.database import session_scope

    with session_scope(sessions) as session:
        _, secret = tenants.create_key("test admin", Role.ADMIN, session=session)
    return secret


@pytest.fixture(scope="session")
def api_url(embedded: Settings, admin_key: str) -> Iterator[str]:
    """The real API, served by uvicorn; ``tests.staff`` calls it with an admin key."""
    from tests import staff

    staff.authorize(admin_key)
    argv = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
    argv += ["--host", "127.0.0.1", "--port", str(embedded.api.port)]
    proc = spawn(argv, embedded, embedded.home / "api.log")
    url = embedded.api.public_url
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((embedded.home / "api.log").read_text()[-3000:])
        time.sleep(0.2)
    yield url
    end(proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright, for the UI tests."""
    if not shutil.which("chromium") and not shutil.which(CHROMIUM):
        # The test setup brings the browser from Debian's packages when it is missing.
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            check=True,
            env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()
