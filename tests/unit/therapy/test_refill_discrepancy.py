from dataclasses import replace
from typing import Any

import pytest

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import Code, Finding, Level, blocks
from thecal.therapy.library import DrugLibrary, Settings
from thecal.therapy.refill_discrepancy import assess_refill, check_refill
from thecal.units import Q_, InputError

SYNCHRO_20 = "SynchroMed II 8637-20"
SYNCHRO_40 = "SynchroMed II 8637-40"
PROMETRA_20 = "Prometra II 20 mL"


def codes(findings: tuple[Finding, ...]) -> list[Code]:
    return [f.code for f in findings]


def test_within_band_and_threshold_has_no_findings(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # 10 mL expected left after 10 mL delivered; 9.5 mL withdrawn: +5 % and 0.5 mL.
    result = assess_refill(
        Q_(10, "mL"), Q_(9.5, "mL"), Q_(10, "mL"), catalog.pump(SYNCHRO_20), library.settings
    )
    assert result.findings == ()
    assert result.discrepancy.to("mL").magnitude == pytest.approx(-0.5)
    assert result.actual_delivered.to("mL").magnitude == pytest.approx(10.5)
    assert result.delivery_error_percent == pytest.approx(5.0)


def test_over_delivery_beyond_the_peristaltic_band(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    pump = catalog.pump(SYNCHRO_20)
    # Withdrawn 8.4 mL, expected 10 mL: delivered 10 + 10 − 8.4 = 11.6 mL = +16 % > 14.5 %.
    # The 1.6 mL difference is under the 2 mL threshold: only the band finding.
    result = assess_refill(Q_(10, "mL"), Q_(8.4, "mL"), Q_(10, "mL"), pump, library.settings)
    assert codes(result.findings) == [Code.DISCREPANCY_OUTSIDE_ACCURACY]
    finding = result.findings[0]
    assert finding.level is Level.SOFT
    assert finding.source == pump.source("accuracy_over") != ""
    assert "lower than expected" in finding.message
    assert "over-infusion" in finding.message
    assert finding.value is not None and finding.value.magnitude == pytest.approx(16.0)
    assert finding.limit is not None and finding.limit.magnitude == pytest.approx(14.5)


def test_exactly_on_the_band_edge_is_not_flagged(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # 10 + 10 − 8.55 = 11.45 mL = +14.5 %: "more than 14.5 %" is the band, so not flagged.
    findings = check_refill(
        Q_(10, "mL"), Q_(8.55, "mL"), Q_(10, "mL"), catalog.pump(SYNCHRO_20), library.settings
    )
    assert findings == ()


def test_under_delivery_with_only_an_over_band_is_caught_by_the_threshold(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    pump = catalog.pump(SYNCHRO_20)  # the catalog has no under-delivery band for it
    # 1.9 mL more left than expected (−19 %): no band, under 2 mL → nothing.
    assert check_refill(Q_(10, "mL"), Q_(11.9, "mL"), Q_(10, "mL"), pump, library.settings) == ()
    # 2.5 mL more left: above the 2 mL threshold (ASRA 2017).
    findings = check_refill(Q_(10, "mL"), Q_(12.5, "mL"), Q_(10, "mL"), pump, library.settings)
    assert codes(findings) == [Code.DISCREPANCY_ABOVE_THRESHOLD]
    f = findings[0]
    assert f.source == library.settings.discrepancy_source
    assert "under-delivery" in f.message and "catheter occlusion" in f.message
    assert f.limit is not None and f.limit.to("mL").magnitude == pytest.approx(2)
    assert f.value is not None and f.value.to("mL").magnitude == pytest.approx(2.5)


def test_under_delivery_beyond_the_valve_gated_band(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    pump = catalog.pump(PROMETRA_20)
    # Seed 000 picture (occluded catheter): 11.6 mL left of 10 expected → 8.4 mL delivered
    # instead of 10 → −16 %, beyond the 15 % band; 1.6 mL is under the 2 mL threshold.
    findings = check_refill(Q_(10, "mL"), Q_(11.6, "mL"), Q_(10, "mL"), pump, library.settings)
    assert codes(findings) == [Code.DISCREPANCY_OUTSIDE_ACCURACY]
    f = findings[0]
    assert f.source == pump.source("accuracy_under") != ""
    assert "higher than expected" in f.message
    assert "dye study" in f.message
    assert f.value is not None and f.value.magnitude == pytest.approx(-16.0)


def test_both_band_and_threshold(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    # 5 mL left of 10 expected: 15 mL delivered instead of 10 (+50 %) and 5 mL > 2 mL.
    findings = check_refill(
        Q_(10, "mL"), Q_(5, "mL"), Q_(10, "mL"), catalog.pump(PROMETRA_20), library.settings
    )
    assert codes(findings) == [Code.DISCREPANCY_OUTSIDE_ACCURACY, Code.DISCREPANCY_ABOVE_THRESHOLD]
    assert "over-infusion" in findings[1].message


def test_nothing_expected_delivered_skips_the_band(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    result = assess_refill(
        Q_(20, "mL"), Q_(19, "mL"), Q_(0, "mL"), catalog.pump(PROMETRA_20), library.settings
    )
    assert result.delivery_error is None and result.delivery_error_percent is None
    # 0 mL is below the 1 mL minimum: the volumes are reported, not a percentage.
    assert [f.code for f in result.findings] == [Code.ACCURACY_NOT_ASSESSED]
    # Without a minimum, nothing expected delivered still skips the band (no division by 0).
    settings = replace(library.settings, accuracy_min_delivered=None)
    result = assess_refill(
        Q_(20, "mL"), Q_(19, "mL"), Q_(0, "mL"), catalog.pump(PROMETRA_20), settings
    )
    assert result.delivery_error is None and result.findings == ()


def test_pocket_fill_20_ml_pump_is_hard_and_first(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    pump = catalog.pump(SYNCHRO_20)
    # 20 mL injected, 18.8 mL confirmed: 1.2 mL unaccounted > 1 mL (Maino 2017, 20 mL pump).
    # Also a 2.5 mL residual discrepancy (soft): the hard finding is listed first.
    result = assess_refill(
        Q_(10, "mL"), Q_(12.5, "mL"), Q_(10, "mL"), pump, library.settings,
        filled=Q_(20, "mL"), confirmed_after_fill=Q_(18.8, "mL"),
    )  # fmt: skip
    assert codes(result.findings) == [Code.POSSIBLE_POCKET_FILL, Code.DISCREPANCY_ABOVE_THRESHOLD]
    pocket = result.findings[0]
    assert pocket.level is Level.HARD
    assert blocks(result.findings)
    assert pocket.source == pump.source("pocket_fill_threshold")
    assert "pocket fill" in pocket.message.lower()
    assert result.unaccounted_after_fill is not None
    assert result.unaccounted_after_fill.to("mL").magnitude == pytest.approx(1.2)


def test_pocket_fill_threshold_depends_on_the_pump(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    args = (Q_(10, "mL"), Q_(10, "mL"), Q_(10, "mL"))
    # 1.2 mL is within the 2 mL threshold of the 40 mL pump.
    assert (
        check_refill(
            *args, catalog.pump(SYNCHRO_40), library.settings,
            filled=Q_(40, "mL"), confirmed_after_fill=Q_(38.8, "mL"),
        ) == ()
    )  # fmt: skip
    # Exactly 1 mL in the 20 mL pump: "> 1 mL" suggests pocket fill, so not flagged.
    assert (
        check_refill(
            *args, catalog.pump(SYNCHRO_20), library.settings,
            filled=Q_(20, "mL"), confirmed_after_fill=Q_(19, "mL"),
        ) == ()
    )  # fmt: skip


def test_pocket_fill_needs_both_volumes(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    findings = check_refill(
        Q_(10, "mL"), Q_(10, "mL"), Q_(10, "mL"), catalog.pump(SYNCHRO_20), library.settings,
        filled=Q_(20, "mL"),
    )  # fmt: skip
    assert findings == ()


def test_pocket_fill_threshold_required_when_not_in_catalog(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    curlin = catalog.pump("Curlin 6000 CMS")
    args = (Q_(10, "mL"), Q_(10, "mL"), Q_(10, "mL"), curlin, library.settings)
    with pytest.raises(InputError) as err:
        check_refill(*args, filled=Q_(100, "mL"), confirmed_after_fill=Q_(95, "mL"))
    assert err.value.field == "refill.pocket_fill_threshold"
    findings = check_refill(
        *args, filled=Q_(100, "mL"), confirmed_after_fill=Q_(95, "mL"),
        pocket_fill_threshold=Q_(2, "mL"),
    )  # fmt: skip
    assert codes(findings) == [Code.POSSIBLE_POCKET_FILL]
    assert findings[0].source == "entered by the clinician"


def test_threshold_comes_from_settings(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    strict = replace(library.settings, discrepancy_threshold=Q_(1, "mL"))
    # 1.5 mL: under the shipped 2 mL, over an institution's 1 mL.
    args = (Q_(10, "mL"), Q_(11.5, "mL"), Q_(10, "mL"), catalog.pump(SYNCHRO_20))
    assert check_refill(*args, library.settings) == ()
    assert codes(check_refill(*args, strict)) == [Code.DISCREPANCY_ABOVE_THRESHOLD]
    with pytest.raises(InputError) as err:
        check_refill(*args, Settings())
    assert err.value.field == "settings.discrepancy_threshold"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [("refill.withdrawn", {"withdrawn": Q_(-1, "mL")}),
     ("refill.expected_remaining", {"expected_remaining": Q_(3, "mg")}),
     ("refill.confirmed_after_fill", {"filled": Q_(20, "mL"),
                                      "confirmed_after_fill": Q_(-2, "mL")})],
)  # fmt: skip
def test_bad_volumes_name_their_field(
    catalog: DeviceCatalog, library: DrugLibrary, field: str, kwargs: dict[str, Any]
) -> None:
    base: dict[str, Any] = {
        "expected_remaining": Q_(10, "mL"), "withdrawn": Q_(10, "mL"),
        "delivered_expected": Q_(10, "mL"), "pump": catalog.pump(SYNCHRO_20),
        "settings": library.settings,
    }  # fmt: skip
    with pytest.raises(InputError) as err:
        check_refill(**{**base, **kwargs})
    assert err.value.field == field
