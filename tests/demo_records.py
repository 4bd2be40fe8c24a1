"""The demo clinic with every kind of record a patient's record holds: the generated demo
(pumps with refills, program changes, alarms, complications; stimulators with leads, program
versions, impedances, battery readings) plus, written here, an interrogation, registration
details of a patient and a device, an assessment (recorded with the shipped rules) and two
implant-link deliveries — on any unit of work (memory, SQLite, PostgreSQL)."""

from datetime import date, datetime
from typing import Any

from thecal.adapters.composition import clinic_settings, stimulator_context
from thecal.adapters.data_files import example_plan, load_catalog, load_library
from thecal.adapters.decision_files import clinic_rules
from thecal.adapters.plan_files import parse_plan
from thecal.clinic.assessment_workflow import AssessmentServices
from thecal.clinic.demo import load_demo
from thecal.clinic.implant_link_model import DeliveryOutcome, LinkDelivery
from thecal.clinic.interrogation import record_interrogation
from thecal.clinic.model import DeviceKind
from thecal.clinic.registration import (
    DeviceDetails,
    Diagnosis,
    DiagnosisCode,
    PatientDetails,
    PocketSide,
    Sex,
)

TODAY = date(2026, 11, 23)


def fill_demo(uow: Any, generated: int = 2) -> dict[str, str]:
    """Load the demo into ``uow`` with the extra records; the patient ids by MRN."""
    library, catalog = load_library(), load_catalog()
    load_demo(uow, library, catalog, lambda name: parse_plan(example_plan(f"{name}.toml")),
              TODAY, generated, stimulation=stimulator_context())  # fmt: skip
    with uow.reader() as repo:
        ids = {p.mrn: p.id for p in repo.list_patients()}
        nurse = repo.user_by_name("nurse")
        pump = next(d for d in repo.devices_for(ids["DEMO-0002"])
                    if d.kind is DeviceKind.PUMP and d.in_place)  # fmt: skip
        stim = next(d for p in ids.values() for d in repo.devices_for(p)
                    if d.kind is DeviceKind.STIMULATOR)  # fmt: skip
    assert nurse is not None
    status = {
        "serial": pump.serial, "model": pump.model, "delivering": True,
        "reservoir_estimate": {"value": 12.5, "unit": "mL"},
        "delivered_total": {"value": 301.25, "unit": "mL"},
        "eri_at": "2031-05-01T00:00:00", "alarms": [],
    }  # fmt: skip
    record_interrogation(uow, lambda: datetime(2026, 11, 23, 10, 30), nurse, ids["DEMO-0002"],
                         pump.serial, status, [])  # fmt: skip
    at = datetime(2026, 11, 23, 11, 0)
    with uow.transaction("nurse", at, "test records") as repo:
        pid = pump.patient_id
        repo.put_patient_details(PatientDetails(
            pid, date(1961, 4, 2), Sex.FEMALE, "ward 3",
            (Diagnosis(DiagnosisCode.CKD, "G3a"), Diagnosis(DiagnosisCode.DIABETES)),
        ))  # fmt: skip
        repo.add_device_details(DeviceDetails(pump.id, pid, "(01)00643169007222",
                                              PocketSide.LEFT))  # fmt: skip
        for n, outcome in enumerate((DeliveryOutcome.CONFIRMED, DeliveryOutcome.UNCERTAIN)):
            repo.add_link_delivery(LinkDelivery(
                pid, pump.id, datetime(2026, 11, 23, 12, n), "nurse", "program", outcome,
                "test", (("rate", "0.5 mL/d"),), 1 if n == 0 else None,
            ))  # fmt: skip
        repo.add_device_details(DeviceDetails(stim.id, stim.patient_id, "",
                                              PocketSide.RIGHT))  # fmt: skip
    # An assessment as the clinic records one (the shipped rules' result, not a made-up one).
    clock = lambda: datetime(2026, 11, 23, 11, 30)  # noqa: E731
    assess = AssessmentServices(uow, clock, catalog, clinic_settings(), stimulator_context(),
                                clinic_rules())  # fmt: skip
    assess.record(actor=nurse, patient_id=pump.patient_id, entry={"interrogation": "normal"},
                  note="seen in clinic")  # fmt: skip
    return ids
