"""The registry's unit-string cache: the same answers as pint's own parse, and bounded."""

import pint
import pytest
from hypothesis import given
from hypothesis import strategies as st

from thecal.units import Q_
from thecal.units import registry as r


def test_cached_conversions_match_fresh_ones() -> None:
    for _ in range(2):  # the second round is served from the cache
        assert Q_(3.0, "mg/d").to("mg/h").magnitude == 3.0 / 24  # 3 mg per 24 h
        assert Q_(0.3, "mL/d").to("mL/h").magnitude == 0.3 / 24
        assert Q_(1.0, "mcg/h").to("mg/d").magnitude == 24 / 1000


@given(st.sampled_from(["mg/d", "mL/h", "mcg/mL", "mg/mL", "ug/h", "mL/d", "d", "cm"]))
def test_cached_parse_equals_pint_parse(unit: str) -> None:
    assert r.ureg.parse_units(unit) == r.ureg.parse_units(unit)
    assert Q_(1.0, unit).units == r.ureg.Unit(unit)


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Unit text typed by users goes through it: beyond the bound nothing more is kept, and
    # the answers stay right.
    monkeypatch.setattr(r, "_UNIT_CACHE_SIZE", 3)
    fresh = pint.UnitRegistry(non_int_type=float)
    r._cache_unit_parsing(fresh)
    cached = fresh._parse_units_as_container
    store = next(c.cell_contents for c in cached.__closure__ if isinstance(c.cell_contents, dict))
    units = ["mg/d", "mL/h", "mg/mL", "ug/h", "cm/s"]
    plain = pint.UnitRegistry(non_int_type=float)
    for unit in units * 2:
        assert str(fresh.parse_units(unit)) == str(plain.parse_units(unit))
    assert len(store) == 3
