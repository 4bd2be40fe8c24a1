"""Reconciliation of an interrogation with the record (thecal.clinic.reconciliation), worked by
hand on the morphine patient of the conftest: morphine 10 mg/mL at 3 mg/d = 0.3 mL/d in a
SynchroMed II 20 mL, filled with 20 mL on 2024-01-02 09:00, prescription version 1 written then.

Read on 2024-01-29 01:00 = 26 d 16 h = 26.6667 d after the fill: 0.3 mL/d × 26.6667 d = 8 mL
delivered, so the record expects 20 − 8 = 12 mL in the reservoir."""

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thecal.clinic.interrogation import read_snapshot, record_interrogation
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import Device
from thecal.clinic.reconcile_interrogation import Reconcile, record_at_reading
from thecal.clinic.reconciliation import (
    ReconciliationSettings,
    blocking,
    build_reconciliation_settings,
    check_clock,
)
from thecal.clinic.workflows import change_program
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.pump import Program
from thecal.programmer.wire_program import program_to_json
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import resolve
from thecal.therapy.plan_file import PlanFile
from thecal.units import Q_, InputError

from .conftest import DOCTOR, NURSE, FakeClock, morphine_plan, setup_patient

READ_AT = datetime(2024, 1, 29, 1, 0)
SETTINGS = build_reconciliation_settings("test", {
    "clock_drift_soft": "15 min", "clock_drift_soft_source": "test: product choice",
    "clock_drift_hard": "24 h", "clock_drift_hard_source": "test: product choice",
})  # fmt: skip


def plan_with(dose: str = "3 mg/d", concentration: str = "10 mg/mL") -> PlanFile:
    """The conftest's morphine plan with another dose or concentration."""
    return PlanFile.model_validate({
        "title": "morphine", "at": "2024-01-02T09:00:00", "patient": {"opioid_naive": False},
        "pump": {"model": "SynchroMed II 8637-20"},
        "admixture": [{"drug": "morphine", "concentration": concentration}],
        "schedule": {"mode": "continuous", "dose": dose},
        "fill": {"volume": "20 mL", "at": "2024-01-02T09:00:00"},
    })  # fmt: skip


def program_json(plan: PlanFile, library: DrugLibrary, catalog: DeviceCatalog) -> dict[str, Any]:
    """The program an implant runs for ``plan`` (threshold: the catalog's 2 mL), as stored."""
    r = resolve(plan.to_typed(), library, catalog)
    return program_to_json(Program(r.schedule, r.admixture, Q_(2, "mL"), r.program.patient_bolus))


def status(program: dict[str, Any] | None, reservoir_ml: float, device_time: datetime,
           alarms: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "serial": "SN1", "model": "SynchroMed II 8637-20", "device_time": device_time.isoformat(),
        "delivery": "delivering", "delivering": True, "holds": [], "bolus": "none",
        "program": program, "reservoir_estimate": {"value": reservoir_ml, "unit": "mL"},
        "low_reservoir_threshold": {"value": 2.0, "unit": "mL"},
        "delivered_total": {"value": 8.0, "unit": "mL"}, "alarms": alarms or [],
        "eri_at": None, "eos_at": None, "patient_boluses_last_24h": 0, "last_seq": 1,
    }  # fmt: skip


@pytest.fixture
def patient(uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary,
            catalog: DeviceCatalog) -> tuple[str, Device]:  # fmt: skip
    p, pump = setup_patient(uow, clock, library, catalog)
    clock.now = READ_AT
    return p.id, pump


def interrogate(uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary,
                catalog: DeviceCatalog, pid: str, snapshot: dict[str, Any],
                recon: ReconciliationSettings | None = SETTINGS,
                ) -> tuple[Finding, ...]:  # fmt: skip
    reconciler = Reconcile(library, catalog, recon)
    stored = record_interrogation(uow, clock, NURSE, pid, "SN1", snapshot, [], reconciler)
    with uow.reader() as repo:
        assert repo.get_interrogation(stored.id).findings == stored.findings  # stored with it
        device = repo.get_device(stored.device_id)
        return reconciler.findings(repo, stored, device)


def codes(findings: tuple[Finding, ...]) -> list[tuple[Level, Code]]:
    return [(f.level, f.code) for f in findings]


def test_the_record_itself_gives_no_finding(uow, clock, library, catalog, patient) -> None:
    pid, _ = patient
    prog = program_json(morphine_plan(), library, catalog)
    assert interrogate(uow, clock, library, catalog, pid, status(prog, 12.0, READ_AT)) == ()


def test_issue_13_example_clock_drift_of_2_7_years_is_hard(uow, clock, library, catalog,
                                                            patient) -> None:  # fmt: skip
    pid, _ = patient
    prog = program_json(morphine_plan(), library, catalog)
    # 2.7 years = 2.7 × 365.25 d = 986.2 d; the pump's clock is that far behind.
    pump_time = READ_AT - timedelta(days=986.175)
    found = interrogate(uow, clock, library, catalog, pid, status(prog, 12.0, pump_time))
    assert codes(found) == [(Level.HARD, Code.RECON_CLOCK_DRIFT)]
    assert "2.7 years behind the clinic's" in found[0].message
    assert found[0].source == "test: product choice" and found[0].limit == Q_(1, "d")


@pytest.mark.parametrize(("drift", "expected"), [
    (timedelta(minutes=15), []),  # exactly the soft threshold: not flagged
    (timedelta(minutes=15, seconds=1), [(Level.SOFT, Code.RECON_CLOCK_DRIFT)]),
    (-timedelta(minutes=15, seconds=1), [(Level.SOFT, Code.RECON_CLOCK_DRIFT)]),  # behind
    (timedelta(hours=24), [(Level.SOFT, Code.RECON_CLOCK_DRIFT)]),  # exactly hard: still soft
    (timedelta(hours=24, seconds=1), [(Level.HARD, Code.RECON_CLOCK_DRIFT)]),
])  # fmt: skip
def test_clock_drift_edges(drift: timedelta, expected: list[tuple[Level, Code]]) -> None:
    assert codes(tuple(check_clock(READ_AT + drift, READ_AT, SETTINGS))) == expected


def test_clock_without_thresholds_or_time_is_said_not_checked() -> None:
    assert codes(tuple(check_clock(READ_AT, READ_AT, None))) == [
        (Level.INFO, Code.RECON_CLOCK_DRIFT)
    ]
    assert "no pump time" in check_clock(None, READ_AT, SETTINGS)[0].message


def test_issue_13_example_reservoir_20_ml_where_12_expected(uow, clock, library, catalog,
                                                             patient) -> None:  # fmt: skip
    pid, _ = patient
    prog = program_json(morphine_plan(), library, catalog)
    found = interrogate(uow, clock, library, catalog, pid, status(prog, 20.0, READ_AT))
    assert codes(found) == [(Level.SOFT, Code.RECON_RESERVOIR)]
    f = found[0]
    # 20 − 12 = 8 mL more than expected. The SynchroMed catalog gives no under-delivery band,
    # so the library's 2 mL refill discrepancy threshold decides (ASRA 2017).
    assert f.value is not None and f.value.to("mL").magnitude == pytest.approx(8.0)
    assert f.limit == Q_(2, "mL") and "ASRA" in f.source
    assert "20 mL" in f.message and "12 mL" in f.message and "too late" in f.message


@pytest.mark.parametrize(("pump_ml", "flagged", "limit_ml"), [
    # Over the record by the 2 mL threshold exactly (12 + 2 = 14 mL): not flagged.
    (14.0, False, None),
    (14.01, True, 2.0),
    # Under the record: the over-infusion band 14.5 % × 8 mL delivered = 1.16 mL.
    (12.0 - 1.16, False, None),  # on the band's edge
    (10.8, True, 1.16),  # 1.2 mL less = 15 % of 8 mL > 14.5 %
])  # fmt: skip
def test_reservoir_edges(uow, clock, library, catalog, patient, pump_ml: float, flagged: bool,
                         limit_ml: float | None) -> None:  # fmt: skip
    pid, _ = patient
    prog = program_json(morphine_plan(), library, catalog)
    found = interrogate(uow, clock, library, catalog, pid, status(prog, pump_ml, READ_AT))
    assert bool(found) is flagged
    if flagged:
        assert codes(found) == [(Level.SOFT, Code.RECON_RESERVOIR)]
        assert found[0].limit is not None
        assert found[0].limit.to("mL").magnitude == pytest.approx(limit_ml)


def test_issue_13_example_pump_program_not_in_record_is_hard(uow, clock, library, catalog,
                                                              patient) -> None:  # fmt: skip
    pid, _ = patient
    # Someone put 20 mg/mL in the pump's program: the record has 10 mg/mL; at the same
    # 0.3 mL/d the pump thinks it gives 20 mg/mL × 0.3 mL/d = 6 mg/d, the record 3 mg/d.
    plan = plan_with("6 mg/d", "20 mg/mL")
    found = interrogate(uow, clock, library, catalog, pid,
                        status(program_json(plan, library, catalog), 12.0, READ_AT))  # fmt: skip
    assert codes(found) == [(Level.HARD, Code.RECON_PROGRAM_NOT_IN_RECORD)]
    msg = found[0].message
    assert "morphine concentration: pump 20 mg/mL, record 10 mg/mL" in msg
    assert "morphine basal daily dose: pump 6 mg/d, record 3 mg/d" in msg
    assert blocking(found) == found


def test_a_faster_rate_shows_the_rate_and_dose(uow, clock, library, catalog, patient) -> None:
    pid, _ = patient
    plan = plan_with("4 mg/d")  # 4 mg/d ÷ 10 mg/mL = 0.4 mL/d against 0.3 mL/d
    found = interrogate(uow, clock, library, catalog, pid,
                        status(program_json(plan, library, catalog), 12.0, READ_AT))  # fmt: skip
    assert codes(found) == [(Level.HARD, Code.RECON_PROGRAM_NOT_IN_RECORD)]
    assert "pump 00:00 0.4 mL/d, record 00:00 0.3 mL/d" in found[0].message
    assert "pump 4 mg/d, record 3 mg/d" in found[0].message


def test_pump_still_on_the_previous_version_is_soft(uow, clock, library, catalog,
                                                     patient) -> None:  # fmt: skip
    pid, _ = patient
    old = program_json(morphine_plan(), library, catalog)
    newer = plan_with("3.3 mg/d")
    clock.now = datetime(2024, 1, 20, 9, 0)
    change_program(uow, clock, library, catalog, actor=DOCTOR, patient_id=pid, plan=newer,
                   reason="titration", overrides={"SLIP-DOSE": "checked"})  # fmt: skip
    clock.now = READ_AT
    # Expected: 19 d × 0.3 mL/d = 5.7 mL, then 6 d 16 h × 0.33 mL/d = 2.2 mL: 20 − 7.9 = 12.1 mL.
    found = interrogate(uow, clock, library, catalog, pid, status(old, 12.1, READ_AT))
    assert codes(found) == [(Level.SOFT, Code.RECON_PROGRAM_PREVIOUS)]
    assert "version 1, not the current version 2" in found[0].message


def test_no_program_in_the_pump_is_hard(uow, clock, library, catalog, patient) -> None:
    pid, _ = patient
    found = interrogate(uow, clock, library, catalog, pid, status(None, 12.0, READ_AT))
    assert codes(found) == [(Level.HARD, Code.RECON_NO_PROGRAM)]


def test_unreadable_program_is_hard(uow, clock, library, catalog, patient) -> None:
    pid, _ = patient
    prog = program_json(morphine_plan(), library, catalog)
    prog["admixture"][0]["drug"] = "unobtainium"
    found = interrogate(uow, clock, library, catalog, pid, status(prog, 12.0, READ_AT))
    assert codes(found) == [(Level.HARD, Code.RECON_PROGRAM_NOT_IN_RECORD)]
    assert "could not be read" in found[0].message


def test_another_model_answering_is_hard(uow, clock, library, catalog, patient) -> None:
    pid, _ = patient
    snap = status(program_json(morphine_plan(), library, catalog), 12.0, READ_AT)
    snap["model"] = "SynchroMed II 8637-40"  # the record has an 8637-20 with serial SN1
    found = interrogate(uow, clock, library, catalog, pid, snap)
    assert codes(found) == [(Level.HARD, Code.RECON_PUMP_MODEL)]


def test_implant_alarms_critical_hard_others_soft(uow, clock, library, catalog, patient) -> None:
    pid, _ = patient
    prog = program_json(morphine_plan(), library, catalog)
    alarms = [
        {"name": "LOW_RESERVOIR", "critical": False, "raised_at": "2024-01-28T07:00:00",
         "acknowledged": False, "resolved": False},
        {"name": "MOTOR_STALL", "critical": True, "raised_at": "2024-01-28T08:00:00",
         "acknowledged": True, "resolved": False},
        {"name": "EMPTY_RESERVOIR", "critical": True, "raised_at": "2024-01-20T08:00:00",
         "acknowledged": True, "resolved": True},  # resolved on the pump: not a finding
    ]  # fmt: skip
    found = interrogate(uow, clock, library, catalog, pid, status(prog, 12.0, READ_AT, alarms))
    assert codes(found) == [(Level.HARD, Code.IMPLANT_ALARM), (Level.SOFT, Code.IMPLANT_ALARM)]
    assert "MOTOR_STALL" in found[0].message and "LOW_RESERVOIR" in found[1].message


def test_settings_are_checked() -> None:
    good = {"clock_drift_soft": "15 min", "clock_drift_soft_source": "x",
            "clock_drift_hard": "24 h", "clock_drift_hard_source": "y"}  # fmt: skip
    for bad, field in [
        ({"clock_drift_soft": "0 min"}, "clock_drift_soft"),
        ({"clock_drift_hard": "10 min"}, "clock_drift_soft"),  # soft above hard
        ({"clock_drift_hard_source": " "}, "clock_drift_hard_source"),
        ({"clock_drift_soft": "15 mL"}, "clock_drift_soft"),
    ]:
        with pytest.raises(InputError) as e:
            build_reconciliation_settings("x", {**good, **bad})
        assert field in e.value.field


def test_snapshot_before_the_fill_or_without_estimate_is_info(uow, clock, library, catalog,
                                                               patient) -> None:  # fmt: skip
    pid, _ = patient
    snap = status(program_json(morphine_plan(), library, catalog), 12.0, READ_AT)
    snap["reservoir_estimate"] = None
    found = interrogate(uow, clock, library, catalog, pid, snap, recon=None)
    assert codes(found) == [
        (Level.INFO, Code.RECON_CLOCK_DRIFT),
        (Level.INFO, Code.RECON_RESERVOIR),
    ]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    dose=st.sampled_from(["0.5 mg/d", "1 mg/d", "2.5 mg/d", "3 mg/d", "7 mg/d"]),
    hours=st.integers(min_value=1, max_value=40 * 24),
    offset_s=st.integers(min_value=-900, max_value=900),  # within the 15 min soft threshold
)
def test_property_an_interrogation_equal_to_the_record_gives_no_finding(
    library: DrugLibrary, catalog: DeviceCatalog, dose: str, hours: int, offset_s: int
) -> None:
    uow, clock = MemoryUnitOfWork(), FakeClock(datetime(2024, 1, 2, 9, 0))
    p, _ = setup_patient(uow, clock, library, catalog)
    plan = plan_with(dose)
    if dose != "3 mg/d":
        clock.now = datetime(2024, 1, 2, 9, 0)
        change_program(uow, clock, library, catalog, actor=DOCTOR, patient_id=p.id, plan=plan,
                       reason="dose", overrides={c: "checked" for c in _SOFT})  # fmt: skip
    clock.now = datetime(2024, 1, 2, 9, 0) + timedelta(hours=hours)
    reconciler = Reconcile(library, catalog, SETTINGS)
    with uow.reader() as repo:
        device = repo.get_device(next(d.id for d in repo.devices_for(p.id)))
        expected = record_at_reading(repo, library, catalog, device, clock.now).expected
    assert expected is not None
    snap = status(program_json(plan, library, catalog), float(expected.volume.to("mL").magnitude),
                  clock.now + timedelta(seconds=offset_s))  # fmt: skip
    stored = record_interrogation(uow, clock, NURSE, p.id, "SN1", snap, [], reconciler)
    assert stored.findings == ()
    assert read_snapshot(replace(stored)).reservoir_estimate is not None


_SOFT = ("SLIP-DOSE", "TITR-STEP-MAX", "TITR-PERCENT-MAX", "TITR-INTERVAL-MIN", "DOSE-DAILY-MAX",
         "OBSERVE-AFTER-INCREASE", "DOSE-START-MAX", "WITHDRAWAL-RISK")  # fmt: skip
