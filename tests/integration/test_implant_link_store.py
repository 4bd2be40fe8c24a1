"""Implant links on SQLite and PostgreSQL: registered, replaced, the key stored apart and
never in the audit log, and a delivery stored with the prescription version it produced."""

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select

from tests.unit.clinic.conftest import DOCTOR, FakeClock, setup_patient
from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.clinic.implant_links import KEY_LEN, link_for_serial, register_link
from thecal.clinic.model import Device
from thecal.clinic.program_delivery import PumpWrite, program_through_implant
from thecal.clinic.workflows import current_prescription
from thecal.devices.catalog import DeviceCatalog
from thecal.store.schema import AuditRow
from thecal.store.uow import SqlUnitOfWork
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan_file import PlanFile

KEY = bytes(range(100, 100 + KEY_LEN))


def test_link_and_delivery_round_trip(
    uow: SqlUnitOfWork, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    patient, pump = setup_patient(uow, clock, library, catalog)
    register_link(uow, clock, actor=DOCTOR, serial="SN1", address="127.0.0.1:7001", key=KEY,
                  key_id="sha256:test", key_serial="SN1", reason="virtual implant")  # fmt: skip
    register_link(uow, clock, actor=DOCTOR, serial="SN1", address="127.0.0.1:7002", key=KEY,
                  key_id="sha256:test", key_serial="SN1", reason="moved")  # fmt: skip
    found = link_for_serial(uow, "SN1")
    assert found is not None
    record, key = found
    assert (record.device_id, record.port, key.key) == (pump.id, 7002, KEY)
    with uow.session() as s:
        data = [r.data for r in s.execute(select(AuditRow)).scalars()]
    assert all(KEY.hex() not in d for d in data)  # the key never reaches the audit log
    assert any('"key": "set"' in d or '"key":"set"' in d for d in data)

    clock.now = datetime(2024, 1, 3, 9, 0)
    with uow.reader() as repo:
        before = current_prescription(repo, patient.id)
    assert before is not None
    lower = before.plan().model_copy(
        update={"schedule": before.plan().schedule.model_copy(update={"dose": "2.5 mg/d"})}
    )

    def confirmed(_: Device, __: PlanFile, ___: Mapping[str, str]) -> PumpWrite:
        return PumpWrite(DeliveryOutcome.CONFIRMED, "verified")

    program_through_implant(uow, clock, library, catalog, actor=DOCTOR, patient_id=patient.id,
                            plan=lower, reason="less sedation", write=confirmed)  # fmt: skip
    with uow.reader() as repo:
        (delivery,) = repo.link_deliveries_for(patient.id)
        after = current_prescription(repo, patient.id)
    assert after is not None and delivery.prescription_version == after.version
    assert delivery.outcome is DeliveryOutcome.CONFIRMED and delivery.what == "program"
    assert uow.verify_audit().ok
