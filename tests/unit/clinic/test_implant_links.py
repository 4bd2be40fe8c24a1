"""Implant links in the clinic: a physician registers a device's address and clinician key
(audited, the key never shown), addresses are checked on their edges, and a program change
sent over the link is recorded only when the pump confirmed it."""

from collections.abc import Mapping
from datetime import datetime

import pytest

from tests.unit.clinic.conftest import DOCTOR, NURSE, VIEWER, FakeClock, setup_patient
from thecal.clinic.errors import NotFoundError, PermissionDenied
from thecal.clinic.implant_link_model import WRITE_OUTCOMES, DeliveryOutcome
from thecal.clinic.implant_links import (
    KEY_LEN,
    link_for_serial,
    parse_address,
    register_link,
)
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import Device
from thecal.clinic.program_delivery import (
    ProgramNotRecorded,
    PumpWrite,
    program_through_implant,
)
from thecal.clinic.workflows import current_prescription
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan_file import PlanFile
from thecal.units import InputError

KEY = bytes(range(KEY_LEN))


@pytest.mark.parametrize("text", ["127.0.0.1:1", "127.0.0.1:65535", " 127.0.0.1:7001 "])
def test_address_edges_accepted(text: str) -> None:
    a = parse_address(text)
    assert a.host == "127.0.0.1" and 1 <= a.port <= 65535


@pytest.mark.parametrize(
    "text", ["127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1", "10.0.0.5:7001", "127.0.0.1:-1",
             "127.0.0.1:70 01", ":7001", "127.0.0.1:7001:1", ""],
)  # fmt: skip
def test_address_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InputError) as e:
        parse_address(text)
    assert e.value.field == "implant_link.address"


def test_physician_registers_and_the_key_is_not_in_the_record(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    _, pump = setup_patient(uow, clock, library, catalog)
    record = register_link(uow, clock, actor=DOCTOR, serial="SN1", address="127.0.0.1:7001",
                           key=KEY, key_id="sha256:test", key_serial="SN1",
                           reason="virtual implant")  # fmt: skip
    assert record.device_id == pump.id and record.port == 7001
    assert record.key_id == "sha256:test" and KEY.hex() not in repr(record)
    found = link_for_serial(uow, "SN1")
    assert found is not None and found[1].key == KEY and KEY.hex() not in repr(found[1])
    assert uow.state.audit[-1].entity == "implant_link" and uow.state.audit[-1].actor == "paul"
    # Changed later: the same device, a new address.
    register_link(uow, clock, actor=DOCTOR, serial="SN1", address="127.0.0.1:7002", key=KEY,
                  key_id="sha256:test", key_serial="SN1", reason="moved")  # fmt: skip
    found = link_for_serial(uow, "SN1")
    assert found is not None and found[0].port == 7002
    assert uow.state.audit[-1].action == "update"


@pytest.mark.parametrize("actor", [NURSE, VIEWER])
def test_only_a_physician_registers(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
    actor: object,
) -> None:  # fmt: skip
    setup_patient(uow, clock, library, catalog)
    with pytest.raises(PermissionDenied):
        register_link(uow, clock, actor=actor, serial="SN1", address="127.0.0.1:7001",  # type: ignore[arg-type]
                      key=KEY, key_id="sha256:test", key_serial="SN1", reason="x")  # fmt: skip
    assert link_for_serial(uow, "SN1") is None


def test_wrong_key_unknown_serial_and_missing_reason_refused(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    setup_patient(uow, clock, library, catalog)
    base = {"actor": DOCTOR, "serial": "SN1", "address": "127.0.0.1:7001", "key": KEY,
            "key_id": "sha256:test", "key_serial": "SN1", "reason": "virtual implant"}  # fmt: skip
    for change, field in [({"key_serial": "SN2"}, "implant_link.key"),
                          ({"key": KEY[:-1]}, "implant_link.key"),
                          ({"reason": " "}, "implant_link.reason")]:  # fmt: skip
        with pytest.raises(InputError) as e:
            register_link(uow, clock, **{**base, **change})  # type: ignore[arg-type]
        assert e.value.field == field
    with pytest.raises(NotFoundError):
        register_link(uow, clock, **{**base, "serial": "NOPE", "key_serial": "NOPE"})  # type: ignore[arg-type]
    assert link_for_serial(uow, "SN1") is None


def _lower(plan: PlanFile) -> PlanFile:
    return plan.model_copy(
        update={"schedule": plan.schedule.model_copy(update={"dose": "2.5 mg/d"})}
    )


def _writer(outcome: DeliveryOutcome, seen: list[PlanFile]):  # type: ignore[no-untyped-def]
    def write(device: Device, plan: PlanFile, reasons: Mapping[str, str]) -> PumpWrite:
        assert device.serial == "SN1"
        seen.append(plan)
        return PumpWrite(outcome, outcome.value)

    return write


@pytest.mark.parametrize("outcome", WRITE_OUTCOMES)
def test_the_record_changes_only_when_the_pump_confirmed(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
    outcome: DeliveryOutcome,
) -> None:  # fmt: skip
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 1, 3, 9, 0)
    with uow.reader() as repo:
        before = current_prescription(repo, patient.id)
    assert before is not None
    seen: list[PlanFile] = []
    out = program_through_implant(uow, clock, library, catalog, actor=NURSE,
                                  patient_id=patient.id, plan=_lower(before.plan()),
                                  reason="less sedation", write=_writer(outcome, seen))  # fmt: skip
    assert len(seen) == 1 and seen[0].schedule.dose == "2.5 mg/d"
    with uow.reader() as repo:
        after = current_prescription(repo, patient.id)
        (delivery,) = repo.link_deliveries_for(patient.id)
    assert after is not None and delivery.outcome is outcome and delivery.by == "nina"
    if outcome is DeliveryOutcome.CONFIRMED:
        assert out.program is not None and after.version == before.version + 1
        assert delivery.prescription_version == after.version
    else:  # refused or uncertain: the record keeps the old prescription
        assert out.program is None and after.version == before.version
        assert delivery.prescription_version is None


def test_nothing_is_sent_when_the_record_would_refuse(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    with uow.reader() as repo:
        before = current_prescription(repo, patient.id)
    assert before is not None
    higher = before.plan().model_copy(
        update={"schedule": before.plan().schedule.model_copy(update={"dose": "4 mg/d"})}
    )
    seen: list[PlanFile] = []
    with pytest.raises(PermissionDenied):  # a nurse may not raise the dose
        program_through_implant(uow, clock, library, catalog, actor=NURSE, patient_id=patient.id,
                                plan=higher, reason="more pain",
                                write=_writer(DeliveryOutcome.CONFIRMED, seen))  # fmt: skip
    with pytest.raises(InputError):  # a stale patient version
        program_through_implant(uow, clock, library, catalog, actor=DOCTOR,
                                patient_id=patient.id, plan=_lower(before.plan()), reason="x",
                                write=_writer(DeliveryOutcome.CONFIRMED, seen),
                                patient_version=0)  # fmt: skip
    assert seen == []


def test_confirmed_but_refused_by_the_record_is_said_and_kept(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 1, 3, 9, 0)
    with uow.reader() as repo:
        before = current_prescription(repo, patient.id)
        version = repo.get_patient(patient.id).version
    assert before is not None

    def meanwhile(device: Device, plan: PlanFile, reasons: Mapping[str, str]) -> PumpWrite:
        with uow.transaction("paul", clock(), "edit elsewhere") as repo:
            repo.update_patient(repo.get_patient(patient.id))  # the patient moves on
        return PumpWrite(DeliveryOutcome.CONFIRMED, "ok")

    with pytest.raises(ProgramNotRecorded) as e:
        program_through_implant(uow, clock, library, catalog, actor=DOCTOR,
                                patient_id=patient.id, plan=_lower(before.plan()), reason="x",
                                write=meanwhile, patient_version=version)  # fmt: skip
    assert "interrogate" in str(e.value)
    with uow.reader() as repo:
        (delivery,) = repo.link_deliveries_for(patient.id)
        assert current_prescription(repo, patient.id) == before
    assert delivery.outcome is DeliveryOutcome.CONFIRMED and "record refused" in delivery.detail
