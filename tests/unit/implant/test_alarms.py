"""One test per alarm condition: when it raises, how it repeats, and that it clears only when
acknowledged AND resolved (ack alone or resolve alone leaves it active)."""

from thecal.devices.alarms import AlarmCondition, AlarmPriority
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.log import EventKind
from thecal.implant import SimulatedPump
from thecal.therapy.findings import Code
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_

from .helpers import at, filled, ml, morphine, pump, simple_program

A = AlarmCondition


def log_of(dev: SimulatedPump, cond: AlarmCondition, kind: EventKind) -> list[float]:
    return [e.sim_hours for e in dev.events() if e.alarm == cond and e.kind == kind]


def active(dev: SimulatedPump) -> set[AlarmCondition]:
    return {a.condition for a in dev.peek().alarms}


def start_h(dev: SimulatedPump) -> float:
    return dev.events()[0].sim_hours


def test_low_reservoir_raises_repeats_hourly_and_needs_ack_and_refill(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library)
    filled(dev, "5 mL")
    dev.write_program(simple_program(morphine(library), "1 mL/d", threshold="2 mL"))
    t0 = start_h(dev)
    dev.advance(at(71))
    assert A.LOW_RESERVOIR not in active(dev)
    dev.advance(at(75.5))
    # 5 mL - 2 mL = 3 mL at 1 mL/d -> 72 h (reported on the first grid point after the stroke).
    (raised,) = log_of(dev, A.LOW_RESERVOIR, EventKind.ALARM_RAISED)
    assert abs(raised - t0 - 72.0) < 0.01
    # Non-critical repeat about hourly (catalog): raised at 72 h, repeats at 73, 74, 75 h.
    assert len(log_of(dev, A.LOW_RESERVOIR, EventKind.ALARM_REPEATED)) == 3
    assert dev.acknowledge_alarm(A.LOW_RESERVOIR).state_changed
    dev.advance(at(80))
    assert len(log_of(dev, A.LOW_RESERVOIR, EventKind.ALARM_REPEATED)) == 3  # silenced
    assert A.LOW_RESERVOIR in active(dev)  # acknowledged, not resolved: still active
    dev.clinical_refill(Q_("20 mL"))
    assert A.LOW_RESERVOIR not in active(dev)
    assert log_of(dev, A.LOW_RESERVOIR, EventKind.ALARM_CLEARED)


def test_low_reservoir_resolved_but_unacknowledged_stays_and_repeats(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library)
    filled(dev, "5 mL")
    dev.write_program(simple_program(morphine(library), "1 mL/d", threshold="2 mL"))
    dev.advance(at(73))
    dev.clinical_refill(Q_("20 mL"))
    assert A.LOW_RESERVOIR in active(dev)  # resolved, not acknowledged
    state = next(a for a in dev.peek().alarms if a.condition == A.LOW_RESERVOIR)
    assert state.resolved and not state.acknowledged
    before = len(log_of(dev, A.LOW_RESERVOIR, EventKind.ALARM_REPEATED))
    dev.advance(at(76))
    assert len(log_of(dev, A.LOW_RESERVOIR, EventKind.ALARM_REPEATED)) > before
    dev.acknowledge_alarm()
    assert A.LOW_RESERVOIR not in active(dev)


def test_low_reservoir_threshold_cannot_be_switched_off(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library)
    for bad in ("0 mL", "-1 mL", "40 mL"):
        result = dev.write_program(simple_program(morphine(library), threshold=bad))
        assert result.processed and not result.state_changed
        assert Code.FIRMWARE_ALARM_THRESHOLD in {f.code for f in result.findings}
    assert dev.peek().program is None


def test_empty_reservoir_critical_repeat_and_clear(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library)
    filled(dev, "1 mL")
    dev.write_program(simple_program(morphine(library), "1 mL/d", threshold="0.5 mL"))
    dev.acknowledge_alarm()  # the low-reservoir alarm is not under test here
    dev.advance(at(25))
    (raised,) = log_of(dev, A.EMPTY_RESERVOIR, EventKind.ALARM_RAISED)
    assert abs(raised - start_h(dev) - 24.0) < 0.01  # 1 mL at 1 mL/d
    # Critical repeat = the configured 10 min (not public): 24:00 -> 24:10 ... 25:00 = 6.
    assert len(log_of(dev, A.EMPTY_RESERVOIR, EventKind.ALARM_REPEATED)) == 6
    shown = dev.peek().shown_alarm
    assert shown is not None and shown.condition == A.EMPTY_RESERVOIR
    assert shown.priority == AlarmPriority.CRITICAL and shown.tone is not None
    assert shown.tone.count == 2 and shown.tone.duration == Q_(3, "s")
    dev.acknowledge_alarm(A.EMPTY_RESERVOIR)
    assert A.EMPTY_RESERVOIR in active(dev)
    dev.clinical_refill(Q_("10 mL"))
    assert A.EMPTY_RESERVOIR not in active(dev)


def test_motor_stall_stops_delivery_until_recovery(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library)
    filled(dev, "20 mL")
    dev.write_program(simple_program(morphine(library), "1 mL/d"))
    dev.advance(at(1))
    dev.inject_motor_stall()
    delivered = ml(dev.peek().delivered_total)
    dev.advance(at(2))
    assert ml(dev.peek().delivered_total) == delivered
    assert len(log_of(dev, A.MOTOR_STALL, EventKind.ALARM_REPEATED)) == 6  # every 10 min
    assert EventKind.MOTOR_STALL in {e.kind for e in dev.events()}
    dev.recover_motor_stall()
    assert A.MOTOR_STALL in active(dev)  # resolved, not acknowledged
    dev.advance(at(3))
    assert ml(dev.peek().delivered_total) > delivered  # delivering again
    dev.acknowledge_alarm()
    assert A.MOTOR_STALL not in active(dev)


def test_low_battery_reset_goes_to_minimum_rate(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library)
    filled(dev, "20 mL")
    program = simple_program(morphine(library), "1 mL/d")
    dev.write_program(program)
    dev.advance(at(1))
    dev.inject_low_battery_reset()
    assert A.LOW_BATTERY_RESET in active(dev)
    before = ml(dev.peek().delivered_total)
    dev.advance(at(25))
    # Catalog minimum rate 0.048 mL/d for 24 h = 0.048 mL (48 strokes of 0.001 mL).
    assert abs(ml(dev.peek().delivered_total) - before - 0.048) <= 0.001 + 1e-9
    assert len(log_of(dev, A.LOW_BATTERY_RESET, EventKind.ALARM_REPEATED)) == 144
    dev.acknowledge_alarm()
    assert A.LOW_BATTERY_RESET in active(dev)  # acknowledged only
    dev.write_program(program)
    assert A.LOW_BATTERY_RESET not in active(dev)


def test_memory_error_stops_and_clears_after_reprogram_and_ack(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library)
    filled(dev, "20 mL")
    program = simple_program(morphine(library), "1 mL/d")
    dev.write_program(program)
    dev.inject_memory_error()
    assert not dev.peek().delivering
    dev.write_program(program)  # resolved, not acknowledged
    assert dev.peek().delivering and A.MEMORY_ERROR in active(dev)
    dev.acknowledge_alarm()
    assert A.MEMORY_ERROR not in active(dev)


def test_eri_then_end_of_service_after_90_days(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library)
    filled(dev, "40 mL")
    dev.write_program(simple_program(morphine(library), "0.5 mL/d"))
    dev.advance(at(24 * 100))
    dev.acknowledge_alarm()  # reservoir alarms are not under test
    dev.advance(at(24 * 365.25 * 7))
    status = dev.peek()
    assert status.eri_at is not None and status.eos_at is not None
    assert (status.eos_at - status.eri_at).days == 90
    eri = log_of(dev, A.ELECTIVE_REPLACEMENT, EventKind.ALARM_RAISED)
    eos = log_of(dev, A.END_OF_SERVICE, EventKind.ALARM_RAISED)
    assert len(eri) == 1 and len(eos) == 1
    # ERI is non-critical: repeats hourly until acknowledged; it never resolves. 90 d = 2160 h
    # after ERI: repeats at ERI + 1 h … ERI + 2159 h fall before EOS (the 2160th ties with it).
    repeats = log_of(dev, A.ELECTIVE_REPLACEMENT, EventKind.ALARM_REPEATED)
    assert len([h for h in repeats if h < eos[0]]) == 2159
    assert eos[0] - eri[0] == 2160
    assert not status.delivering and "end of service" in status.holds
    dev.acknowledge_alarm()
    assert {A.ELECTIVE_REPLACEMENT, A.END_OF_SERVICE} <= active(dev)


def test_occlusion_alarm_on_external_pump(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    dev = pump(catalog, library, "Curlin 6000 CMS", bag_volume=Q_("100 mL"))
    filled(dev, "100 mL")
    dev.write_program(simple_program(morphine(library, "0.1 mg/mL"), "0.5 mL/h", "5 mL"))
    dev.occlude_catheter(0.5)  # partial: not sensed
    assert A.OCCLUSION not in active(dev)
    dev.occlude_catheter(1.0)
    assert A.OCCLUSION in active(dev) and not dev.peek().delivering
    dev.advance(at(1))
    assert len(log_of(dev, A.OCCLUSION, EventKind.ALARM_REPEATED)) == 6
    dev.acknowledge_alarm()
    assert A.OCCLUSION in active(dev)
    dev.repair_catheter()
    assert A.OCCLUSION not in active(dev)
    assert not dev.peek().delivering  # needs a restart
    assert dev.resume().state_changed and dev.peek().delivering


def test_air_in_line_alarm_on_external_pump(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    dev = pump(catalog, library, "Curlin 6000 CMS", bag_volume=Q_("100 mL"))
    filled(dev, "100 mL")
    dev.write_program(simple_program(morphine(library, "0.1 mg/mL"), "0.5 mL/h", "5 mL"))
    dev.inject_air_in_line()
    assert not dev.peek().delivering
    dev.clear_air_in_line()
    assert A.AIR_IN_LINE in active(dev)  # resolved, not acknowledged
    dev.acknowledge_alarm()
    assert A.AIR_IN_LINE not in active(dev)
    dev.resume()
    assert dev.peek().delivering


def test_highest_priority_shown_none_dropped(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    dev = pump(catalog, library)
    filled(dev, "3 mL")
    dev.write_program(simple_program(morphine(library), "1 mL/d", threshold="4 mL"))
    dev.inject_motor_stall()
    status = dev.peek()
    assert [a.condition for a in status.alarms] == [A.MOTOR_STALL, A.LOW_RESERVOIR]
    assert status.alarms[1].tone is not None and status.alarms[1].tone.count == 1


def test_alarm_test_sounds_catalog_tones(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    result = pump(catalog, library).alarm_test()
    assert [(t.count, t.duration) for t in result.tones] == [(2, Q_(3, "s")), (1, Q_(1, "s"))]
    valve = pump(catalog, library, "Prometra II 20 mL")
    assert valve.alarm_test().reason  # tones of this device are not public
