"""Firmware: defence-in-depth limits, patient-bolus rules, command results, log, clock."""

from datetime import time, timedelta

import pytest

from thecal.devices.catalog import DeviceCatalog
from thecal.devices.implant_device import ImplantDevice
from thecal.devices.log import EventKind
from thecal.devices.pump import Mode, Program
from thecal.implant import FirmwareLimits, ImplantConfig, PeristalticPump
from thecal.implant.limits import DrugHardLimits
from thecal.therapy.delivery import daily_dose
from thecal.therapy.findings import Code
from thecal.therapy.library import DrugLibrary
from thecal.therapy.schedule import (
    PatientBolus,
    Schedule,
    day_program,
    patient_bolus,
    periodic_bolus,
    weekly,
)
from thecal.units import Q_

from .helpers import START, at, filled, flex, limits, ml, morphine, pump, simple_program, ziconotide


def codes(result: object) -> set[Code]:
    return {f.code for f in result.findings}  # type: ignore[attr-defined]


def test_three_kinds_satisfy_the_protocol(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    devices = [
        pump(catalog, library),
        pump(catalog, library, "Prometra II 20 mL"),
        pump(catalog, library, "Curlin 6000 CMS", bag_volume=Q_("250 mL")),
    ]
    for dev in devices:
        assert isinstance(dev, ImplantDevice)
    assert devices[1].capabilities.stroke_volume == Q_(0.0025, "mL")
    assert "NOT LABELLED" in dict(devices[1].capabilities.sources)["actuation_volume"]


def test_stroke_volume_is_required_when_not_public(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    from thecal.units import InputError

    with pytest.raises(InputError, match="actuation volume"):
        pump(catalog, library, stroke_volume=None)


def test_capability_limits_refused_even_if_a_programmer_sends_them(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    curlin = pump(catalog, library, "Curlin 6000 CMS", bag_volume=Q_("250 mL"))
    r = curlin.write_program(simple_program(morphine(library, "0.1 mg/mL"), "401 mL/h", "5 mL"))
    assert Code.RATE_ABOVE_PUMP_MAXIMUM in codes(r) and not r.state_changed
    sm = pump(catalog, library)
    fourteen = flex(*[(h, f"{0.1 + h / 100:.2f} mL/d") for h in range(14)])  # 14 > 13 steps
    r = sm.write_program(Program(fourteen, morphine(library), Q_("2 mL")))
    assert Code.FLEX_TOO_MANY_STEPS in codes(r)


def test_patient_bolus_built_around_the_core_checks_is_refused(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # Built directly (not via schedule.patient_bolus): lockout shorter than the bolus.
    bad = PatientBolus(Q_("0.02 mL"), Q_("1 h"), Q_("30 min"), 4)
    r = pump(catalog, library).write_program(simple_program(morphine(library), ptb=bad))
    assert Code.FIRMWARE_PATIENT_BOLUS_INVALID in codes(r)


def test_mode_the_device_lacks_is_refused(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    class NoPatientBolus(PeristalticPump):
        modes = frozenset(Mode) - {Mode.PATIENT_BOLUS}

    config = ImplantConfig("SN-X", START, Q_("10 min"), stroke_volume=Q_("0.001 mL"))
    dev = NoPatientBolus(catalog.pump("SynchroMed II 8637-20"), config, limits(library))
    ptb = patient_bolus(Q_("0.02 mL"), Q_("10 min"), Q_("3 h"), 4)
    r = dev.write_program(simple_program(morphine(library), ptb=ptb))
    assert Code.FIRMWARE_MODE_UNSUPPORTED in codes(r)
    assert Mode.PATIENT_BOLUS not in dev.capabilities.modes


def test_drug_not_loaded_into_the_firmware_is_refused(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    only_zico = FirmwareLimits(tuple(d for d in limits(library).drugs if d.drug == "ziconotide"))
    dev = pump(catalog, library, fw_limits=only_zico)
    r = dev.write_program(simple_program(morphine(library)))
    assert Code.FIRMWARE_DRUG_UNKNOWN in codes(r)


def test_hard_daily_limit_counts_a_window_across_midnight(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    """Ziconotide 25 mcg/mL, hard 21.6 mcg/d -> 0.864 mL in any 24 h. Monday ends high and
    Tuesday starts high: each weekday is 0.8 mL (20 mcg, accepted by the therapy core's
    per-day check) but Monday 12:00 -> Tuesday 12:00 holds 0.7 + 0.7 = 1.4 mL (35 mcg)."""
    adm = ziconotide(library)
    mon = day_program([(time(0), Q_("0.2 mL/d")), (time(12), Q_("1.4 mL/d"))])
    tue = day_program([(time(0), Q_("1.4 mL/d")), (time(12), Q_("0.2 mL/d"))])
    schedule = Schedule(weekly({"mon": mon, "tue": tue}, day_program([(time(0), Q_("0.8 mL/d"))])))
    nominal = daily_dose(schedule, adm).nominal["ziconotide"]
    assert nominal.to("ug/d").magnitude == pytest.approx(20.0)
    dev = pump(catalog, library)
    r = dev.write_program(Program(schedule, adm, Q_("2 mL")))
    assert Code.FIRMWARE_ROLLING_24H_ABOVE_LIMIT in codes(r)
    ok = dev.write_program(simple_program(adm, "0.8 mL/d"))
    assert ok.state_changed


def test_program_change_checked_against_the_last_24_hours(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    """Old: Monday all in the afternoon (1.7 mL/d 12-24 h = 0.85 mL/day). New at Tuesday 00:00:
    all in the morning. Each alone is 0.85 mL in any 24 h, but Mon 12:00 -> Tue 12:00 would
    hold 1.7 mL, above 0.864 mL."""
    adm = ziconotide(library)
    late = flex((0, "0 mL/d"), (12, "1.7 mL/d"))
    early = flex((0, "1.7 mL/d"), (12, "0 mL/d"))
    dev = pump(catalog, library)
    filled(dev, "20 mL")
    assert dev.write_program(Program(late, adm, Q_("2 mL"))).state_changed
    dev.advance(at(24))
    r = dev.write_program(Program(early, adm, Q_("2 mL")))
    assert Code.FIRMWARE_ROLLING_24H_ABOVE_LIMIT in codes(r)
    dev.advance(at(36))  # 12 h later the afternoon has left the window
    assert dev.write_program(Program(early, adm, Q_("2 mL"))).state_changed


def test_clinician_bolus_refused_when_24_hours_could_exceed_the_limit(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    adm = ziconotide(library)
    dev = pump(catalog, library)
    filled(dev, "20 mL")
    dev.write_program(simple_program(adm, "0.5 mL/d"))
    # Nothing delivered yet: 0 + 0.3 + 0.5 (next 24 h) = 0.8 <= 0.864 - 0.001 (one stroke).
    assert dev.clinician_bolus(Q_("0.3 mL"), Q_("1 h")).state_changed
    dev.advance(at(24))
    # Now the last 24 h hold 0.8 mL: 0.8 + 0.05 + 0.5 > 0.863.
    r = dev.clinician_bolus(Q_("0.05 mL"), Q_("1 h"))
    assert r.processed and not r.state_changed
    assert Code.FIRMWARE_ROLLING_24H_ABOVE_LIMIT in codes(r)
    assert EventKind.BOLUS_REFUSED in {e.kind for e in dev.events()}


def test_bolus_dose_hard_limit_is_enforced(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    # Test input: a 1 mg hard bolus limit for morphine loaded at provisioning.
    fw = limits(library, morphine=DrugHardLimits("morphine", bolus_dose_max=Q_("1 mg")))
    dev = pump(catalog, library, fw_limits=fw)
    ptb = patient_bolus(Q_("0.2 mL"), Q_("10 min"), Q_("3 h"), 4)  # 2 mg at 10 mg/mL
    r = dev.write_program(simple_program(morphine(library), ptb=ptb))
    assert Code.BOLUS_DOSE_ABOVE_LIMIT in codes(r)
    dev.write_program(simple_program(morphine(library)))
    filled(dev, "20 mL")
    assert not dev.clinician_bolus(Q_("0.2 mL"), Q_("1 h")).state_changed
    assert dev.clinician_bolus(Q_("0.1 mL"), Q_("1 h")).state_changed


def test_patient_bolus_lockout_and_daily_maximum(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library)
    filled(dev, "20 mL")
    ptb = patient_bolus(Q_("0.02 mL"), Q_("10 min"), Q_("3 h"), 2)
    dev.write_program(simple_program(morphine(library), ptb=ptb))
    outcomes = []
    for h in (1, 2, 4, 8, 24.5, 26):
        dev.advance(at(h))
        r = dev.patient_bolus_request()
        outcomes.append((h, r.state_changed, r.reason))
    assert outcomes == [
        (1, True, ""),
        (2, False, "lockout"),  # 1 h after the last start < 3 h
        (4, True, ""),
        (8, False, "daily maximum reached"),  # 2 in the last 24 h
        (24.5, False, "daily maximum reached"),  # 4 h is still inside (0.5 h, 24.5 h]
        (26, True, ""),  # the 1 h bolus left the window
    ]
    denied = [e for e in dev.events() if e.kind == EventKind.PTB_DENIED]
    assert [e.message for e in denied] == [
        "lockout",
        "daily maximum reached",
        "daily maximum reached",
    ]


def test_refill_out_of_range_is_refused(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    dev = pump(catalog, library, "SynchroMed II 8637-20", stroke_volume=Q_("0.001 mL"))
    r = dev.refill(Q_("40 mL"))  # the 2012 case: 40 mL recorded in a 20 mL pump
    assert not r.state_changed and Code.FILL_EXCEEDS_RESERVOIR in codes(r)
    assert not dev.refill(Q_("0 mL")).state_changed


def test_results_say_processed_and_changed(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    dev = pump(catalog, library)
    filled(dev, "20 mL")
    program = simple_program(morphine(library))
    assert dev.write_program(program).state_changed
    same = dev.write_program(program)
    assert same.processed and not same.state_changed
    assert dev.stop().state_changed and not dev.stop().state_changed
    assert not dev.peek().delivering
    assert dev.resume().state_changed and dev.peek().delivering
    assert not dev.patient_bolus_request().state_changed  # no patient bolus programmed


def test_event_log_is_append_only_sequenced_and_keyed_by_serial(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library)
    filled(dev, "5 mL")
    dev.write_program(simple_program(morphine(library), "1 mL/d"))
    first = dev.events()
    dev.advance(at(80))
    later = dev.events(since_seq=len(first))
    all_events = dev.events()
    assert [e.seq for e in all_events] == list(range(1, len(all_events) + 1))
    assert all(e.serial == "SN-TEST" for e in all_events)
    assert all_events[: len(first)] == first and all_events[len(first) :] == later
    assert [e.sim_hours for e in all_events] == sorted(e.sim_hours for e in all_events)


def test_schedule_follows_the_device_clock(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    dev = pump(catalog, library)
    filled(dev, "20 mL")
    dev.write_program(Program(flex((0, "0 mL/d"), (12, "2.4 mL/d")), morphine(library), Q_("2 mL")))
    assert dev.set_clock(START + timedelta(hours=12)).state_changed  # device now 12 h ahead
    assert dev.read_clock() == START + timedelta(hours=12)
    dev.advance(at(12))
    # Device time 12:00-24:00 at 2.4 mL/d = 1.2 mL during true 00:00-12:00.
    assert ml(dev.peek().delivered_total) == pytest.approx(1.2, abs=0.001)
    assert EventKind.CLOCK_SET in {e.kind for e in dev.events()}


def _busy_device(catalog: DeviceCatalog, library: DrugLibrary):  # type: ignore[no-untyped-def]
    dev = pump(catalog, library, flow_bias=0.03)
    filled(dev, "8 mL")
    schedule = Schedule(
        weekly(
            {},
            day_program(
                [(time(0), Q_("0.3 mL/d")), (time(7), Q_("0.9 mL/d")), (time(20), Q_("0.5 mL/d"))]
            ),
        ),
        periodic=(periodic_bolus(Q_("0.05 mL"), Q_("6 h"), Q_("20 min"), START),),
    )
    ptb = patient_bolus(Q_("0.03 mL"), Q_("15 min"), Q_("2 h"), 4)
    dev.write_program(Program(schedule, morphine(library), Q_("3 mL"), ptb))
    for day in range(10):
        for h in (8, 13, 18, 22):
            dev.schedule(at(24 * day + h), lambda d: d.patient_bolus_request())
    dev.schedule(at(24 * 6 + 3), lambda d: d.inject_motor_stall())
    dev.schedule(at(24 * 6 + 5), lambda d: d.recover_motor_stall())
    return dev


def test_many_small_advances_equal_one_big_advance(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    one = _busy_device(catalog, library)
    one.advance(at(24 * 10))
    many = _busy_device(catalog, library)
    h = 0.0
    while h < 24 * 10:
        h = min(24 * 10, h + 0.37)  # steps unrelated to any event
        many.advance(at(h))

    def key(dev):  # type: ignore[no-untyped-def]
        return [(e.kind, e.sim_hours, e.alarm, e.values) for e in dev.events()]

    assert key(one) == key(many)
    assert len([e for e in one.events() if e.kind == EventKind.ALARM_RAISED]) >= 2
    assert one.peek().delivered_total == many.peek().delivered_total
    assert ml(one.truth().reservoir) == pytest.approx(ml(many.truth().reservoir), abs=1e-9)
