from collections.abc import Callable
from datetime import date, datetime

import pytest

from thecal.clinic.lifecycle import record_procedure
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import Device, DeviceKind, Patient, Procedure, ProcedureKind, Role, User
from thecal.clinic.workflows import change_program
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan_file import PlanFile

NURSE = User("nina", "Nina Nurse", Role.NURSE)
DOCTOR = User("paul", "Dr Paul", Role.PHYSICIAN)
VIEWER = User("vera", "Vera Viewer", Role.VIEWER)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def morphine_plan() -> PlanFile:
    """Morphine 10 mg/mL at 3 mg/d = 0.3 mL/d in a SynchroMed II 20 mL filled with 20 mL on
    2024-01-02 09:00 (the refill-morphine example's last fill)."""
    return PlanFile.model_validate({
        "title": "morphine 3 mg/d",
        "at": "2024-01-02T09:00:00",
        "patient": {"opioid_naive": False},
        "pump": {"model": "SynchroMed II 8637-20"},
        "admixture": [{"drug": "morphine", "concentration": "10 mg/mL"}],
        "schedule": {"mode": "continuous", "dose": "3 mg/d"},
        "fill": {"volume": "20 mL", "at": "2024-01-02T09:00:00"},
    })  # fmt: skip


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2024, 1, 2, 9, 0))


def setup_patient(
    uow: object, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog, mrn: str = "P-001"
) -> tuple[Patient, Device]:
    """A patient with a SynchroMed II implanted 2024-01-02 and the morphine prescription."""
    patient = Patient(mrn, f"Synthetic {mrn}", 1960, opioid_naive=False)
    pump = Device(patient.id, DeviceKind.PUMP, "SynchroMed II 8637-20", date(2024, 1, 2), "SN1")
    with uow.transaction("paul", clock(), "new patient") as repo:  # type: ignore[attr-defined]
        repo.add_patient(patient)
    record_procedure(
        uow, clock, DOCTOR,  # type: ignore[arg-type]
        Procedure(patient.id, ProcedureKind.IMPLANT, date(2024, 1, 2)), [pump],
    )  # fmt: skip
    change_program(
        uow,
        clock,
        library,
        catalog,
        actor=DOCTOR,
        patient_id=patient.id,
        plan=morphine_plan(),
        reason="start",
    )  # type: ignore[arg-type]
    return patient, pump


@pytest.fixture
def uow() -> MemoryUnitOfWork:
    return MemoryUnitOfWork()


Setup = Callable[..., tuple[Patient, Device]]
