"""Recorded assessments on the in-memory clinic: the registry's facts reach the rules, the
clinician's entry is laid over them, the result is stored with who and when (audited), a
viewer is refused, a bad entry is refused naming its field, and closing takes an assessment
off the open list."""

from datetime import datetime, timedelta

import pytest

from tests.unit.clinic.assessment_fixtures import SEED_003_CASE_2, assessments, cancer_patient
from tests.unit.clinic.conftest import DOCTOR, NURSE, VIEWER, FakeClock
from thecal.clinic.assessment_ports import AssessmentKind
from thecal.clinic.assessment_workflow import URGENT, stored_result
from thecal.clinic.errors import NotFoundError, PermissionDenied
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import Alarm, RefillRecord
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_, InputError


def test_seed_003_case_2_recorded_within_24h_with_registry_facts(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, pump = cancer_patient(uow, clock, library, catalog)
    record = assessments(uow, clock, catalog).record(
        actor=NURSE, patient_id=patient.id, entry=SEED_003_CASE_2
    )
    assert (record.urgency, record.by, record.at) == ("within_24h", "nina", clock.now)
    assert record.device_id == pump.id and record.open
    p = record.presentation
    # From the registry: morphine in the pump; implanted 2024-01-02, now 2024-01-08 09:00:
    # 6 d; the prescription was written at the implant (6 d on an opioid); G4 -> stage 4.
    assert p["drugs"] == ["morphine"] and p["device"] == "intrathecal_pump"
    assert (p["time_since_implant"], p["dwell_time"], p["time_on_intrathecal_opioid"]) == (
        "6 d", "6 d", "6 d")  # fmt: skip
    assert p["comorbidities"]["cancer"] and p["comorbidities"]["spinal_metastases"]
    assert p["comorbidities"]["ckd_stage"] == 4
    result = stored_result(record)
    assert "urgent-imaging-24h" in result.codes("prompts")
    assert {"epidural-metastasis", "catheter-tip-mass"} <= set(result.codes("differential"))
    assert "normal-interrogation-not-exclusion" in result.codes("must_not_miss")
    assert "never diagnoses" in result.statement
    assert [a.entity for a in uow.state.audit if a.entity == "assessment"] == ["assessment"]
    open_now = uow.state.assessments
    assert list(open_now) == [record.id]


def test_routine_visit_without_findings_is_routine(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, _ = cancer_patient(uow, clock, library, catalog)
    record = assessments(uow, clock, catalog).record(actor=DOCTOR, patient_id=patient.id,
                                                     entry={})  # fmt: skip
    assert record.urgency == "routine" and stored_result(record).prompts == []


def test_open_alarm_reaches_the_rules(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, pump = cancer_patient(uow, clock, library, catalog)
    with uow.transaction("paul", clock(), "alarm") as repo:
        repo.add_alarm(Alarm(patient.id, "LOW_RESERVOIR", "non-critical", "low", clock(), pump.id))
        repo.add_alarm(Alarm(patient.id, "OCCLUSION", "critical", "occl", clock(), pump.id))
    presentation, _ = assessments(uow, clock, catalog).registry_only(patient_id=patient.id)
    assert presentation.alarms == ["low_reservoir"]  # OCCLUSION: no rule knows it


def test_viewer_refused_and_nothing_written(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, _ = cancer_patient(uow, clock, library, catalog)
    before = len(uow.state.audit)
    with pytest.raises(PermissionDenied):
        assessments(uow, clock, catalog).record(actor=VIEWER, patient_id=patient.id,
                                                entry=SEED_003_CASE_2)  # fmt: skip
    assert len(uow.state.audit) == before and not uow.state.assessments


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"symptoms": [{"kind": "itch"}]}, "symptoms.0.kind"),
        ({"symptoms": [{"kind": "pain", "onset": "3"}]}, "symptoms.0.onset"),
        ({"dwell_time": "12 a"}, "assessment.dwell_time"),  # the registry's, not entered
        ({"pocket_findings": ["glowing"]}, "pocket_findings.0"),
    ],
)
def test_bad_entry_names_the_field_and_writes_nothing(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
    entry: dict[str, object], field: str,
) -> None:  # fmt: skip
    patient, _ = cancer_patient(uow, clock, library, catalog)
    with pytest.raises(InputError) as err:
        assessments(uow, clock, catalog).record(actor=NURSE, patient_id=patient.id, entry=entry)
    assert err.value.field == field
    assert not uow.state.assessments


def test_note_longer_than_the_cap_is_refused(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, _ = cancer_patient(uow, clock, library, catalog)
    svc = assessments(uow, clock, catalog)
    svc.record(actor=NURSE, patient_id=patient.id, entry={}, note="x" * 2000)  # at the cap
    with pytest.raises(InputError) as err:
        svc.record(actor=NURSE, patient_id=patient.id, entry={}, note="x" * 2001)
    assert err.value.field == "assessment.note"


def test_close_takes_it_off_the_open_list_and_viewer_cannot(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, _ = cancer_patient(uow, clock, library, catalog)
    svc = assessments(uow, clock, catalog)
    record = svc.record(actor=NURSE, patient_id=patient.id, entry=SEED_003_CASE_2)
    with uow.reader() as repo:
        assert [r.id for r in repo.open_assessments(URGENT)] == [record.id]
    with pytest.raises(PermissionDenied):
        svc.close(actor=VIEWER, patient_id=patient.id, assessment_id=record.id)
    clock.now = datetime(2024, 1, 8, 11, 0)
    closed = svc.close(actor=DOCTOR, patient_id=patient.id, assessment_id=record.id)
    assert (closed.closed_at, closed.closed_by) == (clock.now, "paul")
    with uow.reader() as repo:
        assert repo.open_assessments(URGENT) == []
    again = svc.close(actor=DOCTOR, patient_id=patient.id, assessment_id=record.id)
    assert again.closed_at == datetime(2024, 1, 8, 11, 0)
    assert svc.assessments(patient_id=patient.id)[0].id == record.id
    with pytest.raises(NotFoundError):
        svc.assessment(patient_id="nobody", assessment_id=record.id)


def test_replacement_checklist_then_findings_at_surgery(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, _ = cancer_patient(uow, clock, library, catalog)
    # Implanted 2024-01-02; on 2034-01-03 it has dwelt 3654 d, above 10 a (3652.5 d).
    clock.now = datetime(2034, 1, 3, 9, 0)
    svc = assessments(uow, clock, catalog)
    presentation, plan = svc.preview(patient_id=patient.id,
                                     entry={"occasion": "replacement_planning"})  # fmt: skip
    assert presentation.dwell_time is not None and presentation.dwell_time.magnitude == 3654
    assert [f.id for f in plan.fired] == ["R8"]
    assert {"prepare-culture-frozen-section", "prepare-catheter-splice"} <= set(
        plan.codes("workup"))  # fmt: skip
    found = svc.record(
        actor=DOCTOR, patient_id=patient.id, kind=AssessmentKind.OPERATIVE,
        entry={"occasion": "intraoperative",
               "intraoperative_findings": ["milky_fluid", "calcification"]},
        note="cultures sent; frozen section: no acute inflammation",
    )  # fmt: skip
    result = stored_result(found)
    assert found.kind is AssessmentKind.OPERATIVE and found.urgency == "today"
    assert "culture-frozen-section-before-deciding" in result.codes("prompts")


def test_automatic_prompts_from_repeated_low_residuals(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, pump = cancer_patient(uow, clock, library, catalog)
    svc = assessments(uow, clock, catalog)
    assert svc.automatic() == ()  # no refill yet: nothing fires on the record alone
    for day, withdrawn in ((40, 5.0), (80, 4.0)):
        # Expected 10 mL, withdrawn 5 and 4 mL; the SynchroMed II's labelled band 14.5 %:
        # low below 10 mL x (1 - 0.145) = 8.55 mL, so two low residuals in a row.
        at = datetime(2024, 1, 2, 9, 0) + timedelta(days=day)
        refill = RefillRecord(patient.id, pump.id, 1, at, Q_(10.0, "mL"), Q_(withdrawn, "mL"),
                              Q_(withdrawn - 10.0, "mL"), Q_(20.0, "mL"), "LOT", (), "paul",
                              None, "")  # fmt: skip
        with uow.transaction("paul", at, "refill") as repo:
            repo.add_refill(refill)
    clock.now = datetime(2024, 3, 23, 9, 0)
    ((pid, device, result),) = svc.automatic()
    assert (pid, device) == (patient.id, pump.id)
    assert "R6" in [f.id for f in result.fired] and result.urgency == "within_week"
    assert not uow.state.assessments  # computed, never stored
