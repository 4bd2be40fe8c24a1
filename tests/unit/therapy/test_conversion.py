"""Route conversion: always an estimate, always a range, every ratio with its source."""

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import thecal.data
from thecal.therapy.conversion import ConversionTable, build_conversions, convert
from thecal.units import Q_, InputError

DATA_FILE = Path(thecal.data.__file__).parent / "conversions.toml"


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def table(data: dict[str, Any]) -> ConversionTable:
    return build_conversions(data)


def test_oral_300_mg_to_intrathecal_spans_the_sourced_ratios(data: dict[str, Any]) -> None:
    e = convert(Q_("300 mg/d"), "oral", "intrathecal", "morphine", None, data)
    # Sourced oral : IT ratios, 300 mg/d ÷ ratio:
    #   Krames 300 : 1                  → 1 mg/d
    #   observed 12 : 1 … 125 : 1      → 25 … 2.4 mg/d
    #   Chai 2013 100 : 1 … 200 : 1    → 3 … 1.5 mg/d
    #   oral : IV 3 × IV : IT 100      → 300 : 1 → 1 mg/d (and via epidural 3 × 10 × 10)
    # Range = 1 … 25 mg/d.
    assert e.low.to("mg/d").magnitude == pytest.approx(1.0)
    assert e.high.to("mg/d").magnitude == pytest.approx(25.0)
    assert e.low.units == Q_("1 mg/d").units
    assert "estimate" in e.summary.casefold()
    assert "1 mg/d to 25 mg/d" in e.summary
    sources = " | ".join(r.source for r in e.ratios)
    for src in ("PMID 15055516", "openanesthesia", "Pain Physician 2013", "standard"):
        assert src in sources
    assert all(r.source.strip() for r in e.ratios)
    # Each path's own range lies inside the estimate.
    ranges = sorted((p.low.to("mg/d").magnitude, p.high.to("mg/d").magnitude) for p in e.paths)
    assert ranges[-1] == pytest.approx((2.4, 25.0))
    assert (1.5, 3.0) in [pytest.approx(r) for r in ranges]
    assert all(e.low.magnitude - 1e-9 <= lo <= hi <= e.high.magnitude + 1e-9 for lo, hi in ranges)


def test_time_base_is_kept(table: ConversionTable) -> None:
    # 12.5 mg/h oral (= 300 mg/d) → 12.5 ÷ 300 … 12.5 ÷ 12 = 0.041667 … 1.0417 mg/h
    e = convert(Q_("12.5 mg/h"), "PO", "IT", "morphine", "morphine", table)
    assert e.low.units == Q_("1 mg/h").units
    assert e.low.magnitude == pytest.approx(12.5 / 300)
    assert e.high.magnitude == pytest.approx(12.5 / 12)


def test_it_morphine_to_it_hydromorphone(table: ConversionTable) -> None:
    # 6 mg/d IT morphine ÷ 6 … ÷ 5 = 1 … 1.2 mg/d IT hydromorphone
    e = convert(Q_("6 mg/d"), "intrathecal", "intrathecal", "morphine", "hydromorphone", table)
    assert (e.low.magnitude, e.high.magnitude) == pytest.approx((1.0, 1.2))
    (r,) = e.ratios
    assert "aneskey" in r.source
    # and back: 1 mg/d hydromorphone × 5 … × 6 = 5 … 6 mg/d morphine
    back = convert(Q_("1 mg/d"), "it", "it", "Dilaudid", "Infumorph", table)
    assert (back.low.magnitude, back.high.magnitude) == pytest.approx((5.0, 6.0))
    assert back.paths[0].steps[0].forward is False


def test_single_ratio_is_still_called_an_estimate(table: ConversionTable) -> None:
    # 300 mg/d oral ÷ 3 = 100 mg/d IV; only one sourced value, so the range has no spread
    e = convert(Q_("300 mg/d"), "oral", "iv", "morphine", None, table)
    assert e.low.magnitude == pytest.approx(100.0) == e.high.magnitude
    assert "estimate" in e.summary.casefold() and "only one sourced ratio" in e.summary


def test_iv_to_intrathecal_two_paths_agree(table: ConversionTable) -> None:
    # IV : IT = 100 : 1 directly, and 10 × 10 via epidural: 300 mg/d → 3 mg/d both ways
    e = convert(Q_("300 mg/d"), "intravenous", "intrathecal", "morphine", None, table)
    assert len(e.paths) == 2
    assert (e.low.magnitude, e.high.magnitude) == pytest.approx((3.0, 3.0))


def test_oral_to_it_hydromorphone_chains(table: ConversionTable) -> None:
    # 300 mg/d oral → IT morphine 1 … 25 mg/d → ÷ 6 … ÷ 5 → 1/6 … 5 mg/d IT hydromorphone
    e = convert(Q_("300 mg/d"), "oral", "intrathecal", "morphine", "hydromorphone", table)
    assert e.low.magnitude == pytest.approx(1 / 6)
    assert e.high.magnitude == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("300 mg", "oral", "intrathecal", "morphine", None), "dose"),  # no time base
        (("0 mg/d", "oral", "intrathecal", "morphine", None), "dose"),
        (("300 mg/d", "rectal", "intrathecal", "morphine", None), "from_route"),
        (("300 mg/d", "oral", "intrathecal", "fentanyl", None), "drug"),
        (("300 mg/d", "oral", "intrathecal", "hydromorphone", None), "from_route"),
        (("300 mg/d", "oral", "oral", "morphine", None), "to_route"),
        (("300 mg/d", "epidural", "oral", "morphine", "hydromorphone"), "to_route"),
    ],
)
def test_unsupported_input_is_rejected(
    table: ConversionTable, args: tuple[str, str, str, str, str | None], field: str
) -> None:
    dose, frm, to, drug, to_drug = args
    with pytest.raises(InputError) as exc:
        convert(Q_(dose), frm, to, drug, to_drug, table)
    assert exc.value.field == field
    assert exc.value.expected


def test_unsupported_pair_lists_supported(table: ConversionTable) -> None:
    with pytest.raises(InputError) as exc:
        convert(Q_("300 mg/d"), "oral", "intrathecal", "hydromorphone", None, table)
    expected = exc.value.expected or ""
    for name in ("oral morphine", "intrathecal morphine", "intrathecal hydromorphone"):
        assert name in expected
    with pytest.raises(InputError) as exc:
        convert(Q_("3 mg/d"), "epidural", "oral", "morphine", "hydromorphone", table)
    assert "oral morphine" in (exc.value.expected or "")


def test_every_shipped_ratio_has_a_source(data: dict[str, Any]) -> None:
    assert len(data["ratios"]) >= 7
    for r in data["ratios"]:
        assert r["source"].strip()
        assert 0 < r["ratio_low"] <= r["ratio_high"]


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("source", "", "conversions.ratios[0].source"),
        ("ratio_low", 0, "conversions.ratios[0].ratio_low"),
        ("ratio_low", 4, "conversions.ratios[0].ratio_high"),  # low 4 > high 3
        ("ratio_high", True, "conversions.ratios[0].ratio_high"),
        ("to_route", "rectal", "conversions.ratios[0].to_route"),
    ],
)
def test_bad_data_is_rejected(data: dict[str, Any], key: str, value: object, field: str) -> None:
    bad = copy.deepcopy(data)
    bad["ratios"][0][key] = value
    with pytest.raises(InputError) as exc:
        build_conversions(bad)
    assert exc.value.field == field


PAIRS = [
    ("oral", "intrathecal", "morphine", "morphine"),
    ("oral", "intravenous", "morphine", "morphine"),
    ("epidural", "intrathecal", "morphine", "morphine"),
    ("intravenous", "intrathecal", "morphine", "hydromorphone"),
    ("oral", "intrathecal", "morphine", "hydromorphone"),
]


@settings(max_examples=200, deadline=None)
@given(
    dose=st.floats(0.01, 5000),
    pair=st.sampled_from(PAIRS),
    k=st.floats(0.1, 10),
    drop=st.integers(0, 7),
)
def test_conversion_invariants(
    table: ConversionTable, dose: float, pair: tuple[str, str, str, str], k: float, drop: int
) -> None:
    frm, to, drug, to_drug = pair
    e = convert(Q_(dose, "mg/d"), frm, to, drug, to_drug, table)
    assert 0 < e.low.magnitude <= e.high.magnitude
    # Linear in the dose.
    scaled = convert(Q_(dose * k, "mg/d"), frm, to, drug, to_drug, table)
    assert scaled.low.magnitude == pytest.approx(e.low.magnitude * k)
    assert scaled.high.magnitude == pytest.approx(e.high.magnitude * k)
    # Converting either end back gives a range that contains the original dose.
    for end in (e.low, e.high):
        back = convert(end, to, frm, to_drug, drug, table)
        assert back.low.magnitude <= dose * (1 + 1e-9)
        assert back.high.magnitude >= dose * (1 - 1e-9)
    # More sources never narrow the range: dropping a ratio keeps the range inside the full one.
    kept = tuple(r for i, r in enumerate(table.ratios) if i != drop % len(table.ratios))
    fewer = ConversionTable(table.routes, table.drugs, kept)
    try:
        sub = convert(Q_(dose, "mg/d"), frm, to, drug, to_drug, fewer)
    except InputError:
        return
    assert sub.low.magnitude >= e.low.magnitude * (1 - 1e-9)
    assert sub.high.magnitude <= e.high.magnitude * (1 + 1e-9)
