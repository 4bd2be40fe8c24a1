"""The accuracy band is a percentage of the delivered volume: below the library's minimum
expected delivery (1 mL shipped, a product choice) it is not assessed, the refill reports the
volumes instead (info) and the absolute 2 mL discrepancy check still runs. At the minimum
itself the band is assessed."""

from dataclasses import replace

import pytest

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import Code, Level
from thecal.therapy.library import DrugLibrary
from thecal.therapy.library_collector import Collector
from thecal.therapy.library_settings import read_settings
from thecal.therapy.refill_discrepancy import assess_refill
from thecal.units import Q_, InputError

SYNCHRO_20 = "SynchroMed II 8637-20"


def test_the_shipped_minimum_is_a_labelled_product_choice(library: DrugLibrary) -> None:
    s = library.settings
    assert s.accuracy_min_delivered == Q_(1, "mL")
    assert s.accuracy_min_delivered_source.startswith("Product choice")


def test_a_refill_minutes_after_the_first_fill_reports_volumes_not_a_percentage(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # 0.5 mL/d for 10 min = 0.5 × 10 / 1440 = 0.00347 mL expected delivered, 19.99653 mL left;
    # 19.97 mL withdrawn: delivered 0.00347 + 0.02653 = 0.03 mL, "+764 %" — meaningless.
    planned = Q_(0.5 * 10 / 1440, "mL")
    expected = Q_(20, "mL") - planned
    result = assess_refill(expected, Q_(19.97, "mL"), planned, catalog.pump(SYNCHRO_20),
                           library.settings)  # fmt: skip
    assert result.delivery_error is None and result.delivery_error_percent is None
    (f,) = result.findings
    assert f.code is Code.ACCURACY_NOT_ASSESSED and f.level is Level.INFO
    assert "%" not in f.message  # no percentage at all
    # 19.99653 − 19.97 = 0.02653 mL less than expected, shown as a volume.
    assert "0.02653 mL less than expected" in f.message
    assert "19.97 mL withdrawn" in f.message
    assert f.limit == Q_(1, "mL") and f.source == library.settings.accuracy_min_delivered_source


def test_below_the_minimum_the_absolute_threshold_still_runs(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # 0.5 mL expected delivered, 19.5 mL expected left, 17 mL withdrawn: 2.5 mL less > 2 mL.
    result = assess_refill(Q_(19.5, "mL"), Q_(17, "mL"), Q_(0.5, "mL"),
                           catalog.pump(SYNCHRO_20), library.settings)  # fmt: skip
    codes = [f.code for f in result.findings]
    assert codes == [Code.DISCREPANCY_ABOVE_THRESHOLD, Code.ACCURACY_NOT_ASSESSED]


def test_at_the_minimum_the_band_is_assessed_just_below_it_is_not(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    pump = catalog.pump(SYNCHRO_20)
    # Exactly 1 mL expected delivered, 19 mL expected left, 18.8 mL withdrawn:
    # delivered 1 + 0.2 = 1.2 mL = +20 % > 14.5 %: the band finding, with its percentage.
    at = assess_refill(Q_(19, "mL"), Q_(18.8, "mL"), Q_(1, "mL"), pump, library.settings)
    assert [f.code for f in at.findings] == [Code.DISCREPANCY_OUTSIDE_ACCURACY]
    assert at.delivery_error_percent == pytest.approx(20.0)
    # 1 mL × (1 − 1e-6) expected delivered: below the minimum, volumes only.
    just = Q_(1 - 1e-6, "mL")
    below = assess_refill(Q_(20, "mL") - just, Q_(18.8, "mL"), just, pump, library.settings)
    assert [f.code for f in below.findings] == [Code.ACCURACY_NOT_ASSESSED]
    assert below.delivery_error is None


def test_nothing_delivered_is_below_the_minimum(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    result = assess_refill(Q_(20, "mL"), Q_(20, "mL"), Q_(0, "mL"), catalog.pump(SYNCHRO_20),
                           library.settings)  # fmt: skip
    assert [f.code for f in result.findings] == [Code.ACCURACY_NOT_ASSESSED]
    assert "0 mL more than expected" in result.findings[0].message


def test_without_a_minimum_the_percentage_is_assessed_on_any_volume(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    settings = replace(library.settings, accuracy_min_delivered=None)
    # 0.1 mL expected delivered, 19.9 expected left, 19.8 withdrawn: 0.2 mL delivered, +100 %.
    result = assess_refill(Q_(19.9, "mL"), Q_(19.8, "mL"), Q_(0.1, "mL"),
                           catalog.pump(SYNCHRO_20), settings)  # fmt: skip
    assert result.delivery_error_percent == pytest.approx(100.0)
    assert [f.code for f in result.findings] == [Code.DISCREPANCY_OUTSIDE_ACCURACY]


def test_a_library_minimum_needs_its_own_source(library: DrugLibrary) -> None:
    errors: list[InputError] = []
    out = read_settings(Collector("lib", errors), {"accuracy_min_delivered": "3 mL"},
                        library.settings)  # fmt: skip
    assert out.accuracy_min_delivered == Q_(3, "mL")
    assert [e.field for e in errors] == ["lib: settings.accuracy_min_delivered_source"]
    errors.clear()
    raw = {"accuracy_min_delivered": "-1 mL", "accuracy_min_delivered_source": "x"}
    read_settings(Collector("lib", errors), raw, library.settings)
    assert [e.field for e in errors] == ["lib: settings.accuracy_min_delivered"]
