"""Unit tests for the pure rights engine in :mod:`catalog.rights`."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from catalog.rights import (
    NO_USAGE,
    Decision,
    EmbargoAfter,
    Grant,
    Holding,
    Media,
    Scope,
    Subject,
    UsageSoFar,
    Verdict,
    decide,
    decide_all,
    exclusivity_conflicts,
    is_visible,
    scopes_overlap,
    territories_overlap,
    visible_grants,
    windows_overlap,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=10)
LATER = NOW + timedelta(days=10)

SUBJECT = Subject(event_id="ev1", sport="football", feed_id="feed1", asset_id="asset1")
BARE = Subject(event_id="ev1")


def grant(**overrides) -> Grant:
    """A grant of everything in GB, forever, with no embargo or quota, unless overridden."""
    fields = {"id": "g", "scope": Scope.ALL, "territories": frozenset({"GB"})}
    fields.update(overrides)
    return Grant(**fields)


def ask(grants, subject=SUBJECT, **overrides) -> Decision:
    kwargs = {"territory": "GB", "media": Media.CLIPS, "now": NOW}
    kwargs.update(overrides)
    return decide(list(grants), subject, **kwargs)


class Recorder:
    """A ``usage`` callable that records which grants it was asked about."""

    def __init__(self, usage: UsageSoFar = NO_USAGE) -> None:
        self.usage = usage
        self.asked: list[str] = []

    def __call__(self, g: Grant) -> UsageSoFar:
        self.asked.append(g.id)
        return self.usage


def refuse_usage(g: Grant) -> UsageSoFar:
    raise AssertionError(f"usage must not be asked for grant {g.id}")


# -- Verdict ----------------------------------------------------------------------------------


def test_verdict_rank_orders_closest_failure_last_and_granted_above_all():
    ranks = [v.rank for v in (Verdict.OUTSIDE, Verdict.MEDIA, Verdict.EMBARGOED, Verdict.QUOTA)]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == 4
    assert Verdict.GRANTED.rank > max(ranks)


@pytest.mark.parametrize(
    ("verdict", "granted"),
    [(v, v is Verdict.GRANTED) for v in Verdict],
    ids=[v.value for v in Verdict],
)
def test_decision_granted_property(verdict, granted):
    assert Decision(verdict, "why").granted is granted


# -- Rule 1: scope ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "value", "subject", "expected"),
    [
        pytest.param(Scope.ALL, None, SUBJECT, True, id="all-full-subject"),
        pytest.param(Scope.ALL, None, BARE, True, id="all-bare-subject"),
        pytest.param(Scope.ALL, "ignored", BARE, True, id="all-ignores-value"),
        pytest.param(Scope.SPORT, "football", SUBJECT, True, id="sport-match"),
        pytest.param(Scope.SPORT, "tennis", SUBJECT, False, id="sport-other"),
        pytest.param(Scope.SPORT, "football", BARE, False, id="sport-subject-none"),
        pytest.param(Scope.SPORT, None, BARE, False, id="sport-none-vs-none"),
        pytest.param(Scope.SPORT, "Football", SUBJECT, False, id="sport-case-sensitive"),
        pytest.param(Scope.EVENT, "ev1", SUBJECT, True, id="event-match"),
        pytest.param(Scope.EVENT, "ev1", BARE, True, id="event-match-bare"),
        pytest.param(Scope.EVENT, "ev2", SUBJECT, False, id="event-other"),
        pytest.param(Scope.EVENT, None, SUBJECT, False, id="event-value-none"),
        pytest.param(Scope.FEED, "feed1", SUBJECT, True, id="feed-match"),
        pytest.param(Scope.FEED, "feed2", SUBJECT, False, id="feed-other"),
        pytest.param(Scope.FEED, "feed1", BARE, False, id="feed-subject-none"),
        pytest.param(Scope.FEED, None, BARE, False, id="feed-none-vs-none"),
        pytest.param(Scope.ASSET, "asset1", SUBJECT, True, id="asset-match"),
        pytest.param(Scope.ASSET, "asset2", SUBJECT, False, id="asset-other"),
        pytest.param(Scope.ASSET, "asset1", BARE, False, id="asset-subject-none"),
        pytest.param(Scope.ASSET, None, BARE, False, id="asset-none-vs-none"),
        pytest.param(Scope.ASSET, "ev1", SUBJECT, False, id="asset-not-event-id"),
        pytest.param(Scope.FEED, "asset1", SUBJECT, False, id="feed-not-asset-id"),
    ],
)
def test_covers(scope, value, subject, expected):
    g = grant(scope=scope, scope_value=value)
    assert g.covers(subject) is expected
    # And decide agrees: covered -> granted, not covered -> outside.
    verdict = ask([g], subject).verdict
    assert verdict is (Verdict.GRANTED if expected else Verdict.OUTSIDE)


# -- Rule 2: territory ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("territories", "excluded", "territory", "expected"),
    [
        pytest.param({"GB"}, False, "GB", True, id="include-listed"),
        pytest.param({"GB", "FR"}, False, "FR", True, id="include-listed-of-many"),
        pytest.param({"GB"}, False, "FR", False, id="include-not-listed"),
        pytest.param(set(), False, "GB", False, id="include-empty-grants-nothing"),
        pytest.param({"GB"}, False, "gb", False, id="include-case-sensitive"),
        pytest.param({"GB"}, True, "GB", False, id="exclude-listed"),
        pytest.param({"GB", "FR"}, True, "FR", False, id="exclude-listed-of-many"),
        pytest.param({"GB"}, True, "FR", True, id="exclude-not-listed"),
        pytest.param(set(), True, "GB", True, id="exclude-empty-grants-everywhere"),
        pytest.param(set(), True, "ZZ", True, id="exclude-empty-any-code"),
    ],
)
def test_territories(territories, excluded, territory, expected):
    g = grant(territories=frozenset(territories), territories_excluded=excluded)
    assert g.allows_territory(territory) is expected
    decision = ask([g], territory=territory)
    assert decision.verdict is (Verdict.GRANTED if expected else Verdict.OUTSIDE)


# -- Rule 3: window ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "now", "expected"),
    [
        pytest.param(None, None, NOW, True, id="open-both"),
        pytest.param(NOW, LATER, NOW, True, id="from-inclusive"),
        pytest.param(NOW, LATER, NOW - timedelta(microseconds=1), False, id="just-before-from"),
        pytest.param(EARLIER, NOW, NOW, False, id="until-exclusive"),
        pytest.param(EARLIER, NOW, NOW - timedelta(microseconds=1), True, id="just-before-until"),
        pytest.param(EARLIER, LATER, NOW, True, id="inside"),
        pytest.param(EARLIER, LATER, LATER + timedelta(days=1), False, id="after"),
        pytest.param(EARLIER, LATER, EARLIER - timedelta(days=1), False, id="before"),
        pytest.param(None, NOW, EARLIER - timedelta(days=1000), True, id="open-from"),
        pytest.param(None, NOW, NOW, False, id="open-from-at-until"),
        pytest.param(NOW, None, LATER + timedelta(days=1000), True, id="open-until"),
        pytest.param(NOW, None, EARLIER, False, id="open-until-before-from"),
        pytest.param(NOW, NOW, NOW, False, id="empty-window"),
    ],
)
def test_windows(valid_from, valid_until, now, expected):
    g = grant(valid_from=valid_from, valid_until=valid_until)
    assert g.in_window(now) is expected
    decision = ask([g], now=now)
    assert decision.verdict is (Verdict.GRANTED if expected else Verdict.OUTSIDE)


@pytest.mark.parametrize(
    "g",
    [
        pytest.param(grant(scope=Scope.EVENT, scope_value="ev2"), id="scope"),
        pytest.param(grant(territories=frozenset({"FR"})), id="territory"),
        pytest.param(grant(valid_until=EARLIER), id="window"),
    ],
)
def test_outside_does_not_leak_which_rule_failed(g):
    decision = ask([g])
    assert decision == Decision(Verdict.OUTSIDE, "outside your rights")


# -- Rule 4: media ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("covered", "asked", "reason"),
    [
        pytest.param(
            {Media.CLIPS}, Media.ARCHIVE, "your rights cover clips, not archive", id="c-a"
        ),
        pytest.param({Media.CLIPS}, Media.LIVE, "your rights cover clips, not live", id="c-l"),
        pytest.param(
            {Media.LIVE, Media.ARCHIVE},
            Media.CLIPS,
            "your rights cover archive, live, not clips",
            id="la-c",
        ),
        pytest.param(set(), Media.LIVE, "your rights cover nothing, not live", id="none-l"),
    ],
)
def test_media_refused(covered, asked, reason):
    g = grant(id="clips-only", media=frozenset(covered))
    decision = ask([g], media=asked)
    assert decision == Decision(Verdict.MEDIA, reason, "clips-only")


@pytest.mark.parametrize("media", list(Media), ids=[m.value for m in Media])
def test_media_granted_when_covered(media):
    assert ask([grant(media=frozenset({media}))], media=media).granted
    assert ask([grant()], media=media).granted  # default grant covers every kind


# -- Rule 5: embargo --------------------------------------------------------------------------

START = NOW - timedelta(hours=1)

BASES = [
    pytest.param(EmbargoAfter.EVENT, "event_ended_at", "the event ends", id="event"),
    pytest.param(EmbargoAfter.MOMENT, "moment_at", "the moment is placed in time", id="moment"),
    pytest.param(
        EmbargoAfter.BROADCAST, "aired_at", "your own broadcast of the event", id="broadcast"
    ),
]
START_FIELDS = ("event_ended_at", "moment_at", "aired_at")


def embargoed_grant(basis: EmbargoAfter, minutes: float = 30) -> Grant:
    return grant(id="emb", embargo_minutes=minutes, embargo_after=basis)


@pytest.mark.parametrize(("basis", "field", "phrase"), BASES)
def test_embargo_unknown_start(basis, field, phrase):
    # The other starting points are known, which must not help.
    others = {f: START for f in START_FIELDS if f != field}
    subject = replace(SUBJECT, **others)
    decision = ask([embargoed_grant(basis)], subject)
    assert decision.verdict is Verdict.EMBARGOED
    assert decision.available_from is None
    assert decision.grant_id == "emb"
    assert decision.reason == f"embargoed until 30 min after {phrase}"
    assert embargoed_grant(basis).available_from(subject) is None


@pytest.mark.parametrize(("basis", "field", "phrase"), BASES)
@pytest.mark.parametrize(
    ("minutes", "offset", "granted"),
    [
        pytest.param(90, timedelta(0), False, id="just-started"),
        pytest.param(90, timedelta(minutes=89, seconds=59), False, id="one-second-early"),
        pytest.param(90, timedelta(minutes=90), True, id="exactly-at-expiry"),
        pytest.param(90, timedelta(hours=5), True, id="long-after"),
        pytest.param(0.5, timedelta(seconds=29), False, id="fractional-minutes-early"),
        pytest.param(0.5, timedelta(seconds=30), True, id="fractional-minutes-at"),
    ],
)
def test_embargo_known_start(basis, field, phrase, minutes, offset, granted):
    subject = replace(SUBJECT, **{field: START})
    g = embargoed_grant(basis, minutes)
    expiry = START + timedelta(minutes=minutes)
    assert g.available_from(subject) == expiry
    decision = ask([g], subject, now=START + offset)
    if granted:
        assert decision == Decision(Verdict.GRANTED, "granted by rights emb", "emb")
    else:
        assert decision.verdict is Verdict.EMBARGOED
        assert decision.available_from == expiry
        assert decision.grant_id == "emb"
        assert decision.reason == f"embargoed until {expiry.isoformat(timespec='seconds')}"


@pytest.mark.parametrize(("basis", "field", "phrase"), BASES)
@pytest.mark.parametrize("minutes", [0, 0.0, -5], ids=["zero", "zero-float", "negative"])
def test_no_embargo_even_with_unknown_start(basis, field, phrase, minutes):
    decision = ask([embargoed_grant(basis, minutes)], BARE)
    assert decision.granted
    assert decision.available_from is None


def test_embargo_is_checked_after_media():
    g = grant(id="g", media=frozenset({Media.LIVE}), embargo_minutes=30)
    assert ask([g], BARE, media=Media.CLIPS).verdict is Verdict.MEDIA


# -- Rule 6: quotas ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "granted"),
    [
        pytest.param(0.0, True, id="zero"),
        pytest.param(29.9, True, id="under"),
        pytest.param(30.0, True, id="exact-limit"),
        pytest.param(30.0 + 1e-7, True, id="within-float-tolerance"),
        pytest.param(30.1, False, id="just-over"),
        pytest.param(120.0, False, id="far-over"),
    ],
)
def test_max_clip(seconds, granted):
    g = grant(id="clip", max_clip_s=30)
    decision = ask([g], seconds=seconds, usage=refuse_usage)
    if granted:
        assert decision.granted
    else:
        assert decision == Decision(
            Verdict.QUOTA, f"{seconds:.1f} s is longer than the 30 s allowed per clip", "clip"
        )


@pytest.mark.parametrize(
    ("used", "seconds", "granted", "left"),
    [
        pytest.param(0.0, 60.0, True, None, id="whole-quota-at-once"),
        pytest.param(50.0, 10.0, True, None, id="exactly-fills"),
        pytest.param(50.0, 10.5, False, "10.0", id="just-over"),
        pytest.param(60.0, 0.5, False, "0.0", id="used-up"),
        pytest.param(75.0, 1.0, False, "0.0", id="overdrawn-left-not-negative"),
        pytest.param(0.0, 61.0, False, "60.0", id="single-use-too-long"),
    ],
)
def test_max_event(used, seconds, granted, left):
    g = grant(id="ev", max_event_s=60)
    usage = Recorder(UsageSoFar(event_s=used))
    decision = ask([g], seconds=seconds, usage=usage)
    assert usage.asked == ["ev"]
    if granted:
        assert decision.granted
    else:
        assert decision.verdict is Verdict.QUOTA
        assert decision.grant_id == "ev"
        assert decision.available_from is None
        assert decision.reason == (
            f"{seconds:.1f} s would pass the 60 s allowed per event ({left} s left)"
        )
        assert "s left" in decision.reason


def test_event_quota_ignores_day_usage_and_vice_versa():
    usage = Recorder(UsageSoFar(event_s=0, day_s=1000))
    assert ask([grant(max_event_s=60)], seconds=60, usage=usage).granted
    usage = Recorder(UsageSoFar(event_s=1000, day_s=0))
    assert ask([grant(max_day_s=60)], seconds=60, usage=usage).granted


@pytest.mark.parametrize(
    ("used", "seconds", "granted", "left"),
    [
        pytest.param(100.0, 20.0, True, None, id="exactly-fills"),
        pytest.param(100.0, 21.0, False, "20.0", id="just-over"),
        pytest.param(130.0, 1.0, False, "0.0", id="overdrawn-left-not-negative"),
    ],
)
def test_max_day(used, seconds, granted, left):
    g = grant(id="day", max_day_s=120)
    usage = Recorder(UsageSoFar(day_s=used))
    decision = ask([g], seconds=seconds, usage=usage)
    assert usage.asked == ["day"]
    if granted:
        assert decision.granted
    else:
        assert decision.verdict is Verdict.QUOTA
        assert decision.grant_id == "day"
        assert decision.reason == (
            f"{seconds:.1f} s would pass the 120 s allowed per day ({left} s left today)"
        )
        assert "s left" in decision.reason
        assert decision.available_from == datetime(2026, 6, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "midnight"),
    [
        pytest.param(NOW, datetime(2026, 6, 2, tzinfo=UTC), id="midday"),
        pytest.param(
            datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC), id="at-midnight"
        ),
        pytest.param(
            datetime(2026, 6, 1, 23, 59, 59, 999999, tzinfo=UTC),
            datetime(2026, 6, 2, tzinfo=UTC),
            id="last-microsecond",
        ),
        pytest.param(
            datetime(2026, 12, 31, 18, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), id="new-year"
        ),
        pytest.param(
            datetime(2028, 2, 28, 9, tzinfo=UTC), datetime(2028, 2, 29, tzinfo=UTC), id="leap-day"
        ),
        pytest.param(
            datetime(2026, 2, 28, 9, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC), id="end-feb"
        ),
    ],
)
def test_day_quota_available_from_next_utc_midnight(now, midnight):
    g = grant(id="day", max_day_s=10)
    decision = ask([g], now=now, seconds=6, usage=Recorder(UsageSoFar(day_s=5)))
    assert decision.verdict is Verdict.QUOTA
    assert decision.available_from == midnight


def test_day_quota_available_from_is_utc_midnight_for_non_utc_now():
    # 23:30 in UTC+2 is 21:30 UTC on 1 June: the UTC day ends at 2 June 00:00 UTC.
    now = datetime(2026, 6, 1, 23, 30, tzinfo=timezone(timedelta(hours=2)))
    decision = ask([grant(max_day_s=10)], now=now, seconds=6, usage=Recorder(UsageSoFar(day_s=5)))
    assert decision.verdict is Verdict.QUOTA
    assert decision.available_from == datetime(2026, 6, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("since_last", "granted"),
    [
        pytest.param(timedelta(0), False, id="same-instant"),
        pytest.param(timedelta(seconds=299), False, id="one-second-early"),
        pytest.param(timedelta(seconds=299, microseconds=999999), False, id="one-us-early"),
        pytest.param(timedelta(seconds=300), True, id="exactly-the-gap"),
        pytest.param(timedelta(hours=3), True, id="long-after"),
    ],
)
def test_min_gap(since_last, granted):
    last = NOW - since_last
    g = grant(id="gap", min_gap_s=300)
    usage = Recorder(UsageSoFar(last_use_at=last))
    decision = ask([g], seconds=5, usage=usage)
    assert usage.asked == ["gap"]
    if granted:
        assert decision.granted
    else:
        next_use = last + timedelta(seconds=300)
        assert decision == Decision(
            Verdict.QUOTA,
            f"uses must be 300 s apart; next at {next_use.isoformat(timespec='seconds')}",
            "gap",
            available_from=next_use,
        )


def test_min_gap_without_earlier_use_is_granted():
    usage = Recorder(UsageSoFar(last_use_at=None))
    assert ask([grant(min_gap_s=300)], seconds=5, usage=usage).granted
    assert usage.asked == ["g"]


@pytest.mark.parametrize(
    "g",
    [
        pytest.param(grant(max_event_s=60), id="event"),
        pytest.param(grant(max_day_s=60), id="day"),
        pytest.param(grant(min_gap_s=60), id="gap"),
        pytest.param(grant(max_clip_s=60, max_event_s=60, max_day_s=60, min_gap_s=60), id="all"),
    ],
)
def test_quotas_without_usage_callable_count_nothing_used(g):
    assert ask([g], seconds=60, usage=None).granted
    assert ask([g], seconds=60.5, usage=None).verdict is (
        Verdict.GRANTED if g.max_event_s is None and g.max_day_s is None else Verdict.QUOTA
    )


@pytest.mark.parametrize(
    "g",
    [
        pytest.param(grant(), id="no-quota"),
        pytest.param(grant(max_clip_s=30), id="clip-only"),
        pytest.param(grant(max_clip_s=1, max_event_s=100), id="clip-refuses-before-usage"),
        pytest.param(
            grant(max_event_s=100, media=frozenset({Media.LIVE})), id="media-refuses-first"
        ),
        pytest.param(grant(max_event_s=100, embargo_minutes=10), id="embargo-refuses-first"),
        pytest.param(
            grant(max_event_s=100, territories=frozenset({"FR"})), id="outside-refuses-first"
        ),
    ],
)
def test_usage_not_asked_for_grants_that_never_reach_event_day_gap_quotas(g):
    ask([g], BARE, seconds=5, usage=refuse_usage)  # must not raise


@pytest.mark.parametrize(
    "usage",
    [
        pytest.param(UsageSoFar(event_s=1e6, day_s=1e6, last_use_at=NOW), id="all-exhausted"),
    ],
)
def test_seconds_none_skips_quotas_entirely(usage):
    g = grant(id="q", max_clip_s=1, max_event_s=1, max_day_s=1, min_gap_s=3600)
    asked = Recorder(usage)
    decision = ask([g], seconds=None, usage=asked)
    assert decision == Decision(Verdict.GRANTED, "granted by rights q", "q")
    assert asked.asked == []
    # The same use, counted, is refused.
    assert ask([g], seconds=1, usage=asked).verdict is Verdict.QUOTA


def test_usage_asked_only_for_grants_with_event_day_or_gap_quotas():
    grants = [
        grant(id="clip-only", max_clip_s=10),  # refused on length, usage not needed
        grant(id="no-quota-wrong-media", media=frozenset({Media.LIVE})),
        grant(id="event", max_event_s=30, max_clip_s=25),  # asked, refused on event quota
        grant(id="day", max_day_s=100),  # asked, granted
        grant(id="gap", min_gap_s=5),  # never reached
    ]
    usage = Recorder(UsageSoFar(event_s=20, day_s=0))
    decision = ask(grants, seconds=20, usage=usage)
    assert decision.grant_id == "day"
    assert decision.granted
    assert usage.asked == ["event", "day"]


def test_usage_callable_receives_the_grant_object():
    seen: list[Grant] = []
    g = grant(id="q", max_event_s=100)

    def usage(asked: Grant) -> UsageSoFar:
        seen.append(asked)
        return NO_USAGE

    ask([g], seconds=5, usage=usage)
    assert seen == [g]
    assert seen[0] is g


def test_quota_order_event_before_day_before_gap():
    g = grant(id="q", max_event_s=10, max_day_s=10, min_gap_s=60)
    everything_used = UsageSoFar(event_s=10, day_s=10, last_use_at=NOW)
    assert "per event" in ask([g], seconds=1, usage=Recorder(everything_used)).reason
    day_and_gap = UsageSoFar(event_s=0, day_s=10, last_use_at=NOW)
    assert "per day" in ask([g], seconds=1, usage=Recorder(day_and_gap)).reason
    gap_only = UsageSoFar(event_s=0, day_s=0, last_use_at=NOW)
    assert "apart" in ask([g], seconds=1, usage=Recorder(gap_only)).reason


# -- decide() across grants -------------------------------------------------------------------

FAIL_OUTSIDE = grant(id="outside", territories=frozenset({"FR"}))
FAIL_MEDIA = grant(id="media", media=frozenset({Media.LIVE}))
FAIL_EMBARGO = grant(id="embargo", embargo_minutes=30)
FAIL_QUOTA = grant(id="quota", max_clip_s=1)
FAILURES = {
    Verdict.OUTSIDE: FAIL_OUTSIDE,
    Verdict.MEDIA: FAIL_MEDIA,
    Verdict.EMBARGOED: FAIL_EMBARGO,
    Verdict.QUOTA: FAIL_QUOTA,
}


def _closest_cases():
    for size in range(1, 5):
        for combo in itertools.combinations(FAILURES, size):
            expected = max(combo, key=lambda v: v.rank)
            for order in itertools.permutations(combo):
                ids = "-".join(v.value for v in order)
                yield pytest.param([FAILURES[v] for v in order], expected, id=ids)


@pytest.mark.parametrize(("grants", "expected"), list(_closest_cases()))
def test_closest_failure_wins_regardless_of_order(grants, expected):
    decision = ask(grants, BARE, seconds=10)
    assert decision.verdict is expected
    if expected is Verdict.OUTSIDE:
        assert decision == Decision(Verdict.OUTSIDE, "outside your rights")
    else:
        assert decision.grant_id == FAILURES[expected].id


def test_each_failure_grant_fails_as_intended_alone():
    for verdict, g in FAILURES.items():
        assert ask([g], BARE, seconds=10).verdict is verdict


@pytest.mark.parametrize(
    ("grants", "expected_id"),
    [
        pytest.param([grant(id="a"), grant(id="b")], "a", id="first-of-two"),
        pytest.param([FAIL_MEDIA, grant(id="b"), grant(id="c")], "b", id="after-a-refusal"),
        pytest.param(
            [FAIL_OUTSIDE, FAIL_MEDIA, FAIL_EMBARGO, FAIL_QUOTA, grant(id="last")],
            "last",
            id="after-every-kind-of-refusal",
        ),
    ],
)
def test_first_granting_grant_is_used(grants, expected_id):
    decision = ask(grants, BARE, seconds=10)
    assert decision == Decision(Verdict.GRANTED, f"granted by rights {expected_id}", expected_id)


def test_granting_grant_stops_the_search():
    usage = Recorder()
    grants = [grant(id="a", max_event_s=100), grant(id="b", max_event_s=100)]
    assert ask(grants, seconds=5, usage=usage).grant_id == "a"
    assert usage.asked == ["a"]


def test_equally_close_failures_give_the_first():
    other_media = grant(id="media2", media=frozenset({Media.ARCHIVE}))
    assert ask([FAIL_MEDIA, other_media]).grant_id == "media"
    assert ask([other_media, FAIL_MEDIA]).grant_id == "media2"


@pytest.mark.parametrize("grants", [[], ()], ids=["list", "tuple"])
def test_no_grants_is_outside(grants):
    decision = decide(grants, SUBJECT, territory="GB", media=Media.LIVE, now=NOW, seconds=1)
    assert decision == Decision(Verdict.OUTSIDE, "outside your rights")
    assert decision.grant_id is None
    assert not decision.granted


# -- decide_all() -----------------------------------------------------------------------------

EV1 = Subject(event_id="ev1")
EV2 = Subject(event_id="ev2")
EV3 = Subject(event_id="ev3")
PER_EVENT = [
    grant(id="g-ev1", scope=Scope.EVENT, scope_value="ev1"),
    grant(id="g-ev2", scope=Scope.EVENT, scope_value="ev2", media=frozenset({Media.LIVE})),
    grant(id="g-ev3-fr", scope=Scope.EVENT, scope_value="ev3", territories=frozenset({"FR"})),
]


def ask_all(subjects, grants=PER_EVENT, **overrides) -> Decision:
    kwargs = {"territory": "GB", "media": Media.CLIPS, "now": NOW}
    kwargs.update(overrides)
    return decide_all(grants, subjects, **kwargs)


@pytest.mark.parametrize(
    ("subjects", "verdict", "grant_id"),
    [
        pytest.param([EV1], Verdict.GRANTED, "g-ev1", id="one-allowed"),
        pytest.param([EV1, EV1], Verdict.GRANTED, "g-ev1", id="all-allowed"),
        pytest.param([EV1, EV2], Verdict.MEDIA, "g-ev2", id="second-media"),
        pytest.param([EV1, EV3], Verdict.OUTSIDE, None, id="second-outside"),
        pytest.param([EV3, EV1], Verdict.OUTSIDE, None, id="first-outside"),
        pytest.param([EV1, EV2, EV3], Verdict.MEDIA, "g-ev2", id="first-refusal-media"),
        pytest.param([EV1, EV3, EV2], Verdict.OUTSIDE, None, id="first-refusal-outside"),
    ],
)
def test_decide_all(subjects, verdict, grant_id):
    decision = ask_all(subjects)
    assert decision.verdict is verdict
    assert decision.grant_id == grant_id
    if verdict is not Verdict.GRANTED:
        first_refusal = next(d for s in subjects if not (d := ask(PER_EVENT, s)).granted)
        assert decision == first_refusal


def test_decide_all_granted_by_first_sources_grant():
    grants = [grant(id="g-ev2", scope=Scope.EVENT, scope_value="ev2"), grant(id="g-all")]
    decision = ask_all([EV1, EV2], grants)
    assert decision == Decision(Verdict.GRANTED, "granted by rights g-all", "g-all")


def test_decide_all_all_sources_allowed_by_different_grants():
    grants = [
        grant(id="a", scope=Scope.EVENT, scope_value="ev1"),
        grant(id="b", scope=Scope.EVENT, scope_value="ev2"),
    ]
    assert ask_all([EV1, EV2], grants).granted


def test_decide_all_passes_seconds_and_usage_to_each_source():
    grants = [grant(id="q", max_clip_s=10, max_event_s=100)]
    usage = Recorder()
    assert ask_all([EV1, EV2], grants, seconds=10, usage=usage).granted
    assert usage.asked == ["q", "q"]
    refused = ask_all([EV1, EV2], grants, seconds=11, usage=usage)
    assert refused.verdict is Verdict.QUOTA


def test_decide_all_empty_is_outside():
    decision = ask_all([], [grant()])
    assert decision == Decision(
        Verdict.OUTSIDE, "a derived work without sources is outside any rights"
    )


# -- visible_grants / is_visible --------------------------------------------------------------


def test_visible_grants_filters_territory_and_window_keeps_order_ignores_scope():
    grants = [
        grant(id="gb", scope=Scope.EVENT, scope_value="other"),
        grant(id="fr", territories=frozenset({"FR"})),
        grant(id="not-fr", territories=frozenset({"FR"}), territories_excluded=True),
        grant(id="expired", valid_until=NOW),
        grant(id="future", valid_from=NOW + timedelta(seconds=1)),
        grant(id="starts-now", valid_from=NOW, media=frozenset()),
        grant(id="embargoed", embargo_minutes=60),
    ]
    ids = [g.id for g in visible_grants(grants, "GB", NOW)]
    assert ids == ["gb", "not-fr", "starts-now", "embargoed"]
    assert [g.id for g in visible_grants(grants, "FR", NOW)] == ["fr"]
    assert [g.id for g in visible_grants(iter(grants), "GB", NOW)] == ids  # any iterable
    assert visible_grants([], "GB", NOW) == []


@pytest.mark.parametrize(
    ("grants", "territory", "now", "expected"),
    [
        pytest.param([grant()], "GB", NOW, True, id="plain"),
        pytest.param([], "GB", NOW, False, id="no-grants"),
        pytest.param([grant()], "FR", NOW, False, id="wrong-territory"),
        pytest.param([grant(valid_until=NOW)], "GB", NOW, False, id="expired"),
        pytest.param(
            [grant(scope=Scope.EVENT, scope_value="ev2")], "GB", NOW, False, id="not-covered"
        ),
        pytest.param(
            [
                grant(scope=Scope.EVENT, scope_value="ev1", territories=frozenset({"FR"})),
                grant(scope=Scope.EVENT, scope_value="ev2"),
            ],
            "GB",
            NOW,
            False,
            id="covering-grant-not-visible-visible-grant-not-covering",
        ),
        pytest.param(
            [
                grant(scope=Scope.EVENT, scope_value="ev2"),
                grant(scope=Scope.FEED, scope_value="feed1"),
            ],
            "GB",
            NOW,
            True,
            id="second-grant-covers",
        ),
        pytest.param(
            [grant(media=frozenset(), embargo_minutes=60, max_clip_s=0)],
            "GB",
            NOW,
            True,
            id="media-embargo-quota-do-not-hide",
        ),
    ],
)
def test_is_visible(grants, territory, now, expected):
    assert is_visible(grants, SUBJECT, territory=territory, now=now) is expected
    assert (ask(grants, territory=territory, now=now).verdict is not Verdict.OUTSIDE) is expected


# -- exclusivity ------------------------------------------------------------------------------

EXCL = grant(id="new", exclusive=True)
OTHER = grant(id="other")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param({"GB"}, {"GB"}, True, id="include-same"),
        pytest.param({"GB", "FR"}, {"FR", "DE"}, True, id="include-share-one"),
        pytest.param({"GB"}, {"FR"}, False, id="include-disjoint"),
        pytest.param(set(), {"GB"}, False, id="include-empty"),
        pytest.param(set(), set(), False, id="include-both-empty"),
    ],
)
def test_territories_overlap_include_lists(a, b, expected):
    ga, gb = grant(territories=frozenset(a)), grant(territories=frozenset(b))
    universe = frozenset(a) | frozenset(b)
    assert territories_overlap(ga, gb, universe) is expected
    assert territories_overlap(gb, ga, universe) is expected


@pytest.mark.parametrize(
    ("excluded", "included", "expected"),
    [
        pytest.param({"GB"}, {"GB"}, False, id="excluded-exactly-what-other-includes"),
        pytest.param({"GB"}, {"FR"}, True, id="excludes-other-territory"),
        pytest.param({"GB"}, {"GB", "FR"}, True, id="excludes-part-of-include"),
        pytest.param({"GB", "FR"}, {"GB", "FR"}, False, id="excludes-all-of-include"),
        pytest.param(set(), {"GB"}, True, id="empty-exclude-is-everywhere"),
        pytest.param(set(), set(), False, id="empty-include-is-nowhere"),
        pytest.param({"GB"}, set(), False, id="exclude-vs-empty-include"),
    ],
)
def test_territories_overlap_exclude_vs_include(excluded, included, expected):
    ex = grant(territories=frozenset(excluded), territories_excluded=True)
    inc = grant(territories=frozenset(included))
    universe = frozenset(excluded) | frozenset(included)
    assert territories_overlap(ex, inc, universe) is expected
    assert territories_overlap(inc, ex, universe) is expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param({"GB"}, {"GB"}, id="same-exclusions"),
        pytest.param({"GB"}, {"FR"}, id="different-exclusions"),
        pytest.param(set(), set(), id="both-everywhere"),
    ],
)
def test_territories_overlap_two_exclude_lists_always_overlap(a, b):
    ga = grant(territories=frozenset(a), territories_excluded=True)
    gb = grant(territories=frozenset(b), territories_excluded=True)
    assert territories_overlap(ga, gb, frozenset(a) | frozenset(b))


T1, T2, T3, T4 = (NOW + timedelta(days=d) for d in range(4))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param((None, None), (None, None), True, id="both-open"),
        pytest.param((None, None), (T1, T2), True, id="open-vs-closed"),
        pytest.param((T1, T3), (T2, T4), True, id="partial"),
        pytest.param((T1, T4), (T2, T3), True, id="nested"),
        pytest.param((T1, T2), (T2, T3), False, id="adjacent-until-is-exclusive"),
        pytest.param((T1, T2), (T3, T4), False, id="disjoint"),
        pytest.param((None, T2), (T2, None), False, id="open-ended-adjacent"),
        pytest.param((None, T3), (T2, None), True, id="open-ended-overlap"),
        pytest.param((T1, None), (T2, None), True, id="both-open-until"),
        pytest.param((None, T1), (None, T2), True, id="both-open-from"),
        pytest.param((T2, T2), (None, None), False, id="empty-window"),
    ],
)
def test_windows_overlap(a, b, expected):
    ga = grant(valid_from=a[0], valid_until=a[1])
    gb = grant(valid_from=b[0], valid_until=b[1])
    assert windows_overlap(ga, gb) is expected
    assert windows_overlap(gb, ga) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param((Scope.ALL, None), (Scope.ALL, None), True, id="all-all"),
        pytest.param((Scope.ALL, None), (Scope.ASSET, "x"), True, id="all-asset"),
        pytest.param((Scope.SPORT, "football"), (Scope.ALL, None), True, id="sport-all"),
        pytest.param((Scope.SPORT, "football"), (Scope.SPORT, "football"), True, id="same-sport"),
        pytest.param((Scope.SPORT, "football"), (Scope.SPORT, "tennis"), False, id="other-sport"),
        pytest.param((Scope.EVENT, "ev1"), (Scope.EVENT, "ev2"), False, id="other-event"),
        pytest.param((Scope.FEED, "f1"), (Scope.FEED, "f1"), True, id="same-feed"),
        pytest.param((Scope.ASSET, "a1"), (Scope.ASSET, "a2"), False, id="other-asset"),
        pytest.param((Scope.SPORT, "tennis"), (Scope.EVENT, "ev1"), True, id="sport-event"),
        pytest.param((Scope.EVENT, "ev1"), (Scope.FEED, "f9"), True, id="event-feed"),
        pytest.param((Scope.FEED, "f1"), (Scope.ASSET, "a1"), True, id="feed-asset"),
    ],
)
def test_scopes_overlap(a, b, expected):
    ga = grant(scope=a[0], scope_value=a[1])
    gb = grant(scope=b[0], scope_value=b[1])
    assert scopes_overlap(ga, gb) is expected
    assert scopes_overlap(gb, ga) is expected


@pytest.mark.parametrize(
    ("new", "other", "broadcaster", "conflict"),
    [
        pytest.param(EXCL, OTHER, "rival", True, id="exclusive-vs-non-exclusive"),
        pytest.param(
            grant(id="new"), grant(id="other", exclusive=True), "rival", True, id="held-exclusive"
        ),
        pytest.param(EXCL, replace(OTHER, exclusive=True), "rival", True, id="both-exclusive"),
        pytest.param(grant(id="new"), OTHER, "rival", False, id="neither-exclusive"),
        pytest.param(EXCL, replace(OTHER, exclusive=True), "me", False, id="same-broadcaster"),
        pytest.param(
            EXCL, replace(OTHER, territories=frozenset({"FR"})), "rival", False, id="territories"
        ),
        pytest.param(
            EXCL,
            replace(OTHER, territories=frozenset({"GB"}), territories_excluded=True),
            "rival",
            False,
            id="excludes-the-exclusive-territory",
        ),
        pytest.param(
            EXCL,
            replace(OTHER, territories=frozenset({"FR"}), territories_excluded=True),
            "rival",
            True,
            id="exclude-list-covers-it",
        ),
        pytest.param(
            replace(EXCL, territories=frozenset({"US"}), territories_excluded=True),
            replace(OTHER, territories=frozenset({"DE"}), territories_excluded=True),
            "rival",
            True,
            id="two-exclude-lists",
        ),
        pytest.param(
            replace(EXCL, valid_until=NOW),
            replace(OTHER, valid_from=NOW),
            "rival",
            False,
            id="adjacent-windows",
        ),
        pytest.param(
            replace(EXCL, valid_until=NOW + timedelta(seconds=1)),
            replace(OTHER, valid_from=NOW),
            "rival",
            True,
            id="windows-overlap-by-a-second",
        ),
        pytest.param(
            replace(EXCL, media=frozenset({Media.LIVE})),
            replace(OTHER, media=frozenset({Media.CLIPS, Media.ARCHIVE})),
            "rival",
            False,
            id="disjoint-media",
        ),
        pytest.param(
            replace(EXCL, media=frozenset({Media.LIVE, Media.CLIPS})),
            replace(OTHER, media=frozenset({Media.CLIPS, Media.ARCHIVE})),
            "rival",
            True,
            id="shared-media",
        ),
        pytest.param(
            replace(EXCL, scope=Scope.EVENT, scope_value="ev1"),
            replace(OTHER, scope=Scope.EVENT, scope_value="ev2"),
            "rival",
            False,
            id="different-events",
        ),
        pytest.param(
            replace(EXCL, scope=Scope.EVENT, scope_value="ev1"),
            replace(OTHER, scope=Scope.SPORT, scope_value="football"),
            "rival",
            True,
            id="event-vs-sport-conservative",
        ),
    ],
)
def test_exclusivity_conflicts(new, other, broadcaster, conflict):
    held = [Holding(broadcaster, other)]
    assert exclusivity_conflicts("me", new, held) == (held if conflict else [])


def test_exclusivity_conflicts_lists_every_conflicting_holding_in_order():
    held = [
        Holding("rival1", grant(id="a")),
        Holding("me", grant(id="mine")),
        Holding("rival2", grant(id="b", territories=frozenset({"FR"}))),
        Holding("rival3", grant(id="c", media=frozenset({Media.LIVE}))),
    ]
    conflicts = exclusivity_conflicts("me", EXCL, held)
    assert conflicts == [held[0], held[3]]
    assert exclusivity_conflicts("me", EXCL, iter(held)) == conflicts
    assert exclusivity_conflicts("me", EXCL, []) == []


def test_exclusivity_conflicts_honours_custom_related():
    calls: list[tuple[str, str]] = []

    def never(a: Grant, b: Grant) -> bool:
        calls.append((a.id, b.id))
        return False

    different_event = Holding("rival", grant(id="x", scope=Scope.EVENT, scope_value="ev2"))
    new = replace(EXCL, scope=Scope.EVENT, scope_value="ev1")
    same = Holding("rival", grant(id="y", scope=Scope.EVENT, scope_value="ev1"))

    assert exclusivity_conflicts("me", new, [same], related=never) == []
    assert calls == [("new", "y")]
    assert exclusivity_conflicts("me", new, [different_event]) == []
    assert exclusivity_conflicts("me", new, [different_event], related=lambda a, b: True) == [
        different_event
    ]


def test_exclusivity_related_not_asked_when_other_rules_exclude():
    def boom(a: Grant, b: Grant) -> bool:
        raise AssertionError("related must not be asked")

    held = [
        Holding("me", grant(id="mine")),
        Holding("rival", grant(id="fr", territories=frozenset({"FR"}))),
        Holding("rival", grant(id="live", media=frozenset({Media.LIVE}))),
        Holding("rival", grant(id="old", valid_until=EARLIER)),
    ]
    new = replace(EXCL, media=frozenset({Media.CLIPS}), valid_from=NOW)
    assert exclusivity_conflicts("me", new, held, related=boom) == []
    # Non-exclusive against non-exclusive is not checked at all.
    assert exclusivity_conflicts("me", grant(), [Holding("rival", grant())], related=boom) == []


# -- property: decide() and is_visible() agree ------------------------------------------------

TERRITORIES = ("GB", "FR", "DE", "US")
SPORTS = ("football", "tennis", None)
EVENTS = ("ev1", "ev2")
FEEDS = ("feed1", "feed2", None)
ASSETS = ("asset1", "asset2", None)


def _maybe(rng: random.Random, value, p: float = 0.5):
    return value if rng.random() < p else None


def _random_time(rng: random.Random) -> datetime:
    return NOW + timedelta(hours=rng.randint(-48, 48), seconds=rng.choice((0, 1, 1800)))


def _random_grant(rng: random.Random, i: int) -> Grant:
    scope = rng.choice((Scope.ALL, *Scope))  # ``all`` twice as likely
    pool = {
        Scope.ALL: (None,),
        Scope.SPORT: SPORTS,
        Scope.EVENT: EVENTS,
        Scope.FEED: FEEDS,
        Scope.ASSET: ASSETS,
    }[scope]
    start = _maybe(rng, _random_time(rng), p=0.3)
    return Grant(
        id=f"g{i}",
        scope=scope,
        scope_value=rng.choice(pool),
        territories=frozenset(rng.sample(TERRITORIES, rng.randint(0, 4))),
        territories_excluded=rng.random() < 0.4,
        media=frozenset(rng.sample(list(Media), rng.choice((0, 1, 2, 2, 3, 3)))),
        valid_from=start,
        valid_until=_maybe(rng, (start or NOW) + timedelta(hours=rng.randint(-2, 96)), p=0.3),
        embargo_minutes=rng.choice((0, 0, 15, 90)),
        embargo_after=rng.choice(list(EmbargoAfter)),
        exclusive=rng.random() < 0.2,
        max_clip_s=_maybe(rng, rng.choice((10.0, 30.0)), p=0.3),
        max_event_s=_maybe(rng, rng.choice((30.0, 120.0)), p=0.3),
        max_day_s=_maybe(rng, rng.choice((60.0, 600.0)), p=0.3),
        min_gap_s=_maybe(rng, rng.choice((60.0, 3600.0)), p=0.3),
    )


def _random_subject(rng: random.Random) -> Subject:
    return Subject(
        event_id=rng.choice(EVENTS),
        sport=rng.choice(SPORTS),
        feed_id=rng.choice(FEEDS),
        asset_id=rng.choice(ASSETS),
        event_ended_at=_maybe(rng, _random_time(rng)),
        moment_at=_maybe(rng, _random_time(rng)),
        aired_at=_maybe(rng, _random_time(rng)),
    )


def _random_case(rng: random.Random) -> tuple[list[Grant], Subject, dict]:
    grants = [_random_grant(rng, i) for i in range(rng.randint(0, 5))]
    subject = _random_subject(rng)
    now = _random_time(rng)
    so_far = UsageSoFar(
        event_s=rng.choice((0.0, 25.0, 100.0)),
        day_s=rng.choice((0.0, 50.0, 590.0)),
        last_use_at=_maybe(rng, now - timedelta(seconds=rng.choice((10, 120, 7200)))),
    )
    kwargs = {
        "territory": rng.choice(TERRITORIES),
        "media": rng.choice(list(Media)),
        "now": now,
        "seconds": rng.choice((None, 5.0, 20.0, 45.0)),
        "usage": lambda g: so_far,
    }
    return grants, subject, kwargs


def test_decide_agrees_with_is_visible_on_random_cases():
    rng = random.Random(7)
    verdicts: Counter[Verdict] = Counter()
    for case in range(500):
        grants, subject, kwargs = _random_case(rng)
        territory, now, media = kwargs["territory"], kwargs["now"], kwargs["media"]
        decision = decide(grants, subject, **kwargs)
        visible = is_visible(grants, subject, territory=territory, now=now)
        verdicts[decision.verdict] += 1
        context = f"case {case}: {decision} for {subject} in {territory} at {now} by {grants}"

        if decision.granted:
            assert visible, context
            (used,) = [g for g in grants if g.id == decision.grant_id]
            assert used.covers(subject), context
            assert used in visible_grants(grants, territory, now), context
            assert media in used.media, context
        if decision.verdict is Verdict.OUTSIDE:
            assert not visible, context
            assert decision.grant_id is None, context
        # The converse holds too: a subject that is visible is never OUTSIDE.
        assert (decision.verdict is not Verdict.OUTSIDE) is visible, context

    # The generator must exercise every outcome, or the property says little.
    assert set(verdicts) == set(Verdict), verdicts
    assert min(verdicts.values()) >= 20, verdicts


def test_a_use_longer_than_a_whole_day_quota_never_says_when_to_come_back():
    decision = ask([grant(max_day_s=10)], seconds=11)
    assert decision.verdict is Verdict.QUOTA
    assert decision.available_from is None
