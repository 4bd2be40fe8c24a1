"""Shared stimulator test data: an OpenNerve IPG patient and a program file builder."""

from datetime import date
from typing import Any

from thecal.adapters.composition import stimulator_context
from thecal.clinic.model import Device, DeviceKind, Patient
from thecal.clinic.ports import UnitOfWork
from thecal.clinic.stimulator_model import StimLead
from thecal.stimulation.program_file import StimulationFile

from .conftest import DOCTOR

CTX = stimulator_context()


def program(amplitude: str = "5 mA", extra_ipg: dict[str, str] | None = None,
            patient_max: str | None = "5 mA") -> StimulationFile:  # fmt: skip
    """Tonic 300 us 50 Hz on a 1.3 mm x 3 mm ring contact (the issue's worked example:
    A = 0.1225 cm2; 5 mA -> 1.5 uC, 12.2 uC/cm2, k = 1.26), impedance 800 ohm."""
    area: dict[str, Any] = {
        "name": "low back", "amplitude": amplitude, "pulse_width": "300 us", "rate": "50 Hz",
        "impedance": "800 Ohm",
        "contacts": [{"lead": "L1", "index": 1, "polarity": "cathode"},
                     {"lead": "L1", "index": 2, "polarity": "anode"}],
    }  # fmt: skip
    if patient_max:
        area["patient_max"] = patient_max
    return StimulationFile.model_validate({
        "title": "test", "ipg": {"model": "OpenNerve IPG", **(extra_ipg or {})},
        "leads": [{"name": "L1", "kind": "percutaneous", "contacts": 8, "diameter": "1.3 mm",
                   "contact_length": "3 mm"}],
        "areas": [area],
    })  # fmt: skip


def stim_patient(
    uow: UnitOfWork, clock: Any, model: str = "OpenNerve IPG"
) -> tuple[Patient, Device]:
    p = Patient("SCS-1", "Synthetic SCS patient", 1960)
    ipg = Device(p.id, DeviceKind.STIMULATOR, model, date(2020, 1, 6), "IPG-1")
    with uow.transaction(DOCTOR.username, clock(), "setup") as repo:
        repo.add_patient(p)
        repo.add_device(ipg)
        repo.add_stim_lead(StimLead(p.id, ipg.id, "L1", "Vectris 977A2", date(2020, 1, 6),
                                    "T8-T10 midline"))  # fmt: skip
    with uow.reader() as repo:
        return repo.get_patient(p.id), ipg
