"""A use of several sources counts against every grant it uses: a replay from two angles held
under two rights is one usage row per right, on a real (SQLite) catalog."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalog import access, services, tenants
from catalog.migrate import upgrade
from catalog.models import Role, Usage, utcnow
from catalog.rights import Media
from infra.core.database import make_engine, make_session_factory, session_scope


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'usage.db'}")
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def test_a_replay_from_two_rights_counts_against_both_and_a_refusal_against_none(sessions):
    with session_scope(sessions) as session:
        event = services.create_event("Usage final", session=session, sport="rowing")
        feeds = [services.get_or_create_feed(event, f"cam{i}", session=session) for i in (1, 2, 3)]
        holder = tenants.create_broadcaster("Two Rights TV", ["FR"], session=session)
        grants = [
            tenants.grant_rights(
                holder.id,
                tenants.GrantTerms(
                    scope="feed", scope_value=feed.id, territories=("FR",), max_day_s=60.0
                ),
                session=session,
            )
            for feed in feeds[:2]
        ]
        key, _ = tenants.create_key("two rights", Role.BROADCASTER, session=session,
                                    broadcaster_id=holder.id)  # fmt: skip
        principal = access.Principal(
            role=Role.BROADCASTER, key_id=key.id, broadcaster_id=holder.id,
            scopes=frozenset(key.scopes), territory="FR",
        )  # fmt: skip
        caller = access.caller_for(principal, session=session, now=utcnow())

        def use(*chosen):
            subjects = [
                caller.subject(event, feed_id=f.id, asset_id=None, moment=None) for f in chosen
            ]
            return access.authorize(
                caller,
                access.Use(
                    action="replay.order",
                    media=Media.CLIPS,
                    subject_kind="replay",
                    subject_id="r",
                    seconds=8.0,
                    event_id=event.id,
                ),
                subjects,
                session=session,
            )

        assert use(feeds[0], feeds[1]).granted
        session.flush()
        rows = session.scalars(select(Usage).where(Usage.broadcaster_id == holder.id)).all()
        assert sorted((r.grant_id, r.seconds) for r in rows) == sorted((g.id, 8.0) for g in grants)
        # One source outside the rights: refused, and nothing is counted against the others.
        assert not use(feeds[0], feeds[2]).granted
        session.flush()
        assert len(session.scalars(select(Usage)).all()) == 2
