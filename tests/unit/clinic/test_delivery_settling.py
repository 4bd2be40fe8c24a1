"""An uncertain delivery (the pump's acknowledgement dropped) stays on the worklist as a hard
item until the next interrogation of the implant settles it: confirmed when the virtual pump
shows the change took effect (a program: recorded as the next prescription version then,
audited), not applied when it does not. Memory store here; SQLite and PostgreSQL in
tests/integration/test_delivery_settling_store.py (the same scenarios)."""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.unit.clinic.conftest import DOCTOR, NURSE, FakeClock, setup_patient
from thecal.adapters.implant_build import DeviceInputs, implant_from_plan
from thecal.clinic.audit_view import AuditQuery
from thecal.clinic.implant_link_model import DeliveryOutcome, LinkDelivery
from thecal.clinic.interrogation import record_interrogation
from thecal.clinic.model import Device
from thecal.clinic.ports import UnitOfWork
from thecal.clinic.program_delivery import PumpWrite, program_through_implant
from thecal.clinic.reconcile_interrogation import Reconcile
from thecal.clinic.refill_delivery import refill_through_implant
from thecal.clinic.refill_workflow import RefillInput, preview_refill
from thecal.clinic.workflows import current_prescription
from thecal.clinic.worklist import UNCERTAIN_CODE, worklist
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.pump import Program
from thecal.programmer.wire_device import status_to_json
from thecal.therapy.findings import Level
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import resolve
from thecal.therapy.plan_file import PlanFile
from thecal.units import Q_

SENT = datetime(2024, 1, 3, 9, 0)  # the program is sent the day after the implant
READ = datetime(2024, 1, 3, 9, 30)  # the next interrogation


def _pump(uow: UnitOfWork, library: DrugLibrary, catalog: DeviceCatalog, pid: str) -> Any:
    """The virtual implant running the patient's current prescription (test inputs: the
    alarm repeats and a stroke volume, not public)."""
    with uow.reader() as repo:
        rx = current_prescription(repo, pid)
    assert rx is not None
    inputs = DeviceInputs("SN1", Q_(10, "min"), Q_(0.001, "mL"), Q_(60, "min"))
    return implant_from_plan(rx.plan().to_typed(), library, catalog, inputs)


def _interrogate(uow: UnitOfWork, clock: FakeClock, library, catalog, pid: str, pump: Any):  # type: ignore[no-untyped-def]
    """Read the virtual pump (its clock brought to the clinic's) and store the snapshot."""
    pump.advance(clock.now)
    status = status_to_json(pump.interrogate())
    log = [{"seq": e.seq, "kind": e.kind.value, "at": e.at.isoformat(), "message": e.message,
            "values": [list(v) for v in e.values]} for e in pump.events()]  # fmt: skip
    return record_interrogation(uow, clock, NURSE, pid, "SN1", status, log,
                                Reconcile(library, catalog, None))  # fmt: skip


def _lower(plan: PlanFile) -> PlanFile:
    return plan.model_copy(
        update={"schedule": plan.schedule.model_copy(update={"dose": "2.5 mg/d"})}
    )


def _uncertain_program(
    uow: UnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
    pump: Any, pid: str, applied: bool,
) -> LinkDelivery:  # fmt: skip
    """Send 2.5 mg/d; the pump runs it (``applied``) or not; its acknowledgement is lost."""

    def write(device: Device, plan: PlanFile, reasons: Mapping[str, str]) -> PumpWrite:
        if applied:
            r = resolve(plan.to_typed(), library, catalog)
            current = pump.interrogate().program
            pump.write_program(Program(r.schedule, r.admixture, current.low_reservoir_threshold,
                                       r.program.patient_bolus))  # fmt: skip
        return PumpWrite(DeliveryOutcome.UNCERTAIN, "no acknowledgement (test: dropped)")

    clock.now = SENT
    pump.advance(SENT)
    with uow.reader() as repo:
        before = current_prescription(repo, pid)
    assert before is not None
    out = program_through_implant(uow, clock, library, catalog, actor=NURSE, patient_id=pid,
                                  plan=_lower(before.plan()), reason="less sedation",
                                  write=write)  # fmt: skip
    assert out.program is None and out.delivery.outcome is DeliveryOutcome.UNCERTAIN
    return out.delivery


def _open_items(uow: UnitOfWork, today: date) -> list[Any]:
    with uow.reader() as repo:
        return [i for i in worklist(repo, today, Q_(7, "d")) if i.kind == "link-delivery"]


def program_taken_is_recorded(
    uow: UnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    pump = _pump(uow, library, catalog, patient.id)
    sent = _uncertain_program(uow, clock, library, catalog, pump, patient.id, applied=True)
    # Until settled: a hard worklist item, and the record still has version 1.
    (item,) = _open_items(uow, SENT.date())
    assert item.level == Level.HARD.value and item.code == UNCERTAIN_CODE
    assert item.patient_id == patient.id and "Interrogate the pump" in item.message
    clock.now = READ
    stored = _interrogate(uow, clock, library, catalog, patient.id, pump)
    with uow.reader() as repo:
        rx = current_prescription(repo, patient.id)
        (delivery,) = repo.link_deliveries_for(patient.id)
        audit = repo.audit_entries(AuditQuery(what="link_delivery"), 10, 0)
    assert rx is not None and rx.version == 2 and rx.plan().schedule.dose == "2.5 mg/d"
    assert rx.author == "nina" and rx.created_at == READ and "acknowledgement lost" in rx.reason
    assert delivery.id == sent.id and delivery.outcome is DeliveryOutcome.SETTLED_CONFIRMED
    assert delivery.prescription_version == 2 and "took effect" in delivery.detail
    # Audited in the interrogation's transaction: the update after the uncertain insert.
    assert [(e.action, e.actor, e.reason) for e in audit] == [
        ("update", "nina", "interrogation"), ("insert", "nina", "less sedation"),
    ]  # fmt: skip
    # The snapshot is compared with the version just recorded: no program finding.
    assert not [f for f in stored.findings if f.code.startswith("RECON-PROGRAM")]
    assert _open_items(uow, READ.date()) == []


def program_not_taken_is_settled_not_applied(
    uow: UnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    pump = _pump(uow, library, catalog, patient.id)
    _uncertain_program(uow, clock, library, catalog, pump, patient.id, applied=False)
    clock.now = READ
    _interrogate(uow, clock, library, catalog, patient.id, pump)
    with uow.reader() as repo:
        rx = current_prescription(repo, patient.id)
        (delivery,) = repo.link_deliveries_for(patient.id)
    assert rx is not None and rx.version == 1  # the pump runs version 1: the record too
    assert delivery.outcome is DeliveryOutcome.SETTLED_NOT_APPLIED
    assert delivery.prescription_version is None and "another program" in delivery.detail
    assert _open_items(uow, READ.date()) == []


def _refill_entry(uow: UnitOfWork, library, catalog, pid: str, at: datetime) -> RefillInput:  # type: ignore[no-untyped-def]
    entry = RefillInput(Q_(1.6, "mL"), Q_(20.0, "mL"), "LOT-1")
    with uow.reader() as repo:
        preview = preview_refill(repo, library, catalog, patient_id=pid, entry=entry, at=at,
                                 by="nina")  # fmt: skip
    reasons = {f.code.value: "checked (test)" for f in preview.needs_reason}
    return RefillInput(entry.withdrawn, entry.filled, entry.drug_lot, overrides=reasons)


def refill_settled_by_the_log(
    uow: UnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
    applied: bool,
) -> None:  # fmt: skip
    patient, _ = setup_patient(uow, clock, library, catalog)
    pump = _pump(uow, library, catalog, patient.id)
    clock.now = datetime(2024, 3, 2, 9, 0)
    pump.advance(clock.now)
    entry = _refill_entry(uow, library, catalog, patient.id, clock.now)

    def write(device: Device, e: RefillInput) -> PumpWrite:
        if applied:
            pump.refill(e.filled)  # the pump logs "refill recorded" 20 mL
        return PumpWrite(DeliveryOutcome.UNCERTAIN, "no acknowledgement (test: dropped)")

    refill_through_implant(uow, clock, library, catalog, actor=NURSE, patient_id=patient.id,
                           entry=entry, write=write)  # fmt: skip
    assert len(_open_items(uow, clock.now.date())) == 1
    clock.now += timedelta(minutes=20)
    _interrogate(uow, clock, library, catalog, patient.id, pump)
    with uow.reader() as repo:
        (delivery,) = repo.link_deliveries_for(patient.id)
        assert repo.refills_for(patient.id) == []  # the nurse records the refill herself
    # The implant's first fill (20 mL at the prescription's fill) is not taken for this one.
    want = DeliveryOutcome.SETTLED_CONFIRMED if applied else DeliveryOutcome.SETTLED_NOT_APPLIED
    assert delivery.outcome is want
    assert ("record the refill" in delivery.detail) is applied
    assert _open_items(uow, clock.now.date()) == []


def test_program_taken_is_recorded(uow, clock, library, catalog) -> None:  # type: ignore[no-untyped-def]
    program_taken_is_recorded(uow, clock, library, catalog)


def test_program_not_taken_is_settled_not_applied(uow, clock, library, catalog) -> None:  # type: ignore[no-untyped-def]
    program_not_taken_is_settled_not_applied(uow, clock, library, catalog)


@pytest.mark.parametrize("applied", [True, False])
def test_refill_settled_by_the_log(uow, clock, library, catalog, applied: bool) -> None:  # type: ignore[no-untyped-def]
    refill_settled_by_the_log(uow, clock, library, catalog, applied)


def test_an_unreadable_snapshot_leaves_it_uncertain(uow, clock, library, catalog) -> None:  # type: ignore[no-untyped-def]
    patient, _ = setup_patient(uow, clock, library, catalog)
    pump = _pump(uow, library, catalog, patient.id)
    _uncertain_program(uow, clock, library, catalog, pump, patient.id, applied=True)
    clock.now = READ
    status = status_to_json(pump.interrogate())
    status["program"] = {"not": "a program"}  # cannot be decoded: cannot tell
    record_interrogation(uow, clock, DOCTOR, patient.id, "SN1", status, [],
                         Reconcile(library, catalog, None))  # fmt: skip
    with uow.reader() as repo:
        (delivery,) = repo.link_deliveries_for(patient.id)
    assert delivery.outcome is DeliveryOutcome.UNCERTAIN
    assert len(_open_items(uow, READ.date())) == 1
