"""Reconciliation and clinic alarms on SQLite and PostgreSQL: the findings are stored with the
interrogation and read back equal; the implant's alarms become clinic alarms once; acknowledge
and resolve survive the round trip, audited."""

from datetime import datetime

from tests.unit.clinic.conftest import DOCTOR, NURSE, FakeClock, morphine_plan, setup_patient
from tests.unit.clinic.test_reconciliation import READ_AT, SETTINGS, program_json, status
from thecal.clinic.alarms import AlarmServices
from thecal.clinic.interrogation import record_interrogation
from thecal.clinic.reconcile_interrogation import Reconcile
from thecal.store.uow import SqlUnitOfWork

STALL = {"name": "MOTOR_STALL", "critical": True, "raised_at": "2024-01-28T08:00:00",
         "acknowledged": False, "resolved": False}  # fmt: skip


def test_findings_and_alarms_roundtrip(uow: SqlUnitOfWork, library, catalog) -> None:
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = READ_AT
    recon = Reconcile(library, catalog, SETTINGS)
    # The reservoir example (20 mL where 12 mL is expected) and a critical alarm.
    snap = status(program_json(morphine_plan(), library, catalog), 20.0, READ_AT, [STALL])
    first = record_interrogation(uow, clock, NURSE, patient.id, "SN1", snap, [], recon)
    record_interrogation(uow, clock, NURSE, patient.id, "SN1", snap, [], recon)
    assert [(f.level.value, f.code) for f in first.findings] == [
        ("hard", "IMPLANT-ALARM"), ("soft", "RECON-RESERVOIR")]  # fmt: skip
    with uow.reader() as repo:
        assert repo.get_interrogation(first.id) == first  # findings included
    alarms = AlarmServices(uow, clock)
    listed = alarms.list().alarms
    assert [(a.code, a.level) for a in listed] == [("MOTOR_STALL", "critical")]
    clock.now = datetime(2024, 1, 29, 2, 0)
    alarms.acknowledge(actor=NURSE, alarm_id=listed[0].id)
    clock.now = datetime(2024, 1, 29, 3, 0)
    done = alarms.resolve(actor=DOCTOR, alarm_id=listed[0].id, why="pump replaced")
    stored = alarms.list(patient_id=patient.id).alarms
    assert stored == (done,)
    assert (done.acknowledged_by, done.acknowledged_at) == ("nina", datetime(2024, 1, 29, 2, 0))
    assert (done.cleared_by, done.resolution) == ("paul", "pump replaced")
    assert alarms.list().alarms == ()
    assert uow.verify_audit().ok


def test_latest_interrogation_per_patient(uow: SqlUnitOfWork, library, catalog) -> None:
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    a, _ = setup_patient(uow, clock, library, catalog)
    b, _ = setup_patient(uow, clock, library, catalog, mrn="P-002")
    snap = status(program_json(morphine_plan(), library, catalog), 12.0, READ_AT)
    clock.now = READ_AT
    record_interrogation(uow, clock, NURSE, a.id, "SN1", snap, [])
    record_interrogation(uow, clock, NURSE, b.id, "SN1", snap, [])
    clock.now = datetime(2024, 1, 30, 9, 0)
    newest = record_interrogation(uow, clock, NURSE, a.id, "SN1", snap, [])
    with uow.reader() as repo:
        latest = {i.patient_id: i for i in repo.latest_interrogations()}
    assert set(latest) == {a.id, b.id} and latest[a.id] == newest
