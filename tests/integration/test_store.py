from dataclasses import replace
from datetime import date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from tests.unit.clinic.conftest import DOCTOR, NURSE, FakeClock, morphine_plan, setup_patient
from thecal.clinic.calendar import RefillStatus, calendar_page, refill_calendar
from thecal.clinic.errors import ConcurrentEditError, LifecycleError
from thecal.clinic.lifecycle import record_procedure
from thecal.clinic.model import (
    Alarm,
    Complication,
    ComplicationCode,
    Device,
    DeviceKind,
    Patient,
    Procedure,
    ProcedureKind,
)
from thecal.clinic.workflows import RefillInput, change_program, record_refill
from thecal.store.migrate import current_revision, downgrade, upgrade
from thecal.store.schema import Base
from thecal.store.uow import SqlUnitOfWork
from thecal.units import Q_

TABLES = {
    "users", "patients", "devices", "procedures", "prescriptions", "refills", "program_changes",
    "interrogations", "alarms", "complications", "audit_log", "audit_head",
    "stim_leads", "stim_programs", "impedance_sets", "battery_readings",
    "patient_details", "device_details",
    "implant_links", "implant_link_keys", "link_deliveries",
    "revoked_sessions", "login_failures", "assessments",
}  # fmt: skip


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_migrations_create_the_schema_and_match_the_models(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == "0014"
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    downgrade(engine)
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert current_revision(engine) == "0014"


def _clock() -> FakeClock:
    return FakeClock(datetime(2024, 1, 2, 9, 0))


def test_refill_roundtrip_and_calendar(uow: SqlUnitOfWork, library, catalog) -> None:
    clock = _clock()
    patient, pump = setup_patient(uow, clock, library, catalog)
    catheter = Device(
        patient.id, DeviceKind.CATHETER, "Prometra catheter", date(2024, 1, 2),
        implanted_length=Q_(62.5, "cm"), tip_level="T10", volume=Q_(0.1625, "mL"),
    )  # fmt: skip
    with uow.transaction("paul", clock(), "catheter recorded") as repo:
        repo.add_device(catheter)
    clock.now = datetime(2024, 3, 2, 9, 0)
    entry = RefillInput(Q_(1.6, "mL"), Q_(20.0, "mL"), "LOT-1", Q_(19.8, "mL"))
    out = record_refill(
        uow, clock, library, catalog, actor=NURSE, patient_id=patient.id, entry=entry
    )
    with uow.reader() as repo:
        (stored,) = repo.refills_for(patient.id)
        assert stored == out.record  # every field survives the database
        (entry_,) = refill_calendar(repo, date(2024, 5, 1), Q_(7, "d"))
        assert entry_.status is RefillStatus.DUE and entry_.due == datetime(2024, 5, 1, 9, 0)
        assert entry_.source.startswith("Manufacturer recommends a 2 mL")
        stored_patient = repo.get_patient(patient.id)
        # Each write transaction moved the version on once: 1 (new) + implant + prescription
        # + catheter + refill = 5.
        assert stored_patient == replace(patient, version=5)
        devices = {d.id: d for d in repo.devices_for(patient.id)}
        assert devices == {pump.id: pump, catheter.id: catheter}
    assert uow.verify_audit().ok


def test_program_change_revises_the_refill_date_and_the_index(
    uow: SqlUnitOfWork, library, catalog
) -> None:
    clock = _clock()
    patient, _ = setup_patient(uow, clock, library, catalog)  # 0.3 mL/d from 01-02 09:00
    clock.now = datetime(2024, 3, 2, 9, 0)
    entry = RefillInput(Q_(1.6, "mL"), Q_(20.0, "mL"), "LOT-1", Q_(19.8, "mL"))
    refill = record_refill(
        uow, clock, library, catalog, actor=NURSE, patient_id=patient.id, entry=entry
    ).record
    clock.now = datetime(2024, 3, 12, 9, 0)
    plan = morphine_plan()
    faster = plan.model_copy(
        update={"schedule": plan.schedule.model_copy(update={"dose": "6 mg/d"})}
    )
    # 3 -> 6 mg/d doubles the opioid dose: above the 50 % step, a soft finding a doctor explains.
    change_program(
        uow,
        clock,
        library,
        catalog,
        actor=DOCTOR,
        patient_id=patient.id,
        plan=faster,
        reason="pain 7/10",
        overrides={"TITR-PERCENT-MAX": "pain 7/10 on 3 mg/d for 6 weeks"},
    )
    with uow.reader() as repo:
        (stored,) = repo.refills_for(patient.id)
        # 3 mL used in 10 d; 15 mL to the alarm at 0.6 mL/d = 25 d: 04-06 09:00 (was 05-01).
        assert stored.refill_by is not None and stored.refill_by.date() == date(2024, 4, 6)
        assert replace(stored, refill_by=None, decided_by="", candidates=()) == replace(
            refill, refill_by=None, decided_by="", candidates=()
        )  # only the forecast fields changed
        (due,) = refill_calendar(repo, date(2024, 4, 6), Q_(7, "d"))
        assert due.status is RefillStatus.DUE
        page = calendar_page(repo, date(2024, 4, 6), Q_(7, "d"), (RefillStatus.DUE,))
        assert [e.patient_id for e in page.entries] == [patient.id]  # the index moved too
    assert uow.verify_audit().ok


def test_failed_workflow_writes_nothing(uow: SqlUnitOfWork, engine: Engine, library, catalog):
    clock = _clock()
    patient, pump = setup_patient(uow, clock, library, catalog)
    counts = {t: _count(engine, t) for t in TABLES}
    clock.now = datetime(2025, 1, 10, 9, 0)
    # A refused procedure writes nothing ...
    bad = Procedure(
        patient.id, ProcedureKind.EXPLANT, date(2025, 1, 10), removed=(pump.id, pump.id)
    )
    with pytest.raises(LifecycleError):
        record_procedure(uow, clock, DOCTOR, bad)
    # ... and neither does a workflow that fails after two writes (audit rows included).
    with pytest.raises(RuntimeError), uow.transaction("nina", clock(), "crash") as repo:
        repo.add_complication(
            Complication(patient.id, ComplicationCode.INFECTION, date(2025, 1, 9))
        )
        repo.add_alarm(Alarm(patient.id, "MOTOR_STALL", "critical", "stall", clock(), pump.id))
        raise RuntimeError("power cut")
    assert {t: _count(engine, t) for t in TABLES} == counts
    with uow.reader() as repo:
        assert repo.get_device(pump.id).removed_on is None
    assert uow.verify_audit().ok


def test_concurrent_edit_of_a_patient_is_detected(uow: SqlUnitOfWork, library, catalog) -> None:
    clock = _clock()
    with uow.transaction("paul", clock(), "new") as repo:
        repo.add_patient(Patient("P-9", "Synthetic Nine"))
    with uow.reader() as repo:
        (a,) = repo.list_patients()
    b = a  # a second user read the same version
    with uow.transaction("paul", clock(), "fix name") as repo:
        saved = repo.update_patient(replace(a, display_name="Synthetic Nine A"))
    assert saved.version == 2
    with pytest.raises(ConcurrentEditError), uow.transaction("nina", clock(), "note") as repo:
        repo.update_patient(replace(b, notes="allergic to contrast"))
    with uow.reader() as repo:
        stored = repo.get_patient(a.id)
    assert (stored.display_name, stored.notes, stored.version) == ("Synthetic Nine A", "", 2)


def test_audit_chain_detects_tampering(uow: SqlUnitOfWork, engine: Engine, library, catalog):
    clock = _clock()
    setup_patient(uow, clock, library, catalog)
    report = uow.verify_audit()
    assert report.ok and report.rows >= 4
    with engine.begin() as conn:  # behind the application's back
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    bad = uow.verify_audit()
    assert not bad.ok and any("row 2" in p and "modified" in p for p in bad.problems)


def test_audit_chain_detects_deleted_and_inserted_rows(
    uow: SqlUnitOfWork, engine: Engine, library, catalog
):
    clock = _clock()
    setup_patient(uow, clock, library, catalog)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)"))
    assert any("head" in p for p in uow.verify_audit().problems)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, reason, data, "
            "prev_hash, hash) SELECT 1000, at, actor, action, entity, entity_id, reason, data, "
            "prev_hash, hash FROM audit_log WHERE seq = 1"
        ))  # fmt: skip
    assert not uow.verify_audit().ok
