"""The Celery app workers run: ``celery -A workers.app worker``."""

from __future__ import annotations

from infra.core.queue import make_celery
from infra.core.settings import get_settings

app = make_celery(get_settings())
app.conf.include = ["workers.tasks"]
