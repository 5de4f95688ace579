"""Moving a job's outputs into object storage: files under a prefix (several at once), manifests
in publishing order, and removing what an earlier run left that this one does not name."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from transcode.packaging import Manifests
from workers.context import WorkerContext

_UPLOAD_THREADS = 8


def upload_files(ctx: WorkerContext, root: Path, prefix: str, files: Sequence[Path]) -> set[str]:
    """Upload ``files`` (several at once) under ``prefix``, keyed by their path below ``root``."""
    wanted = {prefix + path.relative_to(root).as_posix(): path for path in files}
    with ThreadPoolExecutor(max_workers=_UPLOAD_THREADS) as pool:
        for done in [pool.submit(ctx.store.put_file, path, key) for key, path in wanted.items()]:
            done.result()
    return set(wanted)


def publish_manifests(ctx: WorkerContext, prefix: str, manifests: Manifests) -> set[str]:
    """Upload the manifests in order, media playlists before the master and the MPD."""
    for path, text in manifests.files.items():
        ctx.store.put_bytes(text.encode(), prefix + path)
    return {prefix + path for path in manifests.files}


def remove_stale(ctx: WorkerContext, prefix: str, keep: set[str]) -> None:
    """Delete what an earlier ladder left under ``prefix`` that this one does not name."""
    ctx.store.delete([key for key in ctx.store.list_keys(prefix) if key not in keep])
