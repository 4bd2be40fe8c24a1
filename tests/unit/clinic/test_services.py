"""ClinicServices on the in-memory unit of work: keyword arguments only, and who may do what
decided inside the services (a viewer before anything is read or an implant is contacted)."""

from datetime import datetime
from typing import Any

import pytest

from thecal.adapters.composition import clinic_settings
from thecal.clinic.errors import NotFoundError, PermissionDenied
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import Device
from thecal.clinic.services import ClinicServices, ImplantReading
from thecal.clinic.workflows import RefillInput
from thecal.units import Q_

from .conftest import DOCTOR, NURSE, VIEWER, FakeClock, morphine_plan, setup_patient
from .test_interrogation_history import status


def _services(uow: MemoryUnitOfWork, clock: FakeClock, library, catalog) -> ClinicServices[Any]:
    return ClinicServices(uow=uow, clock=clock, library=library, catalog=catalog,
                          settings=clinic_settings())  # fmt: skip


def _entry() -> RefillInput:
    # 60 d at 0.3 mL/d from a 20 mL fill: 20 - 18 = 2 mL expected; 1.6 mL withdrawn.
    return RefillInput(Q_(1.6, "mL"), Q_(20.0, "mL"), "LOT-1")


def test_workflows_take_keyword_arguments(uow, clock, library, catalog) -> None:
    svc = _services(uow, clock, library, catalog)
    patient, _ = setup_patient(uow, clock, library, catalog)
    with pytest.raises(TypeError):
        svc.record_refill(NURSE, patient.id, _entry())  # type: ignore[misc]
    clock.now = datetime(2024, 3, 2, 9, 0)
    out = svc.record_refill(actor=NURSE, patient_id=patient.id, entry=_entry())
    assert svc.patient_record(patient_id=patient.id).refills == (out.record,)
    # 0.4 mL less than the 2 mL expected: the discrepancy the core computed, stored as is.
    assert out.record.discrepancy.to("mL").magnitude == pytest.approx(-0.4)


def test_a_viewer_is_refused_by_the_services(uow, clock, library, catalog) -> None:
    svc = _services(uow, clock, library, catalog)
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 3, 2, 9, 0)
    # Reading is allowed to everyone; the review step of a write is not.
    assert svc.preview_refill(actor=VIEWER, patient_id=patient.id, entry=_entry()).record
    with pytest.raises(PermissionDenied, match="vera \\(viewer\\) may not record refills"):
        svc.review_refill(actor=VIEWER, patient_id=patient.id, entry=_entry())
    with pytest.raises(PermissionDenied, match="may not record refills"):
        svc.record_refill(actor=VIEWER, patient_id=patient.id, entry=_entry())
    with pytest.raises(PermissionDenied, match="may not change programs"):
        svc.change_program(actor=VIEWER, patient_id=patient.id, plan=morphine_plan(),
                           reason="x")  # fmt: skip
    assert svc.patient_record(patient_id=patient.id).refills == ()  # nothing written


def test_interrogate_checks_the_role_before_the_implant_is_contacted(
    uow, clock, library, catalog
) -> None:
    svc = _services(uow, clock, library, catalog)
    patient, pump = setup_patient(uow, clock, library, catalog)
    contacted: list[Device] = []

    def read(device: Device) -> ImplantReading[str]:
        contacted.append(device)
        return ImplantReading("report", device.serial, status(device.serial, 3.0, []), [])

    with pytest.raises(PermissionDenied, match="may not interrogate implants"):
        svc.interrogate(actor=VIEWER, patient_id=patient.id, read=read)
    assert contacted == []
    reading, stored = svc.interrogate(actor=NURSE, patient_id=patient.id, read=read)
    assert contacted == [pump] and reading.report == "report"
    assert svc.interrogations(patient_id=patient.id) == (stored,)
    assert svc.interrogation(patient_id=patient.id, interrogation_id=stored.id) == stored


def test_another_patients_interrogation_is_not_found(uow, clock, library, catalog) -> None:
    svc = _services(uow, clock, library, catalog)
    patient, _ = setup_patient(uow, clock, library, catalog)
    other, _ = setup_patient(uow, clock, library, catalog, mrn="P-002")
    stored = svc.import_interrogation(actor=DOCTOR, patient_id=patient.id, serial="SN1",
                                      status=status("SN1", 3.0, []), log=[])  # fmt: skip
    with pytest.raises(NotFoundError):
        svc.interrogation(patient_id=other.id, interrogation_id=stored.id)
