"""Plant faults show only through their effects: refill residuals, CSF dose, delivery gaps."""

import random

import pytest

from thecal.devices.alarms import AlarmCondition
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.log import EventKind
from thecal.implant import CatheterState, draw_flow_bias
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_, InputError

from .helpers import at, filled, ml, morphine, pump, simple_program


def test_partial_occlusion_leaves_a_higher_residual_than_the_estimate(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    """Seed 000: calcification around the catheter -> less drug leaves the pump."""
    dev = pump(catalog, library)
    filled(dev, "20 mL")
    dev.write_program(simple_program(morphine(library), "0.5 mL/d"))
    dev.advance(at(24))
    dev.occlude_catheter(0.4)
    dev.advance(at(24 * 30))
    outcome = dev.clinical_refill(Q_("20 mL"))
    # Firmware: 30 d x 0.5 mL/d = 15 mL -> expects 5 mL. Truth: 0.5 mL on day 1, then
    # 29 d x 0.5 mL/d x (1 - 0.4) = 8.7 mL -> 20 - 9.2 = 10.8 mL withdrawn.
    assert ml(outcome.expected) == pytest.approx(5.0, abs=0.002)
    assert ml(outcome.withdrawn) == pytest.approx(10.8, abs=0.002)
    assert dev.truth().catheter is CatheterState.PARTIAL_OCCLUSION
    assert not dev.peek().alarms or all(
        a.condition is not AlarmCondition.OCCLUSION for a in dev.peek().alarms
    )  # an implanted pump cannot sense it


def test_trial_catheter_disconnect_empties_the_bag_but_not_into_csf(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    """Seed 003 case 1: external trial pump at 0.5 mL/h; the catheter disconnected."""
    dev = pump(catalog, library, "Curlin 6000 CMS", bag_volume=Q_("100 mL"))
    filled(dev, "100 mL")
    dev.write_program(simple_program(morphine(library, "0.1 mg/mL"), "0.5 mL/h", "5 mL"))
    dev.advance(at(24))
    dev.disconnect_catheter()
    dev.advance(at(48))
    truth = dev.truth()
    # 48 h x 0.5 mL/h = 24 mL left the bag; only the first 12 mL reached the CSF.
    assert ml(truth.reservoir) == pytest.approx(76.0, abs=0.004)
    assert ml(truth.to_csf) == pytest.approx(12.0, abs=0.004)
    assert ml(truth.elsewhere) == pytest.approx(12.0, abs=0.004)
    assert ml(dev.peek().reservoir_estimate) == pytest.approx(76.0, abs=0.004)
    assert not dev.peek().alarms  # nothing the pump can sense


def test_external_pump_stops_when_the_bag_is_empty(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library, "Curlin 6000 CMS", bag_volume=Q_("10 mL"))
    filled(dev, "10 mL")
    dev.write_program(simple_program(morphine(library, "0.1 mg/mL"), "1 mL/h", "2 mL"))
    dev.advance(at(12))
    status = dev.peek()
    assert not status.delivering and "reservoir empty" in status.holds
    assert ml(status.delivered_total) == pytest.approx(10.0, abs=0.002)  # 10 mL bag at 1 mL/h


def test_mri_stops_the_rotor_and_recovery_takes_the_given_delay(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library)
    filled(dev, "20 mL")
    dev.write_program(simple_program(morphine(library), "1 mL/d"))
    dev.advance(at(10))
    dev.mri_scan(Q_(1, "h"), Q_(5, "h"))
    dev.advance(at(24))
    # Paused from 10 h to 10 + 1 + 5 = 16 h: 18 h of 24 at 1 mL/d = 0.75 mL.
    assert ml(dev.peek().delivered_total) == pytest.approx(0.75, abs=0.001)
    kinds = [e.kind for e in dev.events()]
    assert EventKind.MRI_DETECTED in kinds and EventKind.MRI_RECOVERED in kinds
    with pytest.raises(InputError):
        dev.mri_scan(Q_(1, "h"), Q_(25, "h"))  # outside the sourced 2-24 h


def test_mri_while_alarming_resumes_only_after_interrogation(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library)
    filled(dev, "3 mL")
    dev.write_program(simple_program(morphine(library), "1 mL/d", threshold="4 mL"))
    assert dev.peek().alarms  # low reservoir: alarming when the MRI starts
    dev.mri_scan(Q_(1, "h"), Q_(2, "h"))
    dev.advance(at(10))
    status = dev.peek()
    assert not status.delivering and status.holds == ("waiting for post-MRI interrogation",)
    assert dev.post_mri_resume().state_changed
    assert dev.peek().delivering


def test_mri_recovery_drawn_from_the_seed_within_the_sourced_range(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    def recovery(seed: int) -> float:
        dev = pump(catalog, library, seed=seed)
        filled(dev, "20 mL")
        dev.write_program(simple_program(morphine(library), "1 mL/d"))
        dev.mri_scan(Q_(1, "h"))
        return (
            next(e for e in dev.events() if e.kind == EventKind.MRI_DETECTED)
            .quantity("recovery")
            .to("h")
            .magnitude
        )

    assert recovery(7) == recovery(7)
    assert all(2.0 <= recovery(s) <= 24.0 for s in range(5))


def test_magnet_dumps_a_valve_gated_pump_unless_emptied(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library, "Prometra 20 mL")
    filled(dev, "20 mL")
    dev.write_program(simple_program(morphine(library), "0.5 mL/d", "3 mL"))
    dev.mri_scan(Q_(30, "min"))
    truth = dev.truth()
    assert ml(truth.reservoir) == 0.0 and ml(truth.to_csf) == pytest.approx(20.0)
    assert ml(dev.peek().reservoir_estimate) == pytest.approx(20.0)  # the firmware cannot see it
    assert dev.clinical_refill(Q_("20 mL")).withdrawn.magnitude == 0.0

    emptied = pump(catalog, library, "Prometra 20 mL")
    filled(emptied, "20 mL")
    emptied.write_program(simple_program(morphine(library), "0.5 mL/d", "3 mL"))
    emptied.withdraw_residual()
    emptied.mri_scan(Q_(30, "min"))
    assert ml(emptied.truth().to_csf) == 0.0


def test_flow_activated_valve_limits_the_dump_and_needs_a_reset(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library, "Prometra II 20 mL")
    filled(dev, "20 mL")
    dev.write_program(simple_program(morphine(library), "0.5 mL/d", "3 mL"))
    dev.mri_scan(Q_(30, "min"))
    assert ml(dev.truth().to_csf) == pytest.approx(0.010)  # closes after <= 10 uL (catalog)
    dev.advance(at(24 * 10))
    # The firmware counted 10 d x 0.5 mL/d = 5 mL of actuations; none passed the closed valve.
    assert ml(dev.peek().reservoir_estimate) == pytest.approx(15.0, abs=0.0025)
    assert ml(dev.truth().reservoir) == pytest.approx(19.99)
    assert dev.post_mri_resume().state_changed
    dev.advance(at(24 * 12))
    assert ml(dev.truth().reservoir) == pytest.approx(18.99, abs=0.0025)


def test_flow_bias_is_drawn_within_the_labelled_band_and_reproducible(
    catalog: DeviceCatalog,
) -> None:
    spec = catalog.pump("Prometra II 20 mL")
    draws = [draw_flow_bias(spec, random.Random(s)) for s in range(50)]
    assert all(-0.15 <= b <= 0.15 for b in draws)
    assert draw_flow_bias(spec, random.Random(3)) == draws[3]
    with pytest.raises(InputError):  # SynchroMed labels only the over-infusion side
        draw_flow_bias(catalog.pump("SynchroMed II 8637-20"), random.Random(0))


def test_biased_pump_delivers_more_than_it_believes(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library, flow_bias=0.1)
    filled(dev, "20 mL")
    dev.write_program(simple_program(morphine(library), "1 mL/d"))
    dev.advance(at(240))
    # Firmware: 10 d x 1 mL/d = 10 mL; plant: 10 mL x 1.1 = 11 mL.
    assert ml(dev.peek().reservoir_estimate) == pytest.approx(10.0, abs=0.002)
    assert ml(dev.truth().reservoir) == pytest.approx(9.0, abs=0.002)
