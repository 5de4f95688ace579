"""What the seeded catalog is made of: sports with their venues and tags, camera positions, names,
territories and networks, and the scales of a run."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

TARGET_P95_MS = 50.0
"""What the issue asks of every catalog query under rights filtering."""


PAGE = 50
"""Rows per listed page, as the API's default."""


BATCH = 5_000
"""Rows per bulk insert."""


WARM_UP = 3
"""Untimed queries before each measurement, so that it starts from warm caches."""


Say = Callable[[str], None]
"""Where the benchmark says what it is doing, a line at a time."""


Query = Callable[[Session, int, bool], object]
"""One query: in a session, the ``i``-th of its kind, under rights (``True``) or as staff."""


@dataclass(frozen=True)
class Scale:
    """How big the seeded catalog is."""

    assets: int = 100_000
    broadcasters: int = 50
    markers: int | None = None
    """``None``: one for every five recordings."""
    feeds_per_event: int = 10
    assets_per_feed: int = 20

    @property
    def marker_count(self) -> int:
        return self.assets // 5 if self.markers is None else self.markers

    @property
    def event_count(self) -> int:
        """Enough events for ``assets_per_feed`` recordings a camera, and one of every sport."""
        per_event = self.feeds_per_event * self.assets_per_feed
        return max(len(SPORTS), math.ceil(self.assets / per_event))


QUICK = Scale(assets=2_000, broadcasters=5, markers=400)
"""A catalog small enough for the test suite."""


@dataclass(frozen=True)
class Sport:
    name: str
    competition: str
    stage: str
    venues: tuple[str, ...]
    tags: tuple[str, ...]
    teams: tuple[str, ...] = ()
    """Empty for sports where athletes compete one by one."""


SPORTS = (
    Sport(
        "football", "European Football League", "Matchday",
        ("Wembley Stadium", "Camp Nou", "Allianz Arena", "San Siro", "Estadio da Luz"),
        ("goal", "penalty", "yellow card", "red card", "corner", "save", "offside", "var review"),
        ("Lions", "Falcons", "Rovers", "United", "Athletic", "Wanderers", "Rangers", "City"),
    ),
    Sport(
        "basketball", "Continental Basketball Cup", "Game",
        ("Madison Square Garden", "Mercedes-Benz Arena", "Palau Blaugrana", "Zalgiris Arena"),
        ("dunk", "three pointer", "block", "buzzer beater", "foul", "steal"),
        ("Comets", "Giants", "Storm", "Hawks", "Titans", "Bulls"),
    ),
    Sport(
        "tennis", "Grand Slam Series", "Round",
        ("Centre Court", "Court Philippe-Chatrier", "Arthur Ashe Stadium", "Rod Laver Arena"),
        ("ace", "break point", "match point", "tie break", "rally", "double fault"),
    ),
    Sport(
        "athletics", "World Athletics Tour", "Meeting",
        ("Stade de France", "Olympiastadion", "Hayward Field", "Letzigrund"),
        ("start", "finish", "photo finish", "world record", "false start", "personal best"),
    ),
    Sport(
        "swimming", "Aquatics Grand Prix", "Session",
        ("London Aquatics Centre", "Duna Arena", "La Defense Arena"),
        ("start", "turn", "finish", "world record", "relay changeover"),
    ),
    Sport(
        "cycling", "Grand Tour", "Stage",
        ("Col du Tourmalet", "Champs-Élysées", "Alpe d'Huez", "Mont Ventoux"),
        ("attack", "sprint", "crash", "breakaway", "summit finish", "time gap"),
    ),
    Sport(
        "rugby", "Six Unions Championship", "Round",
        ("Twickenham", "Stade Vélodrome", "Eden Park", "Principality Stadium"),
        ("try", "conversion", "penalty", "scrum", "tackle", "drop goal"),
        ("Dragons", "Bears", "Warriors", "Sharks", "Chiefs", "Stags"),
    ),
    Sport(
        "volleyball", "Volleyball Nations League", "Pool match",
        ("Ahoy Rotterdam", "Ergo Arena", "Ariake Arena"),
        ("spike", "block", "ace", "set point", "dig"),
        ("Eagles", "Wolves", "Panthers", "Kings", "Vipers", "Bisons"),
    ),
    Sport(
        "handball", "Handball Champions Cup", "Group match",
        ("Lanxess Arena", "Jyske Bank Boxen", "Accor Arena"),
        ("goal", "save", "penalty throw", "fast break", "two minutes"),
        ("Vikings", "Foxes", "Lynx", "Saints", "Pirates", "Ravens"),
    ),
    Sport(
        "ice hockey", "Ice Hockey World Series", "Game",
        ("Hartwall Arena", "O2 Arena Prague", "Scotiabank Arena"),
        ("goal", "power play", "penalty shot", "save", "fight", "empty net"),
        ("Flames", "Blades", "Penguins", "Huskies", "Bruins", "Jets"),
    ),
    Sport(
        "rowing", "Rowing World Cup", "Regatta",
        ("Dorney Lake", "Lake Bled", "Henley Reach"),
        ("start", "500 m split", "sprint", "finish", "photo finish"),
    ),
    Sport(
        "gymnastics", "Artistic Gymnastics World Cup", "Final",
        ("Ariake Gymnastics Centre", "Bercy Arena", "Antwerp Sportpaleis"),
        ("vault", "floor", "landing", "dismount", "top score", "fall"),
    ),
)  # fmt: skip


CAMERAS = (
    ("cam1 main", "main stand, halfway line"),
    ("cam2 wide", "high gantry, wide"),
    ("cam3 tight", "main stand, tight follow"),
    ("cam4 left", "main stand, left third"),
    ("cam5 right", "main stand, right third"),
    ("cam6 reverse", "opposite stand, reverse angle"),
    ("cam7 end left", "behind the left end"),
    ("cam8 end right", "behind the right end"),
    ("cam9 spidercam", "cable camera over the field"),
    ("cam10 steadicam", "touchline, roaming"),
    ("cam11 super slow", "main stand, super slow motion"),
    ("cam12 beauty", "roof, beauty shot"),
)


FIRST_NAMES = (
    "Amara", "Lukas", "Sofia", "Mateo", "Yuki", "Noah", "Chiara", "Kwame", "Ines", "Oskar",
    "Leila", "Tomás", "Hana", "Rafael", "Freya", "Dmitri", "Aisha", "Jonas", "Marta", "Kenji",
    "Elena", "Samuel", "Nadia", "Viktor", "Zara", "Pablo", "Ingrid", "Emeka", "Lucía", "Henrik",
)  # fmt: skip


SURNAMES = (
    "Okafor", "Schneider", "Rossi", "Fernandes", "Tanaka", "Johansson", "Moreau", "Mensah",
    "Kowalski", "Novak", "Haddad", "Silva", "Nakamura", "Lindqvist", "Petrov", "Adeyemi",
    "García", "Müller", "Bianchi", "Dubois", "Kariuki", "Andersen", "Papadopoulos", "Horvat",
    "Yilmaz", "Costa", "Van Dijk", "Kim", "Nowak", "Jensen", "Ferrari", "Lopez", "Martins",
    "Ivanova", "Chen", "Osei", "Larsen", "Santos", "Weber", "Romano", "Lefebvre", "Abara",
    "Svensson", "Kovacs", "Hoffmann", "Marino", "Sato", "Diallo", "Eriksen", "Pereira",
    "Wojcik", "Fischer", "Castillo", "Bakker", "Nielsen", "Morales", "Varga", "Quinn",
    "Brennan", "Takahashi",
)  # fmt: skip


TERRITORIES = (
    "GB", "IE", "FR", "DE", "IT", "ES", "PT", "NL", "BE", "CH", "AT", "SE", "NO", "DK", "FI",
    "PL", "CZ", "HU", "GR", "TR", "US", "CA", "BR", "AR", "MX", "JP", "KR", "AU", "NZ", "ZA",
    "NG", "KE", "IN", "SG",
)  # fmt: skip


NETWORKS = (
    "Sport",
    "Sports One",
    "Arena TV",
    "Stadium Channel",
    "Play",
    "Live",
    "Action",
    "Extra",
)
