"""The Celery app workers run: ``celery -A workers.app worker``.

With ``metrics.worker_port`` set, the worker serves ``/metrics`` on that port, summing what every
process of its pool observed. The multiprocess folder must be chosen before anything imports the
metrics module, so it is chosen here, first."""

from __future__ import annotations

import os
import shutil
from typing import Any

from infra.core.settings import get_settings

settings = get_settings()
if settings.metrics.worker_port and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Before prometheus-client is imported: it picks file-backed values from this variable.
    shared = settings.home / "metrics" / f"worker-{settings.metrics.worker_port}"
    shutil.rmtree(shared, ignore_errors=True)
    shared.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared)

from celery import signals  # noqa: E402

from infra.core import logs  # noqa: E402
from infra.core.metrics import multiprocess_registry, process_exited  # noqa: E402
from infra.core.queue import make_celery  # noqa: E402

app = make_celery(settings)
app.conf.include = ["workers.tasks"]


def _logging(**_: Any) -> None:
    logs.configure(settings, "worker")


def _serve_metrics(**_: Any) -> None:
    if settings.metrics.worker_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics.worker_port, registry=multiprocess_registry())


def _forget_process(pid: int | None = None, **_: Any) -> None:
    process_exited(pid or os.getpid())


signals.setup_logging.connect(_logging)
signals.worker_init.connect(_serve_metrics)
signals.worker_process_shutdown.connect(_forget_process)
