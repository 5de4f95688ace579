"""Territories: the ISO 3166-1 alpha-2 codes that exist, and the near misses people type.

Rights are sold per territory, so a code that names no country is a grant that never matches
anyone (or, excluded, one that excludes no one). Every code entering the catalog is checked
here; a common mistake is refused with the code that was meant.
"""

from __future__ import annotations

from collections.abc import Iterable

from infra.core.errors import BadRequest

_ASSIGNED = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ
EC EE EG EH ER ES ET
FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ
OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA
RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ
VA VC VE VG VI VN VU
WF WS
YE YT
ZA ZM ZW
"""

CODES = frozenset([*_ASSIGNED.split(), "XK"])
"""The 249 officially assigned codes, and ``XK`` (Kosovo: user-assigned in the standard, but
the code the European Commission, IOC members' broadcasters and banks use)."""

HINTS = {
    "UK": "GB",  # the United Kingdom's code is GB; UK is only reserved for it
    "EL": "GR",  # the European Union's code for Greece
}
"""Codes people type for a territory that has another one."""

GROUPS = frozenset({"EU", "UN", "EZ", "WW", "XX", "ZZ"})
"""Groupings and placeholders that are not one territory: rights list their members."""


def check(codes: Iterable[str]) -> list[str]:
    """Upper-cased codes, each one that exists, in their first order without repeats; a
    :class:`BadRequest` naming every code that does not (with the one meant, where known)."""
    cleaned = [code.strip().upper() for code in codes]
    bad = [problem(code) for code in cleaned if code not in CODES]
    if bad:
        raise BadRequest(f"not ISO 3166-1 alpha-2 territory codes: {'; '.join(bad)}")
    return list(dict.fromkeys(cleaned))


def problem(code: str) -> str:
    """What is wrong with a code that is not a territory."""
    if code in HINTS:
        return f"{code} (did you mean {HINTS[code]}?)"
    if code in GROUPS:
        return f"{code} (a grouping, not a territory: list its members)"
    return code
