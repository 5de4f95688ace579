"""Territory codes: the ISO 3166-1 alpha-2 list, checked, with the near misses named."""

from __future__ import annotations

import pytest

from catalog import territories
from infra.core.errors import BadRequest


def test_the_list_holds_every_assigned_code_and_kosovo():
    assert len(territories.CODES) == 249 + 1
    assert {"GB", "GR", "US", "FR", "SS", "XK", "BQ", "AX"} <= territories.CODES
    assert not {"UK", "EL", "EU", "AN", "YU", "CS"} & territories.CODES  # reserved or withdrawn
    assert all(len(code) == 2 and code.isupper() for code in territories.CODES)


def test_codes_are_cleaned_and_kept_in_order_once():
    assert territories.check([" gb", "fr", "GB", "Xk"]) == ["GB", "FR", "XK"]


@pytest.mark.parametrize(
    ("code", "said"),
    [("UK", "UK (did you mean GB?)"), ("el", "EL (did you mean GR?)"), ("EU", "a grouping")],
)
def test_a_near_miss_is_refused_with_the_code_meant(code, said):
    with pytest.raises(BadRequest, match=r"not ISO 3166-1 alpha-2") as refused:
        territories.check(["FR", code])
    assert said in str(refused.value)


def test_every_bad_code_is_named_at_once():
    with pytest.raises(BadRequest) as refused:
        territories.check(["QQ", "GB", "Narnia"])
    assert "QQ" in str(refused.value) and "NARNIA" in str(refused.value)
