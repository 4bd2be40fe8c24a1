"""The pre-replacement checklist prompt: a pump whose latest interrogation reports ERI or EOS,
or a stimulator whose latest battery voltage is at or below the catalog's ERI / EOS voltage
(OpenNerve IPG: 3.3 V and 3.2 V, "<="), is a worklist item until a replacement assessment is
recorded strictly after the reading that first showed it, about that device. Edges: a
reading exactly at ERI, the reading before it (above), a checklist at the reading's own
instant, one after; a pump's checklist leaves the same patient's stimulator on the list; the
device assessed must be one of the patient's in place."""

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from thecal.adapters.composition import clinic_settings
from thecal.clinic.assessment_ports import AssessmentKind, AssessmentRecord
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import Device, DeviceKind
from thecal.clinic.services import ClinicServices
from thecal.clinic.stimulator_model import BatteryReading, MeasurementSource
from thecal.clinic.worklist import WorkItem
from thecal.units import Q_, InputError

from .assessment_fixtures import assessments
from .conftest import NURSE, FakeClock, morphine_plan, setup_patient
from .stim_fixtures import CTX, stim_patient
from .test_reconciliation import READ_AT, program_json, status

DAY = timedelta(days=1)


@pytest.fixture
def svc(uow: MemoryUnitOfWork, clock: FakeClock, library, catalog) -> ClinicServices[Any]:
    return ClinicServices(uow=uow, clock=clock, library=library, catalog=catalog,
                          settings=clinic_settings(), stimulation=CTX)  # fmt: skip


def _replacements(svc: ClinicServices[Any]) -> list[WorkItem]:
    return [i for i in svc.worklist() if i.kind == "replacement"]


def _checklist(uow: MemoryUnitOfWork, device: Device, at: datetime,
               kind: AssessmentKind = AssessmentKind.REPLACEMENT) -> None:  # fmt: skip
    with uow.transaction("nina", at, "assessment") as repo:
        repo.add_assessment(AssessmentRecord(device.patient_id, at, "nina", kind, "routine",
                                             {}, {"prompts": []}, device.id))  # fmt: skip


def _volts(uow: MemoryUnitOfWork, ipg: Device, at: datetime, v: float) -> None:
    with uow.transaction("nina", at, "battery reading") as repo:
        source = MeasurementSource.INTERROGATION
        repo.add_battery_reading(BatteryReading(ipg.patient_id, ipg.id, at, source, Q_(v, "V")))


def test_stimulator_at_eri_on_the_edge_until_the_checklist(svc, uow, clock) -> None:
    _, ipg = stim_patient(uow, clock)
    t = datetime(2024, 3, 1, 9, 0)
    _volts(uow, ipg, t - DAY, 3.31)  # the day before: above 3.3 V, not at ERI
    assert _replacements(svc) == []
    _volts(uow, ipg, t, 3.3)  # exactly the ERI voltage: "<= 3.3 V" is ERI
    (item,) = _replacements(svc)
    assert (item.level, item.code, item.since) == ("soft", "REPLACEMENT-ERI", t)
    assert item.ref_id == ipg.id
    assert "plan the replacement — run the pre-replacement checklist" in item.message
    assert "3.3 V measured" in item.message and "OpenNerve firmware" in item.source
    _checklist(uow, ipg, t, AssessmentKind.CLINICIAN)  # another kind does not clear it
    _checklist(uow, ipg, t)  # at the reading's own instant: not after it
    assert len(_replacements(svc)) == 1
    _checklist(uow, ipg, t + timedelta(seconds=1))
    assert _replacements(svc) == []
    _volts(uow, ipg, t + DAY, 3.29)  # still at ERI: the checklist after its onset holds
    assert _replacements(svc) == []
    _volts(uow, ipg, t + 2 * DAY, 3.2)  # EOS (<= 3.2 V): hard, and asked again
    (item,) = _replacements(svc)
    assert (item.level, item.code, item.since) == ("hard", "REPLACEMENT-EOS", t + 2 * DAY)


def test_pump_reporting_eri_then_the_checklist(svc, uow, clock, library, catalog) -> None:
    patient, pump = setup_patient(uow, clock, library, catalog)
    clock.now = READ_AT
    prog = program_json(morphine_plan(), library, catalog)
    quiet = status(prog, 12.0, READ_AT)
    svc.import_interrogation(actor=NURSE, patient_id=patient.id, serial="SN1", status=quiet,
                             log=[])  # fmt: skip
    assert _replacements(svc) == []  # eri_at null: not reached
    clock.now = READ_AT + DAY
    eri = {**quiet, "device_time": clock.now.isoformat(), "eri_at": "2024-01-29T23:00:00"}
    svc.import_interrogation(actor=NURSE, patient_id=patient.id, serial="SN1", status=eri,
                             log=[])  # fmt: skip
    (item,) = _replacements(svc)
    assert (item.patient_id, item.level, item.code) == (patient.id, "soft", "REPLACEMENT-ERI")
    assert item.since == READ_AT + DAY and item.ref_id == pump.id
    assert "90 days" in item.source  # the catalog's ERI-to-EOS source (Medtronic)
    _checklist(uow, pump, READ_AT + 2 * DAY)
    assert _replacements(svc) == []
    clock.now = READ_AT + 3 * DAY
    # eos_at is set at ERI (when the pump will stop): not EOS while the device time is before.
    stops = {**eri, "device_time": clock.now.isoformat(), "eos_at": clock.now.isoformat()}
    ahead = {**stops, "device_time": (clock.now - timedelta(minutes=1)).isoformat()}
    svc.import_interrogation(actor=NURSE, patient_id=patient.id, serial="SN1", status=ahead,
                             log=[])  # fmt: skip
    assert _replacements(svc) == []  # still ERI, checklist done
    clock.now += timedelta(minutes=1)
    eos = stops  # the device time reached eos_at exactly: EOS
    svc.import_interrogation(actor=NURSE, patient_id=patient.id, serial="SN1", status=eos,
                             log=[])  # fmt: skip
    (item,) = _replacements(svc)
    at = READ_AT + 3 * DAY + timedelta(minutes=1)
    assert (item.level, item.code, item.since) == ("hard", "REPLACEMENT-EOS", at)
    assert "the pump has stopped" in item.message


def _pump_and_ipg_at_eri(
    svc: ClinicServices[Any], uow: MemoryUnitOfWork, clock: FakeClock, library, catalog
) -> tuple[Device, Device]:
    """One patient with a SynchroMed II reporting ERI and an OpenNerve IPG at 3.3 V (its ERI,
    "<= 3.3 V"), both read at READ_AT; the clock then an hour later."""
    patient, pump = setup_patient(uow, clock, library, catalog)
    clock.now = READ_AT
    prog = program_json(morphine_plan(), library, catalog)
    eri = {**status(prog, 12.0, READ_AT), "eri_at": "2024-01-28T23:00:00"}
    svc.import_interrogation(actor=NURSE, patient_id=patient.id, serial="SN1", status=eri,
                             log=[])  # fmt: skip
    ipg = Device(patient.id, DeviceKind.STIMULATOR, "OpenNerve IPG", date(2020, 1, 6), "IPG-1")
    with uow.transaction("nina", READ_AT, "stimulator") as repo:
        repo.add_device(ipg)
    _volts(uow, ipg, READ_AT, 3.3)
    clock.now = READ_AT + timedelta(hours=1)
    return pump, ipg


def test_a_pump_checklist_clears_only_the_pumps_line(svc, uow, clock, library, catalog) -> None:
    pump, ipg = _pump_and_ipg_at_eri(svc, uow, clock, library, catalog)
    assert {i.ref_id for i in _replacements(svc)} == {pump.id, ipg.id}
    # A replacement assessment naming no device (an older record) clears neither line.
    with uow.transaction("nina", clock.now, "assessment") as repo:
        repo.add_assessment(AssessmentRecord(pump.patient_id, clock.now, "nina",
                                             AssessmentKind.REPLACEMENT, "routine", {},
                                             {"prompts": []}, None))  # fmt: skip
    assert {i.ref_id for i in _replacements(svc)} == {pump.id, ipg.id}
    checklist = assessments(uow, clock, catalog)
    done = checklist.record(actor=NURSE, patient_id=pump.patient_id, device_id=pump.id,
                            entry={"occasion": "replacement_planning"},
                            kind=AssessmentKind.REPLACEMENT)  # fmt: skip
    assert done.device_id == pump.id and done.presentation["device"] == "intrathecal_pump"
    (left,) = _replacements(svc)
    assert left.ref_id == ipg.id and "stimulator OpenNerve IPG IPG-1" in left.message
    done = checklist.record(actor=NURSE, patient_id=pump.patient_id, device_id=ipg.id,
                            entry={"occasion": "replacement_planning"},
                            kind=AssessmentKind.REPLACEMENT)  # fmt: skip
    # The stimulator's own record reached the rules, not the pump's.
    assert done.device_id == ipg.id and done.presentation["device"] == "stimulator"
    assert _replacements(svc) == []


def test_the_assessed_device_must_be_one_in_place(svc, uow, clock, library, catalog) -> None:
    pump, ipg = _pump_and_ipg_at_eri(svc, uow, clock, library, catalog)
    old = Device(pump.patient_id, DeviceKind.PUMP, "SynchroMed II 8637-40", date(2015, 1, 2),
                 "OLD1", removed_on=date(2024, 1, 2))  # fmt: skip
    other, _ = setup_patient(uow, clock, library, catalog, mrn="P-002")
    with uow.reader() as repo:
        theirs = next(d for d in repo.devices_for(other.id) if d.kind is DeviceKind.PUMP)
    with uow.transaction("nina", clock.now, "old pump") as repo:
        repo.add_device(old)
    checklist = assessments(uow, clock, catalog)
    # The devices offered: those in place, the drug pump first (the default).
    assert [d.id for d in checklist.devices(patient_id=pump.patient_id)] == [pump.id, ipg.id]
    before = (len(uow.state.assessments), len(uow.state.audit))
    for bad, why in ((old.id, "was removed on 2024-01-02"), (theirs.id, "no pump or stimulator"),
                     ("nope", "no pump or stimulator")):  # fmt: skip
        with pytest.raises(InputError) as exc:
            checklist.record(actor=NURSE, patient_id=pump.patient_id, device_id=bad,
                             entry={}, kind=AssessmentKind.REPLACEMENT)  # fmt: skip
        assert exc.value.field == "assessment.device" and why in exc.value.message
    assert (len(uow.state.assessments), len(uow.state.audit)) == before  # nothing written
    assert {i.ref_id for i in _replacements(svc)} == {pump.id, ipg.id}
