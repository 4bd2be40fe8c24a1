from dataclasses import replace
from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.device_limits import round_basal, round_down
from thecal.therapy.findings import Code
from thecal.therapy.schedule import day_program, weekly
from thecal.units import Q_


@given(rate=st.floats(0, 50), step=st.floats(0.001, 1))
def test_rounding_never_rounds_up(rate: float, step: float) -> None:
    rounded = round_down(Q_(rate, "mL/d"), Q_(step, "mL/d")).magnitude
    assert rounded <= rate + 1e-9
    assert rate - rounded < step + 1e-9


def test_round_basal_reports_each_rounded_rate(catalog: DeviceCatalog) -> None:
    pump = replace(catalog.pump("Prometra II 20 mL"), rate_resolution=Q_("0.1 mL/d"))
    basal = weekly({}, day_program([(time(0), Q_("0.25 mL/d")), (time(12), Q_("0.3 mL/d"))]))
    rounded, findings = round_basal(basal, pump)
    # 0.25 → 0.2 (down, never up); 0.3 stays 0.3
    assert [s.rate.magnitude for s in rounded.days[0].steps] == pytest.approx([0.2, 0.3])
    assert [f.code for f in findings] == [Code.RATE_ROUNDED_DOWN]
    assert findings[0].value.magnitude == pytest.approx(0.2)


def test_no_rounding_when_resolution_is_not_public(catalog: DeviceCatalog) -> None:
    basal = weekly({}, day_program([(time(0), Q_("0.2513 mL/d"))]))
    rounded, findings = round_basal(basal, catalog.pump("SynchroMed II 8637-20"))
    assert rounded == basal and findings == []


def test_rate_range_edges_and_the_unknown_maximum(catalog: DeviceCatalog) -> None:
    from thecal.therapy.device_limits import capability_findings

    curlin = catalog.pump("Curlin 6000 CMS")  # 0.1-400 mL/h: both ends allowed, just past refused
    at = [Q_("0.1 mL/h"), Q_("400 mL/h")]
    past = [Q_(0.1 * (1 - 1e-6), "mL/h"), Q_(400 * (1 + 1e-6), "mL/h")]
    for rate in at:
        assert capability_findings(weekly({}, day_program([(time(0), rate)])), curlin) == []
    codes = [
        f.code
        for rate in past
        for f in capability_findings(weekly({}, day_program([(time(0), rate)])), curlin)
    ]
    assert codes == [Code.RATE_BELOW_PUMP_MINIMUM, Code.RATE_ABOVE_PUMP_MAXIMUM]
    # SynchroMed II: the maximum is not public; the calculation says so and asks for it.
    basal = weekly({}, day_program([(time(0), Q_("0.5 mL/d"))]))
    (f,) = capability_findings(basal, catalog.pump("SynchroMed II 8637-20"))
    assert f.code is Code.RATE_RANGE_UNKNOWN and "pump's maximum rate" in f.message
    entered = replace(catalog.pump("SynchroMed II 8637-20"), max_rate=Q_("0.4 mL/d"))
    (f,) = capability_findings(basal, entered)
    assert f.code is Code.RATE_ABOVE_PUMP_MAXIMUM
