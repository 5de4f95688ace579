"""What every command shares: settings, the catalog, the store, and how errors are printed."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from infra.core.database import make_engine, make_session_factory
from infra.core.errors import VantageError
from infra.core.settings import Settings, get_settings
from transcode.errors import TranscodeError

if TYPE_CHECKING:
    from infra.core.storage import ObjectStore

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def settings() -> Settings:
    return get_settings()


def sessions(config: Settings | None = None) -> sessionmaker[Session]:
    config = config or settings()
    return make_session_factory(make_engine(config.database_url, echo=config.database.echo))


def store(config: Settings | None = None) -> ObjectStore:
    from infra.core.storage import ObjectStore  # boto3 only for the commands that need it

    return ObjectStore((config or settings()).storage)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@contextmanager
def clean_errors() -> Iterator[None]:
    """Turn Vantage errors into one line on stderr and exit status 1."""
    try:
        yield
    except (VantageError, TranscodeError) as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}", highlight=False)
        raise typer.Exit(1) from None


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with clean_errors():
            return func(*args, **kwargs)

    return wrapper
