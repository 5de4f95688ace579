"""The session scope and its after-commit outbox, on a real SQLite file."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from infra.core.database import after_commit, make_engine, make_session_factory, session_scope


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE jobs (id TEXT PRIMARY KEY)"))
    yield make_session_factory(engine)
    engine.dispose()


def test_actions_run_after_the_commit_in_order_and_see_the_rows(sessions):
    seen: list[tuple[str, int]] = []

    def count(label: str) -> None:
        with session_scope(sessions) as other:  # what a worker does with the id it receives
            seen.append((label, other.execute(text("SELECT count(*) FROM jobs")).scalar_one()))

    with session_scope(sessions) as session:
        session.execute(text("INSERT INTO jobs VALUES ('a')"))
        after_commit(session, lambda: count("first"))
        after_commit(session, lambda: count("second"))
        assert seen == []  # nothing is sent before the commit
    assert seen == [("first", 1), ("second", 1)]


def test_nothing_is_sent_for_a_change_that_was_rolled_back(sessions):
    sent: list[str] = []
    with pytest.raises(RuntimeError), session_scope(sessions) as session:
        session.execute(text("INSERT INTO jobs VALUES ('b')"))
        after_commit(session, lambda: sent.append("b"))
        raise RuntimeError("the handler failed")
    assert sent == []
    with session_scope(sessions) as session:  # and a later unit of work starts clean
        after_commit(session, lambda: sent.append("c"))
    assert sent == ["c"]
