"""The common device protocol's states and refusal codes, driven through the simulated firmware.

Every :class:`DeliveryState`, :class:`BolusState` and :class:`DeviceRefusal` is reached from the
firmware (a new member without a way to reach it fails the coverage checks), and a refusal
cannot be built without its code.
"""

from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.unit.implant.helpers import at, filled, morphine, pump, simple_program
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.identity import BatteryState
from thecal.devices.pump import BolusState
from thecal.devices.refusals import CommandResult, DeviceRefusal
from thecal.devices.states import DeliveryState, Hold, delivery_state
from thecal.implant import SimulatedPump, firmware_reservoir
from thecal.therapy.library import DrugLibrary
from thecal.therapy.schedule import PatientBolus
from thecal.units import Q_

PROMETRA = "Prometra II 20 mL"


def _running(catalog: DeviceCatalog, library: DrugLibrary, **kw: object) -> SimulatedPump:
    dev = pump(catalog, library)
    filled(dev, "20 mL")
    assert dev.write_program(simple_program(morphine(library), "1 mL/d", **kw)).state_changed  # type: ignore[arg-type]
    return dev


def _ptb(lockout: str = "4 h", per_day: int = 4) -> PatientBolus:
    # Test inputs: a 0.05 mL bolus over 10 min.
    return PatientBolus(Q_("0.05 mL"), Q_("10 min"), Q_(lockout), per_day)


def _end_of_service(catalog: DeviceCatalog, library: DrugLibrary) -> SimulatedPump:
    dev = _running(catalog, library)
    # The battery crossing's own handler (a pump-life run takes minutes): ERI now, EOS after
    # the catalog's ERI-to-EOS time (90 days for SynchroMed II); 100 days covers it.
    firmware_reservoir.eri(dev.firmware)
    dev.advance(dev.now + timedelta(days=100))
    return dev


def _mri(catalog: DeviceCatalog, library: DrugLibrary, alarming: bool) -> SimulatedPump:
    dev = pump(catalog, library)
    filled(dev, "3 mL")
    program = simple_program(morphine(library), "1 mL/d", threshold="4 mL" if alarming else "1 mL")
    assert dev.write_program(program).state_changed
    assert bool(dev.peek().alarms) is alarming  # low reservoir (3 mL <= 4 mL) or none
    dev.mri_scan(Q_(1, "h"), Q_(2, "h"))  # rotor stopped for 1 h + 2 h recovery
    return dev


def _reach(catalog: DeviceCatalog, library: DrugLibrary, state: DeliveryState) -> SimulatedPump:
    if state is DeliveryState.NO_PROGRAM:
        return pump(catalog, library)
    if state is DeliveryState.END_OF_SERVICE:
        return _end_of_service(catalog, library)
    if state is DeliveryState.STOPPED_FOR_MRI:
        dev = _mri(catalog, library, alarming=False)
        dev.advance(dev.now + timedelta(hours=1))  # still inside the 3 h
        return dev
    if state is DeliveryState.WAITING_POST_MRI:
        dev = _mri(catalog, library, alarming=True)
        dev.advance(dev.now + timedelta(hours=4))  # recovered; waits for an interrogation
        return dev
    dev = _running(catalog, library)
    if state is DeliveryState.SUSPENDED_BY_ALARM:
        dev.inject_motor_stall()
    elif state is DeliveryState.STOPPED_BY_CLINICIAN:
        assert dev.stop().state_changed
    return dev


# A pump has no patient "off" (a stimulator's patient remote does: tests/unit/implant/stimulator).
PUMP_STATES = [s for s in DeliveryState if s is not DeliveryState.STOPPED_BY_PATIENT]


@pytest.mark.parametrize("state", PUMP_STATES)
def test_every_delivery_state_is_reachable_from_the_firmware(
    catalog: DeviceCatalog, library: DrugLibrary, state: DeliveryState
) -> None:
    status = _reach(catalog, library, state).peek()
    assert status.delivery is state
    assert status.delivering is (state is DeliveryState.DELIVERING)


def test_end_of_service_shows_in_the_battery_state(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    assert _running(catalog, library).peek().battery is BatteryState.OK
    dev = _running(catalog, library)
    firmware_reservoir.eri(dev.firmware)
    assert dev.peek().battery is BatteryState.ELECTIVE_REPLACEMENT
    assert _end_of_service(catalog, library).peek().battery is BatteryState.END_OF_SERVICE


def test_post_mri_wait_ends_at_the_interrogation(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = _reach(catalog, library, DeliveryState.WAITING_POST_MRI)
    assert dev.interrogate().delivery is DeliveryState.DELIVERING


def test_the_most_serious_hold_is_the_state_shown() -> None:
    assert delivery_state(()) is DeliveryState.DELIVERING
    assert delivery_state({Hold.STOPPED, Hold.EOS}) is DeliveryState.END_OF_SERVICE
    assert delivery_state({Hold.STOPPED, Hold.OCCLUSION}) is DeliveryState.SUSPENDED_BY_ALARM
    assert delivery_state({Hold.NO_PROGRAM, Hold.STOPPED}) is DeliveryState.NO_PROGRAM
    assert delivery_state({Hold.POST_MRI, Hold.MRI}) is DeliveryState.STOPPED_FOR_MRI
    # Every hold maps to a state other than delivering.
    assert all(delivery_state({h}) is not DeliveryState.DELIVERING for h in Hold)


def test_every_bolus_state_is_reachable_from_the_firmware(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = _running(catalog, library, ptb=_ptb())
    seen = [dev.peek().bolus]
    assert dev.clinician_bolus(Q_("0.1 mL"), Q_("1 h")).state_changed
    seen.append(dev.peek().bolus)
    assert dev.patient_bolus_request().state_changed
    seen.append(dev.peek().bolus)
    dev.advance(dev.now + timedelta(minutes=30))  # the 10 min patient bolus is over
    seen.append(dev.peek().bolus)
    dev.advance(dev.now + timedelta(hours=1))  # and the 1 h clinician bolus
    assert dev.patient_bolus_request().refusal is DeviceRefusal.LOCKOUT
    seen.append(dev.peek().bolus)
    dev.advance(dev.now + timedelta(hours=3))
    assert dev.patient_bolus_request().state_changed
    seen.append(dev.peek().bolus)
    assert seen == [
        BolusState.NONE,
        BolusState.CLINICIAN,
        BolusState.CLINICIAN_AND_PATIENT,
        BolusState.CLINICIAN,
        BolusState.NONE,
        BolusState.PATIENT,
    ]
    assert set(seen) == set(BolusState)


# --- refusals ----------------------------------------------------------------------------------

Refuse = Callable[[DeviceCatalog, DrugLibrary], CommandResult]


def _max_per_day(catalog: DeviceCatalog, library: DrugLibrary) -> CommandResult:
    dev = _running(catalog, library, ptb=_ptb(lockout="10 min", per_day=1))
    assert dev.patient_bolus_request().state_changed
    dev.advance(dev.now + timedelta(hours=1))  # past the lockout, within 24 h
    return dev.patient_bolus_request()


def _lockout(catalog: DeviceCatalog, library: DrugLibrary) -> CommandResult:
    dev = _running(catalog, library, ptb=_ptb())
    assert dev.patient_bolus_request().state_changed
    return dev.patient_bolus_request()


def _unchanged(catalog: DeviceCatalog, library: DrugLibrary) -> CommandResult:
    dev = _running(catalog, library)
    program = dev.peek().program
    assert program is not None
    return dev.write_program(program)


def _still_held(catalog: DeviceCatalog, library: DrugLibrary) -> CommandResult:
    dev = _running(catalog, library)
    dev.stop()
    dev.inject_motor_stall()
    return dev.resume()  # the clinician stop clears; the stall holds


def _tone_not_public(catalog: DeviceCatalog, library: DrugLibrary) -> CommandResult:
    dev = pump(catalog, library, PROMETRA)
    return dev.alarm_test()


def _bolus_when(state: DeliveryState) -> Refuse:
    def refuse(catalog: DeviceCatalog, library: DrugLibrary) -> CommandResult:
        return _reach(catalog, library, state).clinician_bolus(Q_("0.1 mL"), Q_("1 h"))

    return refuse


REFUSALS: dict[DeviceRefusal, Refuse] = {
    DeviceRefusal.NOT_DELIVERING: _bolus_when(DeliveryState.SUSPENDED_BY_ALARM),
    DeviceRefusal.NO_PROGRAM: _bolus_when(DeliveryState.NO_PROGRAM),
    DeviceRefusal.END_OF_SERVICE: _bolus_when(DeliveryState.END_OF_SERVICE),
    DeviceRefusal.POST_MRI_HOLD: _bolus_when(DeliveryState.WAITING_POST_MRI),
    DeviceRefusal.NO_PATIENT_BOLUS: lambda c, lib: _running(c, lib).patient_bolus_request(),
    DeviceRefusal.LOCKOUT: _lockout,
    DeviceRefusal.MAX_PER_DAY: _max_per_day,
    DeviceRefusal.NOT_POSITIVE: lambda c, lib: _running(c, lib).refill(Q_("0 mL")),
    # The SynchroMed II 8637-40 holds 40 mL: 45 mL does not fit, nor a 45 mL alarm threshold.
    DeviceRefusal.OVER_CAPACITY: lambda c, lib: _running(c, lib).refill(Q_("45 mL")),
    DeviceRefusal.EXCEEDS_LIMITS: lambda c, lib: _running(c, lib).write_program(
        simple_program(morphine(lib), "1 mL/d", threshold="45 mL")
    ),
    DeviceRefusal.UNCHANGED: _unchanged,
    DeviceRefusal.STILL_HELD: _still_held,
    DeviceRefusal.TONE_NOT_PUBLIC: _tone_not_public,
}


# Codes only a stimulator answers with: each has a path in
# tests/unit/implant/stimulator/test_stimulator_refusals.py.
STIMULATOR_ONLY = {
    DeviceRefusal.OUTSIDE_PATIENT_RANGE,
    DeviceRefusal.UNKNOWN_GROUP,
    DeviceRefusal.MRI_MODE,
    DeviceRefusal.NOT_RECHARGEABLE,
    DeviceRefusal.UNSUPPORTED,
    DeviceRefusal.LEAD_INTEGRITY,
}


def test_every_refusal_code_has_a_firmware_path() -> None:
    assert set(REFUSALS) == set(DeviceRefusal) - STIMULATOR_ONLY


@pytest.mark.parametrize("code", list(REFUSALS))
def test_each_refusal_carries_its_code_and_a_sentence(
    catalog: DeviceCatalog, library: DrugLibrary, code: DeviceRefusal
) -> None:
    result = REFUSALS[code](catalog, library)
    assert result.processed and result.refusal is code and result.reason
    if code is not DeviceRefusal.STILL_HELD:  # resuming the clinician stop did change state
        assert result.refused and not result.state_changed


def test_a_refusal_cannot_lose_its_code() -> None:
    with pytest.raises(ValueError, match="code and a reason"):
        CommandResult("refill", True, False, "volume out of range")
    with pytest.raises(ValueError, match="code and a reason"):
        CommandResult("refill", True, False, refusal=DeviceRefusal.OVER_CAPACITY)
    assert not CommandResult("stop", True, False).refused  # nothing to say: not a refusal


def test_accepted_commands_carry_no_code(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    dev = _running(catalog, library, ptb=_ptb())
    results = [
        dev.clinician_bolus(Q_("0.1 mL"), Q_("1 h")),
        dev.patient_bolus_request(),
        dev.refill(Q_("20 mL")),
        dev.set_clock(at(1)),
        dev.stop(),
        dev.resume(),
    ]
    assert all(r.state_changed and r.refusal is None and not r.reason for r in results)
